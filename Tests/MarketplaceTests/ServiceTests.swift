import AuditLog
import Foundation
import Identity
import Licensing
import Marketplace
import PDXTesting
import Persistence
import Testing
import Vetting

/// The services alone, on both stores: each method is one transaction — its change, its log
/// entries and its cascade together, or nothing at all.
@Suite("Services, without HTTP")
struct ServiceTests {
    @Test("a principal is created with its authority checked, its key issued once, its record logged", arguments: Backend.available)
    func principals(backend: Backend) async throws {
        try await ServiceFixture.with(backend) { market in
            let identity = IdentityService(market.context)
            let before = try await market.logSize()
            // A reviewer of an authority that does not exist: refused, nothing written.
            await #expect(throws: MarketplaceError(.authorityNotFound, "")) {
                _ = try await identity.createPrincipal(
                    .init(name: "Wang Fang", role: .authorityReviewer, authorityID: "bj", email: nil, expiresAt: nil), by: market.admin)
            }
            #expect(try await market.logSize() == before)
            #expect(try await market.runtime.database.read { try await $0.principals() }.count == 1)

            _ = try await identity.createAuthority(id: "bj", name: "北京市大数据中心", region: "110000", by: market.admin)
            let (reviewer, key) = try await identity.createPrincipal(
                .init(name: "Wang Fang", role: .authorityReviewer, authorityID: "bj", email: "wang@bj.gov.cn", expiresAt: nil),
                by: market.admin)
            #expect(key.secretHash == reviewer.keyHash)
            let stored = try #require(try await market.runtime.database.read { try await $0.principal(id: reviewer.id) })
            #expect(stored.name == "Wang Fang" && stored.email == "wang@bj.gov.cn" && stored.authorityID == "bj")
            #expect(try await market.actions(from: before) == ["authority.created", "principal.created"])
            // The log holds commitments, never the values.
            let logged = try await market.runtime.log.entries(start: before + 1, limit: 1)[0]
            #expect(!String(decoding: logged.body, as: UTF8.self).contains("Wang Fang"))
        }
    }

    @Test("what the caller commits with the change fails: the change is not made", arguments: Backend.available)
    func alsoInTransactionRollsBack(backend: Backend) async throws {
        struct Refused: Error {}
        try await ServiceFixture.with(backend) { market in
            let identity = IdentityService(market.context)
            let before = try await market.logSize()
            await #expect(throws: Refused.self) {
                _ = try await identity.createAuthority(id: "tj", name: "天津市数据局", region: "120000", by: market.admin) { _, _ in
                    throw Refused()
                }
            }
            #expect(try await market.runtime.database.read { try await $0.authority(id: "tj") } == nil)
            #expect(try await market.logSize() == before)
            // And what it commits is seen inside the transaction, after the change.
            let created = try await identity.createAuthority(id: "tj", name: "天津市数据局", region: "120000", by: market.admin) { authority, tx in
                let written = try await tx.authority(id: authority.id)
                #expect(written != nil)
            }
            #expect(created.id == "tj")
        }
    }

    @Test("revoking a principal: once, never one's own key", arguments: Backend.available)
    func revocation(backend: Backend) async throws {
        try await ServiceFixture.with(backend) { market in
            let identity = IdentityService(market.context)
            let (auditor, _) = try await identity.createPrincipal(
                .init(name: "Audit", role: .auditor, authorityID: nil, email: nil, expiresAt: nil), by: market.admin)
            let revoked = try await identity.revokePrincipal(id: auditor.id, reason: "left", by: market.admin)
            #expect(revoked.revokedAt != nil)
            await #expect(throws: MarketplaceError(.alreadyRevoked, "")) {
                _ = try await identity.revokePrincipal(id: auditor.id, reason: "again", by: market.admin)
            }
            await #expect(throws: MarketplaceError(.selfRevocation, "")) {
                _ = try await identity.revokePrincipal(id: market.admin.id, reason: "me", by: market.admin)
            }
            await #expect(throws: MarketplaceError(.notFound, "")) {
                _ = try await identity.revokePrincipal(id: "pr_missing", reason: "who", by: market.admin)
            }
        }
    }

    @Test("an operator's suspension suspends its grants in the same transaction; a refusal writes nothing", arguments: Backend.available)
    func cascade(backend: Backend) async throws {
        try await ServiceFixture.with(backend) { market in
            let context = market.context
            let identity = IdentityService(context)
            let grants = GrantService(context, lifecycle: GrantLifecycle(), agreements: .builtIn)
            let vetting = VettingService(context, lifecycle: OperatorLifecycle(), grants: grants)
            let catalog = CatalogService(context, catalog: Catalog(), grants: grants)

            _ = try await identity.createAuthority(id: "bj", name: "北京市大数据中心", region: "110000", by: market.admin)
            let (reviewer, _) = try await identity.createPrincipal(
                .init(name: "Wang Fang", role: .authorityReviewer, authorityID: "bj", email: nil, expiresAt: nil), by: market.admin)
            let (applicant, _) = try await identity.createPrincipal(
                .init(name: "Acme", role: .operator, authorityID: nil, email: nil, expiresAt: nil), by: market.admin)

            let (applied, personal) = try await vetting.apply(.init(
                legalName: "华为技术有限公司", uscc: "914403001922038216", mlpsLevel: 3, tier: .standard,
                officerName: "Li Wei", officerEmail: "security@example.com", certifications: [],
                documents: [("licence.pdf", String(repeating: "ab", count: 32))]), by: applicant)
            #expect(personal.count == 2)
            // The applicant may not review its own application: refused with every reason, nothing written.
            let beforeRefusal = try await market.logSize()
            await #expect(throws: OperatorRefusal.self) {
                _ = try await vetting.review(applied.id, decision: .approve, reason: nil, by: Reviewer(principal: applicant))
            }
            #expect(try await market.logSize() == beforeRefusal)
            let approved = try await vetting.review(applied.id, decision: .approve, reason: nil, by: Reviewer(principal: reviewer))
            #expect(approved.status == .approved)

            let dataset = try await catalog.publish(DatasetDraft(
                title: "Traffic flow", description: "Hourly flow per road segment", theme: "traffic", openness: .open,
                grade: .general, fields: [.init(name: "road_id", type: "string", sensitive: false)], units: ["call"],
                currency: "CNY", ceilingPrices: ["call": "0.05"], revenueShareBPS: 3000),
                id: "traffic-flow", authorityID: "bj", by: Reviewer(principal: reviewer))
            // The operator as its key acts: bound to the operator it applied as.
            var caller = applicant
            caller.operatorID = applied.id
            let now = context.clock.now()
            let grant = try await grants.request(try GrantRequest(
                purpose: "Navigation", scenario: .industry, startsAt: now, endsAt: now.addingTimeInterval(86_400 * 90),
                agreementID: "standard-data-use", agreementVersion: "1",
                items: [.init(datasetID: dataset.id, fields: ["road_id"], unitPrices: ["call": "0.01"], quotas: ["call": 1000])]),
                by: caller)
            #expect(grant.status(at: now) == .active)

            let before = try await market.logSize()
            let suspended = try await vetting.suspend(applied.id, reason: "audit finding", by: Reviewer(principal: reviewer))
            #expect(suspended.status == .suspended)
            let stored = try #require(try await context.database.read { try await $0.grant(id: grant.id) })
            #expect(stored.status(at: now) == .suspended)
            #expect(try await market.actions(from: before) == ["operator.suspended", "grant.suspended"])
        }
    }

    @Test("a dataset is published only for an authority that exists, changed only by its own reviewers", arguments: Backend.available)
    func catalogue(backend: Backend) async throws {
        try await ServiceFixture.with(backend) { market in
            let context = market.context
            let grants = GrantService(context, lifecycle: GrantLifecycle(), agreements: .builtIn)
            let catalog = CatalogService(context, catalog: Catalog(), grants: grants)
            let draft = DatasetDraft(
                title: "Air quality", description: "Hourly readings", theme: "environment", openness: .open, grade: .general,
                fields: [.init(name: "station", type: "string", sensitive: false)], units: ["call"], currency: "CNY",
                ceilingPrices: ["call": "0.05"], revenueShareBPS: 3000)
            let before = try await market.logSize()
            await #expect(throws: MarketplaceError(.authorityNotFound, "")) {
                _ = try await catalog.publish(draft, id: "air", authorityID: "sh", by: Reviewer(principalID: "pr_x", authorityID: "sh"))
            }
            #expect(try await market.logSize() == before)
            _ = try await IdentityService(context).createAuthority(id: "sh", name: "上海市数据局", region: "310000", by: market.admin)
            _ = try await catalog.publish(draft, id: "air", authorityID: "sh", by: Reviewer(principalID: "pr_x", authorityID: "sh"))
            await #expect(throws: MarketplaceError(.authorityNotParty, "")) {
                _ = try await catalog.update("air", with: DatasetUpdate(openness: .conditional, grade: nil, ceilingPrices: nil, reason: "review"),
                                             by: Reviewer(principalID: "pr_y", authorityID: "bj"))
            }
            let (change, affected) = try await catalog.update(
                "air", with: DatasetUpdate(openness: .conditional, grade: nil, ceilingPrices: nil, reason: "review"),
                by: Reviewer(principalID: "pr_x", authorityID: "sh"))
            #expect(change.updated.openness == .conditional && affected.isEmpty)
        }
    }
}
