public import AuditLog
public import Foundation
public import Vetting

/// A change the lifecycle accepted: the grant after it and the audit records to append with it in
/// the same transaction, in order.
public struct GrantChange: Sendable, Hashable {
    /// The grant after the change.
    public let updated: Grant
    /// The records explaining it.
    public let records: [AuditRecord]
}

/// The result of a step on a grant: a change, or a refusal with every reason that applies.
public enum GrantOutcome: Sendable, Hashable {
    case changed(GrantChange)
    /// Nothing changes and nothing is logged.
    case refused([GrantReason])

    /// The change, if accepted.
    public var change: GrantChange? {
        guard case .changed(let change) = self else { return nil }
        return change
    }

    /// The reasons, if refused; empty otherwise.
    public var reasons: [GrantReason] {
        guard case .refused(let reasons) = self else { return [] }
        return reasons
    }
}

/// The grant lifecycle as pure functions: each takes the grant, what the rules need, and the time,
/// and returns the next grant with its audit records, or the reasons it is refused. Nothing here
/// reads a clock, a store or a random source.
public struct GrantLifecycle: Sendable {
    /// The rules applied.
    public let policy: GrantPolicy

    /// The actor of steps nobody took by hand: expiry and cascades' own records.
    public static let system = "system"

    /// Creates a lifecycle with `policy`.
    public init(policy: GrantPolicy = GrantPolicy()) {
        self.policy = policy
    }

    /// Records `request` as grant `id` of `operator`, decided at once by the rules: `denied` with every
    /// reason when they refuse it, `active` when they allow it, every dataset is `open` and no field
    /// marked `sensitive` is asked for, otherwise `pending` until every authority that must approve
    /// does (``GrantPolicy/requiredApprovals(for:sensitiveFrom:)``).
    ///
    /// - Throws: `dataset_not_found` when a requested dataset is missing from `datasets`,
    ///   `unknown_agreement` when `agreement` is not the one the request names,
    ///   `agreement_scenario_mismatch` when it does not govern the request's scenario,
    ///   `justification_required` / `justification_not_applicable` when the justifications are not
    ///   exactly one per requested sensitive field.
    public func request(
        _ request: GrantRequest, id: String, operator op: Operator, requestedBy principalID: String,
        datasets: [String: Dataset], agreement: AgreementTemplate, at now: Date, committedPeriodMinor: Int128 = 0,
        platformFeeBPS: Int = PlatformFee.initialBPS
    ) throws(LicensingError) -> GrantChange {
        let now = Timestamp.normalized(now)
        var requested: [Dataset] = []
        for item in request.items {
            guard let dataset = datasets[item.datasetID] else {
                throw LicensingError(code: .datasetNotFound, detail: "no dataset '\(item.datasetID)' in the catalog")
            }
            requested.append(dataset)
        }
        guard agreement.id == request.agreementID, agreement.version == request.agreementVersion else {
            throw LicensingError(code: .unknownAgreement, detail: "the agreement does not match the request")
        }
        guard agreement.governs(request.scenario) else {
            throw LicensingError(code: .agreementScenarioMismatch,
                                 detail: "agreement '\(agreement.id)' version '\(agreement.version)' governs \(agreement.scenarios.map(\.rawValue).joined(separator: ", ")), not \(request.scenario.rawValue) (GET /v1/agreements)")
        }
        for (index, (item, dataset)) in zip(request.items, requested).enumerated() {
            try Self.checkJustifications(item, dataset, at: "datasets[\(index)]")
        }
        let items = zip(request.items, requested).map { item, dataset in
            GrantItem(datasetID: item.datasetID, authorityID: dataset.authorityID, fields: item.fields,
                      unitPrices: item.unitPrices, priceTiers: item.priceTiers, quotas: item.quotas,
                      justifications: item.justifications)
        }
        let reasons = policy.evaluate(request, operator: op, datasets: datasets, at: now, committedPeriodMinor: committedPeriodMinor)
        let sensitive = Set(items.filter { !$0.justifications.isEmpty }.map(\.datasetID))
        let required = reasons.isEmpty ? policy.requiredApprovals(for: requested, sensitiveFrom: sensitive) : []
        var grant = Grant(
            id: id, operatorID: op.id, requestedBy: principalID, purpose: request.purpose, scenario: request.scenario,
            startsAt: request.startsAt, endsAt: request.endsAt,
            agreement: AgreementBinding(id: agreement.id, version: agreement.version, sha256: agreement.sha256),
            items: items, currency: requested[0].currency, requestedAt: now, status: .pending,
            approvals: required.map { Approval(authorityID: $0, decision: nil, reviewerID: nil, reason: nil, at: nil) },
            reasons: [], suspensionCause: nil,
            history: [GrantStatusChange(action: .requested, from: nil, to: .pending, at: now, actor: principalID, reason: nil)],
            revision: 1)
        var records = [LicensingRecords.requested(grant, approvalsRequired: required)]
        if !reasons.isEmpty {
            grant.reasons = reasons
            move(&grant, .denied, by: GrantLifecycle.system, reason: nil, at: now, bump: false)
            records.append(LicensingRecords.denied(grant, by: "policy", reason: nil))
        } else if required.isEmpty {
            grant.terms = grant.currentTerms(datasets: datasets, platformFeeBPS: platformFeeBPS)
            move(&grant, .activated, to: .active, by: GrantLifecycle.system, reason: nil, at: now, bump: false)
            records.append(LicensingRecords.activated(grant, via: "automatic"))
        }
        return GrantChange(updated: grant, records: records)
    }

    /// Each requested field of `dataset` marked `sensitive` has a justification
    /// (`justification_required`), and no other field has one (`justification_not_applicable`).
    static func checkJustifications(_ item: GrantRequest.CheckedItem, _ dataset: Dataset, at: String) throws(LicensingError) {
        for field in item.fields where dataset.field(named: field)?.sensitive == true && item.justifications[field] == nil {
            throw LicensingError(code: .justificationRequired,
                                 detail: "\(at).fields asks for '\(field)', which is sensitive: give \(at).justifications['\(field)']")
        }
        for field in item.justifications.keys.sorted() where dataset.field(named: field)?.sensitive != true {
            throw LicensingError(code: .justificationNotApplicable,
                                 detail: "\(at).justifications['\(field)']: '\(dataset.id)' does not mark it sensitive")
        }
    }

    /// An authority's decision on a pending grant. A rejection denies it at once; the approval that
    /// completes the co-approval activates it, if the rules still allow it then (else the approval is
    /// refused with the reasons, and a reviewer must reject instead).
    public func decide(
        _ grant: Grant, by reviewer: Reviewer, decision: GrantDecision, reason: String?,
        operator op: Operator, datasets: [String: Dataset], at now: Date, platformFeeBPS: Int = PlatformFee.initialBPS
    ) -> GrantOutcome {
        let now = Timestamp.normalized(now)
        guard grant.status == .pending else {
            return .refused([GrantReason(.invalidTransition, "the grant is \(grant.status.rawValue), not pending")])
        }
        guard let authority = reviewer.authorityID else {
            return .refused([GrantReason(.reviewerWithoutAuthority, "only a reviewer of an authority decides on grants")])
        }
        guard let slot = grant.approvals.firstIndex(where: { $0.authorityID == authority }) else {
            return .refused([GrantReason(.authorityNotParty, "authority '\(authority)' provides no dataset in this grant")])
        }
        guard grant.approvals[slot].decision == nil else {
            return .refused([GrantReason(.alreadyDecided, "authority '\(authority)' has already decided on this grant")])
        }
        let (trimmed, refusal) = checkedReason(reason, required: decision == .reject)
        if let refusal { return .refused([refusal]) }
        var next = grant
        next.approvals[slot] = Approval(authorityID: authority, decision: decision, reviewerID: reviewer.principalID, reason: trimmed, at: now)
        next.revision += 1
        var records = [LicensingRecords.decided(next, authorityID: authority, by: reviewer.principalID, decision: decision, reason: trimmed, at: now)]
        switch decision {
        case .reject:
            move(&next, .denied, by: reviewer.principalID, reason: trimmed, at: now, bump: false)
            records.append(LicensingRecords.denied(next, by: "authority", reason: trimmed))
        case .approve:
            if next.approvals.allSatisfy({ $0.decision == .approve }) {
                let reasons = policy.recheck(next, operator: op, datasets: datasets, at: now)
                guard reasons.isEmpty else { return .refused(reasons) }
                // Fixed once: a grant amended after it was in force comes back under the terms it had
                // (0020), so that one grant is never rated by two sets of terms.
                if next.terms.isEmpty { next.terms = next.currentTerms(datasets: datasets, platformFeeBPS: platformFeeBPS) }
                move(&next, .activated, to: .active, by: reviewer.principalID, reason: nil, at: now, bump: false)
                records.append(LicensingRecords.activated(next, via: "co-approval"))
            }
        }
        return .changed(GrantChange(updated: next, records: records))
    }

    /// Suspends an active grant; `actor` is an admin (no authority) or a reviewer of a providing authority.
    public func suspend(_ grant: Grant, by actor: Reviewer, reason: String?, at now: Date) -> GrantOutcome {
        let now = Timestamp.normalized(now)
        if let refusal = party(actor, grant) { return .refused([refusal]) }
        guard grant.status(at: now) == .active else {
            return .refused([GrantReason(.invalidTransition, "the grant is \(grant.status(at: now).rawValue), not active")])
        }
        let (checked, refusal) = checkedReason(reason, required: true)
        guard let text = checked else { return .refused([refusal].compactMap { $0 }) }
        var next = grant
        next.suspensionCause = .authority
        next.suspendedBy = ActingParty(actor)
        move(&next, .suspended, by: actor.principalID, reason: text, at: now)
        return .changed(GrantChange(updated: next, records: [
            LicensingRecords.suspended(next, cause: .authority, authorityID: actor.authorityID, reason: text, reasons: []),
        ]))
    }

    /// Reinstates a suspended grant, if the current rules allow it; `reason` is optional.
    public func reinstate(
        _ grant: Grant, by actor: Reviewer, reason: String?, operator op: Operator, datasets: [String: Dataset], at now: Date
    ) -> GrantOutcome {
        let now = Timestamp.normalized(now)
        if let refusal = party(actor, grant) { return .refused([refusal]) }
        guard grant.status(at: now) == .suspended else {
            return .refused([GrantReason(.invalidTransition, "the grant is \(grant.status(at: now).rawValue), not suspended")])
        }
        if let by = grant.suspendedBy, !by.mayBeUndone(by: actor) {
            return .refused([GrantReason(.suspendedByOther, "suspended by \(by); only that party or a platform admin reinstates it")])
        }
        let (text, refusal) = checkedReason(reason, required: false)
        if let refusal { return .refused([refusal]) }
        let reasons = policy.recheck(grant, operator: op, datasets: datasets, at: now)
        guard reasons.isEmpty else { return .refused(reasons) }
        return .changed(reinstated(grant, cause: grant.suspensionCause ?? .authority, by: actor.principalID,
                                   authorityID: actor.authorityID, reason: text, at: now))
    }

    /// Revokes an active or suspended grant, for good.
    public func revoke(_ grant: Grant, by actor: Reviewer, reason: String?, at now: Date) -> GrantOutcome {
        let now = Timestamp.normalized(now)
        if let refusal = party(actor, grant) { return .refused([refusal]) }
        let status = grant.status(at: now)
        guard status == .active || status == .suspended else {
            return .refused([GrantReason(.invalidTransition, "the grant is \(status.rawValue), not active or suspended")])
        }
        let (checked, refusal) = checkedReason(reason, required: true)
        guard let text = checked else { return .refused([refusal].compactMap { $0 }) }
        return .changed(revoked(grant, cause: .authority, by: actor.principalID, authorityID: actor.authorityID, reason: text, at: now))
    }

    /// Records the end of an active or suspended grant whose term has ended by `now`; nil otherwise.
    public func expire(_ grant: Grant, at now: Date) -> GrantChange? {
        let now = Timestamp.normalized(now)
        guard grant.status == .active || grant.status == .suspended, now >= grant.endsAt else { return nil }
        var next = grant
        next.suspensionCause = nil
        move(&next, .expired, by: GrantLifecycle.system, reason: nil, at: now)
        return GrantChange(updated: next, records: [LicensingRecords.expired(next)])
    }

    // MARK: cascades

    /// What an operator's suspension, reinstatement or revocation does to one of its grants; nil when
    /// nothing. Suspension suspends an active grant; revocation revokes an active or suspended grant
    /// and denies a pending one; reinstatement reinstates a grant suspended by the operator's
    /// suspension, if the rules allow it now.
    ///
    /// - Parameter operator: the operator after its change.
    public func operatorChanged(
        _ grant: Grant, cascade: Cascade, operator op: Operator, datasets: [String: Dataset], reason: String, at now: Date
    ) -> GrantChange? {
        let now = Timestamp.normalized(now)
        let status = grant.status(at: now)
        let why = "operator \(op.id) \(cascade == .reinstate ? "reinstated" : cascade == .revoke ? "revoked" : "suspended"): \(reason)"
        switch cascade {
        case .none:
            return nil
        case .suspend:
            guard status == .active else { return nil }
            var next = grant
            next.suspensionCause = .operator
            move(&next, .suspended, by: GrantLifecycle.system, reason: why, at: now)
            return GrantChange(updated: next, records: [
                LicensingRecords.suspended(next, cause: .operator, authorityID: nil, reason: why, reasons: []),
            ])
        case .revoke:
            switch status {
            case .active, .suspended:
                return revoked(grant, cause: .operator, by: GrantLifecycle.system, authorityID: nil, reason: why, at: now)
            case .pending:
                var next = grant
                next.reasons = [GrantReason(.operatorNotActive, "operator '\(op.id)' was revoked")]
                move(&next, .denied, by: GrantLifecycle.system, reason: why, at: now)
                return GrantChange(updated: next, records: [LicensingRecords.denied(next, by: "operator", reason: why)])
            case .denied, .revoked, .expired:
                return nil
            }
        case .reinstate:
            guard status == .suspended, grant.suspensionCause == .operator,
                  policy.recheck(grant, operator: op, datasets: datasets, at: now).isEmpty
            else { return nil }
            return reinstated(grant, cause: .operator, by: GrantLifecycle.system, authorityID: nil, reason: why, at: now)
        }
    }

    /// What a stricter dataset does to a grant that includes it: an active grant the rules no longer
    /// allow is suspended, a pending one they no longer allow is denied, each with the rules' reasons;
    /// nil when nothing changes.
    ///
    /// - Parameter datasets: the grant's datasets as they are after the change.
    public func datasetChanged(
        _ grant: Grant, datasets: [String: Dataset], operator op: Operator, by actor: Reviewer, reason: String, at now: Date
    ) -> GrantChange? {
        let now = Timestamp.normalized(now)
        let status = grant.status(at: now)
        guard status == .active || status == .pending else { return nil }
        var reasons = policy.recheck(grant, operator: op, datasets: datasets, at: now)
        if status == .pending {
            // A pending grant is still collecting its approvals.
            reasons.removeAll { $0.code == .approvalRequired }
        }
        guard !reasons.isEmpty else { return nil }
        var next = grant
        next.reasons = reasons
        if status == .active {
            next.suspensionCause = .dataset
            next.suspendedBy = ActingParty(actor)
            move(&next, .suspended, by: actor.principalID, reason: reason, at: now)
            return GrantChange(updated: next, records: [
                LicensingRecords.suspended(next, cause: .dataset, authorityID: actor.authorityID, reason: reason, reasons: reasons),
            ])
        }
        move(&next, .denied, by: actor.principalID, reason: reason, at: now)
        return GrantChange(updated: next, records: [LicensingRecords.denied(next, by: "dataset", reason: reason)])
    }

    // MARK: shared

    private func reinstated(_ grant: Grant, cause: SuspensionCause, by actor: String, authorityID: String?, reason: String?, at now: Date) -> GrantChange {
        var next = grant
        next.suspensionCause = nil
        next.suspendedBy = nil
        next.reasons = []
        move(&next, .reinstated, to: .active, by: actor, reason: reason, at: now)
        return GrantChange(updated: next, records: [LicensingRecords.reinstated(next, cause: cause, authorityID: authorityID, reason: reason)])
    }

    private func revoked(_ grant: Grant, cause: SuspensionCause, by actor: String, authorityID: String?, reason: String, at now: Date) -> GrantChange {
        let from = grant.status
        var next = grant
        next.suspensionCause = nil
        next.suspendedBy = nil
        move(&next, .revoked, by: actor, reason: reason, at: now)
        return GrantChange(updated: next, records: [
            LicensingRecords.revoked(next, from: from, cause: cause, authorityID: authorityID, reason: reason),
        ])
    }

    /// Moves to `status` through the action of the same name.
    func move(_ grant: inout Grant, _ status: GrantStatus, by actor: String, reason: String?, at now: Date, bump: Bool = true) {
        let action = GrantAction(rawValue: status.rawValue) ?? .requested
        move(&grant, action, to: status, by: actor, reason: reason, at: now, bump: bump)
    }

    func move(_ grant: inout Grant, _ action: GrantAction, to status: GrantStatus, by actor: String, reason: String?, at now: Date, bump: Bool = true) {
        grant.history.append(GrantStatusChange(action: action, from: grant.status, to: status, at: now, actor: actor, reason: reason))
        grant.status = status
        if bump { grant.revision += 1 }
    }

    /// A refusal when `actor` is a reviewer whose authority provides nothing in `grant`; admins
    /// (no authority) may act on any grant.
    private func party(_ actor: Reviewer, _ grant: Grant) -> GrantReason? {
        guard let authority = actor.authorityID, !grant.authorityIDs.contains(authority) else { return nil }
        return GrantReason(.authorityNotParty, "authority '\(authority)' provides no dataset in this grant")
    }

    /// The reason trimmed, or why it is refused: missing when `required`, too long, control characters.
    func checkedReason(_ text: String?, required: Bool) -> (String?, GrantReason?) {
        switch TextRules.reasonProblem(text, maxLength: policy.maxReasonLength) {
        case .missing: return (nil, required ? GrantReason(.reasonRequired, "a reason is required") : nil)
        case .tooLong(let problem): return (nil, GrantReason(.reasonTooLong, "reason \(problem)"))
        case .invalid(let problem): return (nil, GrantReason(.invalidReason, "reason \(problem)"))
        case nil: return (TextRules.trimmed(text), nil)
        }
    }
}

/// A grant step the lifecycle refused: every reason, the first one foremost.
public struct GrantRefusal: Error, Sendable, Equatable {
    public let reasons: [GrantReason]

    /// The first reason; a refusal always has one.
    public var first: GrantReason { reasons.first ?? GrantReason(.invalidTransition, "refused") }
}

extension GrantOutcome {
    /// The change, or the refusal thrown.
    public func accepted() throws(GrantRefusal) -> GrantChange {
        switch self {
        case .changed(let change): change
        case .refused(let reasons): throw GrantRefusal(reasons: reasons)
        }
    }
}
