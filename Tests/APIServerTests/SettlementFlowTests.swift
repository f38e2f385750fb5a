import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import NIOCore
import PDXTesting
import Persistence
import Settlement
import Testing

/// A marketplace on a test clock with two grants of `bj-open` (revenue share 3000 bps, platform fee
/// 500 bps): `acme` at 0.04 a call, `big` graduated (the first 10 calls a period at 0.05, the rest at
/// 0.03); and a finance and an auditor key.
struct SettlementMarket {
    var m: LicensingMarket
    var acmeGrant: String
    var bigGrant: String
    /// The test clock at set-up, in whole seconds.
    var start: Date

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> SettlementMarket {
        var m = try await LicensingMarket.setUp(market, client)
        try await m.actors.principal("fin", role: .finance, client)
        try await m.actors.principal("aud", role: .auditor, client)
        try await m.publish("bj-open", by: "bj-a", client)
        let now = try #require(try await client.request(.get, "/v1/test-clock", key: m.actors.admin).json()["now"] as? String)
        let clock = try #require(RFC3339.parse(now))
        let startsAt = RFC3339.format(clock.addingTimeInterval(-86_400))
        let endsAt = RFC3339.format(clock.addingTimeInterval(300 * 86_400))
        let acme = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: startsAt, endsAt: endsAt), client)
        let tiered = """
        {"purpose":"Route planning","scenario":"industry","starts_at":"\(startsAt)","ends_at":"\(endsAt)",
         "agreement":{"id":"standard-data-use","version":"1"},
         "datasets":[{"id":"bj-open","fields":["road_id"],"unit_prices":{},
                      "price_tiers":{"call":[{"up_to":10,"unit_price":"0.05"},{"unit_price":"0.03"}]},
                      "quota_per_period":{"call":1000000}}]}
        """
        let big = try await m.requestGrant("big", tiered, client)
        #expect(acme["status"] as? String == "active")
        #expect(big["status"] as? String == "active")
        return SettlementMarket(m: m, acmeGrant: try #require(acme["id"] as? String), bigGrant: try #require(big["id"] as? String),
                                start: Date(timeIntervalSince1970: clock.timeIntervalSince1970.rounded(.up)))
    }

    func use(_ name: String, grant: String, _ events: [(String, Int, Date)], _ client: any TestClientProtocol) async throws -> [String] {
        let body = usageBody(events.map { usageEvent($0.0, grant: grant, quantity: $0.1, time: $0.2) })
        return try await client.request(.post, "/v1/usage", key: m.actors[name], body: body).usageStatuses()
    }

    func advance(to date: Date, _ client: any TestClientProtocol) async throws {
        let moved = try await client.request(.post, "/v1/test-clock", key: m.actors.admin, body: #"{"now":"\#(RFC3339.format(date))"}"#)
        #expect(moved.status == .ok, "\(moved.text)")
    }

    func close(_ period: Period, as name: String = "fin", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.post, "/v1/settlements/\(period)/close", key: m.actors[name])
    }

    func report(_ period: Period, as name: String = "fin", query: String = "format=json", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.get, "/v1/settlements/\(period)/report?\(query)", key: m.actors[name])
    }
}

/// The lines of a JSON report, by kind and operator.
func lines(_ report: [String: Any]) -> [[String: Any]] { report["lines"] as? [[String: Any]] ?? [] }

@Suite("HTTP: settlement")
struct SettlementFlowTests {
    @Test("a month from usage to a closed period, its reports, an adjustment and the revenue cap", arguments: Backend.available)
    func month(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let next = calendar.period(of: calendar.end(of: period))
            let after = calendar.period(of: calendar.end(of: next))

            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 20, s.start)], client) == ["accepted"])

            // Before the end plus a day of grace: refused, nothing written.
            let size = try await runtime.log.head().size
            let early = try await s.close(period, client)
            #expect(early.status == .conflict)
            #expect(try early.problem()["code"] as? String == "period_not_ended")
            #expect(try await runtime.log.head().size == size)
            #expect(try await s.report(period, client).problem()["code"] as? String == "period_not_closed")

            // Late events are taken until the close.
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-2", 4, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-2", 5, s.start)], client) == ["accepted"])

            #expect(try await s.close(period, as: "acme", client).status == .forbidden)
            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let body = try closed.json()
            #expect(body["status"] as? String == "closed")
            #expect(body["already_closed"] as? Bool == false)
            let totals = try #require(body["totals"] as? [String: Any])
            // acme: 7 × 0.04 = 0.28; big: 10 × 0.05 + 15 × 0.03 = 0.95.
            #expect(totals["gross_minor"] as? Int == 28 + 95)
            #expect(totals["authority_minor"] as? Int == 9 + 28)
            #expect(totals["platform_minor"] as? Int == 1 + 5)
            #expect(totals["operator_minor"] as? Int == 18 + 62)
            #expect(totals["event_count"] as? Int == 4)
            let digests = try #require(body["reports"] as? [String: String])
            let logIndex = try #require(body["log_index"] as? Int)

            // The entry holds the same totals and digests, and a checkpoint covers it.
            let entry = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: UInt64(logIndex), limit: 1).first).body)
            #expect(entry.record.action == "settlement.closed")
            #expect(entry.record.data["totals"]?["gross_minor"] == 123)
            #expect(entry.record.data["reports"]?.objectValue?.mapValues { $0.stringValue ?? "" } == digests)
            let checkpoint = try Checkpoint.parse(try #require(try await runtime.log.latestCheckpoint()).text)
            #expect(checkpoint.size > UInt64(logIndex))

            // Closing again changes nothing.
            let again = try await s.close(period, client).json()
            #expect(again["already_closed"] as? Bool == true)
            #expect(again["log_index"] as? Int == logIndex)
            #expect(try await actions(runtime).filter { $0 == "settlement.closed" }.count == 1)

            // A late event now is refused; a repeat of an accepted one stays a duplicate.
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-3", 1, s.start), ("a-1", 3, s.start)], client)
                    == ["rejected:period_closed", "duplicate"])

            // The report: each line traces to its counter and splits exactly.
            let report = try await s.report(period, client).json()
            let all = lines(report)
            #expect(all.count == 2)
            let acmeLine = try #require(all.first { $0["grant_id"] as? String == s.acmeGrant })
            #expect(acmeLine["quantity"] as? Int == 7)
            #expect(acmeLine["unit_price"] as? String == "0.04")
            #expect(acmeLine["amount_minor"] as? Int == 28)
            #expect([acmeLine["authority_minor"], acmeLine["platform_minor"], acmeLine["operator_minor"]].compactMap { $0 as? Int } == [9, 1, 18])
            #expect(acmeLine["event_count"] as? Int == 2)
            // Declared through POST /v1/usage, all of it.
            #expect(acmeLine["source"] as? String == "declared")
            #expect(acmeLine["declared_quantity"] as? Int == 7)
            #expect(acmeLine["gateway_quantity"] as? Int == 0)
            #expect(entry.record.data["format_version"] == 4)
            let bigLine = try #require(all.first { $0["grant_id"] as? String == s.bigGrant })
            #expect((bigLine["tiers"] as? [[String: Any]])?.compactMap { $0["amount_minor"] as? Int } == [50, 45])
            #expect([bigLine["authority_minor"], bigLine["platform_minor"], bigLine["operator_minor"]].compactMap { $0 as? Int } == [28, 5, 62])
            let summary = try await client.request(.get, "/v1/usage/summary?period=\(period)&grant_id=\(s.acmeGrant)", key: s.m.actors["fin"]).json()
            let counter = try #require((summary["items"] as? [[String: Any]])?.first)
            #expect(acmeLine["log_index_first"] as? Int == counter["log_index_first"] as? Int)
            #expect(acmeLine["log_index_last"] as? Int == counter["log_index_last"] as? Int)
            for line in all {
                let parts = [line["authority_minor"], line["platform_minor"], line["operator_minor"]].compactMap { $0 as? Int }
                #expect(parts.reduce(0, +) == line["amount_minor"] as? Int)
            }

            // The bytes served are the bytes the log holds digests of.
            let csv = try await s.report(period, query: "format=csv", client)
            #expect(csv.status == .ok)
            #expect(Hex.encode(SHA256.hash(Array(csv.body.readableBytesView)).bytes) == digests["csv"])
            let xlsx = try await s.report(period, query: "format=xlsx", client)
            #expect(Hex.encode(SHA256.hash(Array(xlsx.body.readableBytesView)).bytes) == digests["xlsx"])
            let json = try await s.report(period, client)
            #expect(json.headers[.contentType] == "application/json")
            #expect(Hex.encode(SHA256.hash(Array(json.body.readableBytesView)).bytes) == digests["json"])
            let plain = try await client.request(.get, "/v1/settlements/\(period)/report", key: s.m.actors["fin"])
            #expect(Hex.encode(SHA256.hash(Array(plain.body.readableBytesView)).bytes) == digests["json"])
            let partiesCSV = try await s.report(period, query: "format=csv&section=parties", client)
            #expect(Hex.encode(SHA256.hash(Array(partiesCSV.body.readableBytesView)).bytes) == digests["parties.csv"])

            // Parties see their own lines only.
            let acmeOwn = lines(try await s.report(period, as: "acme", client).json())
            #expect(acmeOwn.map { $0["operator_id"] as? String } == [s.m.operators["acme"]])
            #expect(try await s.report(period, as: "acme", query: "format=json&party=operator:\(s.m.operators["big"] ?? "")", client).status == .forbidden)
            #expect(lines(try await s.report(period, as: "tj-a", client).json()).isEmpty)
            #expect(lines(try await s.report(period, as: "bj-a", client).json()).count == 2)
            #expect(lines(try await s.report(period, as: "aud", query: "format=json&party=operator:\(s.m.operators["big"] ?? "")", client).json()).count == 1)

            // Next month: an adjustment of acme's line, and a cap on big's income for the year.
            let correct = #"{"corrects":"\#(acmeLine["line_id"] as? String ?? "")","amount_minor":-10,"reason":"Duplicate billing of a retried call"}"#
            #expect(try await client.request(.post, "/v1/settlements/\(period)/adjustments", key: s.m.actors["fin"], body: correct).problem()["code"] as? String == "period_closed")
            let missing = #"{"corrects":"\#(period)/nope/bj-open/call","amount_minor":-10,"reason":"x"}"#
            #expect(try await client.request(.post, "/v1/settlements/\(next)/adjustments", key: s.m.actors["fin"], body: missing).problem()["code"] as? String == "line_not_found")
            #expect(try await client.request(.post, "/v1/settlements/\(next)/adjustments", key: s.m.actors["bj-a"], body: correct).status == .forbidden)
            let adjusted = try await client.request(.post, "/v1/settlements/\(next)/adjustments", key: s.m.actors["fin"], body: correct)
            #expect(adjusted.status == .created, "\(adjusted.text)")

            let bigID = try #require(s.m.operators["big"])
            let cap = try await client.request(.put, "/v1/operators/\(bigID)/revenue-cap", key: s.m.actors["fin"],
                                               body: #"{"year":\#(next.year),"amount_minor":100,"reason":"最高准许收入 set by the pricing authority"}"#)
            #expect(cap.status == .ok, "\(cap.text)")
            let inNext = calendar.start(of: next).addingTimeInterval(2 * 3600)
            #expect(try await s.use("big", grant: s.bigGrant, [("b-3", 100, inNext)], client) == ["accepted"])

            try await s.advance(to: calendar.end(of: after).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(after, client).problem()["code"] as? String == "earlier_period_open")
            let second = try await s.close(next, client)
            #expect(second.status == .ok, "\(second.text)")
            let nextLines = lines(try await s.report(next, client).json())
            let adjustment = try #require(nextLines.first { $0["kind"] as? String == "adjustment" })
            #expect(adjustment["corrects"] as? String == acmeLine["line_id"] as? String)
            #expect([adjustment["amount_minor"], adjustment["authority_minor"], adjustment["platform_minor"], adjustment["operator_minor"]].compactMap { $0 as? Int } == [-10, -3, -1, -6])
            // big earns 320 (96 / 16 / 208); its room this year is the cap less what it kept before in the year.
            let room = 100 - (next.year == period.year ? 62 : 0)
            let clawback = try #require(nextLines.first { $0["kind"] as? String == "clawback" })
            #expect(clawback["operator_minor"] as? Int == -(208 - room))
            #expect(clawback["authority_minor"] as? Int == 208 - room)
            #expect(clawback["amount_minor"] as? Int == 0)
            let parties = try #require(try await s.report(next, client).json()["parties"] as? [[String: Any]])
            #expect(parties.first { $0["party"] as? String == "operator:\(bigID)" }?["amount_minor"] as? Int == room)

            // The period after has no usage: it closes empty.
            let empty = try await s.close(after, client).json()
            #expect((empty["totals"] as? [String: Any])?["line_count"] as? Int == 0)
        }
    }

    @Test("bad periods, formats and parties are refused with their codes", arguments: Backend.available)
    func badInput(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("fin", role: .finance, client)
            let size = try await runtime.log.head().size
            for bad in ["2026-13", "26-01", "2026-1", "abcd-ef"] {
                let response = try await client.request(.post, "/v1/settlements/\(bad)/close", key: actors["fin"])
                #expect(response.status == .unprocessableContent, "\(bad): \(response.text)")
                #expect(try response.problem()["code"] as? String == "invalid_period")
            }
            #expect(try await client.request(.get, "/v1/settlements/2026-01/report?format=pdf", key: actors["fin"]).status.code / 100 == 4)
            #expect(try await client.request(.get, "/v1/settlements/2026-01/report?party=nobody", key: actors["fin"]).problem()["code"] as? String == "invalid_party")
            let future = try await client.request(.post, "/v1/settlements/2999-01/close", key: actors["fin"])
            #expect(try future.problem()["code"] as? String == "period_not_ended")
            let zero = try await client.request(.post, "/v1/settlements/2999-01/adjustments", key: actors["fin"],
                                                body: #"{"corrects":"2026-01/g/d/call","amount_minor":0,"reason":"x"}"#)
            #expect(try zero.problem()["code"] as? String == "invalid_adjustment")
            let noReason = try await client.request(.post, "/v1/settlements/2999-01/adjustments", key: actors["fin"],
                                                    body: #"{"corrects":"2026-01/g/d/call","amount_minor":5,"reason":"  "}"#)
            #expect(try noReason.problem()["code"] as? String == "reason_required")
            let longReason = try await client.request(.post, "/v1/settlements/2999-01/adjustments", key: actors["fin"],
                                                      body: #"{"corrects":"2026-01/g/d/call","amount_minor":5,"reason":"\#(String(repeating: "x", count: 2001))"}"#)
            #expect(try longReason.problem()["code"] as? String == "reason_too_long")
            let controlReason = try await client.request(.post, "/v1/settlements/2999-01/adjustments", key: actors["fin"],
                                                         body: #"{"corrects":"2026-01/g/d/call","amount_minor":5,"reason":"a\u0007b"}"#)
            #expect(try controlReason.problem()["code"] as? String == "invalid_reason")
            let unknown = try await client.request(.put, "/v1/operators/op_nobody/revenue-cap", key: actors["fin"],
                                                   body: #"{"year":2026,"amount_minor":5,"reason":"x"}"#)
            #expect(unknown.status == .notFound)
            #expect(try await runtime.log.head().size == size, "nothing written")
            let open = try await client.request(.get, "/v1/settlements/2026-01", key: actors["fin"]).json()
            #expect(open["status"] as? String == "open")
        }
    }
}
