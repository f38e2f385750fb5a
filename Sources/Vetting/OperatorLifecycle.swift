public import AuditLog
public import Foundation

/// Who acts on an operator: a reviewer for an authority, or a platform admin.
public struct Reviewer: Sendable, Hashable {
    /// The principal id; it becomes the audit record's actor.
    public var principalID: String
    /// The authority the principal acts for; nil for a platform admin, who may suspend, reinstate
    /// and revoke but not review.
    public var authorityID: String?

    /// Creates a reviewer.
    public init(principalID: String, authorityID: String?) {
        self.principalID = principalID
        self.authorityID = authorityID
    }
}

/// What the caller must do to the operator's grants and usage keys in the same transaction.
public enum Cascade: String, Sendable, Hashable, CaseIterable {
    /// Nothing.
    case none
    /// Suspend every active grant of the operator and every usage key of its principals.
    case suspend
    /// Revoke every grant of the operator that is not already revoked or expired, and every usage key.
    case revoke
    /// The operator is back: grants and keys suspended *by the operator's suspension* may be
    /// reinstated. Those suspended for their own reasons stay suspended; the caller knows which is
    /// which from the reason it recorded on them.
    case reinstate
}

/// Settings of the vetting lifecycle.
public struct VettingPolicy: Sendable {
    /// The calendar that "12 calendar months" is counted in: Gregorian in the marketplace's time
    /// zone, so an approval at 10:00 Beijing time on 29 February ends at 10:00 on 28 February.
    public var calendar: Calendar
    /// How long an approval or renewal lasts, in calendar months.
    public var approvalTermMonths: Int
    /// The longest reason accepted, in characters.
    public var maxReasonLength: Int
    /// What an application must meet to be approved.
    public var criteria: ApprovalCriteria

    /// Creates a policy; the defaults are the product's rules in the Asia/Shanghai time zone.
    public init(
        timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!,
        approvalTermMonths: Int = 12,
        maxReasonLength: Int = 2000,
        criteria: ApprovalCriteria = ApprovalCriteria()
    ) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
        self.approvalTermMonths = approvalTermMonths
        self.maxReasonLength = maxReasonLength
        self.criteria = criteria
    }

    /// How many distinct approving reviewers a decision on `tier` needs: 2 for `enhanced` (the
    /// two-person rule, for renewals too, since a renewal grants another year of access to
    /// `important` datasets), 1 for `standard`.
    public func requiredApprovals(for tier: OperatorTier) -> Int {
        switch tier {
        case .standard: 1
        case .enhanced: 2
        }
    }

    /// The end of a term that starts at `start`.
    public func termEnd(startingAt start: Date) -> Date {
        // Gregorian month arithmetic fails only far outside any real date; stay total rather than trap.
        let end = calendar.date(byAdding: .month, value: approvalTermMonths, to: start)
            ?? start.addingTimeInterval(Double(approvalTermMonths) * 30 * 86_400)
        return Timestamp.normalized(end)
    }
}

/// A change the lifecycle accepted: the next operator value, the audit records to append with it in
/// the same transaction, in order, and what the caller must cascade.
public struct LifecycleChange: Sendable, Hashable {
    /// The operator after the change.
    public let updated: Operator
    /// The audit records explaining the change, to append in this order.
    public let records: [AuditRecord]
    /// What to do to the operator's grants and keys.
    public let cascade: Cascade

    /// The lifecycle step taken, or nil for a review that only records an approval awaiting another
    /// reviewer.
    public let action: LifecycleAction?

    init(updated: Operator, records: [AuditRecord], cascade: Cascade) {
        self.updated = updated
        self.records = records
        self.cascade = cascade
        // A step appends to the history; a pending approval does not.
        let statusKept: Set<String> = [VettingAction.reviewed.rawValue, VettingAction.revocationProposed.rawValue]
        self.action = records.count == 1 && statusKept.contains(records[0].action)
            ? nil : updated.history.last?.action
    }
}

/// The result of a lifecycle step: a change, or a refusal with every reason that applies.
public enum LifecycleOutcome: Sendable, Hashable {
    /// The step was accepted.
    case changed(LifecycleChange)
    /// The step was refused; nothing changes and nothing is logged.
    case refused([VettingReason])

    /// The change, if accepted.
    public var change: LifecycleChange? {
        guard case .changed(let change) = self else { return nil }
        return change
    }

    /// The reasons, if refused; empty otherwise.
    public var reasons: [VettingReason] {
        guard case .refused(let reasons) = self else { return [] }
        return reasons
    }
}

/// The outcome of a review; the same type as every other lifecycle step's.
public typealias ReviewOutcome = LifecycleOutcome

/// The operator lifecycle as pure functions: each takes the current operator and the time, and
/// returns the next operator with its audit records, or the reasons it is refused. Nothing here
/// reads a clock, a store or a random source.
///
/// Times are rounded to the millisecond first, the precision of audit entries, so that a replay of
/// the log reproduces the operator exactly.
public struct OperatorLifecycle: Sendable {
    /// The settings applied.
    public let policy: VettingPolicy

    /// Creates a lifecycle with `policy`.
    public init(policy: VettingPolicy = VettingPolicy()) {
        self.policy = policy
    }

    /// Submits an application as operator `id`.
    ///
    /// - Parameter existing: operators already on record for the same applicant principal or the
    ///   same unified social credit code (a store's ``VettingStore/latestOperator(appliedBy:)`` and
    ///   ``VettingStore/latestOperator(uscc:)``). Any of them not `rejected` refuses the application
    ///   with `application_exists`: one live application per account and per company, and a revoked
    ///   company stays out.
    /// - Precondition: `id` is not empty.
    public func submit(_ application: OperatorApplication, id: String, existing: [Operator], at now: Date) -> LifecycleOutcome {
        precondition(!id.isEmpty, "an operator id is chosen by the caller and is never empty")
        let now = Timestamp.normalized(now)
        if let live = existing.first(where: { $0.status != .rejected }) {
            // Another company's operator id and status are not the applicant's to see.
            let who = live.application.applicant == application.applicant ? "this applicant" : "this unified social credit code"
            return .refused([VettingReason(
                code: .applicationExists,
                detail: "\(who) already has an application that is not rejected"
            )])
        }
        let created = Operator(
            id: id,
            application: application,
            submittedAt: now,
            status: .submitted,
            reviews: [],
            approvedAt: nil,
            approvedUntil: nil,
            history: [StatusChange(action: .applied, from: nil, to: .submitted, at: now, actor: application.applicant, reason: nil)],
            round: 0,
            revision: 1
        )
        return .changed(LifecycleChange(
            updated: created,
            records: [AuditRecords.applied(created)],
            cascade: .none
        ))
    }

    /// Records a review.
    ///
    /// Reviews `submitted` operators (approve or reject) and `approved` ones (approve only: a
    /// renewal; to end an approval, suspend or revoke). An approval counts once per reviewer per
    /// round; when the tier's ``VettingPolicy/requiredApprovals(for:)`` distinct reviewers have
    /// approved, a `submitted` operator becomes `approved` for one term and an `approved` one is
    /// renewed for one term from `now`. Until then the review is recorded and the status kept. A
    /// rejection rejects at once.
    ///
    /// Refusals: `invalid_transition` (alone), else any of `reviewer_without_authority`,
    /// `self_review`, `reason_required` (reject without a reason), `reason_too_long`,
    /// `duplicate_reviewer`, `criteria_not_met` (approve only, one per failing criterion).
    public func review(
        _ current: Operator,
        by reviewer: Reviewer,
        decision: ReviewDecision,
        reason: String?,
        at now: Date
    ) -> ReviewOutcome {
        let now = Timestamp.normalized(now)
        switch (current.status, decision) {
        case (.submitted, _), (.approved, .approve):
            break
        case (.approved, .reject):
            return .refused([VettingReason(
                code: .invalidTransition,
                detail: "an approved operator is not rejected; suspend or revoke it instead"
            )])
        default:
            return .refused([VettingReason(
                code: .invalidTransition,
                detail: "a \(current.status.rawValue) operator cannot be reviewed"
            )])
        }
        var reasons: [VettingReason] = []
        if reviewer.authorityID == nil {
            reasons.append(VettingReason(
                code: .reviewerWithoutAuthority,
                detail: "only a principal acting for an authority may review an operator"
            ))
        }
        reasons += partyReasons(current, reviewer)
        let trimmedReason = TextRules.trimmed(reason)
        reasons += reasonProblems(trimmedReason, required: decision == .reject, step: "rejecting")
        if decision == .approve {
            if current.pendingApprovals.contains(where: { $0.reviewer == reviewer.principalID }) {
                reasons.append(VettingReason(
                    code: .duplicateReviewer,
                    detail: "this reviewer has already approved; the next approval must come from another reviewer"
                ))
            }
            reasons += policy.criteria.evaluate(current.application)
        }
        guard reasons.isEmpty, let authority = reviewer.authorityID else {
            return .refused(reasons)
        }

        var next = current
        next.revision += 1
        let review = Review(
            reviewer: reviewer.principalID,
            authority: authority,
            decision: decision,
            reason: trimmedReason,
            at: now,
            round: current.round
        )
        next.reviews.append(review)
        // Distinct principals, in order of approval: the two-person rule counts people, not reviews,
        // even in a record restored from elsewhere.
        var approvers: [String] = []
        for approval in next.pendingApprovals where !approvers.contains(approval.reviewer) {
            approvers.append(approval.reviewer)
        }
        let required = policy.requiredApprovals(for: current.application.tier)
        let reviewed = AuditRecords.reviewed(next, review: review, approvals: approvers.count, required: required)

        switch decision {
        case .reject:
            guard let trimmedReason else {
                // Not reached: a rejection without a reason was refused above.
                return .refused([VettingReason(code: .reasonRequired, detail: "rejecting an operator needs a reason")])
            }
            next.status = .rejected
            next.history.append(StatusChange(
                action: .rejected, from: current.status, to: .rejected, at: now,
                actor: reviewer.principalID, reason: trimmedReason
            ))
            next.round += 1
            return .changed(LifecycleChange(
                updated: next,
                records: [reviewed, AuditRecords.rejected(next, by: reviewer, reason: trimmedReason, at: now)],
                cascade: .none
            ))
        case .approve:
            guard approvers.count >= required else {
                return .changed(LifecycleChange(updated: next, records: [reviewed], cascade: .none))
            }
            let previousEnd = current.approvedUntil
            let end = policy.termEnd(startingAt: now)
            let action: LifecycleAction = current.status == .submitted ? .approved : .renewed
            next.status = .approved
            if action == .approved {
                next.approvedAt = now
            }
            next.approvedUntil = end
            next.history.append(StatusChange(
                action: action, from: current.status, to: .approved, at: now,
                actor: reviewer.principalID, reason: trimmedReason
            ))
            next.round += 1
            let decided = action == .approved
                ? AuditRecords.approved(next, by: reviewer, reviewers: approvers, at: now)
                : AuditRecords.renewed(next, by: reviewer, reviewers: approvers, previousEnd: previousEnd, at: now)
            return .changed(LifecycleChange(updated: next, records: [reviewed, decided], cascade: .none))
        }
    }

    /// Suspends an `approved` operator (expired or not); needs a reason. The term keeps running.
    ///
    /// Refusals: `invalid_transition` (alone), else `reason_required`, `reason_too_long`.
    /// The change asks the caller to cascade ``Cascade/suspend``.
    public func suspend(_ current: Operator, by actor: Reviewer, reason: String?, at now: Date) -> LifecycleOutcome {
        let now = Timestamp.normalized(now)
        guard current.status == .approved else {
            return .refused([VettingReason(
                code: .invalidTransition,
                detail: "only an approved operator can be suspended, not a \(current.status.rawValue) one"
            )])
        }
        let trimmedReason = TextRules.trimmed(reason)
        let reasons = reasonProblems(trimmedReason, required: true, step: "suspending")
        guard reasons.isEmpty, let trimmedReason else { return .refused(reasons) }
        var next = step(current, to: .suspended, action: .suspended, by: actor, reason: trimmedReason, at: now)
        next.suspendedBy = ActingParty(actor)
        return .changed(LifecycleChange(
            updated: next,
            records: [AuditRecords.suspended(next, by: actor, reason: trimmedReason, at: now)],
            cascade: .suspend
        ))
    }

    /// Reinstates a `suspended` operator with the same ``Operator/approvedUntil`` (if that has passed
    /// it is approved but not active until renewed); the reason is optional.
    ///
    /// Refusals: `invalid_transition` (alone), else `suspended_by_other` (only the authority that
    /// suspended it, or a platform admin, lifts a suspension; only an admin lifts an admin's),
    /// `self_review` (a principal party to the application cannot lift its suspension),
    /// `reason_too_long`. The change asks the caller to cascade ``Cascade/reinstate``.
    public func reinstate(_ current: Operator, by actor: Reviewer, reason: String?, at now: Date) -> LifecycleOutcome {
        let now = Timestamp.normalized(now)
        guard current.status == .suspended else {
            return .refused([VettingReason(
                code: .invalidTransition,
                detail: "only a suspended operator can be reinstated, not a \(current.status.rawValue) one"
            )])
        }
        let trimmedReason = TextRules.trimmed(reason)
        var reasons = partyReasons(current, actor) + reasonProblems(trimmedReason, required: false, step: "reinstating")
        if let by = current.suspendedBy, !by.mayBeUndone(by: actor) {
            reasons.insert(VettingReason(code: .suspendedByOther,
                                         detail: "suspended by \(by); only that party or a platform admin reinstates it"), at: 0)
        }
        guard reasons.isEmpty else { return .refused(reasons) }
        var next = step(current, to: .approved, action: .reinstated, by: actor, reason: trimmedReason, at: now)
        next.suspendedBy = nil
        return .changed(LifecycleChange(
            updated: next,
            records: [AuditRecords.reinstated(next, by: actor, reason: trimmedReason, at: now)],
            cascade: .reinstate
        ))
    }

    /// Revokes an operator in any status but `revoked`; needs a reason. Final.
    ///
    /// A revocation ends the operator's grants in every region, so one authority alone does not
    /// decide it: a platform admin revokes at once; a reviewer's revocation is first a proposal
    /// (`operator.revocation_proposed`, nothing else changes), and the operator is revoked when a
    /// reviewer of another authority revokes it too.
    ///
    /// Refusals: `invalid_transition` (alone), else `reason_required`, `reason_too_long`,
    /// `second_authority_required` (the proposal stands and this reviewer's authority made it).
    /// A revocation asks the caller to cascade ``Cascade/revoke``.
    public func revoke(_ current: Operator, by actor: Reviewer, reason: String?, at now: Date) -> LifecycleOutcome {
        let now = Timestamp.normalized(now)
        guard current.status != .revoked else {
            return .refused([VettingReason(code: .invalidTransition, detail: "the operator is already revoked")])
        }
        let trimmedReason = TextRules.trimmed(reason)
        var reasons = reasonProblems(trimmedReason, required: true, step: "revoking")
        let proposal = current.revocationProposal
        if let authority = actor.authorityID, let proposal, proposal.authority == authority {
            reasons.append(VettingReason(code: .secondAuthorityRequired,
                                         detail: "authority '\(authority)' has proposed this revocation; a reviewer of another authority or a platform admin completes it"))
        }
        guard reasons.isEmpty, let trimmedReason else { return .refused(reasons) }
        if let authority = actor.authorityID, proposal == nil {
            var next = current
            next.revision += 1
            next.revocationProposal = RevocationProposal(reviewer: actor.principalID, authority: authority, reason: trimmedReason, at: now)
            return .changed(LifecycleChange(
                updated: next,
                records: [AuditRecords.revocationProposed(next, by: actor, reason: trimmedReason, at: now)],
                cascade: .none
            ))
        }
        var next = step(current, to: .revoked, action: .revoked, by: actor, reason: trimmedReason, at: now)
        next.suspendedBy = nil
        next.revocationProposal = nil
        return .changed(LifecycleChange(
            updated: next,
            records: [AuditRecords.revoked(next, from: current.status, by: actor, reason: trimmedReason, proposal: proposal, at: now)],
            cascade: .revoke
        ))
    }

    // MARK: Shared rules

    private func step(
        _ current: Operator,
        to status: OperatorStatus,
        action: LifecycleAction,
        by actor: Reviewer,
        reason: String?,
        at now: Date
    ) -> Operator {
        var next = current
        next.status = status
        next.history.append(StatusChange(
            action: action, from: current.status, to: status, at: now, actor: actor.principalID, reason: reason
        ))
        next.round += 1
        next.revision += 1
        return next
    }

    /// `self_review` when `reviewer` is the principal that applied. Principals are compared, never
    /// free text the applicant wrote: an application naming a reviewer's e-mail address as its
    /// security officer must not be able to keep that reviewer out.
    private func partyReasons(_ current: Operator, _ reviewer: Reviewer) -> [VettingReason] {
        guard reviewer.principalID == current.application.applicant else { return [] }
        return [VettingReason(code: .selfReview, detail: "the reviewer is the applicant principal of this application")]
    }

    private func reasonProblems(_ reason: String?, required: Bool, step: String) -> [VettingReason] {
        guard let reason else {
            return required ? [VettingReason(code: .reasonRequired, detail: "\(step) an operator needs a reason")] : []
        }
        guard reason.count <= policy.maxReasonLength else {
            return [VettingReason(
                code: .reasonTooLong,
                detail: "the reason has \(reason.count) characters, over \(policy.maxReasonLength)"
            )]
        }
        return []
    }
}

/// An operator step the lifecycle refused: every reason, the first one foremost.
public struct OperatorRefusal: Error, Sendable, Equatable {
    public let reasons: [VettingReason]

    /// The first reason; a refusal always has one.
    public var first: VettingReason { reasons.first ?? VettingReason(code: .invalidTransition, detail: "refused") }
}

extension LifecycleOutcome {
    /// The change, or the refusal thrown.
    public func accepted() throws(OperatorRefusal) -> LifecycleChange {
        switch self {
        case .changed(let change): change
        case .refused(let reasons): throw OperatorRefusal(reasons: reasons)
        }
    }
}
