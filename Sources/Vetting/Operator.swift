public import Foundation

/// Where an operator stands in its lifecycle.
///
/// `submitted → approved | rejected`; `approved → suspended → approved`; any state but `revoked`
/// `→ revoked`, which is final. Expiry is not a status: an `approved` operator past
/// ``Operator/approvedUntil`` is simply not active (see ``Operator/isActive(at:)``) until renewed.
public enum OperatorStatus: String, Sendable, Hashable, CaseIterable {
    /// Applied, awaiting review (or, for `enhanced`, a second approving reviewer).
    case submitted
    /// Vetted; active until ``Operator/approvedUntil``.
    case approved
    /// Refused by a reviewer; the applicant may apply again.
    case rejected
    /// Temporarily barred; its grants and keys are suspended with it.
    case suspended
    /// Permanently barred; its grants and keys are revoked with it.
    case revoked
}

/// A reviewer's verdict on an application or a renewal.
public enum ReviewDecision: String, Sendable, Hashable, CaseIterable {
    /// The criteria are met.
    case approve
    /// Refused; needs a reason.
    case reject
}

/// One review, as recorded on the operator.
public struct Review: Sendable, Hashable {
    /// The reviewer's principal id.
    public let reviewer: String
    /// The authority the reviewer acted for.
    public let authority: String
    /// The verdict.
    public let decision: ReviewDecision
    /// Why, with outer white space removed; nil when none was given (approvals only).
    public let reason: String?
    /// When the review was made, to the millisecond.
    public let at: Date
    /// The review round it belongs to (see ``Operator/round``).
    public let round: Int

    /// Creates a review; for stores restoring a record.
    public init(reviewer: String, authority: String, decision: ReviewDecision, reason: String?, at: Date, round: Int) {
        self.reviewer = reviewer
        self.authority = authority
        self.decision = decision
        self.reason = reason
        self.at = at
        self.round = round
    }
}

/// What a lifecycle step did; each has its own audit-log action `operator.<raw value>`.
public enum LifecycleAction: String, Sendable, Hashable, CaseIterable {
    /// The application was submitted.
    case applied
    /// The last required approval was given.
    case approved
    /// A reviewer rejected the application.
    case rejected
    /// An approved operator's term was extended by approving review(s).
    case renewed
    /// The operator was suspended.
    case suspended
    /// A suspended operator was reinstated.
    case reinstated
    /// The operator was revoked.
    case revoked
}

/// One step in an operator's history: a status change, or a renewal (which keeps the status).
public typealias StatusChange = HistoryStep<LifecycleAction, OperatorStatus>

/// An operator: its application and where it stands in vetting.
///
/// Values only change through ``OperatorLifecycle``, which returns the next value together with the
/// audit records that explain it; a store persists both in one transaction.
public struct Operator: Sendable, Hashable, Identifiable {
    /// The operator id, chosen by the caller when the application is submitted.
    public let id: String
    /// What was submitted.
    public let application: OperatorApplication
    /// When it was submitted, to the millisecond.
    public let submittedAt: Date
    /// Where it stands.
    public internal(set) var status: OperatorStatus
    /// Every review, oldest first.
    public internal(set) var reviews: [Review]
    /// When it was first approved; nil until then.
    public internal(set) var approvedAt: Date?
    /// When the current approval term ends (exclusive): 12 calendar months after the approval or the
    /// last renewal. Kept through suspension and reinstatement.
    public internal(set) var approvedUntil: Date?
    /// Every lifecycle step, oldest first, starting with the application.
    public internal(set) var history: [StatusChange]
    /// The current review round. Approvals count towards a decision only within one round; every
    /// lifecycle step after the application starts a new round, so approvals given before a
    /// suspension, say, do not count towards a renewal after it.
    public internal(set) var round: Int
    /// Who suspended the operator, while it is suspended: only that party or a platform admin may
    /// reinstate it. Nil when not suspended, and for a suspension recorded before this was kept.
    public internal(set) var suspendedBy: ActingParty?
    /// A reviewer's proposal to revoke the operator, awaiting a reviewer of another authority: a
    /// revocation cascades to every grant in every region, so it takes two authorities or an admin.
    public internal(set) var revocationProposal: RevocationProposal?
    /// How many changes the operator has been through, 1 after the application; a store uses it to
    /// refuse an update computed from a stale read.
    public internal(set) var revision: Int

    /// Recreates an operator as a store holds it; no lifecycle rule is checked.
    public init(
        id: String,
        application: OperatorApplication,
        submittedAt: Date,
        status: OperatorStatus,
        reviews: [Review],
        approvedAt: Date?,
        approvedUntil: Date?,
        history: [StatusChange],
        round: Int,
        revision: Int,
        suspendedBy: ActingParty? = nil,
        revocationProposal: RevocationProposal? = nil
    ) {
        self.id = id
        self.application = application
        self.submittedAt = submittedAt
        self.status = status
        self.reviews = reviews
        self.approvedAt = approvedAt
        self.approvedUntil = approvedUntil
        self.history = history
        self.round = round
        self.revision = revision
        self.suspendedBy = suspendedBy
        self.revocationProposal = revocationProposal
    }

    /// True when the operator is approved and its term has not ended at `date`: the test a grant
    /// decision makes.
    public func isActive(at date: Date) -> Bool {
        guard status == .approved, let approvedUntil else { return false }
        return date < approvedUntil
    }

    /// The approving reviews of the current round, oldest first.
    public var pendingApprovals: [Review] {
        reviews.filter { $0.round == round && $0.decision == .approve }
    }

    /// The subject id of this operator in audit records: `operator:<id>`.
    public var subject: String { "operator:\(id)" }
}

/// Who took a step on an operator or a grant: a platform admin, or a reviewer for an authority.
public enum ActingParty: Sendable, Hashable, CustomStringConvertible {
    case admin
    case authority(String)

    /// The party `reviewer` acts for.
    public init(_ reviewer: Reviewer) {
        self = reviewer.authorityID.map(ActingParty.authority) ?? .admin
    }

    /// `admin` or `authority:<id>`, the form stored and shown.
    public init?(text: String) {
        if text == "admin" {
            self = .admin
        } else if text.hasPrefix("authority:"), text.count > "authority:".count {
            self = .authority(String(text.dropFirst("authority:".count)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .admin: "admin"
        case .authority(let id): "authority:\(id)"
        }
    }

    /// Whether `reviewer` may undo what this party did: the same authority, or any platform admin.
    public func mayBeUndone(by reviewer: Reviewer) -> Bool {
        switch self {
        case .admin: reviewer.authorityID == nil
        case .authority(let id): reviewer.authorityID == nil || reviewer.authorityID == id
        }
    }
}

/// A reviewer's standing proposal to revoke an operator.
public struct RevocationProposal: Sendable, Hashable {
    /// The proposing reviewer's principal id.
    public let reviewer: String
    /// The authority the reviewer acts for.
    public let authority: String
    public let reason: String
    public let at: Date

    public init(reviewer: String, authority: String, reason: String, at: Date) {
        self.reviewer = reviewer
        self.authority = authority
        self.reason = reason
        self.at = at
    }
}
