import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

@Suite("HTTP: a reviewer's work queue")
struct ReviewQueueTests {
    /// Every page of `GET /v1/grants?<query>` as `name`, `limit` at a time: the ids in order.
    static func allPages(_ query: String, as name: String, limit: Int, _ m: LicensingMarket,
                         _ client: any TestClientProtocol) async throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            let page = try await client.request(.get, "/v1/grants?\(query)&limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                                key: m.actors[name])
            #expect(page.status == .ok, "\(page.text)")
            let json = try page.json()
            let items = try #require(json["items"] as? [[String: Any]])
            #expect(items.count <= limit)
            ids += items.compactMap { $0["id"] as? String }
            cursor = json["next_cursor"] as? String
        } while cursor != nil
        return ids
    }

    @Test("awaiting=me lists the pending grants that still need the reviewer's authority, page by page", arguments: Backend.available)
    func queue(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client).status == .created)
            #expect(try await m.publish("tj-cond", by: "tj-a", openness: "conditional", client).status == .created)
            #expect(try await m.publish("bj-open", by: "bj-a", client).status == .created)
            func request(_ name: String, _ datasets: [String]) async throws -> String {
                let grant = try await m.requestGrant(name, LicensingMarket.grantBody(datasets.map { ($0, "0.04") }), client)
                return try #require(grant["id"] as? String)
            }
            let both = try await request("acme", ["bj-cond", "tj-cond"])
            let tianjinOnly = try await request("acme", ["tj-cond"])
            let beijingOnly = try await request("big", ["bj-cond"])
            let rejected = try await request("acme", ["bj-cond"])
            let approvedByBeijing = try await request("big", ["bj-cond", "tj-cond"])
            let open = try await request("acme", ["bj-open"])
            #expect(try await client.request(.post, "/v1/grants/\(rejected)/decisions", key: m.actors["bj-a"],
                                             body: #"{"decision":"reject","reason":"Purpose too broad"}"#).status == .ok)
            #expect(try await client.request(.post, "/v1/grants/\(approvedByBeijing)/decisions", key: m.actors["bj-b"],
                                             body: #"{"decision":"approve"}"#).status == .ok)
            #expect(try await client.request(.get, "/v1/grants/\(open)", key: m.actors.admin).json()["status"] as? String == "active")

            // Any reviewer of an authority sees its queue; one page or one grant a page, the same grants.
            let beijing = Set([both, beijingOnly])
            for reviewer in ["bj-a", "bj-b"] {
                for limit in [1, 2, 50] {
                    let ids = try await Self.allPages("awaiting=me", as: reviewer, limit: limit, m, client)
                    #expect(ids.count == beijing.count, "\(reviewer), limit \(limit): \(ids)")
                    #expect(Set(ids) == beijing, "\(reviewer), limit \(limit)")
                }
            }
            let tianjin = try await Self.allPages("awaiting=me", as: "tj-a", limit: 1, m, client)
            #expect(tianjin.count == 3)
            #expect(Set(tianjin) == [both, tianjinOnly, approvedByBeijing])
            #expect(try await Self.allPages("awaiting=me", as: "hb-a", limit: 10, m, client).isEmpty)
            // Newest first, like every grant listing.
            let full = try await client.request(.get, "/v1/grants?awaiting=me", key: m.actors["tj-a"]).json()
            let times = (full["items"] as? [[String: Any]] ?? []).compactMap { $0["requested_at"] as? String }.compactMap(RFC3339.parse)
            #expect(times == times.sorted(by: >))
            // Other filters still narrow it.
            #expect(try await Self.allPages("awaiting=me&status=active", as: "tj-a", limit: 10, m, client).isEmpty)
            let acmeOnly = try await Self.allPages("awaiting=me&operator_id=\(m.operators["acme"] ?? "")", as: "tj-a", limit: 10, m, client)
            #expect(Set(acmeOnly) == [both, tianjinOnly])

            // Once Tianjin decides, the grant leaves its queue.
            #expect(try await client.request(.post, "/v1/grants/\(tianjinOnly)/decisions", key: m.actors["tj-a"],
                                             body: #"{"decision":"approve"}"#).status == .ok)
            #expect(Set(try await Self.allPages("awaiting=me", as: "tj-a", limit: 2, m, client)) == [both, approvedByBeijing])
        }
    }

    @Test("only a reviewer has a work queue", arguments: Backend.available)
    func otherRoles(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("operator", role: .operator, client)
            try await actors.principal("auditor", role: .auditor, client)
            try await actors.principal("finance", role: .finance, client)
            actors.keys["admin"] = actors.admin
            for role in ["admin", "operator", "auditor", "finance"] {
                let response = try await client.request(.get, "/v1/grants?awaiting=me", key: actors[role])
                #expect(response.status == .unprocessableContent, "\(role): \(response.text)")
                #expect(try response.problem()["code"] as? String == "awaiting_needs_reviewer")
            }
            let unknown = try await client.request(.get, "/v1/grants?awaiting=someone", key: actors.admin)
            #expect(unknown.status == .badRequest)
            #expect(try unknown.problem()["code"] as? String == "invalid_request")
        }
    }
}
