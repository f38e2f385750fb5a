import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import PDXTesting
import Persistence
import Testing

/// A marketplace of three authorities with a reviewer each (two for Beijing), a `standard` and an
/// `enhanced` operator, both approved, and the datasets a test publishes.
struct LicensingMarket {
    var actors: Actors
    /// Operator ids by actor name.
    var operators: [String: String] = [:]

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> LicensingMarket {
        var actors = Actors(admin: try market.adminToken)
        actors.keys["admin"] = actors.admin
        for id in ["bj", "tj", "hb"] { try await Actors.authority(id, client, admin: actors.admin) }
        try await actors.principal("bj-a", role: .authorityReviewer, authority: "bj", email: "a@bj.gov.cn", client)
        try await actors.principal("bj-b", role: .authorityReviewer, authority: "bj", email: "b@bj.gov.cn", client)
        try await actors.principal("tj-a", role: .authorityReviewer, authority: "tj", email: "a@tj.gov.cn", client)
        try await actors.principal("hb-a", role: .authorityReviewer, authority: "hb", email: "a@hb.gov.cn", client)
        try await actors.principal("acme", role: .operator, client)
        try await actors.principal("big", role: .operator, client)
        var market = LicensingMarket(actors: actors)
        market.operators["acme"] = try await market.approvedOperator("acme", uscc: "914403001922038216", tier: "standard",
                                                                     reviewers: ["bj-a"], client)
        market.operators["big"] = try await market.approvedOperator("big", uscc: "91110108MA01B2C3D0", tier: "enhanced",
                                                                    reviewers: ["bj-a", "tj-a"], client)
        return market
    }

    func approvedOperator(_ name: String, uscc: String, tier: String, reviewers: [String], _ client: any TestClientProtocol) async throws -> String {
        let applied = try await client.request(.post, "/v1/operators", key: actors[name], body: application(uscc: uscc, tier: tier))
        #expect(applied.status == .created, "\(applied.text)")
        let id = try #require(try applied.json()["id"] as? String)
        for reviewer in reviewers {
            let reviewed = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors[reviewer], body: #"{"decision":"approve"}"#)
            #expect(reviewed.status == .ok, "\(reviewed.text)")
        }
        return id
    }

    /// Publishes a dataset through `reviewer`; the body varies by openness, grade and ceiling.
    @discardableResult
    func publish(_ id: String, by reviewer: String, openness: String = "open", grade: String = "general",
                 title: String? = nil, theme: String = "traffic", ceiling: String = "0.05", delivery: String = "declared",
                 _ client: any TestClientProtocol) async throws -> TestResponse {
        let body = """
        {"id":"\(id)","title":"\(title ?? "\(id) title")","description":"Hourly flow per road segment","theme":"\(theme)",
         "openness":"\(openness)","grade":"\(grade)",
         "fields":[{"name":"road_id","type":"string","sensitive":false},{"name":"flow","type":"integer"},
                   {"name":"plate","type":"string","sensitive":true}],
         "units":["call","record"],"currency":"CNY","ceiling_prices":{"call":"\(ceiling)","record":"0.001"},
         "revenue_share_bps":3000,"delivery":"\(delivery)"}
        """
        let response = try await client.request(.post, "/v1/datasets", key: actors[reviewer], body: body)
        return response
    }

    /// A grant request body for `datasets` (id → call price).
    static func grantBody(_ datasets: [(String, String)], scenario: String = "industry", fields: [String] = ["road_id", "flow"],
                          startsAt: String = RFC3339.format(Date().addingTimeInterval(86_400)),
                          endsAt: String = RFC3339.format(Date().addingTimeInterval(181 * 86_400)),
                          agreement: String? = nil, quota: Int = 1_000_000) -> String {
        let agreement = agreement ?? (scenario == "public_interest" ? "public-interest-data-use" : "standard-data-use")
        let items = datasets.map { id, price in
            #"{"id":"\#(id)","fields":[\#(fields.map { "\"\($0)\"" }.joined(separator: ","))],"unit_prices":{"call":"\#(price)"},"quota_per_period":{"call":\#(quota)}}"#
        }
        return """
        {"purpose":"Congestion forecasting for logistics routing","scenario":"\(scenario)",
         "starts_at":"\(startsAt)","ends_at":"\(endsAt)",
         "agreement":{"id":"\(agreement)","version":"1"},"datasets":[\(items.joined(separator: ","))]}
        """
    }

    func requestGrant(_ name: String, _ body: String, _ client: any TestClientProtocol) async throws -> [String: Any] {
        let response = try await client.request(.post, "/v1/grants", key: actors[name], body: body)
        #expect(response.status == .created, "\(response.text)")
        return try response.json()
    }
}

/// The actions of the log's entries from `start` on.
func actions(_ runtime: Runtime, from start: UInt64 = 0) async throws -> [String] {
    try await runtime.log.entries(start: start, limit: 1000).map { try AuditEntry(decoding: $0.body).record.action }
}

func reasonCodes(_ grant: [String: Any]) -> [String] {
    (grant["reasons"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
}

@Suite("HTTP: catalog and grants")
struct LicensingFlowTests {
    @Test("Beijing and Tianjin datasets: pending until both authorities approve", arguments: Backend.available)
    func coApproval(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-traffic-flow", by: "bj-a", openness: "conditional", client).status == .created)
            #expect(try await m.publish("tj-port-traffic", by: "tj-a", openness: "open", client).status == .created)
            let start = try await runtime.log.head().size

            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-traffic-flow", "0.04"), ("tj-port-traffic", "0.05")]), client)
            let id = try #require(grant["id"] as? String)
            #expect(grant["status"] as? String == "pending")
            let approvals = try #require(grant["approvals"] as? [[String: Any]])
            #expect(approvals.compactMap { $0["authority_id"] as? String } == ["bj", "tj"])
            #expect(approvals.allSatisfy { $0["decision"] == nil })
            let agreement = try #require(grant["agreement"] as? [String: Any])
            #expect(agreement["sha256"] as? String == "22794182c0941ff7376d97d05bd94eb764f54924da293cde34e1cc8c789a22a6")

            // Hebei provides nothing in the request: it cannot decide it.
            let outsider = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["hb-a"], body: #"{"decision":"approve"}"#)
            #expect(outsider.status == .notFound, "a reviewer whose authority is not party does not see the grant")

            let beijing = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(beijing.status == .ok, "\(beijing.text)")
            #expect(try beijing.json()["status"] as? String == "pending", "Tianjin has not approved yet")

            // Another Beijing reviewer cannot approve for Beijing twice.
            let again = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-b"], body: #"{"decision":"approve"}"#)
            #expect(again.status == .conflict)
            #expect(try again.problem()["code"] as? String == "already_decided")

            let tianjin = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["tj-a"], body: #"{"decision":"approve"}"#)
            #expect(tianjin.status == .ok, "\(tianjin.text)")
            #expect(try tianjin.json()["status"] as? String == "active")

            #expect(try await actions(runtime, from: start) ==
                    ["grant.requested", "grant.decided", "grant.decided", "grant.activated"])
            let fetched = try await client.request(.get, "/v1/grants/\(id)", key: m.actors["acme"])
            #expect(try fetched.json()["status"] as? String == "active")
        }
    }

    @Test("one rejection denies a co-approved grant, with its reason", arguments: Backend.available)
    func oneRejectionDenies(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-traffic-flow", by: "bj-a", openness: "conditional", client)
            try await m.publish("tj-port-traffic", by: "tj-a", openness: "conditional", client)
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-traffic-flow", "0.04"), ("tj-port-traffic", "0.05")]), client)
            let id = try #require(grant["id"] as? String)
            let noReason = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["tj-a"], body: #"{"decision":"reject"}"#)
            #expect(noReason.status == .unprocessableContent)
            #expect(try noReason.problem()["code"] as? String == "reason_required")
            let rejected = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["tj-a"],
                                                    body: #"{"decision":"reject","reason":"purpose too broad for port data"}"#)
            #expect(rejected.status == .ok)
            #expect(try rejected.json()["status"] as? String == "denied")
            let late = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(late.status == .conflict)
            #expect(try late.problem()["code"] as? String == "invalid_transition")
        }
    }

    @Test("every policy refusal is a denied grant with its reason code", arguments: Backend.available)
    func policyRefusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            try await m.publish("bj-important", by: "bj-a", grade: "important", client)
            try await m.publish("bj-core", by: "bj-a", grade: "core", client)
            try await m.publish("bj-closed", by: "bj-a", openness: "closed", client)
            let cases: [(String, String, String)] = [
                ("acme", LicensingMarket.grantBody([("bj-important", "0.01")]), "tier_insufficient"),
                ("big", LicensingMarket.grantBody([("bj-core", "0.01")]), "grade_core"),
                ("big", LicensingMarket.grantBody([("bj-closed", "0.01")]), "openness_closed"),
                ("acme", LicensingMarket.grantBody([("bj-open", "0.06")]), "price_above_ceiling"),
                ("acme", LicensingMarket.grantBody([("bj-open", "0.01")], scenario: "public_interest"), "public_interest_priced"),
                ("acme", LicensingMarket.grantBody([("bj-open", "0.01")], fields: ["road_id", "speed"]), "unknown_field"),
                ("acme", LicensingMarket.grantBody([("bj-open", "0.01")], endsAt: RFC3339.format(Date().addingTimeInterval(400 * 86_400))), "term_too_long"),
            ]
            for (name, body, code) in cases {
                let grant = try await m.requestGrant(name, body, client)
                #expect(grant["status"] as? String == "denied", "\(code)")
                #expect(reasonCodes(grant) == [code])
            }
            // The enhanced operator may use important data; public interest at zero is allowed.
            #expect(try await m.requestGrant("big", LicensingMarket.grantBody([("bj-important", "0.01")]), client)["status"] as? String == "active")
            #expect(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0")], scenario: "public_interest"), client)["status"] as? String == "active")
            let denials = try await actions(runtime).filter { $0 == "grant.denied" }
            #expect(denials.count == cases.count)
        }
    }

    @Test("malformed grant requests are 422 with a code and write nothing", arguments: Backend.available)
    func malformedRequests(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let size = try await runtime.log.head().size
            let cases: [(String, String)] = [
                (LicensingMarket.grantBody([("bj-none", "0.01")]), "dataset_not_found"),
                (LicensingMarket.grantBody([("bj-open", "0.01"), ("bj-open", "0.01")]), "duplicate_dataset"),
                (LicensingMarket.grantBody([("bj-open", "1e-2")]), "invalid_price"),
                (LicensingMarket.grantBody([("bj-open", "0.01")], agreement: "no-such-agreement"), "unknown_agreement"),
                (LicensingMarket.grantBody([("bj-open", "0.01")], endsAt: RFC3339.format(Date().addingTimeInterval(-86_400))), "invalid_term"),
                (LicensingMarket.grantBody([]), "datasets_required"),
                (LicensingMarket.grantBody([("bj-open", "0.01")], fields: []), "fields_required"),
                (#"{"purpose":"  ","scenario":"industry","starts_at":"2026-12-01T00:00:00Z","ends_at":"2126-01-01T00:00:00Z","agreement":{"id":"standard-data-use","version":"1"},"datasets":[]}"#, "invalid_purpose"),
                (#"{"purpose":"p","scenario":"industry","starts_at":"2026-12-01T00:00:00Z","ends_at":"2126-01-01T00:00:00Z","agreement":{"id":"standard-data-use","version":"1"},"datasets":[{"id":"bj-open","fields":["flow"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":0}}]}"#, "invalid_quota"),
                (#"{"purpose":"p","scenario":"industry","starts_at":"2026-12-01T00:00:00Z","ends_at":"2126-01-01T00:00:00Z","agreement":{"id":"standard-data-use","version":"1"},"datasets":[{"id":"bj-open","fields":["flow"],"unit_prices":{"minute":"0.01"},"quota_per_period":{"minute":5}}]}"#, "unknown_unit"),
            ]
            for (body, code) in cases {
                let response = try await client.request(.post, "/v1/grants", key: m.actors["acme"], body: body)
                #expect(response.status == .unprocessableContent, "\(code): \(response.text)")
                #expect(try response.problem()["code"] as? String == code)
            }
            let unbound = try await client.request(.post, "/v1/grants", key: m.actors.admin, body: LicensingMarket.grantBody([("bj-open", "0.01")]))
            #expect(unbound.status == .forbidden)
            #expect(try await runtime.log.head().size == size, "a refused request writes nothing")
        }
    }

    @Test("a reclassification visibly suspends the grants it no longer allows", arguments: Backend.available)
    func reclassificationSuspends(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let standard = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)
            let enhanced = try await m.requestGrant("big", LicensingMarket.grantBody([("bj-open", "0.04")]), client)
            #expect(standard["status"] as? String == "active")
            #expect(enhanced["status"] as? String == "active")
            let start = try await runtime.log.head().size

            // Another authority's reviewer may not reclassify Beijing's dataset; a reason is mandatory.
            let foreign = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["tj-a"], body: #"{"grade":"important","reason":"r"}"#)
            #expect(foreign.status == .forbidden)
            let noReason = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"], body: #"{"grade":"important"}"#)
            #expect(noReason.status == .badRequest || noReason.status == .unprocessableContent)

            let patched = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                   body: #"{"grade":"important","reason":"contains road-level data of critical infrastructure"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let body = try patched.json()
            #expect(body["stricter"] as? Bool == true)
            #expect((body["dataset"] as? [String: Any])?["version"] as? Int == 2)
            let affected = try #require(body["affected_grants"] as? [[String: Any]])
            #expect(affected.compactMap { $0["id"] as? String } == [standard["id"] as? String].compactMap { $0 },
                    "only the standard operator's grant is no longer allowed")
            #expect(affected.first?["status"] as? String == "suspended")
            #expect(affected.first?["suspension_cause"] as? String == "dataset")
            #expect(affected.first.map(reasonCodes) == ["tier_insufficient"])

            let read = try await client.request(.get, "/v1/grants/\(try #require(standard["id"] as? String))", key: m.actors["acme"])
            #expect(try read.json()["status"] as? String == "suspended")
            let other = try await client.request(.get, "/v1/grants/\(try #require(enhanced["id"] as? String))", key: m.actors["big"])
            #expect(try other.json()["status"] as? String == "active")
            #expect(try await actions(runtime, from: start) == ["dataset.reclassified", "grant.suspended"])

            // Reinstating is refused while the rules still refuse it.
            let reinstate = try await client.request(.post, "/v1/grants/\(try #require(standard["id"] as? String))/reinstate",
                                                     key: m.actors["bj-a"], body: "{}")
            #expect(reinstate.status == .unprocessableContent)
            #expect(try reinstate.problem()["code"] as? String == "tier_insufficient")

            // A repricing below the enhanced operator's price suspends that one too.
            let repriced = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                    body: #"{"ceiling_prices":{"call":"0.03"},"reason":"price review 2026"}"#)
            #expect(repriced.status == .ok, "\(repriced.text)")
            #expect((try repriced.json()["affected_grants"] as? [[String: Any]])?.first.map(reasonCodes) == ["price_above_ceiling"])
            let same = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                body: #"{"ceiling_prices":{"call":"0.03"},"reason":"again"}"#)
            #expect(try same.problem()["code"] as? String == "no_change")
        }
    }

    @Test("an operator's suspension, reinstatement and revocation cascade to its grants", arguments: Backend.available)
    func operatorCascade(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            try await m.publish("tj-cond", by: "tj-a", openness: "conditional", client)
            let active = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)["id"] as? String)
            let held = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)["id"] as? String)
            let pending = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("tj-cond", "0.04")]), client)["id"] as? String)
            let operatorID = try #require(m.operators["acme"])
            // One grant is suspended by its authority for its own reason: the operator's reinstatement leaves it so.
            #expect(try await client.request(.post, "/v1/grants/\(held)/suspend", key: m.actors["bj-a"], body: #"{"reason":"audit finding"}"#).status == .ok)

            #expect(try await client.request(.post, "/v1/operators/\(operatorID)/suspend", key: m.actors["bj-a"], body: #"{"reason":"security incident"}"#).status == .ok)
            let suspended = try await client.request(.get, "/v1/grants/\(active)", key: m.actors.admin)
            #expect(try suspended.json()["status"] as? String == "suspended")
            #expect(try suspended.json()["suspension_cause"] as? String == "operator")

            #expect(try await client.request(.post, "/v1/operators/\(operatorID)/reinstate", key: m.actors["bj-a"], body: "{}").status == .ok)
            #expect(try await client.request(.get, "/v1/grants/\(active)", key: m.actors.admin).json()["status"] as? String == "active")
            #expect(try await client.request(.get, "/v1/grants/\(held)", key: m.actors.admin).json()["status"] as? String == "suspended")

            #expect(try await client.request(.post, "/v1/operators/\(operatorID)/revoke", key: m.actors.admin, body: #"{"reason":"fraud"}"#).status == .ok)
            #expect(try await client.request(.get, "/v1/grants/\(active)", key: m.actors.admin).json()["status"] as? String == "revoked")
            #expect(try await client.request(.get, "/v1/grants/\(held)", key: m.actors.admin).json()["status"] as? String == "revoked")
            #expect(try await client.request(.get, "/v1/grants/\(pending)", key: m.actors.admin).json()["status"] as? String == "denied")
            let log = try await actions(runtime)
            #expect(log.filter { $0 == "grant.revoked" }.count == 2)
            #expect(log.filter { $0 == "grant.reinstated" }.count == 1)
        }
    }

    @Test("operators see only their own grants; reviewers those of their authority", arguments: Backend.available)
    func visibility(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let id = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)["id"] as? String)
            #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors["big"]).status == .notFound)
            #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors["hb-a"]).status == .notFound)
            #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors["bj-b"]).status == .ok)
            let own = try await client.request(.get, "/v1/grants", key: m.actors["acme"]).json()["items"] as? [[String: Any]]
            #expect(own?.count == 1)
            let others = try await client.request(.get, "/v1/grants", key: m.actors["big"]).json()["items"] as? [[String: Any]]
            #expect(others?.isEmpty == true)
            let peek = try await client.request(.get, "/v1/grants?operator_id=\(try #require(m.operators["acme"]))", key: m.actors["big"])
            #expect((try peek.json()["items"] as? [[String: Any]])?.isEmpty == true)
            let hebei = try await client.request(.get, "/v1/grants", key: m.actors["hb-a"]).json()["items"] as? [[String: Any]]
            #expect(hebei?.isEmpty == true)
            let beijing = try await client.request(.get, "/v1/grants?status=active", key: m.actors["bj-b"]).json()["items"] as? [[String: Any]]
            #expect(beijing?.count == 1)
            let suspend = try await client.request(.post, "/v1/grants/\(id)/suspend", key: m.actors["hb-a"], body: #"{"reason":"r"}"#)
            #expect(suspend.status == .notFound)
        }
    }

    @Test("the catalog validates, filters, searches and pages", arguments: Backend.available)
    func catalog(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-traffic-flow", by: "bj-a", title: "北京市道路交通流量", client).status == .created)
            #expect(try await m.publish("bj-air", by: "bj-a", openness: "conditional", theme: "environment", client).status == .created)
            #expect(try await m.publish("tj-air", by: "tj-a", grade: "important", theme: "environment", client).status == .created)
            let duplicate = try await m.publish("tj-air", by: "tj-a", client)
            #expect(duplicate.status == .conflict)
            #expect(try duplicate.problem()["code"] as? String == "dataset_exists")

            let size = try await runtime.log.head().size
            for (id, ceiling, code) in [("Bad_ID", "0.05", "invalid_dataset_id"), ("bj-x", "-1", "invalid_price"), ("bj-y", "0.0000001", "invalid_price")] {
                let response = try await m.publish(id, by: "bj-a", ceiling: ceiling, client)
                #expect(response.status == .unprocessableContent, "\(code)")
                #expect(try response.problem()["code"] as? String == code)
            }
            let noAuthority = try await m.publish("bj-z", by: "admin", client)
            #expect(try noAuthority.problem()["code"] as? String == "authority_required")
            #expect(try await runtime.log.head().size == size)

            func ids(_ query: String) async throws -> [String] {
                let response = try await client.request(.get, "/v1/datasets\(query)", key: m.actors["acme"])
                #expect(response.status == .ok, "\(response.text)")
                return (try response.json()["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await ids("") == ["bj-air", "bj-traffic-flow", "tj-air"])
            #expect(try await ids("?authority_id=bj") == ["bj-air", "bj-traffic-flow"])
            #expect(try await ids("?theme=environment") == ["bj-air", "tj-air"])
            #expect(try await ids("?openness=conditional") == ["bj-air"])
            #expect(try await ids("?grade=important") == ["tj-air"])
            #expect(try await ids("?q=%E4%BA%A4%E9%80%9A") == ["bj-traffic-flow"])  // 交通
            #expect(try await ids("?q=TJ-AIR") == ["tj-air"])
            let first = try await client.request(.get, "/v1/datasets?limit=2", key: m.actors["acme"]).json()
            let cursor = try #require(first["next_cursor"] as? String)
            #expect(try await ids("?limit=2&cursor=\(cursor)") == ["tj-air"])

            let agreements = try await client.request(.get, "/v1/agreements", key: m.actors["acme"]).json()["items"] as? [[String: Any]]
            #expect(agreements?.compactMap { $0["id"] as? String } == ["public-interest-data-use", "standard-data-use"])
        }
    }

    @Test("grants past their end are recorded as expired when the test clock passes it", arguments: Backend.available)
    func expiry(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let now = try await client.request(.get, "/v1/test-clock", key: m.actors.admin).json()["now"] as? String
            let start = try #require(now.flatMap(RFC3339.parse))
            let end = RFC3339.format(start.addingTimeInterval(30 * 86_400))
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: RFC3339.format(start), endsAt: end), client)
            let id = try #require(grant["id"] as? String)
            #expect(grant["status"] as? String == "active")
            let later = RFC3339.format(start.addingTimeInterval(31 * 86_400))
            #expect(try await client.request(.post, "/v1/test-clock", key: m.actors.admin, body: #"{"now":"\#(later)"}"#).status == .ok)
            let read = try await client.request(.get, "/v1/grants/\(id)", key: m.actors["acme"]).json()
            #expect(read["status"] as? String == "expired")
            #expect(try await actions(runtime).last == "grant.expired")
        }
    }

    @Test("the grant check sees a change made through another instance sharing the store", arguments: Backend.available)
    func grantCheckAcrossInstances(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            // A second process on the same data: its own database handle and its own directory.
            let other = try await market.open()
            let checker = GrantChecker(database: other.database, directory: GrantDirectory())
            do {
                let now = Date()
                let body = LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: RFC3339.format(now.addingTimeInterval(-86_400)))
                let id = try #require(try await m.requestGrant("acme", body, client)["id"] as? String)
                let operatorID = try #require(m.operators["acme"])
                let tomorrow = GrantCheckQuery(operatorID: operatorID, grantID: id, datasetID: "bj-open", unit: .call,
                                               time: now.addingTimeInterval(86_400))
                #expect(try await checker.check([tomorrow]) == [.allowed])
                #expect(try await checker.check([tomorrow, GrantCheckQuery(operatorID: "op_other", grantID: id, datasetID: "bj-open", unit: .call, time: tomorrow.time)])
                        == [.allowed, .denied(.grantNotOwned)])
                let generation = checker.directory.generation

                #expect(try await client.request(.post, "/v1/grants/\(id)/suspend", key: m.actors["bj-a"],
                                                 body: #"{"reason":"audit finding"}"#).status == .ok)
                #expect(try await checker.check([tomorrow]) == [.denied(.grantNotActive)])
                #expect(checker.directory.generation > generation)
                #expect(try await client.request(.post, "/v1/grants/\(id)/reinstate", key: m.actors["bj-a"], body: "{}").status == .ok)
                #expect(try await checker.check([tomorrow]) == [.allowed])
            } catch {
                await other.close()
                throw error
            }
            await other.close()
        }
    }
}
