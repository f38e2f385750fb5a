import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

@Suite("HTTP: authorities and principals")
struct IdentityRoutesTests {
    @Test(arguments: Backend.available)
    func authoritiesAndPrincipalsAreCreatedLoggedAndRefusedPrecisely(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            try await Actors.authority("bj", client, admin: admin)
            let refused: [(String, String, Int, String)] = [
                ("/v1/authorities", #"{"id":"bj","name":"again","region":"Beijing"}"#, 409, "authority_exists"),
                ("/v1/authorities", #"{"id":"Bad ID","name":"x","region":"y"}"#, 422, "invalid_authority_id"),
                ("/v1/authorities", #"{"id":"tj","name":"x","region":"y","extra":true}"#, 400, "invalid_request"),
                ("/v1/authorities", #"{"id":"tj","name":"x"}"#, 400, "invalid_request"),
                ("/v1/authorities", #"{"id":"tj",,}"#, 400, "invalid_request"),
                ("/v1/principals", #"{"name":"r","role":"authority_reviewer"}"#, 422, "authority_required"),
                ("/v1/principals", #"{"name":"r","role":"authority_reviewer","authority_id":"zz"}"#, 422, "authority_not_found"),
                ("/v1/principals", #"{"name":"o","role":"operator","authority_id":"bj"}"#, 422, "authority_not_allowed"),
                ("/v1/principals", #"{"name":"o","role":"emperor"}"#, 400, "invalid_request"),
                ("/v1/principals", #"{"name":"o","role":"operator","email":"not-an-address"}"#, 422, "invalid_email"),
                ("/v1/principals", #"{"name":"o","role":"operator","expires_at":"2001-01-01T00:00:00Z"}"#, 422, "expiry_in_past"),
                ("/v1/principals", #"{"name":"","role":"operator"}"#, 422, "invalid_name"),
            ]
            let size = try await runtime.log.head().size
            for (path, body, status, code) in refused {
                let response = try await client.request(.post, path, key: admin, body: body)
                #expect(Int(response.status.code) == status, "\(body): \(response.text)")
                #expect(try response.problem()["code"] as? String == code, "\(body)")
            }
            #expect(try await runtime.log.head().size == size, "a refused request wrote to the log")

            var actors = Actors(admin: admin)
            try await actors.principal("reviewer", role: .authorityReviewer, authority: "bj", client)
            let listed = try await client.request(.get, "/v1/principals?limit=200", key: admin)
            #expect(listed.status == .ok)
            #expect(!listed.text.contains(actors["reviewer"]), "a listing must never show a key")
            #expect(!listed.text.contains("api_key"))

            // The new key works; revoking it stops it at once.
            #expect(try await client.request(.get, "/v1/audit/checkpoint", key: actors["reviewer"]).status == .ok)
            let revoke = try await client.request(.post, "/v1/principals/\(actors.ids["reviewer"]!)/revoke", key: admin,
                                                  body: #"{"reason":"left the bureau"}"#)
            #expect(revoke.status == .ok, "\(revoke.text)")
            #expect(try revoke.json()["revoked_at"] != nil)
            #expect(try await client.request(.get, "/v1/audit/checkpoint", key: actors["reviewer"]).status == .unauthorized)
            let again = try await client.request(.post, "/v1/principals/\(actors.ids["reviewer"]!)/revoke", key: admin,
                                                 body: #"{"reason":"twice"}"#)
            #expect(again.status == .conflict)
            let noReason = try await client.request(.post, "/v1/principals/pr_nobody/revoke", key: admin, body: #"{"reason":" "}"#)
            #expect(try noReason.problem()["code"] as? String == "reason_required")

            // Every change is in the log, and no key material is.
            let entries = try await runtime.log.entries(start: 0, limit: 100)
            let actions = try entries.map { try AuditEntry(decoding: $0.body).record.action }
            #expect(actions.contains("authority.created"))
            #expect(actions.filter { $0 == "principal.created" }.count == 2)
            #expect(actions.contains("principal.revoked"))
            let secret = try #require(APIKey(presented: actors["reviewer"])).secret
            #expect(!entries.contains { String(decoding: $0.body, as: UTF8.self).contains(secret) })
        }
    }
}

@Suite("HTTP: the role table")
struct AuthorizationTableTests {
    /// Which roles may call each route, written out independently of `Authorization.table`.
    static let expected: [(method: HTTPRequest.Method, path: String, body: String?, allowed: Set<String>)] = [
        (.get, "/v1/audit/checkpoint", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.get, "/v1/audit/entries", nil, ["admin", "auditor"]),
        (.get, "/v1/audit/proofs/inclusion?index=0", nil, ["admin", "auditor"]),
        (.get, "/v1/audit/proofs/consistency?old_size=1", nil, ["admin", "auditor"]),
        (.post, "/v1/authorities", #"{"id":"x1","name":"x","region":"x"}"#, ["admin"]),
        (.get, "/v1/authorities", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/principals", #"{"name":"n","role":"auditor"}"#, ["admin"]),
        (.get, "/v1/principals", nil, ["admin"]),
        (.post, "/v1/principals/pr_none/revoke", #"{"reason":"r"}"#, ["admin"]),
        (.get, "/v1/personal-data?subject=principal:pr_none", nil, ["admin"]),
        (.post, "/v1/personal-data/pd_none/erase", #"{"reason":"r"}"#, ["admin"]),
        (.post, "/v1/operators", "{}", ["operator"]),
        (.get, "/v1/operators", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.get, "/v1/operators/op_none", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/operators/op_none/reviews", #"{"decision":"approve"}"#, ["authority_reviewer"]),
        (.post, "/v1/operators/op_none/suspend", #"{"reason":"r"}"#, ["admin", "authority_reviewer"]),
        (.post, "/v1/operators/op_none/reinstate", "{}", ["admin", "authority_reviewer"]),
        (.post, "/v1/operators/op_none/revoke", #"{"reason":"r"}"#, ["admin", "authority_reviewer"]),
        (.post, "/v1/datasets", "{}", ["admin", "authority_reviewer"]),
        (.get, "/v1/datasets", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.get, "/v1/datasets/ds-none", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.patch, "/v1/datasets/ds-none", #"{"reason":"r"}"#, ["admin", "authority_reviewer"]),
        (.get, "/v1/agreements", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/grants", "{}", ["operator"]),
        (.get, "/v1/grants", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.get, "/v1/grants/gr_none", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/grants/gr_none/decisions", #"{"decision":"approve"}"#, ["authority_reviewer"]),
        (.post, "/v1/grants/gr_none/suspend", #"{"reason":"r"}"#, ["admin", "authority_reviewer"]),
        (.post, "/v1/grants/gr_none/reinstate", "{}", ["admin", "authority_reviewer"]),
        (.post, "/v1/grants/gr_none/revoke", #"{"reason":"r"}"#, ["admin", "authority_reviewer"]),
        (.post, "/v1/grants/gr_none/amendments", "{}", ["operator"]),
        (.get, "/v1/grants/gr_none/versions", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/usage", "{}", ["operator"]),
        (.get, "/v1/usage/summary?period=2026-10", nil, ["admin", "authority_reviewer", "operator", "finance"]),
        (.put, "/v1/operators/op_none/revenue-cap", #"{"year":2026,"amount_minor":1,"reason":"r"}"#, ["admin", "finance"]),
        (.get, "/v1/settlements/2026-13", nil, ["admin", "auditor", "finance"]),
        (.post, "/v1/settlements/2026-13/close", nil, ["finance"]),
        (.get, "/v1/settlements/2026-13/report", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.get, "/v1/settlements/2026-13/report?format=csv", nil, ["admin", "authority_reviewer", "operator", "auditor", "finance"]),
        (.post, "/v1/settlements/2026-13/adjustments", #"{"corrects":"x","amount_minor":1,"reason":"r"}"#, ["finance"]),
        (.get, "/v1/settlements/2026-13/adjustments", nil, ["admin", "auditor", "finance"]),
        (.get, "/v1/operators/op_none/revenue-cap?year=2026", nil, ["admin", "operator", "auditor", "finance"]),
        (.get, "/v1/revenue-caps?year=2026", nil, ["admin", "auditor", "finance"]),
    ]

    @Test func everyOperationOfTheContractIsInTheTable() {
        #expect(Set(Authorization.table.keys) == Set(Operation.allCases))
    }

    @Test(arguments: Backend.available)
    func everyRouteTimesEveryRole(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await Actors.authority("bj", client, admin: actors.admin)
            try await actors.principal("authority_reviewer", role: .authorityReviewer, authority: "bj", client)
            try await actors.principal("operator", role: .operator, client)
            try await actors.principal("auditor", role: .auditor, client)
            try await actors.principal("finance", role: .finance, client)
            actors.keys["admin"] = actors.admin
            for route in Self.expected {
                for role in ["admin", "authority_reviewer", "operator", "auditor", "finance"] {
                    let response = try await client.request(route.method, route.path, key: actors[role], body: route.body)
                    if route.allowed.contains(role) {
                        #expect(response.status != .forbidden && response.status != .unauthorized,
                                "\(role) \(route.method) \(route.path): \(response.text)")
                    } else {
                        #expect(response.status == .forbidden, "\(role) \(route.method) \(route.path): \(response.text)")
                        #expect(try response.problem()["code"] as? String == "forbidden")
                    }
                }
            }
        }
    }
}
