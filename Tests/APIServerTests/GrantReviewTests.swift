@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import PDXTesting
import Testing

/// A grant request body for one dataset with `fields`, `justifications` (field → text, as raw JSON
/// strings are written) and the given scenario and agreement.
private func reviewBody(_ dataset: String, fields: [String], justifications: [String: String]? = nil,
                        scenario: String = "industry", agreement: String = "standard-data-use", price: String = "0.01") -> String {
    let fieldList = fields.map { "\"\($0)\"" }.joined(separator: ",")
    var item = #"{"id":"\#(dataset)","fields":[\#(fieldList)],"unit_prices":{"call":"\#(price)"},"quota_per_period":{"call":1000}"#
    if let justifications {
        let members = justifications.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        item += #","justifications":{\#(members)}"#
    }
    item += "}"
    return """
    {"purpose":"Congestion forecasting","scenario":"\(scenario)",
     "starts_at":"\(RFC3339.format(Date().addingTimeInterval(86_400)))","ends_at":"\(RFC3339.format(Date().addingTimeInterval(90 * 86_400)))",
     "agreement":{"id":"\(agreement)","version":"1"},"datasets":[\(item)]}
    """
}

/// How many grants the admin sees.
private func grantCount(_ m: LicensingMarket, _ client: any TestClientProtocol) async throws -> Int {
    let listed = try await client.request(.get, "/v1/grants", key: m.actors.admin)
    return (try listed.json()["items"] as? [Any])?.count ?? -1
}

@Suite("HTTP: agreements bound to scenarios, sensitive fields reviewed")
struct GrantReviewTests {
    @Test("a template binds only the scenarios it governs; the list says which", arguments: Backend.available)
    func scenarioMismatch(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let listed = try await client.request(.get, "/v1/agreements", key: m.actors["acme"])
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            let scenarios = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as? String ?? "", $0["scenarios"] as? [String] ?? []) })
            #expect(scenarios == ["standard-data-use": ["industry"], "public-interest-data-use": ["public_interest"]])

            let size = try await runtime.log.head().size
            for (scenario, agreement, price) in [("public_interest", "standard-data-use", "0"), ("industry", "public-interest-data-use", "0.01")] {
                let refused = try await client.request(.post, "/v1/grants", key: m.actors["acme"],
                                                       body: reviewBody("bj-open", fields: ["flow"], scenario: scenario, agreement: agreement, price: price))
                #expect(refused.status == .unprocessableContent, "\(refused.text)")
                #expect(try refused.problem()["code"] as? String == "agreement_scenario_mismatch")
            }
            #expect(try await runtime.log.head().size == size, "nothing logged")
            #expect(try await grantCount(m, client) == 0, "nothing stored")
            // The matching template is accepted for each scenario.
            #expect(try await m.requestGrant("acme", reviewBody("bj-open", fields: ["flow"], scenario: "public_interest",
                                                                agreement: "public-interest-data-use", price: "0"), client)["status"] as? String == "active")
            #expect(try await m.requestGrant("acme", reviewBody("bj-open", fields: ["flow"]), client)["status"] as? String == "active")
        }
    }

    @Test("a sensitive field of an open dataset waits for its authority, and the reviewer sees why", arguments: Backend.available)
    func sensitiveFieldWaits(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            try await m.publish("tj-open", by: "tj-a", client)
            let start = try await runtime.log.head().size
            let body = """
            {"purpose":"Congestion forecasting","scenario":"industry",
             "starts_at":"\(RFC3339.format(Date().addingTimeInterval(86_400)))","ends_at":"\(RFC3339.format(Date().addingTimeInterval(90 * 86_400)))",
             "agreement":{"id":"standard-data-use","version":"1"},"datasets":[
              {"id":"bj-open","fields":["flow","plate"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":1000},
               "justifications":{"plate":"  match fleet vehicles to congestion events  "}},
              {"id":"tj-open","fields":["flow"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":1000}}]}
            """
            let grant = try await m.requestGrant("acme", body, client)
            let id = try #require(grant["id"] as? String)
            #expect(grant["status"] as? String == "pending", "never approved automatically")
            let approvals = try #require(grant["approvals"] as? [[String: Any]])
            #expect(approvals.compactMap { $0["authority_id"] as? String } == ["bj"], "only the authority of the sensitive field is asked")

            let seen = try await client.request(.get, "/v1/grants/\(id)", key: m.actors["bj-a"])
            let datasets = try #require(try seen.json()["datasets"] as? [[String: Any]])
            #expect(datasets[0]["justifications"] as? [String: String] == ["plate": "match fleet vehicles to congestion events"])
            #expect(datasets[1]["justifications"] as? [String: String] == [:])

            let entries = try await runtime.log.entries(start: start, limit: 10).map { try AuditEntry(decoding: $0.body).record }
            #expect(entries.map(\.action) == ["grant.requested"])
            #expect(entries[0].data["datasets"]?[0]?["justifications"] == ["plate": "match fleet vehicles to congestion events"])
            #expect(entries[0].data["datasets"]?[1]?["justifications"] == nil, "absent where no sensitive field is asked for")
            #expect(entries[0].data["approvals_required"] == ["bj"])

            let approved = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(try approved.json()["status"] as? String == "active")
            // Without the sensitive field the same open datasets are active at once.
            #expect(try await m.requestGrant("acme", reviewBody("bj-open", fields: ["flow"]), client)["status"] as? String == "active")
        }
    }

    @Test("justifications: one per sensitive field and no other, each bounded; refusals write nothing", arguments: Backend.available)
    func justificationRefusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let size = try await runtime.log.head().size
            let cases: [(String, String)] = [
                (reviewBody("bj-open", fields: ["flow", "plate"]), "justification_required"),
                (reviewBody("bj-open", fields: ["flow", "plate"], justifications: ["plate": "   "]), "justification_required"),
                (reviewBody("bj-open", fields: ["flow", "plate"], justifications: ["plate": String(repeating: "x", count: 501)]),
                 "justification_too_long"),
                (reviewBody("bj-open", fields: ["flow", "plate"], justifications: ["plate": "fleet\\u0007matching"]), "invalid_justification"),
                (reviewBody("bj-open", fields: ["flow", "plate"], justifications: ["plate": "fleet matching", "flow": "volumes"]),
                 "justification_not_applicable"),
                (reviewBody("bj-open", fields: ["flow"], justifications: ["plate": "fleet matching"]), "justification_not_applicable"),
            ]
            for (body, code) in cases {
                let refused = try await client.request(.post, "/v1/grants", key: m.actors["acme"], body: body)
                #expect(refused.status == .unprocessableContent, "\(code): \(refused.text)")
                #expect(try refused.problem()["code"] as? String == code)
            }
            #expect(try await runtime.log.head().size == size, "nothing logged")
            #expect(try await grantCount(m, client) == 0, "nothing stored")
            // 500 characters is still accepted.
            let longest = reviewBody("bj-open", fields: ["flow", "plate"], justifications: ["plate": String(repeating: "x", count: 500)])
            #expect(try await m.requestGrant("acme", longest, client)["status"] as? String == "pending")
        }
    }
}
