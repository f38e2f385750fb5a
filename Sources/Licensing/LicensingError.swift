public import AuditLog

/// Input the Licensing module refuses: a malformed dataset, change or grant request, an unknown
/// dataset or agreement, a paging cursor no listing handed out, or a store that found its record
/// changed underneath it. An expected "no" to a well-formed request is a ``GrantReason`` instead.
///
/// Equality is by ``code``. ``detail`` names the field and the limit that failed, never free text the
/// caller submitted.
public typealias LicensingError = ModuleError<LicensingErrorCode>

/// The stable codes of ``LicensingError``: the raw value is what a problem+json `code` says.
public enum LicensingErrorCode: String, Sendable, CaseIterable {
    /// A dataset id that is not 2–64 characters of `a-z 0-9 -` starting with a letter.
    case invalidDatasetID = "invalid_dataset_id"
    /// A title that is empty, too long, or has control characters or outer white space.
    case invalidTitle = "invalid_title"
    /// A description that is too long or has control characters other than line feeds.
    case invalidDescription = "invalid_description"
    /// A theme that is not 2–40 characters of `a-z 0-9 -` starting with a letter.
    case invalidTheme = "invalid_theme"
    /// A dataset without fields, or a grant item asking for none.
    case fieldsRequired = "fields_required"
    /// A field name that is not 1–64 characters of `a-z 0-9 _` starting with a letter.
    case invalidFieldName = "invalid_field_name"
    /// The same field named twice.
    case duplicateField = "duplicate_field"
    /// A change naming a field the dataset does not have.
    case unknownField = "unknown_field"
    /// More fields than ``CatalogPolicy/maxFields``.
    case tooManyFields = "too_many_fields"
    /// A field type outside ``FieldType``.
    case invalidFieldType = "invalid_field_type"
    /// A field is marked filterable but its type cannot be compared by equality as text.
    case fieldNotFilterable = "field_not_filterable"
    /// A dataset without metering units.
    case unitsRequired = "units_required"
    /// A unit outside `call`, `record`, `byte`.
    case unknownUnit = "unknown_unit"
    /// The same unit listed twice.
    case duplicateUnit = "duplicate_unit"
    /// A currency other than the marketplace's.
    case unsupportedCurrency = "unsupported_currency"
    /// A price that is not a decimal with at most six places, or above the largest accepted.
    case invalidPrice = "invalid_price"
    /// Ceiling prices that do not name exactly the dataset's units.
    case ceilingPricesMismatch = "ceiling_prices_mismatch"
    /// A revenue-return share outside 0–10000 basis points.
    case revenueShareOutOfRange = "revenue_share_out_of_range"
    /// A reconciliation tolerance outside 0–10000 basis points.
    case toleranceOutOfRange = "tolerance_out_of_range"
    /// A change without a reason, or a reason that is blank.
    case reasonRequired = "reason_required"
    /// A reason longer than allowed, or with control characters other than line feeds.
    case invalidReason = "invalid_reason"
    /// A reason is longer than the policy allows.
    case reasonTooLong = "reason_too_long"
    /// A change that changes nothing.
    case noChange = "no_change"
    /// An upstream base URL that is not an absolute http(s) URL with a host, without user
    /// information, query or fragment.
    case invalidUpstreamURL = "invalid_upstream_url"
    /// An upstream base URL whose host is an IP literal in a range PDX does not forward to
    /// (loopback, private, link-local, unique-local, multicast, unspecified, reserved) on a server
    /// started without `--upstream-allow-private`.
    case upstreamAddressNotAllowed = "upstream_address_not_allowed"
    /// A credential header name that is not an HTTP field name PDX may send, or a secret that is
    /// empty, too long or not a valid field value.
    case invalidUpstreamCredential = "invalid_upstream_credential"
    /// Delivery `upstream` without the endpoint, header and (the first time) secret it needs.
    case upstreamRequired = "upstream_required"
    /// An upstream endpoint given for a dataset whose delivery is not `upstream`.
    case upstreamNotApplicable = "upstream_not_applicable"

    /// A purpose that is empty, too long, or has control characters other than line feeds.
    case invalidPurpose = "invalid_purpose"
    /// A grant request without datasets.
    case datasetsRequired = "datasets_required"
    /// More datasets in one request than ``GrantPolicy/maxDatasetsPerGrant``.
    case tooManyDatasets = "too_many_datasets"
    /// The same dataset twice in one request.
    case duplicateDataset = "duplicate_dataset"
    /// A grant item without unit prices: it would grant no unit.
    case unitPricesRequired = "unit_prices_required"
    /// A quota that is not a positive integer, a unit priced without a quota, or a quota for a unit
    /// that is not priced.
    case invalidQuota = "invalid_quota"
    /// Graduated prices that are not 2–10 steps with rising bounds and an open last step, or a
    /// unit priced both ways.
    case invalidPriceTiers = "invalid_price_tiers"
    /// A term whose end is not after its start.
    case invalidTerm = "invalid_term"
    /// A data-use agreement template id and version that `Contracts/agreements/` does not hold.
    case unknownAgreement = "unknown_agreement"
    /// An agreement template that does not govern the request's scenario (each template lists the
    /// scenarios it may govern: ``AgreementTemplate/scenarios``).
    case agreementScenarioMismatch = "agreement_scenario_mismatch"
    /// A requested field marked `sensitive` without a justification, or a justification that is
    /// blank.
    case justificationRequired = "justification_required"
    /// A justification longer than ``GrantPolicy/maxJustificationLength`` characters.
    case justificationTooLong = "justification_too_long"
    /// A justification with a control character other than a line feed.
    case invalidJustification = "invalid_justification"
    /// A justification for a field the item does not request, or for one that is not `sensitive`.
    case justificationNotApplicable = "justification_not_applicable"
    /// A request naming a dataset the catalog does not hold.
    case datasetNotFound = "dataset_not_found"
    /// A grant id no grant has.
    case grantNotFound = "grant_not_found"
    /// An amendment naming a dataset the grant does not include: a different set of datasets is a
    /// new request.
    case datasetNotInGrant = "dataset_not_in_grant"

    /// A store already holds a dataset with this id.
    case datasetExists = "dataset_exists"
    /// A store already holds a grant with this id.
    case grantExists = "grant_exists"
    /// A store refused an update because the stored record is no longer at the revision the change
    /// was computed from; read it again and retry.
    case concurrentUpdate = "concurrent_update"
    /// A paging cursor that no listing of this store handed out.
    case invalidCursor = "invalid_cursor"
    /// Stored records or audit records that cannot be read back.
    case replayFailed = "replay_failed"
}

/// Why a grant is denied, suspended, or a step on it refused: an expected "no", returned as a value.
///
/// A decision lists every reason that applies, so the operator sees all of them at once; callers
/// branch on ``code``, never on ``detail``.
public struct GrantReason: Sendable, Hashable, CustomStringConvertible {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        // Policy: why the rules do not allow the grant.

        /// The operator is not approved, or its approval term has ended.
        case operatorNotActive = "operator_not_active"
        /// The operator's tier does not allow the dataset's grade (`standard` may use `general` only).
        case tierInsufficient = "tier_insufficient"
        /// The dataset is graded `core`: never granted.
        case gradeCore = "grade_core"
        /// The dataset is `closed` (不予开放): never granted.
        case opennessClosed = "openness_closed"
        /// A unit price above the dataset's ceiling for that unit.
        case priceAboveCeiling = "price_above_ceiling"
        /// A `public_interest` grant with a price other than zero.
        case publicInterestPriced = "public_interest_priced"
        /// A term longer than ``GrantPolicy/maxTermDays``.
        case termTooLong = "term_too_long"
        /// A term that has already ended.
        case termEnded = "term_ended"
        /// A requested field the dataset does not have.
        case unknownField = "unknown_field"
        /// A unit the dataset is not metered in.
        case unitNotOffered = "unit_not_offered"
        /// A `conditional` dataset in a grant that lacks the approval of an authority providing data
        /// in it: what a dataset made `conditional` after its grant was approved leaves behind.
        case approvalRequired = "approval_required"
        /// A granted field its dataset marked `sensitive` after the grant was requested, without a
        /// justification for it: a sensitive field is granted only with one and its authority's approval.
        case fieldSensitive = "field_sensitive"
        /// The grant's quotas at its prices could charge more in one period than
        /// ``MoneyLimits/grantPeriodMinor``.
        case periodAmountLimit = "period_amount_limit"
        /// With the operator's other grants that are not over, it could charge more in one period
        /// than ``MoneyLimits/operatorPeriodMinor``.
        case operatorAmountLimit = "operator_amount_limit"

        // Steps: why a decision, suspension, reinstatement or revocation is refused.

        /// Denying, rejecting, suspending and revoking need a non-blank reason.
        case reasonRequired = "reason_required"
        /// A reason longer than ``GrantPolicy/maxReasonLength`` characters or with control characters.
        case reasonTooLong = "reason_too_long"
        /// A reason holds a control character.
        case invalidReason = "invalid_reason"
        /// The step is not allowed from the grant's status.
        case invalidTransition = "invalid_transition"
        /// Only a reviewer of an authority may decide on a grant.
        case reviewerWithoutAuthority = "reviewer_without_authority"
        /// The reviewer's authority provides no dataset in the grant, so it cannot decide on it or act
        /// on it.
        case authorityNotParty = "authority_not_party"
        /// The reviewer's authority has already decided on this grant.
        case alreadyDecided = "already_decided"
        /// Only the party that suspended the grant (that authority, or a platform admin) reinstates it.
        case suspendedByOther = "suspended_by_other"
        /// Only a pending or suspended grant may be amended; an active, denied, revoked or expired
        /// one may not.
        case grantNotAmendable = "grant_not_amendable"
        /// The amendment names a version other than the grant's current one: it was made against a
        /// stale copy.
        case staleVersion = "stale_version"
        /// The amendment changes the prices of a grant that has been in force: its money terms were
        /// fixed at its activation; new prices are a new request.
        case pricesFixed = "prices_fixed"
    }

    /// The stable code.
    public var code: Code
    /// The dataset concerned, where there is one.
    public var datasetID: String?
    /// What is wrong, for people.
    public var detail: String

    /// Creates a reason.
    public init(_ code: Code, dataset datasetID: String? = nil, _ detail: String) {
        self.code = code
        self.datasetID = datasetID
        self.detail = detail
    }

    /// `code[dataset]: detail`.
    public var description: String {
        "\(code.rawValue)\(datasetID.map { "[\($0)]" } ?? ""): \(detail)"
    }
}
