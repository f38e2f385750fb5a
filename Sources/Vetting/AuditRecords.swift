internal import AuditLog
internal import Foundation

/// The audit-log actions of the Vetting module; the catalog with each action's data members is
/// `README-actions.md` beside this file.
public enum VettingAction: String, Sendable, Hashable, CaseIterable {
    /// An application was submitted.
    case applied = "operator.applied"
    /// A reviewer approved or rejected (every review, including one awaiting a second reviewer).
    case reviewed = "operator.reviewed"
    /// A submitted operator got its last required approval.
    case approved = "operator.approved"
    /// A submitted operator was rejected.
    case rejected = "operator.rejected"
    /// An approved operator's term was extended.
    case renewed = "operator.renewed"
    /// An approved operator was suspended.
    case suspended = "operator.suspended"
    /// A suspended operator was reinstated.
    case reinstated = "operator.reinstated"
    /// An operator was revoked.
    case revoked = "operator.revoked"
    /// A reviewer proposed revoking an operator; a reviewer of another authority completes it.
    case revocationProposed = "operator.revocation_proposed"

    /// The action logged for a lifecycle step.
    public init(_ action: LifecycleAction) {
        self = switch action {
        case .applied: .applied
        case .approved: .approved
        case .rejected: .rejected
        case .renewed: .renewed
        case .suspended: .suspended
        case .reinstated: .reinstated
        case .revoked: .revoked
        }
    }
}

/// Builds the records of each lifecycle step. Every record carries `operator_id`, the operator's
/// `revision` after the step and the step's time `at`, so the log alone replays the operator
/// (``OperatorReplay``). Reviewers' e-mail addresses are never recorded.
enum AuditRecords {
    static func applied(_ created: Operator) -> AuditRecord {
        let application = created.application
        return record(created, .applied, actor: application.applicant, at: created.submittedAt, [
            "status": .string(created.status.rawValue),
            "application": application.json,
        ])
    }

    static func reviewed(_ next: Operator, review: Review, approvals: Int, required: Int) -> AuditRecord {
        record(next, .reviewed, actor: review.reviewer, at: review.at, [
            "reviewer_id": .string(review.reviewer),
            "authority_id": .string(review.authority),
            "decision": .string(review.decision.rawValue),
            "reason": optional(review.reason),
            "round": JSONValue(review.round),
            "approvals": JSONValue(approvals),
            "approvals_required": JSONValue(required),
        ])
    }

    static func approved(_ next: Operator, by reviewer: Reviewer, reviewers: [String], at now: Date) -> AuditRecord {
        record(next, .approved, actor: reviewer.principalID, at: now, [
            "tier": .string(next.application.tier.rawValue),
            "approved_until": time(next.approvedUntil!),
            "reviewers": .array(reviewers.map(JSONValue.string)),
        ])
    }

    static func rejected(_ next: Operator, by reviewer: Reviewer, reason: String, at now: Date) -> AuditRecord {
        record(next, .rejected, actor: reviewer.principalID, at: now, [
            "reason": .string(reason),
        ])
    }

    static func renewed(
        _ next: Operator,
        by reviewer: Reviewer,
        reviewers: [String],
        previousEnd: Date?,
        at now: Date
    ) -> AuditRecord {
        record(next, .renewed, actor: reviewer.principalID, at: now, [
            "tier": .string(next.application.tier.rawValue),
            "approved_until": time(next.approvedUntil!),
            "previous_approved_until": previousEnd.map(time) ?? .null,
            "reviewers": .array(reviewers.map(JSONValue.string)),
        ])
    }

    static func suspended(_ next: Operator, by actor: Reviewer, reason: String, at now: Date) -> AuditRecord {
        record(next, .suspended, actor: actor.principalID, at: now, [
            "authority_id": optional(actor.authorityID),
            "reason": .string(reason),
            "cascade": .string(Cascade.suspend.rawValue),
        ])
    }

    static func reinstated(_ next: Operator, by actor: Reviewer, reason: String?, at now: Date) -> AuditRecord {
        record(next, .reinstated, actor: actor.principalID, at: now, [
            "authority_id": optional(actor.authorityID),
            "reason": optional(reason),
            "approved_until": next.approvedUntil.map(time) ?? .null,
            "cascade": .string(Cascade.reinstate.rawValue),
        ])
    }

    static func revoked(
        _ next: Operator,
        from previous: OperatorStatus,
        by actor: Reviewer,
        reason: String,
        proposal: RevocationProposal?,
        at now: Date
    ) -> AuditRecord {
        record(next, .revoked, actor: actor.principalID, at: now, [
            "authority_id": optional(actor.authorityID),
            "from_status": .string(previous.rawValue),
            "reason": .string(reason),
            "cascade": .string(Cascade.revoke.rawValue),
            "proposed_by": optional(proposal?.reviewer),
            "proposed_by_authority_id": optional(proposal?.authority),
        ])
    }

    static func revocationProposed(_ next: Operator, by actor: Reviewer, reason: String, at now: Date) -> AuditRecord {
        record(next, .revocationProposed, actor: actor.principalID, at: now, [
            "authority_id": optional(actor.authorityID),
            "status": .string(next.status.rawValue),
            "reason": .string(reason),
        ])
    }

    /// The time form used in records: the audit log's own, RFC 3339 UTC with milliseconds.
    static func time(_ date: Date) -> JSONValue {
        .string(Timestamp.format(Timestamp.milliseconds(date)))
    }

    private static func optional(_ text: String?) -> JSONValue {
        text.map(JSONValue.string) ?? .null
    }

    private static func record(
        _ subject: Operator,
        _ action: VettingAction,
        actor: String,
        at now: Date,
        _ members: [String: JSONValue]
    ) -> AuditRecord {
        var data = members
        data["operator_id"] = .string(subject.id)
        data["revision"] = JSONValue(subject.revision)
        data["at"] = time(now)
        return AuditRecord(actor: actor, action: action.rawValue, subjects: [subject.subject], data: data)
    }
}
