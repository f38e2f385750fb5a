import Marketplace
import Identity
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
            openness: Openness(body.openness),
            grade: Grade(body.grade),
            fields: body.fields.map {
                .init(name: $0.name, type: $0._type, sensitive: $0.sensitive ?? false, filterable: $0.filterable ?? false)
            },
            units: body.units, currency: body.currency ?? catalog.policy.currency.code,
            ceilingPrices: body.ceilingPrices.additionalProperties, revenueShareBPS: body.revenueShareBps,
            delivery: body.delivery.map(DeliveryMode.init) ?? .gateway,
            reconciliationToleranceBPS: body.reconciliationToleranceBps ?? Dataset.defaultToleranceBPS,
            upstream: body.upstream.map { UpstreamDraft(baseURL: $0.baseUrl, credentialHeader: $0.credentialHeader, setsSecret: $0.secret != nil) })
        let published = try await catalogService.publish(draft, id: body.id, authorityID: authorityID, by: Self.reviewer(caller),
                                                         upstreamSecret: body.upstream?.secret) { dataset, tx in
            try await IdempotencyScope.recordJSON(.created, Self.view(dataset), in: tx)
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
            openness: query.openness.map(Openness.init),
            grade: query.grade.map(Grade.init), text: text)
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
            title: body.title, description: body.description,
            fields: body.fields?.map { DatasetUpdate.FieldChange(name: $0.name, sensitive: $0.sensitive) },
            openness: body.openness.map(Openness.init),
            grade: body.grade.map(Grade.init),
            ceilingPrices: body.ceilingPrices?.additionalProperties,
            delivery: body.delivery.map(DeliveryMode.init), reconciliationToleranceBPS: body.reconciliationToleranceBps,
            upstream: body.upstream.map { UpstreamDraft(baseURL: $0.baseUrl, credentialHeader: $0.credentialHeader, setsSecret: $0.secret != nil) },
            reason: body.reason)
        let expected = try Self.expectedVersion(input.headers.ifMatch)
        let (change, affected): (CatalogChange, [Grant])
        do {
            (change, affected) = try await catalogService.update(input.path.id, with: update, by: Self.reviewer(caller),
                                                                 upstreamSecret: body.upstream?.secret, expectedVersion: expected)
        } catch let error as LicensingError where error.code == .concurrentUpdate && expected != nil {
            throw Problem(.preconditionFailed, "If-Match: \(error.detail); read the dataset again and decide again.")
        }
        return .ok(.init(body: .json(.init(
            dataset: Self.view(change.updated), stricter: change.isStricter, affectedGrants: affected.map(view)))))
    }

    /// The dataset version an `If-Match` names: nil without one or for `*`; 400 unless it is one
    /// entity tag; a tag that is no version of ours can match nothing (412).
    static func expectedVersion(_ ifMatch: String?) throws -> Int? {
        guard let value = ifMatch?.trimmingCharacters(in: .whitespaces), value != "*" else { return nil }
        guard !value.contains(","), value.count >= 2, value.hasSuffix("\"") else {
            throw Problem.invalidRequest("'If-Match' takes one entity tag, as the dataset's ETag gave it (\"<version>\"), or *.")
        }
        // A weak tag never matches (RFC 9110 §13.1.1: If-Match compares strongly).
        guard value.hasPrefix("\""), let version = Int(value.dropFirst().dropLast()), version > 0 else { return -1 }
        return version
    }

    func listAgreements(_ input: Operations.ListAgreements.Input) async throws -> Operations.ListAgreements.Output {
        _ = try Authorization.require(.listAgreements)
        return .ok(.init(body: .json(.init(items: agreements.templates.map {
            .init(id: $0.id, version: $0.version, title: $0.title, file: $0.file, sha256: $0.sha256,
                  scenarios: $0.scenarios.map(\.schema))
        }))))
    }

    // MARK: grants

    func requestGrant(_ input: Operations.RequestGrant.Input) async throws -> Operations.RequestGrant.Output {
        let caller = try Authorization.require(.requestGrant)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        guard caller.operatorID != nil else {
            throw Problem(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        let request = try GrantRequest(
            purpose: body.purpose, scenario: Scenario(body.scenario),
            startsAt: body.startsAt, endsAt: body.endsAt,
            agreementID: body.agreement.id, agreementVersion: body.agreement.version,
            items: body.datasets.map(Self.requestItem),
            policy: grants.policy)
        let created = try await grantService.request(request, by: caller) { grant, tx in
            try await IdempotencyScope.recordJSON(.created, view(grant), in: tx)
        }
        return .created(.init(body: .json(view(created))))
    }

    func amendGrant(_ input: Operations.AmendGrant.Input) async throws -> Operations.AmendGrant.Output {
        let caller = try Authorization.require(.amendGrant)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let amendment = GrantAmendment(
            version: body.version, endsAt: body.endsAt,
            items: (body.datasets ?? []).map(Self.requestItem), reason: body.reason)
        let amended = try await grantService.amend(input.path.id, with: amendment, by: caller) { grant, tx in
            try await IdempotencyScope.recordJSON(.ok, view(grant), in: tx)
        }
        return .ok(.init(body: .json(view(amended))))
    }

    func listGrantVersions(_ input: Operations.ListGrantVersions.Input) async throws -> Operations.ListGrantVersions.Output {
        let caller = try Authorization.require(.listGrantVersions)
        let id = input.path.id
        guard let found = try await database.read({ try await $0.grant(id: id) }), GrantService.mayRead(found, caller) else {
            throw Problem.notFound("No grant '\(id)'.")
        }
        return .ok(.init(body: .json(.init(grantId: found.id, items: found.versions.map { version in
            .init(version: version.version, datasets: version.items.map(Self.itemView), endsAt: version.endsAt,
                  approvals: version.approvals.map(Self.approvalView), at: version.at, actor: version.actor, reason: version.reason)
        }))))
    }

    /// A request's or an amendment's dataset item as the lifecycle reads it.
    static func requestItem(_ item: Components.Schemas.GrantItemInput) -> GrantRequest.Item {
        .init(datasetID: item.id, fields: item.fields, unitPrices: item.unitPrices.additionalProperties,
              priceTiers: (item.priceTiers?.additionalProperties ?? [:]).mapValues { steps in
                  steps.map { GrantRequest.RawTier(upTo: $0.upTo, unitPrice: $0.unitPrice) }
              },
              quotas: item.quotaPerPeriod.additionalProperties,
              justifications: item.justifications?.additionalProperties ?? [:])
    }

    static func itemView(_ item: GrantItem) -> Components.Schemas.GrantItem {
        .init(datasetId: item.datasetID, authorityId: item.authorityID, fields: item.fields,
              unitPrices: prices(item.unitPrices),
              priceTiers: item.priceTiers.isEmpty ? nil : .init(additionalProperties: Dictionary(uniqueKeysWithValues: item.priceTiers.map { unit, steps in
                  (unit.rawValue, steps.map { Components.Schemas.PriceTier(upTo: $0.upTo, unitPrice: $0.unitPrice.description) })
              })),
              quotaPerPeriod: .init(additionalProperties: Dictionary(uniqueKeysWithValues: item.quotas.map { ($0.key.rawValue, $0.value) })),
              justifications: .init(additionalProperties: item.justifications))
    }

    static func approvalView(_ approval: Approval) -> Components.Schemas.GrantApproval {
        .init(authorityId: approval.authorityID, decision: approval.decision?.approvalSchema,
              reviewerId: approval.reviewerID, reason: approval.reason, at: approval.at)
    }

    func listGrants(_ input: Operations.ListGrants.Input) async throws -> Operations.ListGrants.Output {
        let caller = try Authorization.require(.listGrants)
        let limit = try Self.pageLimit(input.query.limit)
        let query = input.query
        var filter = GrantFilter(
            operatorID: query.operatorId, authorityID: query.authorityId, datasetID: query.datasetId,
            status: query.status.map(GrantStatus.init))
        if query.awaiting != nil {
            guard caller.role == .authorityReviewer else {
                throw Problem(.awaitingNeedsReviewer,
                              "awaiting=me is a reviewer's work queue; the role \(caller.role.rawValue) has none.")
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
        guard let found = try await database.read({ try await $0.grant(id: id) }), GrantService.mayRead(found, caller) else {
            throw Problem.notFound("No grant '\(id)'.")
        }
        return .ok(.init(body: .json(view(found))))
    }

    func decideGrant(_ input: Operations.DecideGrant.Input) async throws -> Operations.DecideGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let decision = GrantDecision(body.decision)
        let caller = try Authorization.require(.decideGrant)
        return .ok(.init(body: .json(view(try await grantService.decide(input.path.id, decision: decision, reason: body.reason, by: caller)))))
    }

    func suspendGrant(_ input: Operations.SuspendGrant.Input) async throws -> Operations.SuspendGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.suspendGrant)
        return .ok(.init(body: .json(view(try await grantService.suspend(input.path.id, reason: body.reason, by: caller)))))
    }

    func reinstateGrant(_ input: Operations.ReinstateGrant.Input) async throws -> Operations.ReinstateGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.reinstateGrant)
        return .ok(.init(body: .json(view(try await grantService.reinstate(input.path.id, reason: body.reason, by: caller)))))
    }

    func revokeGrant(_ input: Operations.RevokeGrant.Input) async throws -> Operations.RevokeGrant.Output {
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let caller = try Authorization.require(.revokeGrant)
        return .ok(.init(body: .json(view(try await grantService.revoke(input.path.id, reason: body.reason, by: caller)))))
    }

    // MARK: shared

    /// The authority a caller publishes for: a reviewer's own (naming another is refused); an admin's
    /// must be named.
    static func publishingAuthority(_ caller: Principal, named: String?) throws -> String {
        if let own = caller.authorityID {
            guard named == nil || named == own else {
                throw Problem(.authorityNotAllowed, "A reviewer publishes for its own authority only.")
            }
            return own
        }
        guard let named else {
            throw Problem(.authorityRequired, "An admin names the providing authority in authority_id.")
        }
        return named
    }

    // MARK: views

    static func view(_ dataset: Dataset) -> Components.Schemas.Dataset {
        .init(
            id: dataset.id, title: dataset.title, description: dataset.description, authorityId: dataset.authorityID,
            theme: dataset.theme,
            openness: dataset.openness.schema,
            grade: dataset.grade.schema,
            delivery: dataset.delivery.schema,
            upstream: dataset.upstream.map { .init(baseUrl: $0.baseURL, credentialHeader: $0.credentialHeader) },
            fields: dataset.fields.map {
                .init(name: $0.name, _type: $0.type.rawValue, sensitive: $0.sensitive, filterable: $0.filterable)
            },
            units: dataset.units.map(\.rawValue), currency: dataset.currency.code,
            ceilingPrices: prices(dataset.ceilingPrices), revenueShareBps: dataset.revenueShareBPS,
            reconciliationToleranceBps: dataset.reconciliationToleranceBPS, version: dataset.version, publishedAt: dataset.publishedAt, updatedAt: dataset.updatedAt)
    }

    func view(_ grant: Grant) -> Components.Schemas.Grant {
        let status = grant.status(at: clock.now())
        return .init(
            id: grant.id,
            status: status.schema,
            operatorId: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose,
            scenario: grant.scenario.schema,
            startsAt: grant.startsAt, endsAt: grant.endsAt,
            agreement: .init(id: grant.agreement.id, version: grant.agreement.version, sha256: grant.agreement.sha256),
            currency: grant.currency.code,
            datasets: grant.items.map(Self.itemView),
            approvals: grant.approvals.map(Self.approvalView),
            reasons: grant.reasons.map { .init(code: $0.code.rawValue, datasetId: $0.datasetID, detail: $0.detail) },
            suspensionCause: grant.suspensionCause?.schema,
            suspendedBy: grant.suspendedBy?.description,
            requestedAt: grant.requestedAt,
            history: grant.history.map {
                .init(action: $0.action.rawValue,
                      from: $0.from?.schema,
                      to: $0.to.schema,
                      at: $0.at, actor: $0.actor, reason: $0.reason)
            },
            revision: grant.revision,
            version: grant.version,
            terms: grant.terms.isEmpty ? nil : grant.terms.map {
                .init(datasetId: $0.datasetID, revenueShareBps: $0.revenueShareBPS, platformFeeBps: $0.platformFeeBPS)
            })
    }

    static func prices(_ prices: [MeteringUnit: UnitPrice]) -> Components.Schemas.Prices {
        .init(additionalProperties: Dictionary(uniqueKeysWithValues: prices.map { ($0.key.rawValue, $0.value.description) }))
    }
}
