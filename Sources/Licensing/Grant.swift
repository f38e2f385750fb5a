public import Foundation
public import Vetting

/// Where a grant stands.
///
/// `pending → active | denied`; `active → suspended → active`; `active | suspended → revoked`;
/// `active | suspended → expired` once the term ends. `denied`, `revoked` and `expired` are final.
public enum GrantStatus: String, Sendable, Hashable, CaseIterable {
    /// Awaiting the approval of every authority that must co-approve it.
    case pending
    /// In force: usage within its term is accepted.
    case active
    /// Refused by the policy or by an authority.
    case denied
    /// Temporarily out of force; see ``Grant/suspensionCause``.
    case suspended
    /// Withdrawn for good.
    case revoked
    /// Its term has ended.
    case expired

    /// True for `denied`, `revoked` and `expired`.
    public var isFinal: Bool { self == .denied || self == .revoked || self == .expired }
}

/// An authority's verdict on a grant.
public enum GrantDecision: String, Sendable, Hashable, CaseIterable {
    case approve
    case reject
}

/// Why a grant is suspended; it decides what reinstates it.
public enum SuspensionCause: String, Sendable, Hashable, CaseIterable {
    /// An authority or admin suspended it; only they reinstate it.
    case authority
    /// Its operator was suspended; reinstating the operator reinstates it, if the rules still allow.
    case `operator`
    /// A dataset in it was made stricter so that the rules no longer allow it; an authority may
    /// reinstate it once they do again.
    case dataset
}

/// What a step on a grant did; each has its audit-log action `grant.<raw value>`.
public enum GrantAction: String, Sendable, Hashable, CaseIterable {
    case requested
    case decided
    case activated
    case denied
    case suspended
    case reinstated
    case revoked
    case expired
    /// The operator amended a pending or suspended grant: a new version, its approvals asked afresh.
    case amended
}

/// One dataset of a grant: which fields, at what prices, within what quotas.
public struct GrantItem: Sendable, Hashable {
    /// The dataset.
    public let datasetID: String
    /// Its providing authority, as it was when the grant was requested.
    public let authorityID: String
    /// The fields granted, in requested order.
    public let fields: [String]
    /// The operator's actual price per granted unit; the units granted are its keys. For a unit
    /// with a graduated price, its first step's price.
    public let unitPrices: [MeteringUnit: UnitPrice]
    /// Graduated prices, for the units that have them; settlement rates these units by step.
    public let priceTiers: [MeteringUnit: [PriceTier]]
    /// The most of each unit that may be used per settlement period.
    public let quotas: [MeteringUnit: Int64]
    /// The requested fields marked `sensitive` when it was requested, each with the operator's
    /// justification: what the providing authority's reviewer weighs. Empty when none.
    public let justifications: [String: String]

    /// Creates an item.
    public init(datasetID: String, authorityID: String, fields: [String], unitPrices: [MeteringUnit: UnitPrice],
                priceTiers: [MeteringUnit: [PriceTier]] = [:], quotas: [MeteringUnit: Int64], justifications: [String: String] = [:]) {
        self.datasetID = datasetID
        self.authorityID = authorityID
        self.fields = fields
        self.unitPrices = unitPrices
        self.priceTiers = priceTiers
        self.quotas = quotas
        self.justifications = justifications
    }

    /// The sensitive fields asked for, in requested order.
    public var sensitiveFields: [String] { fields.filter { justifications[$0] != nil } }

    /// The units granted, sorted.
    public var units: [MeteringUnit] { unitPrices.keys.sorted() }

    /// Per unit, the highest price any of its steps charges: what the ceiling is checked against.
    public var highestPrices: [MeteringUnit: UnitPrice] { Self.highestPrices(unitPrices, priceTiers) }

    /// Per unit, the per-unit price or the highest step of its graduated price.
    static func highestPrices(_ unitPrices: [MeteringUnit: UnitPrice], _ tiers: [MeteringUnit: [PriceTier]]) -> [MeteringUnit: UnitPrice] {
        unitPrices.merging(tiers.compactMapValues { $0.map(\.unitPrice).max() }) { _, tiered in tiered }
    }
}

/// The data-use agreement a grant binds: template id, version and the SHA-256 of its file.
public struct AgreementBinding: Sendable, Hashable {
    public let id: String
    public let version: String
    public let sha256: String

    /// Creates a binding.
    public init(id: String, version: String, sha256: String) {
        self.id = id
        self.version = version
        self.sha256 = sha256
    }
}

/// One authority's place in a grant's co-approval.
public struct Approval: Sendable, Hashable {
    /// The authority.
    public let authorityID: String
    /// Its verdict; nil while it has not decided.
    public let decision: GrantDecision?
    /// The deciding reviewer's principal id.
    public let reviewerID: String?
    /// The reason given, trimmed; nil when none.
    public let reason: String?
    /// When it decided, to the millisecond.
    public let at: Date?

    /// Creates an approval slot or a decision.
    public init(authorityID: String, decision: GrantDecision?, reviewerID: String?, reason: String?, at: Date?) {
        self.authorityID = authorityID
        self.decision = decision
        self.reviewerID = reviewerID
        self.reason = reason
        self.at = at
    }
}

/// One step in a grant's history.
public typealias GrantStatusChange = HistoryStep<GrantAction, GrantStatus>

/// A grant: an operator's right to use datasets for a purpose within a term, and where it stands.
///
/// Values only change through ``GrantLifecycle``, which returns the next value with the audit
/// records that explain it.
public struct Grant: Sendable, Hashable, Identifiable {
    public let id: String
    /// The operator it is for.
    public let operatorID: String
    /// The principal that requested it.
    public let requestedBy: String
    /// What the data will be used for.
    public let purpose: String
    public let scenario: Scenario
    /// The term: usage is accepted from `startsAt` (inclusive) to `endsAt` (exclusive) while active.
    public let startsAt: Date
    /// Changed only by an amendment.
    public internal(set) var endsAt: Date
    /// The agreement it binds.
    public let agreement: AgreementBinding
    /// The datasets, in requested order; an amendment may change an item but never the set.
    public internal(set) var items: [GrantItem]
    /// The currency of its prices.
    public let currency: Currency
    /// When it was requested, to the millisecond.
    public let requestedAt: Date
    public internal(set) var status: GrantStatus
    /// One slot per authority that must approve, by authority id; empty when the grant needs no
    /// approval (every dataset `open`) or was denied by the policy.
    public internal(set) var approvals: [Approval]
    /// Why it was denied or last suspended by the rules; empty otherwise.
    public internal(set) var reasons: [GrantReason]
    /// Why it is suspended; nil unless `suspended`.
    public internal(set) var suspensionCause: SuspensionCause?
    /// Who suspended it, for a suspension by an authority or a dataset change: only that party or
    /// a platform admin may reinstate it. Nil otherwise, and for a suspension recorded before this
    /// was kept.
    public internal(set) var suspendedBy: ActingParty?
    /// Every step, oldest first, starting with the request.
    public internal(set) var history: [GrantStatusChange]
    /// 1 after the request, one more after each change.
    public internal(set) var revision: Int
    /// Per dataset, the revenue share and platform fee fixed when it first became active; empty
    /// before that. Settlement rates the grant's lines by these.
    public internal(set) var terms: [DatasetTerms]
    /// 1 as requested, one more after each amendment; the approvals in ``approvals`` are this
    /// version's only.
    public internal(set) var version: Int
    /// The versions before this one, oldest first, each with the approvals it had collected when it
    /// was amended (void for the versions after it). Empty for a grant never amended.
    public internal(set) var earlierVersions: [GrantVersion]

    /// Recreates a grant as a store holds it; no rule is checked.
    public init(
        id: String, operatorID: String, requestedBy: String, purpose: String, scenario: Scenario, startsAt: Date, endsAt: Date,
        agreement: AgreementBinding, items: [GrantItem], currency: Currency, requestedAt: Date, status: GrantStatus,
        approvals: [Approval], reasons: [GrantReason], suspensionCause: SuspensionCause?, history: [GrantStatusChange], revision: Int,
        suspendedBy: ActingParty? = nil, terms: [DatasetTerms] = [], version: Int = 1, earlierVersions: [GrantVersion] = []
    ) {
        self.suspendedBy = suspendedBy
        self.terms = terms
        self.version = version
        self.earlierVersions = earlierVersions
        self.id = id
        self.operatorID = operatorID
        self.requestedBy = requestedBy
        self.purpose = purpose
        self.scenario = scenario
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.agreement = agreement
        self.items = items
        self.currency = currency
        self.requestedAt = requestedAt
        self.status = status
        self.approvals = approvals
        self.reasons = reasons
        self.suspensionCause = suspensionCause
        self.history = history
        self.revision = revision
    }

    /// Records a step as a verifier replays it from the log: the new status, the decision it adds,
    /// the suspension cause (kept only while suspended) and the revision, with the step appended to
    /// the history. No rule is checked: the verifier judges the step itself. In place, so that a
    /// grant suspended and reinstated many times is not copied at every step.
    public mutating func replay(_ change: GrantStatusChange, adding approval: Approval?, suspensionCause: SuspensionCause?, revision: Int,
                                suspendedBy: ActingParty? = nil, terms: [DatasetTerms]? = nil) {
        if let terms { self.terms = terms }
        status = change.to
        if let approval { approvals.append(approval) }
        self.suspensionCause = change.to == .suspended ? suspensionCause : nil
        self.suspendedBy = change.to == .suspended ? suspendedBy : nil
        history.append(change)
        self.revision = revision
    }

    /// Records an amendment as a verifier replays it from `grant.amended`: the version before it
    /// joins ``earlierVersions``, `items` and `endsAt` replace the grant's, the approvals start
    /// empty, and the step is appended. No rule is checked: the verifier judges the step itself.
    public mutating func replayAmendment(_ change: GrantStatusChange, items: [GrantItem], endsAt: Date, revision: Int) {
        earlierVersions.append(currentVersion)
        self.items = items
        self.endsAt = endsAt
        version += 1
        approvals = []
        reasons = []
        suspensionCause = nil
        suspendedBy = nil
        status = change.to
        history.append(change)
        self.revision = revision
    }

    /// The version in force: its number, items, end, approvals so far, and the step that made it.
    public var currentVersion: GrantVersion {
        let made = history.last { $0.action == .amended || $0.action == .requested }
        return GrantVersion(version: version, items: items, endsAt: endsAt, approvals: approvals,
                            at: made?.at ?? requestedAt, actor: made?.actor ?? requestedBy,
                            reason: made?.action == .amended ? made?.reason : nil)
    }

    /// Every version, oldest first, the one in force last.
    public var versions: [GrantVersion] { earlierVersions + [currentVersion] }

    /// True once the grant has been in force: its money terms are then fixed for good.
    public var hasBeenActive: Bool { history.contains { $0.to == .active } }

    /// The authorities providing its datasets, sorted, each once.
    public var authorityIDs: [String] { Set(items.map(\.authorityID)).sorted() }

    /// An upper bound of what the grant could charge in one period: every quota used at its unit's
    /// highest price; zero for a `public_interest` grant.
    public var periodAmountBound: Int128 {
        guard scenario != .publicInterest else { return 0 }
        return items.reduce(Int128(0)) { $0 + MoneyLimits.bound(quotas: $1.quotas, prices: $1.highestPrices, currency: currency) }
    }

    /// The item for `datasetID`, or nil.
    public func item(for datasetID: String) -> GrantItem? {
        items.first { $0.datasetID == datasetID }
    }

    /// The status as of `date`: `expired` once an active or suspended grant's term has ended, even
    /// before the expiry is recorded.
    public func status(at date: Date) -> GrantStatus {
        if (status == .active || status == .suspended) && date >= endsAt { return .expired }
        return status
    }

    /// The spans in which it was in force, oldest first: from each activation or reinstatement to
    /// the next suspension, revocation or expiry (nil: still in force), each cut to the term. Usage is
    /// accepted only at a time inside one of them.
    public var activeSpans: [ActiveSpan] {
        var spans: [ActiveSpan] = []
        var openedAt: Date?
        for change in history {
            if change.to == .active, openedAt == nil {
                openedAt = change.at
            } else if change.to != .active, let start = openedAt {
                spans.append(ActiveSpan(from: max(start, startsAt), until: min(change.at, endsAt)))
                openedAt = nil
            }
        }
        if let start = openedAt { spans.append(ActiveSpan(from: max(start, startsAt), until: endsAt)) }
        return spans.filter { $0.from < $0.until }
    }

    /// The subject id of this grant in audit records: `grant:<id>`.
    public var subject: String { "grant:\(id)" }
}

/// One version of a grant: what was asked for, and the approvals collected for exactly that.
public struct GrantVersion: Sendable, Hashable {
    /// 1 for the request, one more per amendment.
    public let version: Int
    public let items: [GrantItem]
    public let endsAt: Date
    /// The approvals collected for this version; those of an amended version count for no other.
    public let approvals: [Approval]
    /// When it was made (requested or amended), and by which principal.
    public let at: Date
    public let actor: String
    /// The amendment's reason; nil for the request and for an amendment given none.
    public let reason: String?

    /// Creates a version; no rule is checked.
    public init(version: Int, items: [GrantItem], endsAt: Date, approvals: [Approval], at: Date, actor: String, reason: String?) {
        self.version = version
        self.items = items
        self.endsAt = endsAt
        self.approvals = approvals
        self.at = at
        self.actor = actor
        self.reason = reason
    }
}

/// A half-open span of time `[from, until)` in which a grant was in force.
public struct ActiveSpan: Sendable, Hashable {
    public let from: Date
    public let until: Date

    public init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }

    /// True when `date` is inside.
    public func contains(_ date: Date) -> Bool { date >= from && date < until }
}

/// One page of grants.
public struct GrantPage: Sendable, Hashable {
    public var grants: [Grant]
    /// The cursor for the next page; nil on the last page.
    public var nextCursor: String?

    public init(grants: [Grant], nextCursor: String?) {
        self.grants = grants
        self.nextCursor = nextCursor
    }
}

/// Which grants a listing returns; nil members do not filter.
public struct GrantFilter: Sendable, Hashable {
    public var operatorID: String?
    /// Only grants with a dataset of this authority.
    public var authorityID: String?
    /// Only grants with this dataset.
    public var datasetID: String?
    public var status: GrantStatus?
    /// Only pending grants still waiting for this authority's decision: a reviewer's work queue.
    public var awaitingAuthorityID: String?

    public init(operatorID: String? = nil, authorityID: String? = nil, datasetID: String? = nil, status: GrantStatus? = nil,
                awaitingAuthorityID: String? = nil) {
        self.operatorID = operatorID
        self.authorityID = authorityID
        self.datasetID = datasetID
        self.status = status
        self.awaitingAuthorityID = awaitingAuthorityID
    }
}

extension Grant {
    /// Whether the grant is pending and `authorityID` is among those whose approval it needs and
    /// has not decided yet.
    public func awaitsDecision(of authorityID: String) -> Bool {
        status == .pending && approvals.contains { $0.authorityID == authorityID && $0.decision == nil }
    }
}
