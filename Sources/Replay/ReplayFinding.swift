/// Something the replay of a log found unlawful or unexplained: a finding names the rule (its
/// stable code), the entry or report line where it shows, and why.
public struct ReplayFinding: Error, Sendable, Hashable, CustomStringConvertible {
    /// The finding codes; `Docs/auditor-guide.md` explains each.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// An entry whose `data` lacks a member its action needs, or holds one of the wrong type.
        case recordMalformed = "record_malformed"
        /// An action this verifier does not know: the log is newer than the verifier, or forged.
        case unknownAction = "unknown_action"
        /// A reference to an operator, principal, dataset, grant or authority the log never created,
        /// or a second creation of one.
        case unknownSubject = "unknown_subject"
        /// An operator step the vetting lifecycle does not produce from its logged inputs.
        case operatorStepInvalid = "operator_step_invalid"
        /// A grant step that does not follow from the grant's state (e.g. activating a denied grant).
        case grantStepInvalid = "grant_step_invalid"
        /// A review or grant decision by a principal that is not a live authority reviewer of the
        /// authority it decides for, or for an authority that was not asked.
        case reviewerIneligible = "reviewer_ineligible"
        /// A second decision by the same reviewer or for the same authority in one round.
        case reviewerRepeated = "reviewer_repeated"
        /// A grant in force without an approval every required authority gave.
        case activatedWithoutApproval = "activated_without_approval"
        /// A grant in force at a price above its dataset's ceiling at that moment.
        case priceAboveCeiling = "price_above_ceiling"
        /// A grant in force that the grant rules refuse for another reason (tier, grade, openness,
        /// operator not active, term).
        case activatedAgainstPolicy = "activated_against_policy"
        /// A usage event the grant check refuses: no grant in force at the event's time, another
        /// operator's grant, a dataset or unit not granted.
        case usageWithoutGrant = "usage_without_grant"
        /// A usage event at a time the operator was not approved.
        case usageOperatorNotActive = "usage_operator_not_active"
        /// A usage event that takes its counter above the grant's quota for the period.
        case usageOverQuota = "usage_over_quota"
        /// A usage event logged under a period its time is not in.
        case usagePeriodMismatch = "usage_period_mismatch"
        /// A usage event id counted a second time for the same operator.
        case usageDuplicate = "usage_duplicate"
        /// Usage the operator declared, of a dataset whose delivery was `gateway` or `upstream` then: PDX meters
        /// such a dataset itself and refuses declarations of it (`metered_at_source`).
        case declaredUsageOnGatewayDataset = "declared_usage_on_gateway_dataset"
        /// Usage metered at the source (`source` `gateway` or `upstream`) of a dataset whose delivery
        /// was `declared` then: PDX neither serves nor forwards such a dataset, so it cannot have metered it.
        case gatewayUsageOnDeclaredDataset = "gateway_usage_on_declared_dataset"
        /// Usage metered at the source whose source is not the dataset's delivery then: `upstream`
        /// usage of a `gateway` dataset, or — once the log names `upstream` (a `usage.recorded` with
        /// that source, or a close in report format 3 or later) — `gateway` usage of an `upstream`
        /// dataset. Logs written before `upstream` existed name forwarded calls `gateway`.
        case usageSourceMismatch = "usage_source_mismatch"
        /// A `dataset.release_published` that does not fit its dataset: another authority, fields
        /// other than the dataset's, or a version published before.
        case releaseInvalid = "release_invalid"
        /// A dataset change whose `from` values are not the dataset's at that point of the log, that
        /// names a field the dataset does not have, gives it an empty title, or names another authority.
        case datasetChangeInvalid = "dataset_change_invalid"
        /// Usage, an adjustment or a second close for a period after its `settlement.closed`.
        case periodChangedAfterClose = "period_changed_after_close"
        /// A period closed while an earlier period with usage was open, or before its end.
        case periodClosedOutOfOrder = "period_closed_out_of_order"
        /// A `settlement.closed` entry that differs from the settlement recomputed from the log.
        case settlementMismatch = "settlement_mismatch"
        /// A `grant.activated` whose terms are not those in force then: its items' prices, its
        /// datasets' revenue shares and the platform fee of the last `marketplace.fee_changed`.
        case grantTermsMismatch = "grant_terms_mismatch"
        /// A `marketplace.fee_changed` whose old fee is not the fee in force, or whose new fee is
        /// outside 0–10000 basis points.
        case feeChangeInvalid = "fee_change_invalid"
        /// Usage events whose quantities add up beyond what a counter holds (2^63 − 1): no server
        /// accepts them, so the log was not written by one.
        case quantityOverflow = "quantity_overflow"
        /// A `settlement.closed` entry for a period whose amounts (a line, a total, an operator's
        /// net income or clawback) cannot be computed within the limit of 2^53 − 1 minor units.
        case amountOverflow = "amount_overflow"
        /// An adjustment of a line no closed period has, or whose copied parties and split differ
        /// from the line's.
        case adjustmentInvalid = "adjustment_invalid"
        /// A report file that is not a report this log's settlement could produce: unreadable, or
        /// for a period the log has not closed.
        case reportInvalid = "report_invalid"
        /// A report whose lines, parties or totals differ from the settlement recomputed from the log.
        case reportDiffers = "report_differs"
        /// A `log.key_added` or `log.key_retired` whose key does not parse, is not named after the
        /// log's origin, or (added) was announced before.
        case keyInvalid = "key_invalid"
        /// A key added while a rollover is under way, or retired when none is or out of turn (not
        /// the key that was current).
        case keyRotationInvalid = "key_rotation_invalid"
        /// A personal-data reference logged twice, or a `personal_data.erased` for a reference the
        /// log never committed to, erased before, or whose commitment, subject or field differ from
        /// the ones logged.
        case personalDataInvalid = "personal_data_invalid"
        /// A `usage.provider_reported` report the provider path would have refused: a dataset of
        /// another authority or not in the grant, a dataset not `declared` then, a unit not granted,
        /// a day not begun, a quantity out of bounds, or an id the authority reported before.
        case providerReportInvalid = "provider_report_invalid"
        /// A `settlement.discrepancy_acknowledged` by someone other than a live finance principal,
        /// or of figures other than the line's at that point of the log, or of no discrepancy.
        case acknowledgementInvalid = "acknowledgement_invalid"
        /// A period closed while one of its reconciliation lines was a discrepancy above tolerance
        /// that finance had not acknowledged: the close should have been refused.
        case discrepancyUnresolved = "discrepancy_unresolved"
        /// A notice, not a failure: a discrepancy above tolerance that finance acknowledged before
        /// the period closed.
        case discrepancyAcknowledged = "discrepancy_acknowledged"
        /// A notice, not a failure: a discrepancy above tolerance in a period not closed yet.
        case discrepancyOpen = "discrepancy_open"
        /// A disclosed value and salt that do not open the log's commitment, or a disclosure of a
        /// reference the log does not hold.
        case disclosureMismatch = "disclosure_mismatch"
        /// An annual public announcement (`pdx disclosure`) whose files are not those the log
        /// derives: a figure, a row or a file changed, missing or added, or a log shorter than the
        /// one it was derived from.
        case disclosureReportDiffers = "disclosure_report_differs"
    }

    public let code: Code

    /// True for the codes that list what an auditor should see but do not fail verification.
    public var isNotice: Bool { Self.noticeCodes.contains(code) }

    /// The notice codes: discrepancies that finance acknowledged, or that are in open periods.
    public static let noticeCodes: Set<Code> = [.discrepancyAcknowledged, .discrepancyOpen]

    /// Where: `entry 17`, `report line 2026-10/gr_1/ds_1/call`, a file name.
    public let location: String
    /// Why, for people.
    public let reason: String

    /// Creates a finding.
    public init(_ code: Code, at location: String, _ reason: String) {
        self.code = code
        self.location = location
        self.reason = reason
    }

    /// A finding about entry `seq`.
    public init(_ code: Code, entry seq: UInt64, _ reason: String) {
        self.init(code, at: "entry \(seq)", reason)
    }

    /// `code at location: reason`.
    public var description: String { "\(code.rawValue) at \(location): \(reason)" }
}
