import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Licensing
import OpenAPIRuntime
import Persistence
import Vetting

/// The catalog and grants: publishing and changing datasets, requesting and deciding grants.
extension API {
    // MARK: catalog

    func publishDataset(_ input: Operations.PublishDataset.Input) async throws -> Operations.PublishDataset.Output {
        let caller = try Authorization.require(.publishDataset)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let authorityID = try Self.publishingAuthority(caller, named: body.authorityId)
        let draft = DatasetDraft(
            title: body.title, description: body.description ?? "", theme: body.theme,
            openness: Openness(rawValue: body.openness.rawValue) ?? .closed,
            grade: Grade(rawValue: body.grade.rawValue) ?? .core,
            fields: body.fields.map { .init(name: $0.name, type: $0._type, sensitive: $0.sensitive ?? false) },
            units: body.units, currency: body.currency ?? catalog.policy.currency.code,
            ceilingPrices: body.ceilingPrices.additionalProperties, revenueShareBPS: body.revenueShareBps)
        let reviewer = Self.reviewer(caller)
        let now = clock.now()
        let published: Dataset = try await database.transaction { tx in
            guard try await tx.authority(id: authorityID) != nil else {
                throw Problem(.unprocessableContent, code: "authority_not_found", detail: "No authority '\(authorityID)'.")
            }
            let change = try catalog.publish(draft, id: body.id, authorityID: authorityID, by: reviewer, at: now)
            try await tx.insertDataset(change.updated)
            _ = try await log.append(change.records, in: tx)
            try await IdempotencyScope.recordJSON(.created, Self.view(change.updated), in: tx)
            return change.updated
        }
        return .created(.init(body: .json(Self.view(published))))
    }

    func listDatasets(_ input: Operations.ListDatasets.Input) async throws -> Operations.ListDatasets.Output {
        _ = try Authorization.require(.listDatasets)
        let limit = try Self.pageLimit(input.query.limit)
        let query = input.query
        let text = query.q.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        let filter = DatasetFilter(
            authorityID: query.authorityId, theme: query.theme,
            openness: query.openness.flatMap { Openness(rawValue: $0.rawValue) },
            grade: query.grade.flatMap { Grade(rawValue: $0.rawValue) }, text: text)
        let page = try await database.read { try await $0.datasets(filter, after: query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: page.datasets.map(Self.view), nextCursor: page.nextCursor))))
    }

    func getDataset(_ input: Operations.GetDataset.Input) async throws -> Operations.GetDataset.Output {
        _ = try Authorization.require(.getDataset)
        guard let found = try await database.read({ try await $0.dataset(id: input.path.id) }) else {
            throw Problem.notFound("No dataset '\(input.path.id)'.")
        }
        return .ok(.init(body: .json(Self.view(found))))
    }

    func updateDataset(_ input: Operations.UpdateDataset.Input) async throws -> Operations.UpdateDataset.Output {
        let caller = try Authorization.require(.updateDataset)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let update = DatasetUpdate(
            openness: body.openness.flatMap { Openness(rawValue: $0.rawValue) },
            grade: body.grade.flatMap { Grade(rawValue: $0.rawValue) },
            ceilingPrices: body.ceilingPrices?.additionalProperties, reason: body.reason)
        let reviewer = Self.reviewer(caller)
        let id = input.path.id
        let now = clock.now()
        let (change, affected): (CatalogChange, [Grant]) = try await database.transaction { tx in
            guard let current = try await tx.dataset(id: id) else { throw Problem.notFound("No dataset '\(id)'.") }
            if let authority = reviewer.authorityID, authority != current.authorityID {
                throw Problem(.forbidden, code: "authority_not_party",
                              detail: "Only a reviewer of authority '\(current.authorityID)' may change this dataset.")
            }
            let change = try catalog.update(current, with: update, by: reviewer, at: now)
            try await tx.updateDataset(change.updated)
            _ = try await log.append(change.records, in: tx)
            guard change.isStricter else { return (change, []) }
            let reason = "dataset \(id) \(change.records[0].action == "dataset.reclassified" ? "reclassified" : "repriced"): "
                + (TextRules.trimmed(update.reason) ?? "")
            var affected: [Grant] = []
            for grant in try await tx.grants(withDataset: id, statuses: [.active, .pending]) {
                let (owner, datasets) = try await Self.context(of: grant, in: tx, replacing: change.updated)
                guard let cascade = grants.datasetChanged(grant, datasets: datasets, operator: owner, by: reviewer,
                                                          reason: reason, at: now) else { continue }
                _ = try await log.append(cascade.records, in: tx)
                try await tx.updateGrant(cascade.updated)
                affected.append(cascade.updated)
            }
            return (change, affected)
        }
        return .ok(.init(body: .json(.init(
            dataset: Self.view(change.updated), stricter: change.isStricter, affectedGrants: affected.map(view)))))
    }

    func listAgreements(_ input: Operations.ListAgreements.Input) async throws -> Operations.ListAgreements.Output {
        _ = try Authorization.require(.listAgreements)
        return .ok(.init(body: .json(.init(items: agreements.templates.map {
            .init(id: $0.id, version: $0.version, title: $0.title, file: $0.file, sha256: $0.sha256)
        }))))
    }

    // MARK: grants
    //
    // Lock order: a transaction that writes grants appends to the log first (locking the log head) and
    // writes grants after (locking the grant generation). Every writer taking the two in the same order
    // is what keeps concurrent writers on PostgreSQL from deadlocking.

    func requestGrant(_ input: Operations.RequestGrant.Input) async throws -> Operations.RequestGrant.Output {
        let caller = try Authorization.require(.requestGrant)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        guard let operatorID = caller.operatorID else {
            throw Problem(.forbidden, code: "operator_required", detail: "This key has not applied as an operator yet (POST /v1/operators).")
        }
        let request = try GrantRequest(
            purpose: body.purpose, scenario: Scenario(rawValue: body.scenario.rawValue) ?? .industry,
            startsAt: body.startsAt, endsAt: body.endsAt,
            agreementID: body.agreement.id, agreementVersion: body.agreement.version,
            items: body.datasets.map {
                .init(datasetID: $0.id, fields: $0.fields, unitPrices: $0.unitPrices.additionalProperties,
                      priceTiers: ($0.priceTiers?.additionalProperties ?? [:]).mapValues { steps in
                          steps.map { GrantRequest.RawTier(upTo: $0.upTo, unitPrice: $0.unitPrice) }
                      },
                      quotas: $0.quotaPerPeriod.additionalProperties)
            },
            policy: grants.policy)
        guard let agreement = agreements.template(id: request.agreementID, version: request.agreementVersion) else {
            throw LicensingError(code: .unknownAgreement,
                                 detail: "no agreement template '\(request.agreementID)' version '\(request.agreementVersion)' (GET /v1/agreements)")
        }
        let id = "gr_\(Hex.encode(try random.bytes(8)))"
        let now = clock.now()
        let created: Grant = try await database.transaction { tx in
            guard let owner = try await tx.operatorByID(operatorID) else {
                throw Problem(.forbidden, code: "operator_required", detail: "The operator this key acts for does not exist.")
            }
            var datasets: [String: Dataset] = [:]
            for item in request.items {
                datasets[item.datasetID] = try await tx.dataset(id: item.datasetID)
            }
            // What the operator's grants that are not over could already charge a period: one
            // operator's grants together are bounded, so that no operator can make a close overflow.
            let committed = try await tx.grants(ofOperator: owner.id, statuses: [.pending, .active, .suspended])
                .reduce(Int128(0)) { $0 + $1.periodAmountBound }
            let change = try grants.request(request, id: id, operator: owner, requestedBy: caller.id,
                                            datasets: datasets, agreement: agreement, at: now, committedPeriodMinor: committed)
            _ = try await log.append(change.records, in: tx)
            try await tx.insertGrant(change.updated)
            try await IdempotencyScope.recordJSON(.created, view(change.updated), in: tx)
            return change.updated
        }
        return .created(.init(body: .json(view(created))))
    }

    func listGrants(_ input: Operations.ListGrants.Input) async throws -> Operations.ListGrants.Output {
        let caller = try Authorization.require(.listGrants)
        let limit = try Self.pageLimit(input.query.limit)
        let query = input.query
        var filter = GrantFilter(
            operatorID: query.operatorId, authorityID: query.authorityId, datasetID: query.datasetId,
            status: query.status.flatMap { GrantStatus(rawValue: $0.rawValue) })
        if query.awaiting != nil {
            guard caller.role == .authorityReviewer else {
                throw Problem(.unprocessableContent, code: "awaiting_needs_reviewer",
                              detail: "awaiting=me is a reviewer's work queue; the role \(caller.role.rawValue) has none.")
            }
            filter.awaitingAuthorityID = caller.authorityID ?? ""
        }
        // An operator sees its own grants, a reviewer those its authority takes part in; asking for
        // others' is an empty list, not an error, like any filter that matches nothing.
        switch caller.role {
        case .operator:
            guard let own = caller.operatorID, filter.operatorID == nil || filter.operatorID == own else {
                return .ok(.init(body: .json(.init(items: []))))
            }
            filter.operatorID = own
        case .authorityReviewer:
            guard let own = caller.authorityID, filter.authorityID == nil || filter.authorityID == own else {
                return .ok(.init(body: .json(.init(items: []))))
            }
            filter.authorityID = own
        case .admin, .auditor, .finance:
            break
        }
        let page = try await database.read { try await $0.grants(filter, after: query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: page.grants.map(view), nextCursor: page.nextCursor))))
    }

    func getGrant(_ input: Operations.GetGrant.Input) async throws -> Operations.GetGrant.Output {
        let caller = try Authorization.require(.getGrant)
        let id = input.path.id
        guard let found = try await database.read({ try await $0.grant(id: id) }), Self.mayRead(found, caller) else {
            throw Problem.notFound("No grant '\(id)'.")
        }
        return .ok(.init(body: .json(view(found))))
    }

    func decideGrant(_ input: Operations.DecideGrant.Input) async throws -> Operations.DecideGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let decision = GrantDecision(rawValue: body.decision.rawValue) ?? .reject
        return .ok(.init(body: .json(try await grantStep(.decideGrant, input.path.id) { [grants] grant, actor, owner, datasets, now in
            grants.decide(grant, by: actor, decision: decision, reason: body.reason, operator: owner, datasets: datasets, at: now)
        })))
    }

    func suspendGrant(_ input: Operations.SuspendGrant.Input) async throws -> Operations.SuspendGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await grantStep(.suspendGrant, input.path.id) { [grants] grant, actor, _, _, now in
            grants.suspend(grant, by: actor, reason: body.reason, at: now)
        })))
    }

    func reinstateGrant(_ input: Operations.ReinstateGrant.Input) async throws -> Operations.ReinstateGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await grantStep(.reinstateGrant, input.path.id) { [grants] grant, actor, owner, datasets, now in
            grants.reinstate(grant, by: actor, reason: body.reason, operator: owner, datasets: datasets, at: now)
        })))
    }

    func revokeGrant(_ input: Operations.RevokeGrant.Input) async throws -> Operations.RevokeGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        return .ok(.init(body: .json(try await grantStep(.revokeGrant, input.path.id) { [grants] grant, actor, _, _, now in
            grants.revoke(grant, by: actor, reason: body.reason, at: now)
        })))
    }

    // MARK: cascades

    /// Applies an operator's suspension, reinstatement or revocation to its grants, inside the
    /// operator change's transaction.
    func cascade(_ change: LifecycleChange, in tx: DatabaseTransaction, at now: Date) async throws {
        guard change.cascade != .none else { return }
        let owner = change.updated
        let reason = owner.history.last?.reason ?? "no reason given"
        for grant in try await tx.grants(ofOperator: owner.id, statuses: [.active, .suspended, .pending]) {
            let (_, datasets) = try await Self.context(of: grant, in: tx)
            guard let step = grants.operatorChanged(grant, cascade: change.cascade, operator: owner, datasets: datasets,
                                                    reason: reason, at: now) else { continue }
            _ = try await log.append(step.records, in: tx)
            try await tx.updateGrant(step.updated)
        }
    }

    // MARK: shared

    /// One lifecycle step on grant `id` by the caller; the grant as it now is.
    private func grantStep(
        _ operation: Operation, _ id: String,
        _ decide: @escaping @Sendable (Grant, Reviewer, Operator, [String: Dataset], Date) -> GrantOutcome
    ) async throws -> Components.Schemas.Grant {
        let caller = try Authorization.require(operation)
        let actor = Self.reviewer(caller)
        let now = clock.now()
        let updated: Grant = try await database.transaction { tx in
            guard let current = try await tx.grant(id: id), Self.mayRead(current, caller) else {
                throw Problem.notFound("No grant '\(id)'.")
            }
            let (owner, datasets) = try await Self.context(of: current, in: tx)
            let change = try Self.accepted(decide(current, actor, owner, datasets, now))
            _ = try await log.append(change.records, in: tx)
            try await tx.updateGrant(change.updated)
            return change.updated
        }
        return view(updated)
    }

    /// The grant's operator and datasets as they are now, with `replacing` in place of the stored copy.
    static func context(of grant: Grant, in tx: DatabaseTransaction, replacing changed: Dataset? = nil) async throws -> (Operator, [String: Dataset]) {
        guard let owner = try await tx.operatorByID(grant.operatorID) else {
            throw LicensingError(code: .replayFailed, detail: "grant \(grant.id) names a missing operator")
        }
        var datasets: [String: Dataset] = [:]
        for item in grant.items {
            if let changed, changed.id == item.datasetID {
                datasets[item.datasetID] = changed
            } else {
                datasets[item.datasetID] = try await tx.dataset(id: item.datasetID)
            }
        }
        return (owner, datasets)
    }

    /// An operator reads only its own grants, a reviewer only those its authority takes part in.
    static func mayRead(_ grant: Grant, _ caller: Principal) -> Bool {
        switch caller.role {
        case .operator: caller.operatorID == grant.operatorID
        case .authorityReviewer: caller.authorityID.map(grant.authorityIDs.contains) ?? false
        case .admin, .auditor, .finance: true
        }
    }

    /// The authority a caller publishes for: a reviewer's own (naming another is refused); an admin's
    /// must be named.
    static func publishingAuthority(_ caller: Principal, named: String?) throws -> String {
        if let own = caller.authorityID {
            guard named == nil || named == own else {
                throw Problem(.forbidden, code: "authority_not_allowed", detail: "A reviewer publishes for its own authority only.")
            }
            return own
        }
        guard let named else {
            throw Problem(.unprocessableContent, code: "authority_required", detail: "An admin names the providing authority in authority_id.")
        }
        return named
    }

    /// The change, or the refusal as a problem listing every reason.
    static func accepted(_ outcome: GrantOutcome) throws -> GrantChange {
        switch outcome {
        case .changed(let change):
            return change
        case .refused(let reasons):
            let first = reasons.first ?? GrantReason(.invalidTransition, "refused")
            let status: HTTPResponse.Status = switch first.code {
            case .reviewerWithoutAuthority, .authorityNotParty, .suspendedByOther: .forbidden
            case .invalidTransition, .alreadyDecided: .conflict
            default: .unprocessableContent
            }
            throw Problem(status, code: first.code.rawValue, detail: first.detail,
                          reasons: reasons.map { ($0.code.rawValue, $0.detail) })
        }
    }

    // MARK: views

    static func view(_ dataset: Dataset) -> Components.Schemas.Dataset {
        .init(
            id: dataset.id, title: dataset.title, description: dataset.description, authorityId: dataset.authorityID,
            theme: dataset.theme,
            openness: Components.Schemas.Openness(rawValue: dataset.openness.rawValue) ?? .closed,
            grade: Components.Schemas.Grade(rawValue: dataset.grade.rawValue) ?? .core,
            fields: dataset.fields.map { .init(name: $0.name, _type: $0.type.rawValue, sensitive: $0.sensitive) },
            units: dataset.units.map(\.rawValue), currency: dataset.currency.code,
            ceilingPrices: prices(dataset.ceilingPrices), revenueShareBps: dataset.revenueShareBPS,
            version: dataset.version, publishedAt: dataset.publishedAt, updatedAt: dataset.updatedAt)
    }

    func view(_ grant: Grant) -> Components.Schemas.Grant {
        let status = grant.status(at: clock.now())
        return .init(
            id: grant.id,
            status: Components.Schemas.GrantStatus(rawValue: status.rawValue) ?? .pending,
            operatorId: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose,
            scenario: Components.Schemas.Scenario(rawValue: grant.scenario.rawValue) ?? .industry,
            startsAt: grant.startsAt, endsAt: grant.endsAt,
            agreement: .init(id: grant.agreement.id, version: grant.agreement.version, sha256: grant.agreement.sha256),
            currency: grant.currency.code,
            datasets: grant.items.map {
                .init(datasetId: $0.datasetID, authorityId: $0.authorityID, fields: $0.fields,
                      unitPrices: Self.prices($0.unitPrices),
                      priceTiers: $0.priceTiers.isEmpty ? nil : .init(additionalProperties: Dictionary(uniqueKeysWithValues: $0.priceTiers.map { unit, steps in
                          (unit.rawValue, steps.map { Components.Schemas.PriceTier(upTo: $0.upTo, unitPrice: $0.unitPrice.description) })
                      })),
                      quotaPerPeriod: .init(additionalProperties: Dictionary(uniqueKeysWithValues: $0.quotas.map { ($0.key.rawValue, $0.value) })))
            },
            approvals: grant.approvals.map {
                .init(authorityId: $0.authorityID,
                      decision: $0.decision.flatMap { Components.Schemas.GrantApproval.DecisionPayload(rawValue: $0.rawValue) },
                      reviewerId: $0.reviewerID, reason: $0.reason, at: $0.at)
            },
            reasons: grant.reasons.map { .init(code: $0.code.rawValue, datasetId: $0.datasetID, detail: $0.detail) },
            suspensionCause: grant.suspensionCause.flatMap { Components.Schemas.Grant.SuspensionCausePayload(rawValue: $0.rawValue) },
            suspendedBy: grant.suspendedBy?.description,
            requestedAt: grant.requestedAt,
            history: grant.history.map {
                .init(action: $0.action.rawValue,
                      from: $0.from.flatMap { Components.Schemas.GrantStatus(rawValue: $0.rawValue) },
                      to: Components.Schemas.GrantStatus(rawValue: $0.to.rawValue) ?? .pending,
                      at: $0.at, actor: $0.actor, reason: $0.reason)
            },
            revision: grant.revision)
    }

    static func prices(_ prices: [MeteringUnit: UnitPrice]) -> Components.Schemas.Prices {
        .init(additionalProperties: Dictionary(uniqueKeysWithValues: prices.map { ($0.key.rawValue, $0.value.description) }))
    }
}
