import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Persistence
import Vetting

/// Operators: applications, reviews, suspension, reinstatement, revocation.
extension API {
    func applyAsOperator(_ input: Operations.ApplyAsOperator.Input) async throws -> Operations.ApplyAsOperator.Output {
        let caller = try Authorization.require(.applyAsOperator)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let id = "op_\(Hex.encode(try random.bytes(8)))"
        let now = clock.now()
        // The officer's name and e-mail go to the personal-data store; the operator and the log
        // keep commitments. Sealing first keeps the validation order of the body's fields.
        let officer = [
            try PersonalDatum.seal(body.securityOfficer.name, subject: "operator:\(id)", field: "security_officer.name",
                                   at: now, random: random),
            try PersonalDatum.seal(body.securityOfficer.email, subject: "operator:\(id)", field: "security_officer.email",
                                   at: now, random: random),
        ]
        let application = try OperatorApplication(
            legalName: body.legalName, uscc: body.uscc, mlpsLevel: body.mlpsLevel,
            tier: OperatorTier(rawValue: body.tier.rawValue) ?? .standard,
            securityOfficer: SecurityOfficer(name: officer[0].reference, email: officer[1].reference),
            officerValues: (body.securityOfficer.name, body.securityOfficer.email),
            certifications: body.certifications ?? [],
            documents: body.documents.map { ($0.name, $0.sha256) },
            applicant: caller.id)
        let personal = Dictionary(uniqueKeysWithValues: officer.map { ($0.id, $0) })
        let created: Operator = try await database.transaction { tx in
            let existing = [try await tx.latestOperator(appliedBy: caller.id), try await tx.latestOperator(uscc: application.uscc)]
                .compactMap { $0 }
            let change = try Self.accepted(vetting.submit(application, id: id, existing: existing, at: now))
            try await tx.insert(change.updated)
            try await tx.insertPersonalData(officer)
            try await tx.bindPrincipal(id: caller.id, toOperator: id)
            _ = try await log.append(change.records, in: tx)
            try await IdempotencyScope.recordJSON(.created, view(change.updated, personal: personal), in: tx)
            return change.updated
        }
        return .created(.init(body: .json(view(created, personal: personal))))
    }

    func listOperators(_ input: Operations.ListOperators.Input) async throws -> Operations.ListOperators.Output {
        let caller = try Authorization.require(.listOperators)
        let limit = try Self.pageLimit(input.query.limit)
        let status = input.query.status.flatMap { OperatorStatus(rawValue: $0.rawValue) }
        if caller.role == .operator {
            // An operator sees itself and nothing else.
            let own = try await caller.operatorID.asyncMap { id in try await database.read { try await $0.operatorByID(id) } } ?? nil
            let items = [own].compactMap { $0 }.filter { status == nil || $0.status == status }
            return .ok(.init(body: .json(.init(items: try await views(items, for: caller), nextCursor: nil))))
        }
        let page = try await database.read { try await $0.operators(status: status, after: input.query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: try await views(page.operators, for: caller), nextCursor: page.nextCursor))))
    }

    func getOperator(_ input: Operations.GetOperator.Input) async throws -> Operations.GetOperator.Output {
        let caller = try Authorization.require(.getOperator)
        let id = input.path.id
        // Another operator's record reads as absent: its existence is not the caller's to learn.
        if caller.role == .operator, caller.operatorID != id { throw Problem.notFound("No operator '\(id)'.") }
        guard let found = try await database.read({ try await $0.operatorByID(id) }) else {
            throw Problem.notFound("No operator '\(id)'.")
        }
        return .ok(.init(body: .json(try await views([found], for: caller)[0])))
    }

    func reviewOperator(_ input: Operations.ReviewOperator.Input) async throws -> Operations.ReviewOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let decision = ReviewDecision(rawValue: body.decision.rawValue) ?? .reject
        return .ok(.init(body: .json(try await step(.reviewOperator, input.path.id) { [vetting] in
            vetting.review($0, by: $1, decision: decision, reason: body.reason, at: $2)
        })))
    }

    func suspendOperator(_ input: Operations.SuspendOperator.Input) async throws -> Operations.SuspendOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await step(.suspendOperator, input.path.id) { [vetting] in
            vetting.suspend($0, by: $1, reason: body.reason, at: $2)
        })))
    }

    func reinstateOperator(_ input: Operations.ReinstateOperator.Input) async throws -> Operations.ReinstateOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await step(.reinstateOperator, input.path.id) { [vetting] in
            vetting.reinstate($0, by: $1, reason: body.reason, at: $2)
        })))
    }

    func revokeOperator(_ input: Operations.RevokeOperator.Input) async throws -> Operations.RevokeOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await step(.revokeOperator, input.path.id) { [vetting] in
            vetting.revoke($0, by: $1, reason: body.reason, at: $2)
        })))
    }

    // MARK: shared

    /// One lifecycle step on operator `id` by the caller, if its role may take it; the operator as it now is.
    private func step(
        _ operation: Operation, _ id: String, _ decide: @escaping @Sendable (Operator, Reviewer, Date) -> LifecycleOutcome
    ) async throws -> Components.Schemas.Operator {
        let caller = try Authorization.require(operation)
        let reviewer = Self.reviewer(caller)
        return try await views([try await change(id) { current, now in decide(current, reviewer, now) }], for: caller)[0]
    }

    /// Reads the operator, asks the lifecycle for the change, and stores it with its log entries and
    /// its cascade in one transaction. A refusal writes nothing.
    private func change(
        _ id: String, _ step: @Sendable (Operator, Date) -> LifecycleOutcome
    ) async throws -> Operator {
        let now = clock.now()
        return try await database.transaction { tx in
            guard let current = try await tx.operatorByID(id) else { throw Problem.notFound("No operator '\(id)'.") }
            let change = try Self.accepted(step(current, now))
            try await tx.update(change.updated)
            _ = try await log.append(change.records, in: tx)
            switch change.cascade {
            case .revoke:
                // Its keys die with it; its grants follow below.
                let revoked = try await tx.revokePrincipals(boundToOperator: id, at: now)
                if !revoked.isEmpty {
                    _ = try await log.append(revoked.map {
                        AuditRecord(actor: "system", action: "principal.revoked", subjects: ["principal:\($0)", "operator:\(id)"],
                                    data: ["id": .string($0), "reason": .string("operator \(id) revoked")])
                    }, in: tx)
                }
            case .suspend, .reinstate, .none:
                // A suspended operator's keys are refused at authorization while it stays suspended.
                break
            }
            try await cascade(change, in: tx, at: now)
            return change.updated
        }
    }

    /// The change, or the refusal as a problem listing every reason.
    static func accepted(_ outcome: LifecycleOutcome) throws -> LifecycleChange {
        switch outcome {
        case .changed(let change):
            return change
        case .refused(let reasons):
            let first = reasons.first ?? VettingReason(code: .invalidTransition, detail: "refused")
            let status: HTTPResponse.Status = switch first.code {
            case .selfReview, .reviewerWithoutAuthority, .suspendedByOther: .forbidden
            case .duplicateReviewer, .invalidTransition, .applicationExists, .secondAuthorityRequired: .conflict
            case .reasonRequired, .reasonTooLong, .criteriaNotMet: .unprocessableContent
            }
            throw Problem(status, code: first.code.rawValue, detail: first.detail,
                          reasons: reasons.map { ($0.code.rawValue, $0.detail) })
        }
    }

    static func reviewer(_ principal: Principal) -> Reviewer {
        Reviewer(principalID: principal.id, authorityID: principal.authorityID)
    }

    /// The roles that see a security officer's name and e-mail; auditors and finance have no need.
    static let officerReaders: Set<Role> = [.admin, .authorityReviewer, .operator]

    /// The operators as `caller` may see them, the officer's values read from the personal-data store.
    func views(_ operators: [Operator], for caller: Principal) async throws -> [Components.Schemas.Operator] {
        guard Self.officerReaders.contains(caller.role) else {
            return operators.map { view($0, personal: nil) }
        }
        let ids = operators.flatMap { [$0.application.securityOfficer.name.id, $0.application.securityOfficer.email.id] }
        let personal = ids.isEmpty ? [:] : try await database.read { try await $0.personalData(ids: ids) }
        return operators.map { view($0, personal: personal) }
    }

    /// One operator; `personal` holds the officer's stored values, or is nil when they are withheld.
    func view(_ op: Operator, personal: [String: PersonalDatum]?) -> Components.Schemas.Operator {
        let application = op.application
        let officer = application.securityOfficer
        let name = personal?[officer.name.id]
        let email = personal?[officer.email.id]
        // A value the store no longer has reads as erased, like one erased through the API.
        var erased: [String] = []
        if personal != nil {
            if name?.value == nil { erased.append("name") }
            if email?.value == nil { erased.append("email") }
        }
        return .init(
            id: op.id,
            status: Components.Schemas.OperatorStatus(rawValue: op.status.rawValue) ?? .submitted,
            legalName: application.legalName,
            uscc: application.uscc.description,
            mlpsLevel: application.mlpsLevel,
            tier: Components.Schemas.OperatorTier(rawValue: application.tier.rawValue) ?? .standard,
            securityOfficer: .init(name: name?.value, email: email?.value, erased: erased, withheld: personal == nil),
            certifications: application.certifications,
            documents: application.documents.map { .init(name: $0.name, sha256: $0.sha256) },
            applicantId: application.applicant,
            submittedAt: op.submittedAt,
            approvedAt: op.approvedAt,
            approvedUntil: op.approvedUntil,
            active: op.isActive(at: clock.now()),
            approvalsRequired: vetting.policy.requiredApprovals(for: application.tier),
            reviews: op.reviews.map {
                .init(reviewerId: $0.reviewer, authorityId: $0.authority,
                      decision: $0.decision == .approve ? .approve : .reject,
                      reason: $0.reason, at: $0.at, round: $0.round)
            },
            history: op.history.map {
                .init(action: $0.action.rawValue,
                      from: $0.from.flatMap { Components.Schemas.OperatorStatus(rawValue: $0.rawValue) },
                      to: Components.Schemas.OperatorStatus(rawValue: $0.to.rawValue) ?? .submitted,
                      at: $0.at, actor: $0.actor, reason: $0.reason)
            },
            suspendedBy: op.suspendedBy?.description,
            revocationProposal: op.revocationProposal.map {
                .init(reviewerId: $0.reviewer, authorityId: $0.authority, reason: $0.reason, at: $0.at)
            })
    }
}

extension Optional {
    /// `map` with an asynchronous transform.
    func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
