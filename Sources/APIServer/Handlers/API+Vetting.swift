import Marketplace
import Identity
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
        let application = VettingService.Application(
            legalName: body.legalName, uscc: body.uscc, mlpsLevel: body.mlpsLevel,
            tier: OperatorTier(body.tier),
            officerName: body.securityOfficer.name, officerEmail: body.securityOfficer.email,
            certifications: body.certifications ?? [],
            documents: body.documents.map { ($0.name, $0.sha256) })
        let (created, personal) = try await vettingService.apply(application, by: caller) { applied, tx in
            try await IdempotencyScope.recordJSON(.created, view(applied.0, personal: applied.1), in: tx)
        }
        return .created(.init(body: .json(view(created, personal: personal))))
    }

    func listOperators(_ input: Operations.ListOperators.Input) async throws -> Operations.ListOperators.Output {
        let caller = try Authorization.require(.listOperators)
        let limit = try Self.pageLimit(input.query.limit)
        let status = input.query.status.map(OperatorStatus.init)
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
        let decision = ReviewDecision(body.decision)
        let caller = try Authorization.require(.reviewOperator)
        let reviewed = try await vettingService.review(input.path.id, decision: decision, reason: body.reason, by: Self.reviewer(caller))
        return .ok(.init(body: .json(try await views([reviewed], for: caller)[0])))
    }

    func suspendOperator(_ input: Operations.SuspendOperator.Input) async throws -> Operations.SuspendOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.suspendOperator)
        let suspended = try await vettingService.suspend(input.path.id, reason: body.reason, by: Self.reviewer(caller))
        return .ok(.init(body: .json(try await views([suspended], for: caller)[0])))
    }

    func reinstateOperator(_ input: Operations.ReinstateOperator.Input) async throws -> Operations.ReinstateOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.reinstateOperator)
        let reinstated = try await vettingService.reinstate(input.path.id, reason: body.reason, by: Self.reviewer(caller))
        return .ok(.init(body: .json(try await views([reinstated], for: caller)[0])))
    }

    func revokeOperator(_ input: Operations.RevokeOperator.Input) async throws -> Operations.RevokeOperator.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.revokeOperator)
        let revoked = try await vettingService.revoke(input.path.id, reason: body.reason, by: Self.reviewer(caller))
        return .ok(.init(body: .json(try await views([revoked], for: caller)[0])))
    }

    // MARK: shared

    static func reviewer(_ principal: Principal) -> Reviewer {
        Reviewer(principal: principal)
    }

    /// The operators as `caller` may see them, the officer's values read from the personal-data store.
    func views(_ operators: [Operator], for caller: Principal) async throws -> [Components.Schemas.Operator] {
        guard VettingService.officerReaders.contains(caller.role) else {
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
            status: op.status.schema,
            legalName: application.legalName,
            uscc: application.uscc.description,
            mlpsLevel: application.mlpsLevel,
            tier: application.tier.schema,
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
                      decision: $0.decision.schema,
                      reason: $0.reason, at: $0.at, round: $0.round)
            },
            history: op.history.map {
                .init(action: $0.action.rawValue,
                      from: $0.from?.schema,
                      to: $0.to.schema,
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
