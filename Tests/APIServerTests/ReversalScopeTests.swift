import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

/// Who may undo a suspension, who may revoke an operator, and who is party to an application.
@Suite("HTTP: authority scope on reversals")
struct ReversalScopeTests {
    @Test("a grant suspended by one party is reinstated by that party or an admin only", arguments: Backend.available)
    func grantReinstatement(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var u = try await UsageMarket.setUp(market, client)
            try await u.m.actors.principal("tj-b", role: .authorityReviewer, authority: "tj", client)
            let path = "/v1/grants/\(u.grant)"
            let byAdmin = try await client.request(.post, path + "/suspend", key: u.m.actors.admin, body: #"{"reason":"audit"}"#)
            #expect(try byAdmin.json()["suspended_by"] as? String == "admin")
            let size = try await runtime.log.head().size
            let refused = try await client.request(.post, path + "/reinstate", key: u.m.actors["bj-a"], body: "{}")
            #expect(refused.status == .forbidden)
            #expect(try refused.problem()["code"] as? String == "suspended_by_other")
            #expect(try await runtime.log.head().size == size, "a refusal writes nothing")
            #expect(try await client.request(.post, path + "/reinstate", key: u.m.actors.admin, body: "{}").status == .ok)

            let byBeijing = try await client.request(.post, path + "/suspend", key: u.m.actors["bj-a"], body: #"{"reason":"review"}"#)
            #expect(try byBeijing.json()["suspended_by"] as? String == "authority:bj")
            // Another reviewer of the same authority may; a stranger to the grant may not even see it.
            let back = try await client.request(.post, path + "/reinstate", key: u.m.actors["bj-b"], body: "{}")
            #expect(back.status == .ok, "\(back.text)")
            #expect(try back.json()["suspended_by"] == nil)
            #expect(try await client.request(.post, path + "/reinstate", key: u.m.actors["tj-b"], body: "{}").status == .notFound)
        }
    }

    @Test("an operator suspended by Beijing is reinstated by Beijing or an admin only", arguments: Backend.available)
    func operatorReinstatement(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let path = "/v1/operators/\(try #require(m.operators["acme"]))"
            let suspended = try await client.request(.post, path + "/suspend", key: m.actors["bj-a"], body: #"{"reason":"incident"}"#)
            #expect(try suspended.json()["suspended_by"] as? String == "authority:bj")
            let refused = try await client.request(.post, path + "/reinstate", key: m.actors["tj-a"], body: "{}")
            #expect(refused.status == .forbidden)
            #expect(try refused.problem()["code"] as? String == "suspended_by_other")
            let back = try await client.request(.post, path + "/reinstate", key: m.actors["bj-b"], body: "{}")
            #expect(back.status == .ok, "\(back.text)")
            #expect(try back.json()["status"] as? String == "approved")
            _ = runtime
        }
    }

    @Test("revoking an operator takes two authorities or an admin", arguments: Backend.available)
    func revocation(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let m = u.m
            let path = "/v1/operators/\(try #require(m.operators["acme"]))"
            let proposed = try await client.request(.post, path + "/revoke", key: m.actors["bj-a"], body: #"{"reason":"fraud"}"#)
            #expect(proposed.status == .ok, "\(proposed.text)")
            let body = try proposed.json()
            #expect(body["status"] as? String == "approved")
            let proposal = try #require(body["revocation_proposal"] as? [String: Any])
            #expect(proposal["authority_id"] as? String == "bj")
            #expect(try await actions(runtime).last == "operator.revocation_proposed")
            // Still in business until a second authority agrees.
            let grant = try await client.request(.get, "/v1/grants/\(u.grant)", key: m.actors["acme"])
            #expect(try grant.json()["status"] as? String == "active")

            let again = try await client.request(.post, path + "/revoke", key: m.actors["bj-b"], body: #"{"reason":"fraud"}"#)
            #expect(again.status == .conflict)
            #expect(try again.problem()["code"] as? String == "second_authority_required")

            let revoked = try await client.request(.post, path + "/revoke", key: m.actors["tj-a"], body: #"{"reason":"confirmed"}"#)
            #expect(revoked.status == .ok, "\(revoked.text)")
            #expect(try revoked.json()["status"] as? String == "revoked")
            let entries = try await runtime.log.entries(start: 0, limit: 1000).map { try AuditEntry(decoding: $0.body).record }
            let record = try #require(entries.last { $0.action == "operator.revoked" })
            #expect(record.data["proposed_by_authority_id"] == .string("bj"))
            #expect(record.data["authority_id"] == .string("tj"))
            #expect(entries.contains { $0.action == "grant.revoked" })
        }
    }

    @Test("naming a reviewer's e-mail as security officer does not keep that reviewer out", arguments: Backend.available)
    func officerAddressDoesNotSteerReview(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var m = try await LicensingMarket.setUp(market, client)
            try await m.actors.principal("shady", role: .operator, client)
            // bj-a's own address, as the applicant chose to write it.
            let applied = try await client.request(.post, "/v1/operators", key: m.actors["shady"],
                                                   body: application(uscc: "91350100MA2Y00Q1XH", officerEmail: "A@BJ.gov.cn"))
            #expect(applied.status == .created, "\(applied.text)")
            let id = try #require(try applied.json()["id"] as? String)
            let reviewed = try await client.request(.post, "/v1/operators/\(id)/reviews", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(reviewed.status == .ok, "\(reviewed.text)")
            #expect(try reviewed.json()["status"] as? String == "approved")
        }
    }
}
