import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import PDXTesting
import Persistence
import Testing

/// A served dataset with a loaded release, and a grant of `acme` for some of its fields.
struct DataMarket {
    var m: LicensingMarket
    var grant: String

    /// `bj-roads`: road_id (filterable), hour, flow (filterable integer), plate (sensitive), one release
    /// `2026-09` of `rows` rows: road `R<n % 3>`, flow n.
    static let fields = """
        [{"name":"road_id","type":"string","filterable":true},{"name":"hour","type":"datetime"},
         {"name":"flow","type":"integer","filterable":true},{"name":"plate","type":"string","sensitive":true}]
        """

    static func csv(rows: Int) -> String {
        "road_id,hour,flow,plate\n" + (1...rows).map { n in
            "R\(n % 3),2026-09-27T\(n % 24 < 10 ? "0" : "")\(n % 24):00:00+08:00,\(n),\(n % 5 == 0 ? "京A0000\(n % 10)" : "")"
        }.joined(separator: "\n") + "\n"
    }

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol, rows: Int = 25,
                      units: String = #"{"call":"0.01","record":"0.001"}"#,
                      quotas: String = #"{"call":1000000,"record":1000000}"#) async throws -> DataMarket {
        let m = try await LicensingMarket.setUp(market, client)
        let published = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
            {"id":"bj-roads","title":"Road flow","theme":"traffic","openness":"open","grade":"general",
             "fields":\(fields),"units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},
             "revenue_share_bps":3000}
            """)
        #expect(published.status == .created, "\(published.text)")
        let loaded = try await client.request(.put, "/v1/datasets/bj-roads/releases/2026-09", key: m.actors["bj-a"],
                                              body: csv(rows: rows), contentType: "text/csv")
        #expect(loaded.status == .created, "\(loaded.text)")
        let grant = try #require(try await m.requestGrant("acme", grantBody(units: units, quotas: quotas), client)["id"] as? String)
        return DataMarket(m: m, grant: grant)
    }

    static func grantBody(dataset: String = "bj-roads", fields: [String] = ["road_id", "hour", "flow"],
                          units: String = #"{"call":"0.01","record":"0.001"}"#,
                          quotas: String = #"{"call":1000000,"record":1000000}"#) -> String {
        let names = fields.map { "\"\($0)\"" }.joined(separator: ",")
        return """
        {"purpose":"Congestion forecasting for logistics routing","scenario":"industry",
         "starts_at":"\(RFC3339.format(Date().addingTimeInterval(-86_400)))","ends_at":"\(RFC3339.format(Date().addingTimeInterval(90 * 86_400)))",
         "agreement":{"id":"standard-data-use","version":"1"},
         "datasets":[{"id":"\(dataset)","fields":[\(names)],"unit_prices":\(units),"quota_per_period":\(quotas)}]}
        """
    }

    func read(_ query: String, as name: String = "acme", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.get, "/v1/data/bj-roads/records?grant_id=\(grant)" + (query.isEmpty ? "" : "&\(query)"),
                                 key: m.actors[name])
    }

    /// The period's usage of the grant, per unit: (quantity, events).
    func usage(_ client: any TestClientProtocol) async throws -> [String: [Int]] {
        let period = MarketCalendar().period(of: Date())
        let summary = try await client.request(.get, "/v1/usage/summary?period=\(period)&grant_id=\(grant)", key: m.actors["acme"]).json()
        var units: [String: [Int]] = [:]
        for item in summary["items"] as? [[String: Any]] ?? [] {
            units[item["unit"] as? String ?? ""] = [item["quantity"] as? Int ?? 0, item["events"] as? Int ?? 0]
        }
        return units
    }
}

@Suite("HTTP: the data API, metered at the source")
struct DataAPITests {
    @Test("pages follow their cursors through the release; each call is metered before it is answered, and logged as gateway usage",
          arguments: Backend.available)
    func paging(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let d = try await DataMarket.setUp(market, client, rows: 25)
            let before = try await runtime.log.head().size
            var flows: [Int] = []
            var cursor: String?
            var calls = 0
            repeat {
                let page = try await d.read("limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""), client)
                #expect(page.status == .ok, "\(page.text)")
                let body = try page.json()
                calls += 1
                #expect(body["dataset_id"] as? String == "bj-roads")
                #expect(body["release"] as? String == "2026-09")
                let records = try #require(body["records"] as? [[String: Any]])
                // Every granted field, in the dataset's order; never the ungranted one.
                for record in records { #expect(Set(record.keys) == ["road_id", "hour", "flow"]) }
                flows += records.compactMap { $0["flow"] as? Int }
                let usage = try #require(body["usage"] as? [String: Any])
                #expect(usage["units"] as? [String: Int] == ["call": 1, "record": records.count])
                #expect((usage["event_id"] as? String)?.hasPrefix("gw-") == true)
                cursor = body["next_cursor"] as? String
            } while cursor != nil && calls < 10
            #expect(flows == Array(1...25), "every row once, in order")
            #expect(calls == 3)
            #expect(try await d.usage(client) == ["call": [3, 3], "record": [25, 3]])

            let recorded = try await runtime.log.entries(start: before, limit: 100).map { try AuditEntry(decoding: $0.body).record }
                .filter { $0.action == "usage.recorded" }
            #expect(recorded.count == 3)
            #expect(recorded.allSatisfy { $0.data["source"] == "gateway" })
            let ids = recorded.flatMap { ($0.data["usage"]?.arrayValue ?? []).flatMap { $0["events"]?.arrayValue ?? [] } }
                .compactMap { $0.arrayValue?.first?.stringValue }
            #expect(ids.count == 6)
            #expect(ids.allSatisfy { $0.hasSuffix(".call") || $0.hasSuffix(".record") })
        }
    }

    @Test("fields and equality filters: asked fields in order, filters by index, each refusal with its code", arguments: Backend.available)
    func fieldsAndFilters(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client, rows: 30)
            let asked = try await d.read("fields=flow,road_id&road_id=R1&limit=100", client)
            #expect(asked.status == .ok, "\(asked.text)")
            let records = try #require(try asked.json()["records"] as? [[String: Any]])
            #expect(records.map { $0["flow"] as? Int ?? 0 } == Array(stride(from: 1, through: 30, by: 3)))
            #expect(records.allSatisfy { $0["road_id"] as? String == "R1" })
            #expect(asked.text.contains(#"{"flow":1,"road_id":"R1"}"#), "fields in the order asked")
            let both = try await d.read("road_id=R2&flow=14", client)
            #expect(try #require(try both.json()["records"] as? [[String: Any]]).map { $0["flow"] as? Int } == [14])
            let leadingZero = try await d.read("flow=014", client)
            #expect(try #require(try leadingZero.json()["records"] as? [[String: Any]]).count == 1, "integers compare as numbers")

            let usageBefore = try await d.usage(client)
            for (query, status, code) in [
                ("fields=plate", HTTPResponse.Status.forbidden, "field_not_granted"),
                ("fields=road_id,colour", .badRequest, "unknown_field"),
                ("fields=road_id,road_id", .badRequest, "invalid_fields"),
                ("fields=", .badRequest, "unknown_field"),
                ("hour=2026-09-27T01:00:00Z", .badRequest, "filter_not_allowed"),
                ("colour=red", .badRequest, "unknown_field"),
                ("plate=x", .forbidden, "field_not_granted"),
                ("flow=many", .badRequest, "invalid_filter"),
                ("limit=0", .badRequest, "invalid_request"),
                ("limit=1001", .badRequest, "invalid_request"),
                ("limit=ten", .badRequest, "invalid_request"),
                ("limit=1&limit=2", .badRequest, "invalid_request"),
                ("cursor=not-ours", .badRequest, "invalid_cursor"),
                ("cursor=" + String(repeating: "A", count: 600), .badRequest, "invalid_cursor"),
                ("release=2027-01", .notFound, "release_not_found"),
            ] {
                let answer = try await d.read(query, client)
                #expect(answer.status == status, "\(query): \(answer.text)")
                #expect(try answer.problem()["code"] as? String == code, "\(query)")
            }
            #expect(try await d.usage(client) == usageBefore, "a refused call costs nothing")
        }
    }

    @Test("whose grant, which dataset, which role: each refused before a record is read", arguments: Backend.available)
    func refusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client)
            let path = "/v1/data/bj-roads/records"
            func problem(_ uri: String, as name: String) async throws -> (HTTPResponse.Status, String?) {
                let answer = try await client.request(.get, uri, key: d.m.actors[name])
                return (answer.status, try answer.problem()["code"] as? String)
            }
            #expect(try await problem(path, as: "acme") == (.badRequest, "grant_required"))
            #expect(try await problem("\(path)?grant_id=\(d.grant)", as: "big") == (.forbidden, "grant_not_owned"))
            #expect(try await problem("\(path)?grant_id=g_nothing", as: "acme") == (.notFound, "grant_not_found"))
            #expect(try await problem("/v1/data/bj-nothing/records?grant_id=\(d.grant)", as: "acme") == (.notFound, "dataset_not_found"))
            #expect(try await problem("\(path)?grant_id=\(d.grant)", as: "bj-a") == (.forbidden, "forbidden"))

            // A declared dataset is not served; one not in the grant is refused by the grant check.
            try await d.m.publish("bj-declared", by: "bj-a", client)
            #expect(try await problem("/v1/data/bj-declared/records?grant_id=\(d.grant)", as: "acme") == (.conflict, "dataset_not_served"))
            let other = try await client.request(.post, "/v1/datasets", key: d.m.actors["bj-a"], body: """
                {"id":"bj-roads-2","title":"Road flow 2","theme":"traffic","openness":"open","grade":"general",
                 "fields":\(DataMarket.fields),"units":["call"],"ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000}
                """)
            #expect(other.status == .created)
            #expect(try await problem("/v1/data/bj-roads-2/records?grant_id=\(d.grant)", as: "acme") == (.forbidden, "dataset_not_in_grant"))

            // A served dataset without a release yet; a cursor of one dataset for another.
            let grant2 = try #require(try await d.m.requestGrant("acme", DataMarket.grantBody(dataset: "bj-roads-2",
                units: #"{"call":"0.01"}"#, quotas: #"{"call":100}"#), client)["id"] as? String)
            #expect(try await problem("/v1/data/bj-roads-2/records?grant_id=\(grant2)", as: "acme") == (.notFound, "release_not_found"))
            let first = try await d.read("limit=1", client)
            let cursor = try #require(try first.json()["next_cursor"] as? String)
            #expect(try await problem("/v1/data/bj-roads-2/records?grant_id=\(grant2)&cursor=\(cursor)", as: "acme") == (.badRequest, "invalid_cursor"))

            // Suspended: no data, nothing metered.
            let before = try await d.usage(client)
            let suspended = try await client.request(.post, "/v1/grants/\(d.grant)/suspend", key: d.m.actors["bj-a"], body: #"{"reason":"audit"}"#)
            #expect(suspended.status == .ok, "\(suspended.text)")
            #expect(try await problem("\(path)?grant_id=\(d.grant)", as: "acme") == (.forbidden, "grant_not_active"))
            #expect(try await d.usage(client) == before)
        }
    }

    @Test("PDX never serves past the quota: the page is cut to what is left, then the call is refused", arguments: Backend.available)
    func quota(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client, rows: 25, quotas: #"{"call":1000,"record":12}"#)
            let first = try await d.read("limit=10", client)
            #expect(try #require(try first.json()["records"] as? [[String: Any]]).count == 10)
            let cut = try await d.read("limit=10&cursor=\(try #require(try first.json()["next_cursor"] as? String))", client)
            #expect(cut.status == .ok, "\(cut.text)")
            let records = try #require(try cut.json()["records"] as? [[String: Any]])
            #expect(records.map { $0["flow"] as? Int } == [11, 12], "cut to the two records left")
            #expect(try cut.json()["next_cursor"] as? String != nil)
            let refused = try await d.read("limit=10", client)
            #expect(refused.status == .forbidden)
            #expect(try refused.problem()["code"] as? String == "quota_exceeded")
            #expect(try await d.usage(client) == ["call": [2, 2], "record": [12, 2]])
        }
    }

    @Test("concurrent calls never pass the quota together", arguments: Backend.available)
    func concurrentQuota(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client, rows: 25, quotas: #"{"call":5,"record":1000}"#)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<12 { group.addTask { try await d.read("limit=1", client).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 5)
            #expect(statuses.allSatisfy { $0 == .ok || $0 == .forbidden })
            #expect(try await d.usage(client)["call"] == [5, 5])
        }
    }

    @Test("if the usage cannot be committed the caller gets 503 and no record; nothing is counted")
    func commitFails() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let database = try #require(runtime.database as? SQLiteDatabase)
            let d = try await DataMarket.setUp(market, client)
            let head = try await runtime.log.head()
            try await database.refuseWrites(true)
            let answer = try await d.read("limit=5", client)
            #expect(answer.status == .serviceUnavailable)
            #expect(try answer.problem()["code"] as? String == "storage_read_only")
            #expect(!answer.text.contains("R1"), "no record in the answer")
            #expect(try await runtime.log.head() == head)
            try await database.refuseWrites(false)
            #expect(try await d.read("limit=5", client).status == .ok)
            #expect(try await d.usage(client) == ["call": [1, 1], "record": [5, 1]])
        }
    }

    @Test("a call's events count together: a unit refused refuses the whole call", arguments: Backend.available)
    func allOrNothing(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            // Calls cannot run out before records here: 3 calls, many records.
            let d = try await DataMarket.setUp(market, client, rows: 25, quotas: #"{"call":3,"record":1000}"#)
            for _ in 0..<3 { #expect(try await d.read("limit=2", client).status == .ok) }
            let refused = try await d.read("limit=2", client)
            #expect(try refused.problem()["code"] as? String == "quota_exceeded")
            #expect(try await d.usage(client) == ["call": [3, 3], "record": [6, 3]], "no record counted for the refused call")
        }
    }

    @Test("a whole release downloads as CSV of the granted fields, metered in records before the first byte", arguments: Backend.available)
    func download(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client, rows: 7, quotas: #"{"call":1000,"record":20}"#)
            let path = "/v1/data/bj-roads/releases/2026-09/file?grant_id=\(d.grant)"
            let file = try await client.request(.get, path + "&fields=flow,road_id", key: d.m.actors["acme"])
            #expect(file.status == .ok, "\(file.text)")
            #expect(file.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(file.headers[.contentDisposition] == #"attachment; filename="bj-roads-2026-09.csv""#)
            #expect(file.headers[HTTPField.Name("X-PDX-Usage-Event")!]?.hasPrefix("gw-") == true)
            let lines = file.text.components(separatedBy: "\r\n")
            #expect(lines.first == "flow,road_id")
            #expect(Array(lines.dropFirst().prefix(7)) == (1...7).map { "\($0),R\($0 % 3)" })
            #expect(try await d.usage(client) == ["call": [1, 1], "record": [7, 1]])

            // The default is every granted field; the sensitive one never appears.
            let all = try await client.request(.get, path, key: d.m.actors["acme"])
            #expect(all.text.hasPrefix("road_id,hour,flow\r\nR1,2026-09-27T01:00:00+08:00,1\r\n"), "\(all.text.prefix(80))")
            #expect(!all.text.contains("京A"))

            // Six records of quota are left, the release has seven: refused whole, nothing counted.
            let refused = try await client.request(.get, path, key: d.m.actors["acme"])
            #expect(refused.status == .forbidden)
            #expect(try refused.problem()["code"] as? String == "quota_exceeded")
            #expect(try await d.usage(client) == ["call": [2, 2], "record": [14, 2]])
            for (uri, status, code) in [
                ("/v1/data/bj-roads/releases/2026-09/file", HTTPResponse.Status.badRequest, "grant_required"),
                ("/v1/data/bj-roads/releases/2027-01/file?grant_id=\(d.grant)", .notFound, "release_not_found"),
                (path + "&fields=plate", .forbidden, "field_not_granted"),
            ] {
                let answer = try await client.request(.get, uri, key: d.m.actors["acme"])
                #expect(answer.status == status, "\(uri): \(answer.text)")
                #expect(try answer.problem()["code"] as? String == code)
            }
            let other = try await client.request(.get, path, key: d.m.actors["big"])
            #expect(try other.problem()["code"] as? String == "grant_not_owned")
        }
    }

    @Test("a call's event id is derived from its request id without holding its text", arguments: Backend.available)
    func eventIDFromRequestID(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let d = try await DataMarket.setUp(market, client)
            let before = try await runtime.log.head().size
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(d.m.actors["acme"])"
            headers[HTTPField.Name("X-Request-ID")!] = "li-lei-laptop-7"
            let answer = try await client.execute(uri: "/v1/data/bj-roads/records?grant_id=\(d.grant)&limit=1", method: .get,
                                                  headers: headers, body: nil) { $0 }
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.headers[HTTPField.Name("X-Request-ID")!] == "li-lei-laptop-7")
            let eventID = try #require((try answer.json()["usage"] as? [String: Any])?["event_id"] as? String)
            let digest = Hex.encode(Array(SHA256.hash(Array("li-lei-laptop-7".utf8)).bytes.prefix(8)))
            #expect(eventID.hasPrefix("gw-\(digest)-"))
            let logged = try await runtime.log.entries(start: before, limit: 10).map { String(decoding: $0.body, as: UTF8.self) }
            #expect(logged.contains { $0.contains(eventID) })
            #expect(!logged.contains { $0.contains("li-lei") })
        }
    }
}
