import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import PDXTesting
import Persistence
import Testing

/// One usage event as JSON.
func usageEvent(_ id: String, grant: String, dataset: String = "bj-open", unit: String = "call", quantity: Int = 1, time: Date) -> String {
    #"{"id":"\#(id)","grant_id":"\#(grant)","dataset_id":"\#(dataset)","unit":"\#(unit)","quantity":\#(quantity),"time":"\#(RFC3339.format(time))"}"#
}

func usageBody(_ events: [String]) -> String {
    #"{"events":[\#(events.joined(separator: ","))]}"#
}

extension TestResponse {
    /// `(id, status, code)` of each event of a usage answer.
    func usageResults() throws -> [(String, String, String?)] {
        let results = try #require(try json()["results"] as? [[String: Any]])
        return results.map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "", $0["code"] as? String) }
    }

    func usageStatuses() throws -> [String] {
        try usageResults().map { $0.2.map { "rejected:\($0)" } ?? $0.1 }
    }
}

/// A marketplace with one active grant of `bj-open` for `acme`, in force since yesterday.
struct UsageMarket {
    var m: LicensingMarket
    var grant: String

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol, quota: Int = 1_000_000) async throws -> UsageMarket {
        let m = try await LicensingMarket.setUp(market, client)
        try await m.publish("bj-open", by: "bj-a", client)
        try await m.publish("bj-other", by: "bj-a", client)
        let body = LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: RFC3339.format(Date().addingTimeInterval(-86_400)),
                                             quota: quota)
        let grant = try #require(try await m.requestGrant("acme", body, client)["id"] as? String)
        return UsageMarket(m: m, grant: grant)
    }

    func report(_ events: [String], as name: String = "acme", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.post, "/v1/usage", key: m.actors[name], body: usageBody(events))
    }
}

@Suite("HTTP: usage")
struct UsageFlowTests {
    @Test("accepted, then duplicate; the same id with other content is a conflict; counted once", arguments: Backend.available)
    func idempotency(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let events = (1...3).map { usageEvent("evt-\($0)", grant: u.grant, quantity: $0, time: t) }
            let first = try await u.report(events, client)
            #expect(first.status == .ok, "\(first.text)")
            #expect(try first.json()["accepted"] as? Int == 3)
            #expect(try first.usageStatuses() == ["accepted", "accepted", "accepted"])

            let again = try await u.report(events, client)
            #expect(try again.usageStatuses() == ["duplicate", "duplicate", "duplicate"])
            #expect(try again.json()["duplicates"] as? Int == 3)

            // The same id with another quantity; the same id twice in one batch, once the same and once not.
            let mixed = try await u.report([
                usageEvent("evt-1", grant: u.grant, quantity: 9, time: t),
                usageEvent("evt-4", grant: u.grant, quantity: 4, time: t),
                usageEvent("evt-4", grant: u.grant, quantity: 4, time: t),
                usageEvent("evt-4", grant: u.grant, quantity: 5, time: t),
            ], client)
            #expect(try mixed.usageStatuses() == ["rejected:conflict", "accepted", "duplicate", "rejected:conflict"])

            // The same instant written with another offset is the same content.
            let offset = t
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let shanghai = #"{"id":"evt-4","grant_id":"\#(u.grant)","dataset_id":"bj-open","unit":"call","quantity":4,"time":"\#(formatter.string(from: offset))"}"#
            #expect(try await u.report([shanghai], client).usageStatuses() == ["duplicate"])

            let period = MarketCalendar().period(of: t)
            let summary = try await client.request(.get, "/v1/usage/summary?period=\(period)", key: u.m.actors["acme"]).json()
            let items = try #require(summary["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items.first?["quantity"] as? Int == 1 + 2 + 3 + 4)
            #expect(items.first?["events"] as? Int == 4)

            let recorded = try await runtime.log.entries(start: 0, limit: 1000).map { try AuditEntry(decoding: $0.body).record }
                .filter { $0.action == "usage.recorded" }
            #expect(recorded.count == 2, "one entry per batch that accepted something")
            let logged = recorded.flatMap { ($0.data["usage"]?.arrayValue ?? []).flatMap { $0.objectValue?["events"]?.arrayValue ?? [] } }
            #expect(logged.compactMap { $0.arrayValue?.first?.stringValue }.sorted() == ["evt-1", "evt-2", "evt-3", "evt-4"])
            let first_ = try #require(items.first?["log_index_first"] as? Int)
            let last = try #require(items.first?["log_index_last"] as? Int)
            #expect(first_ < last)
        }
    }

    @Test("usage of a dataset PDX serves is metered at the source: the operator's own figure is rejected, per event", arguments: Backend.available)
    func meteredAtSource(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let published = try await u.m.publish("bj-served", by: "bj-a", delivery: "gateway", client)
            #expect(published.status == .created, "\(published.text)")
            #expect(try published.json()["delivery"] as? String == "gateway")
            let body = LicensingMarket.grantBody([("bj-served", "0.04")], startsAt: RFC3339.format(Date().addingTimeInterval(-86_400)))
            let grant = try #require(try await u.m.requestGrant("acme", body, client)["id"] as? String)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let answer = try await u.report([
                usageEvent("own-1", grant: grant, dataset: "bj-served", time: t),
                usageEvent("own-2", grant: u.grant, time: t),
            ], client)
            #expect(try answer.usageStatuses() == ["rejected:metered_at_source", "accepted"])

            // Once the authority says the data reaches operators outside PDX, declared usage counts.
            let before = try await runtime.log.head().size
            let changed = try await client.request(.patch, "/v1/datasets/bj-served", key: u.m.actors["bj-a"],
                                                   body: #"{"delivery":"declared","reason":"served by the bureau's own portal"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            let dataset = try #require(try changed.json()["dataset"] as? [String: Any])
            #expect(dataset["delivery"] as? String == "declared")
            #expect(dataset["version"] as? Int == 2)
            let record = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: before, limit: 1).first).body).record
            #expect(record.action == "dataset.delivery_changed")
            #expect(record.data["changes"] == ["delivery": ["from": "gateway", "to": "declared"]])
            let again = try await u.report([usageEvent("own-1", grant: grant, dataset: "bj-served", time: t)], client)
            #expect(try again.usageStatuses() == ["accepted"])

            // A dataset published without saying is served by PDX.
            let unsaid = try await client.request(.post, "/v1/datasets", key: u.m.actors["bj-a"], body: """
                {"id":"bj-default","title":"Default","theme":"traffic","openness":"open","grade":"general",
                 "fields":[{"name":"road_id","type":"string","filterable":true}],"units":["call"],
                 "ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000}
                """)
            #expect(unsaid.status == .created, "\(unsaid.text)")
            #expect(try unsaid.json()["delivery"] as? String == "gateway")
            let fields = try #require(try unsaid.json()["fields"] as? [[String: Any]])
            #expect(fields.first?["filterable"] as? Bool == true)
            let refused = try await client.request(.post, "/v1/datasets", key: u.m.actors["bj-a"], body: """
                {"id":"bj-blob","title":"Blob","theme":"traffic","openness":"open","grade":"general",
                 "fields":[{"name":"shape","type":"geometry","filterable":true}],"units":["call"],
                 "ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000}
                """)
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.problem()["code"] as? String == "field_not_filterable")
        }
    }

    @Test("every rejection has its code", arguments: Backend.available)
    func rejections(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let u = try await UsageMarket.setUp(market, client)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            // Big's grant: another operator's.
            let other = try #require(try await u.m.requestGrant("big", LicensingMarket.grantBody([("bj-open", "0.04")],
                startsAt: RFC3339.format(Date().addingTimeInterval(-86_400))), client)["id"] as? String)
            let future = LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: RFC3339.format(Date().addingTimeInterval(3 * 86_400)))
            let later = try #require(try await u.m.requestGrant("acme", future, client)["id"] as? String)
            let cases: [(String, String)] = [
                (usageEvent("", grant: u.grant, time: t), "invalid_id"),
                (usageEvent("has space", grant: u.grant, time: t), "invalid_id"),
                (usageEvent("e-unit", grant: u.grant, unit: "minute", time: t), "unknown_unit"),
                (usageEvent("e-zero", grant: u.grant, quantity: 0, time: t), "invalid_quantity"),
                (usageEvent("e-neg", grant: u.grant, quantity: -3, time: t), "invalid_quantity"),
                (#"{"id":"e-time","grant_id":"\#(u.grant)","dataset_id":"bj-open","unit":"call","quantity":1,"time":"yesterday"}"#, "invalid_time"),
                (usageEvent("e-future", grant: u.grant, time: Date().addingTimeInterval(3_600)), "time_in_future"),
                (usageEvent("e-nogrant", grant: "gr_none", time: t), "grant_not_found"),
                (usageEvent("e-owned", grant: other, time: t), "grant_not_owned"),
                (usageEvent("e-dataset", grant: u.grant, dataset: "bj-other", time: t), "dataset_not_in_grant"),
                (usageEvent("e-unit2", grant: u.grant, unit: "record", time: t), "unit_not_granted"),
                (usageEvent("e-early", grant: u.grant, time: Date().addingTimeInterval(-3 * 86_400)), "grant_not_started"),
                (usageEvent("e-later", grant: later, time: t), "grant_not_started"),
                (usageEvent("e-before", grant: u.grant, time: Date().addingTimeInterval(-3_600 * 12)), "grant_not_active"),
            ]
            let response = try await u.report(cases.map(\.0), client)
            #expect(response.status == .ok, "\(response.text)")
            #expect(try response.usageStatuses() == cases.map { "rejected:\($0.1)" })
            #expect(try response.json()["rejected"] as? Int == cases.count)

            // Suspended now: use after the suspension is refused, use before it still counts.
            let before = Date()
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await client.request(.post, "/v1/grants/\(u.grant)/suspend", key: u.m.actors["bj-a"], body: #"{"reason":"audit"}"#).status == .ok)
            let after = try await u.report([usageEvent("e-during", grant: u.grant, time: Date()), usageEvent("e-prior", grant: u.grant, time: before)], client)
            #expect(try after.usageStatuses() == ["rejected:grant_not_active", "accepted"])
        }
    }

    @Test("a hard quota: the excess is rejected, the rest fits exactly", arguments: Backend.available)
    func quota(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let u = try await UsageMarket.setUp(market, client, quota: 10)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let response = try await u.report([
                usageEvent("q-1", grant: u.grant, quantity: 6, time: t),
                usageEvent("q-2", grant: u.grant, quantity: 5, time: t),
                usageEvent("q-3", grant: u.grant, quantity: 4, time: t),
            ], client)
            #expect(try response.usageStatuses() == ["accepted", "rejected:quota_exceeded", "accepted"], "\(response.text)")
            #expect(try await u.report([usageEvent("q-4", grant: u.grant, quantity: 1, time: t)], client).usageStatuses()
                    == ["rejected:quota_exceeded"])
        }
    }

    @Test("concurrent batches cannot overshoot a quota or count an id twice", arguments: Backend.available)
    func concurrency(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let u = try await UsageMarket.setUp(market, client, quota: 25)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let statuses = try await withThrowingTaskGroup(of: [String].self) { group in
                for batch in 0..<10 {
                    group.addTask {
                        // Each batch sends five events of its own and the same "shared" event.
                        let events = (0..<5).map { usageEvent("c-\(batch)-\($0)", grant: u.grant, time: t) }
                            + [usageEvent("shared", grant: u.grant, quantity: 1, time: t)]
                        return try await u.report(events, client).usageStatuses()
                    }
                }
                var all: [String] = []
                for try await part in group { all += part }
                return all
            }
            #expect(statuses.filter { $0 == "accepted" }.count == 25)
            #expect(statuses.filter { $0 == "rejected:quota_exceeded" }.count + statuses.filter { $0 == "duplicate" }.count == 35)
            let period = MarketCalendar().period(of: t)
            let items = try await client.request(.get, "/v1/usage/summary?period=\(period)", key: u.m.actors["acme"]).json()["items"] as? [[String: Any]]
            #expect(items?.first?["quantity"] as? Int == 25)
        }
    }

    @Test("a closed period refuses late events; a duplicate stays a duplicate", arguments: Backend.available)
    func closedPeriod(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            #expect(try await u.report([usageEvent("p-1", grant: u.grant, time: t)], client).usageStatuses() == ["accepted"])
            let period = MarketCalendar().period(of: t)
            try await runtime.database.transaction { try await $0.markPeriodClosed(period, at: Date()) }
            let late = try await u.report([usageEvent("p-2", grant: u.grant, time: t), usageEvent("p-1", grant: u.grant, time: t)], client)
            #expect(try late.usageStatuses() == ["rejected:period_closed", "duplicate"])
        }
    }

    @Test("bad batches are refused whole and write nothing", arguments: Backend.available)
    func badBatches(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let size = try await runtime.log.head().size
            let empty = try await u.report([], client)
            #expect(empty.status == .unprocessableContent)
            #expect(try empty.problem()["code"] as? String == "events_required")
            let many = (0...10_000).map { usageEvent("m-\($0)", grant: u.grant, time: t) }
            let tooMany = try await u.report(many, client)
            #expect(tooMany.status == .unprocessableContent || tooMany.status == .badRequest, "\(tooMany.status)")
            #expect(try tooMany.problem()["code"] as? String == (tooMany.status == .badRequest ? "invalid_request" : "batch_too_large"))
            let huge = String(repeating: "x", count: 4 << 20)
            let tooBig = try await u.report([usageEvent(huge, grant: u.grant, time: t)], client)
            #expect(tooBig.status == .contentTooLarge)
            let malformed = try await client.request(.post, "/v1/usage", key: u.m.actors["acme"], body: #"{"events":[{"id":"x"}]}"#)
            #expect(malformed.status == .badRequest)
            let noOperator = try await client.request(.post, "/v1/usage", key: u.m.actors.admin, body: usageBody([usageEvent("a", grant: u.grant, time: t)]))
            #expect(noOperator.status == .forbidden)
            #expect(try await runtime.log.head().size == size)
        }
    }

    @Test("the summary: own usage for operators, the authority's for reviewers, all for finance; by day", arguments: Backend.available)
    func summaryVisibility(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var u = try await UsageMarket.setUp(market, client)
            // After the grant's activation (usage before it is refused), in whole seconds so every spelling of it is exact.
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            try await u.m.actors.principal("finance", role: .finance, client)
            #expect(try await u.report([usageEvent("s-1", grant: u.grant, quantity: 7, time: t)], client).usageStatuses() == ["accepted"])
            let period = MarketCalendar().period(of: t)
            func count(_ name: String, _ query: String = "") async throws -> Int? {
                let response = try await client.request(.get, "/v1/usage/summary?period=\(period)\(query)", key: u.m.actors[name])
                return (try response.json()["items"] as? [[String: Any]])?.count
            }
            #expect(try await count("acme") == 1)
            #expect(try await count("big") == 0)
            #expect(try await count("bj-b") == 1)
            #expect(try await count("tj-a") == 0)
            #expect(try await count("finance") == 1)
            #expect(try await count("finance", "&grant_id=\(u.grant)") == 1)
            let days = try await client.request(.get, "/v1/usage/summary?period=\(period)&grant_id=\(u.grant)&by=day", key: u.m.actors["acme"]).json()
            let day = (days["items"] as? [[String: Any]])?.first
            #expect(day?["day"] as? String == MarketCalendar().day(of: t))
            #expect(day?["quantity"] as? Int == 7)
            let bad = try await client.request(.get, "/v1/usage/summary?period=2026-13", key: u.m.actors["acme"])
            #expect(try bad.problem()["code"] as? String == "invalid_period")
        }
    }
}
