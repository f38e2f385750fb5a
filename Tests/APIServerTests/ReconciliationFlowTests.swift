import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Licensing
import Metering
import PDXTesting
import Persistence
@testable import Replay
import Settlement
import Testing

extension SettlementMarket {
    /// A provider report body: (id, grant, dataset, unit, day, quantity) each.
    static func reports(_ reports: [(String, String, String, String, String, Int)]) -> String {
        let items = reports.map { id, grant, dataset, unit, day, quantity in
            #"{"id":"\#(id)","grant_id":"\#(grant)","dataset_id":"\#(dataset)","unit":"\#(unit)","day":"\#(day)","quantity":\#(quantity)}"#
        }
        return #"{"reports":[\#(items.joined(separator: ","))]}"#
    }

    func provide(_ reports: [(String, String, String, String, String, Int)], as name: String = "bj-a",
                 _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.post, "/v1/provider-usage", key: m.actors[name], body: Self.reports(reports))
    }

    func reconciliation(_ period: Period, as name: String = "fin", _ client: any TestClientProtocol) async throws -> [[String: Any]] {
        let response = try await client.request(.get, "/v1/reconciliation/\(period)", key: m.actors[name])
        #expect(response.status == .ok, "\(response.text)")
        return try response.json()["lines"] as? [[String: Any]] ?? []
    }

    func acknowledge(_ period: Period, grant: String, reason: String = "Port counted retried transfers",
                     as name: String = "fin", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.post, "/v1/reconciliation/\(period)/acknowledgements", key: m.actors[name],
                                 body: #"{"grant_id":"\#(grant)","dataset_id":"bj-open","unit":"call","reason":"\#(reason)"}"#)
    }
}

@Suite("Provider-reported usage and the reconciliation")
struct ReconciliationFlowTests {
    @Test("provider reports: each refusal code, idempotent by id and by Idempotency-Key, another authority's grant writes nothing",
          arguments: Backend.available)
    func reports(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var s = try await SettlementMarket.setUp(market, client)
            let day = MarketCalendar().day(of: s.start)
            #expect(try await s.m.publish("bj-served", by: "bj-a", delivery: "gateway", client).status == .created)
            let startsAt = RFC3339.format(s.start.addingTimeInterval(-86_400))
            let endsAt = RFC3339.format(s.start.addingTimeInterval(200 * 86_400))
            let served = try #require(try await s.m.requestGrant(
                "acme", LicensingMarket.grantBody([("bj-served", "0.04")], startsAt: startsAt, endsAt: endsAt), client)["id"] as? String)
            try await s.m.actors.principal("fin-2", role: .finance, client)

            let answer = try await s.provide([
                ("p-1", s.acmeGrant, "bj-open", "call", day, 12),
                ("p-2", s.acmeGrant, "bj-open", "megabyte", day, 1),
                ("p-3", s.acmeGrant, "bj-open", "call", day, -1),
                ("p-4", s.acmeGrant, "bj-open", "call", "2026-02-30", 1),
                ("p-5", s.acmeGrant, "bj-open", "call", "2999-01-01", 1),
                ("p-6", "gr_nope", "bj-open", "call", day, 1),
                ("p-7", s.acmeGrant, "tj-open", "call", day, 1),
                ("p-8", s.acmeGrant, "bj-open", "record", day, 1),
                ("p-9", served, "bj-served", "call", day, 1),
                ("", s.acmeGrant, "bj-open", "call", day, 1),
                ("p-11", s.acmeGrant, "bj-open", "call", day, 0),
            ], client)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try answer.usageStatuses() == [
                "accepted", "rejected:unknown_unit", "rejected:invalid_quantity", "rejected:invalid_day", "rejected:day_in_future",
                "rejected:grant_not_found", "rejected:dataset_not_in_grant", "rejected:unit_not_granted",
                "rejected:dataset_not_declared", "rejected:invalid_id", "accepted",
            ])
            let logged = try await actions(runtime)
            #expect(logged.filter { $0 == "usage.provider_reported" }.count == 1)

            // The same id with the same content is a duplicate, with other content a conflict; nothing is logged.
            let size = try await runtime.log.head().size
            let again = try await s.provide([("p-1", s.acmeGrant, "bj-open", "call", day, 12), ("p-11", s.acmeGrant, "bj-open", "call", day, 3)], client)
            #expect(try again.usageStatuses() == ["duplicate", "rejected:conflict"])
            #expect(try await runtime.log.head().size == size)

            // Another authority's reviewer: refused per report, nothing written.
            let other = try await s.provide([("t-1", s.acmeGrant, "bj-open", "call", day, 5)], as: "tj-a", client)
            #expect(try other.usageStatuses() == ["rejected:authority_not_party"])
            #expect(try await runtime.log.head().size == size)
            let period = MarketCalendar().period(of: s.start)
            let totals = try await runtime.database.read { try await $0.providerTotals(period: period) }
            #expect(totals.map(\.quantity) == [12])
            #expect(totals.first?.authorityID == "bj")

            // Only an authority's reviewer reports; an empty or oversized batch is refused as a whole.
            #expect(try await s.provide([("o-1", s.acmeGrant, "bj-open", "call", day, 5)], as: "acme", client).status == .forbidden)
            #expect(try await s.provide([("o-1", s.acmeGrant, "bj-open", "call", day, 5)], as: "fin", client).status == .forbidden)
            #expect(try await client.request(.post, "/v1/provider-usage", key: s.m.actors["bj-a"], body: #"{"reports":[]}"#)
                .problem()["code"] as? String == "events_required")
            let many = (0..<101).map { ("m-\($0)", s.acmeGrant, "bj-open", "call", day, 1) }
            let tooMany = try await s.provide(many, client)
            #expect(tooMany.status == .unprocessableContent || tooMany.status == .badRequest, "\(tooMany.text)")
            #expect(try await runtime.log.head().size == size)

            // Idempotency-Key: the retry gets the first answer, not "duplicate", and writes nothing.
            let body = SettlementMarket.reports([("k-1", s.acmeGrant, "bj-open", "call", day, 4)])
            let first = try await IdempotencyTests.post(client, "/v1/provider-usage", key: s.m.actors["bj-a"], idempotencyKey: "pu-1", body: body)
            let afterFirst = try await runtime.log.head().size
            let retry = try await IdempotencyTests.post(client, "/v1/provider-usage", key: s.m.actors["bj-a"], idempotencyKey: "pu-1", body: body)
            #expect(try first.usageStatuses() == ["accepted"])
            #expect(retry.text == first.text)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await runtime.log.head().size == afterFirst)
        }
    }

    @Test("the reconciliation by role; the close refused while a discrepancy is unacknowledged, then allowed, naming it",
          arguments: Backend.available)
    func close(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let day = calendar.day(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 100, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 50, s.start)], client) == ["accepted"])
            #expect(try await s.provide([("p-1", s.acmeGrant, "bj-open", "call", day, 120), ("p-2", s.bigGrant, "bj-open", "call", day, 50)],
                                        client).usageStatuses() == ["accepted", "accepted"])

            let all = try await s.reconciliation(period, client)
            #expect(all.map { $0["grant_id"] as? String } == [s.acmeGrant, s.bigGrant].sorted().map(Optional.some))
            let acmeLine = try #require(all.first { $0["grant_id"] as? String == s.acmeGrant })
            #expect(acmeLine["status"] as? String == "discrepancy")
            #expect(acmeLine["difference"] as? Int == 20)
            #expect(acmeLine["exceeds_tolerance"] as? Bool == true)
            #expect(all.first { $0["grant_id"] as? String == s.bigGrant }?["status"] as? String == "agrees")
            // Finance and the authority see all of it; an operator its own grant's; another authority nothing.
            #expect(try await s.reconciliation(period, as: "bj-a", client).count == 2)
            #expect(try await s.reconciliation(period, as: "acme", client).map { $0["grant_id"] as? String } == [s.acmeGrant])
            #expect(try await s.reconciliation(period, as: "big", client).map { $0["grant_id"] as? String } == [s.bigGrant])
            #expect(try await s.reconciliation(period, as: "tj-a", client).isEmpty)
            #expect(try await client.request(.get, "/v1/reconciliation/\(period)", key: s.m.actors["aud"]).status == .forbidden)
            #expect(try await client.request(.get, "/v1/reconciliation/2026-13", key: s.m.actors["fin"]).status == .unprocessableContent)

            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let size = try await runtime.log.head().size
            let refused = try await s.close(period, client)
            #expect(refused.status == .conflict)
            let problem = try refused.problem()
            #expect(problem["code"] as? String == "unresolved_discrepancies")
            let reasons = problem["reasons"] as? [[String: Any]] ?? []
            #expect(reasons.count == 1)
            #expect((reasons.first?["detail"] as? String)?.hasPrefix("\(period)/\(s.acmeGrant)/bj-open/call") == true)
            #expect(try await runtime.log.head().size == size)
            #expect(try await runtime.database.read { try await $0.settlement(period) } == nil)
            // `pdx settlement close` takes the same path and is refused the same way, listing the discrepancy.
            let cli = await #expect(throws: UnresolvedDiscrepancies.self) {
                try await closePeriod(period, at: market.location, policy: SettlementPolicy(), actor: try #require(s.m.actors.ids["fin"]))
            }
            #expect(cli?.lines.map(\.key.grantID) == [s.acmeGrant])
            #expect(cli?.description.contains("\(period)/\(s.acmeGrant)/bj-open/call: declared 100, provider 120") == true)
            #expect(try await runtime.log.head().size == size)

            // Acknowledging: finance only, with a reason, of a discrepancy.
            #expect(try await s.acknowledge(period, grant: s.acmeGrant, as: "bj-a", client).status == .forbidden)
            #expect(try await s.acknowledge(period, grant: s.acmeGrant, reason: " ", client).problem()["code"] as? String == "reason_required")
            #expect(try await s.acknowledge(period, grant: s.bigGrant, client).problem()["code"] as? String == "no_discrepancy")
            #expect(try await s.acknowledge(period, grant: "gr_nope", client).problem()["code"] as? String == "line_not_found")
            #expect(try await runtime.log.head().size == size)
            let acknowledged = try await s.acknowledge(period, grant: s.acmeGrant, client)
            #expect(acknowledged.status == .created, "\(acknowledged.text)")
            let first = try #require(try acknowledged.json()["log_index"] as? Int)

            // A later report changes the figures: the acknowledgement no longer holds.
            #expect(try await s.provide([("p-3", s.acmeGrant, "bj-open", "call", day, 1)], client).usageStatuses() == ["accepted"])
            let stale = try #require(try await s.reconciliation(period, client).first { $0["grant_id"] as? String == s.acmeGrant })
            #expect(stale["status"] as? String == "discrepancy")
            #expect(stale["stale_acknowledgement"] != nil)
            #expect(try await s.close(period, client).status == .conflict)
            let second = try #require(try await s.acknowledge(period, grant: s.acmeGrant, client).json()["log_index"] as? Int)
            #expect(second > first)
            #expect(try await s.reconciliation(period, as: "acme", client).first?["status"] as? String == "acknowledged")

            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let index = try #require(try closed.json()["log_index"] as? Int)
            let entry = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: UInt64(index), limit: 1).first).body)
            let listed = try #require(entry.record.data["acknowledged_discrepancies"]?.arrayValue)
            #expect(listed.count == 1)
            #expect(listed.first?["grant_id"] == .string(s.acmeGrant))
            #expect(listed.first?["declared_quantity"] == 100)
            #expect(listed.first?["provider_quantity"] == 121)
            #expect(listed.first?["acknowledgement_index"] == JSONValue(second))
            // The money is the declaration's: 100 calls at 0.04; each declared line shows the provider's count beside it.
            let report = try await s.report(period, client).json()
            let acmeClosed = try #require(lines(report).first { $0["grant_id"] as? String == s.acmeGrant })
            #expect(acmeClosed["quantity"] as? Int == 100)
            #expect(acmeClosed["source"] as? String == "declared")
            #expect(acmeClosed["provider_quantity"] as? Int == 121)
            #expect(lines(report).first { $0["grant_id"] as? String == s.bigGrant }?["provider_quantity"] as? Int == 50)
            let csv = String(decoding: Array(try await s.report(period, query: "format=csv", client).body.readableBytesView), as: UTF8.self)
            #expect(csv.contains(",declared,100,0,0,121\r\n") && csv.contains(",declared,50,0,0,50\r\n"))

            // After the close: no more reports or acknowledgements for the period.
            #expect(try await s.provide([("p-4", s.acmeGrant, "bj-open", "call", day, 1)], client).usageStatuses() == ["rejected:period_closed"])
            #expect(try await s.acknowledge(period, grant: s.acmeGrant, client).problem()["code"] as? String == "period_closed")
            #expect(try await client.request(.get, "/v1/reconciliation/\(period)", key: s.m.actors["fin"]).json()["status"] as? String == "closed")

            // The log replays: the acknowledged discrepancy is a notice, not a finding.
            var replay = LogReplay()
            for stored in try await runtime.log.entries(start: 0, limit: 100_000) { replay.apply(bytes: stored.body, seq: stored.seq) }
            replay.finish()
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            #expect(replay.notices.map(\.code) == [.discrepancyAcknowledged])
        }
    }

    @Test("a tolerance set by PATCH is logged and decides the line; out of range is refused", arguments: Backend.available)
    func tolerance(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let day = calendar.day(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 100, s.start)], client) == ["accepted"])
            _ = try await s.provide([("p-1", s.acmeGrant, "bj-open", "call", day, 120)], client)
            #expect(try await s.reconciliation(period, client).first?["tolerance_bps"] as? Int == 100)

            let wrong = try await client.request(.patch, "/v1/datasets/bj-open", key: s.m.actors["bj-a"],
                                                 body: #"{"reconciliation_tolerance_bps":10001,"reason":"too wide"}"#)
            #expect(try wrong.problem()["code"] as? String == "tolerance_out_of_range")
            let patched = try await client.request(.patch, "/v1/datasets/bj-open", key: s.m.actors["bj-a"],
                                                   body: #"{"reconciliation_tolerance_bps":2500,"reason":"monthly counts differ by design"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect((try patched.json()["dataset"] as? [String: Any])?["reconciliation_tolerance_bps"] as? Int == 2500)
            #expect(try await actions(runtime).last == "dataset.tolerance_changed")
            let line = try #require(try await s.reconciliation(period, client).first)
            #expect(line["status"] as? String == "agrees")

            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let index = try #require(try closed.json()["log_index"] as? Int)
            let entry = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: UInt64(index), limit: 1).first).body)
            #expect(entry.record.data["acknowledged_discrepancies"] == nil)
        }
    }
}
