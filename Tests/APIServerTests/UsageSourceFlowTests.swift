import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Licensing
import Metering
import PDXTesting
import Persistence
import Settlement
import Testing

@Suite("Usage sources: counted apart, said by every line")
struct UsageSourceFlowTests {
    /// Commits `events` of `operatorID` as PDX meters them (`source`: served, or forwarded upstream),
    /// through the usage path's committer.
    static func meter(_ runtime: Runtime, operatorID: String, grant: String, _ events: [(String, Int64, Date)],
                      source: UsageSource = .gateway) async throws -> UsageDecision {
        let now = runtime.clock.now()
        let batch = UsageBatch(
            events.map { RawUsageEvent(id: $0.0, grantID: grant, datasetID: "bj-open", unit: "call", quantity: $0.1, time: RFC3339.format($0.2)) },
            operatorID: operatorID, at: now, source: source)
        let committer = UsageCommitter(database: runtime.database, log: runtime.log, directory: GrantDirectory())
        return try await committer.commit(batch, batchID: "ub_gateway_\(events.first?.0 ?? "")", actor: "system", at: now)
    }

    @Test("declared and metered usage share a counter and its quota; the close says mixed and upstream, in every format",
          arguments: Backend.available)
    func sources(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let acme = try #require(s.m.operators["acme"])
            let big = try #require(s.m.operators["big"])

            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, s.start)], client) == ["accepted"])
            let metered = try await Self.meter(runtime, operatorID: acme, grant: s.acmeGrant, [("g-1", 4, s.start), ("g-2", 1, s.start)])
            #expect(metered.acceptedCount == 2)
            #expect(try await Self.meter(runtime, operatorID: big, grant: s.bigGrant, [("u-1", 20, s.start)], source: .upstream).acceptedCount == 1)
            // An id is an id, whoever counted it: the same event again is a duplicate.
            #expect(try await Self.meter(runtime, operatorID: acme, grant: s.acmeGrant, [("g-1", 4, s.start)]).duplicateCount == 1)

            let counters = try await runtime.database.read { try await $0.usageCounters(period: period, filter: UsageFilter()) }
            let acmeCounter = try #require(counters.first { $0.key.grantID == s.acmeGrant })
            #expect([acmeCounter.quantity, acmeCounter.events, acmeCounter.gatewayQuantity, acmeCounter.gatewayEvents] == [8, 3, 5, 2])
            let bigCounter = try #require(counters.first { $0.key.grantID == s.bigGrant })
            #expect([bigCounter.quantity, bigCounter.gatewayQuantity, bigCounter.upstreamQuantity, bigCounter.upstreamEvents] == [20, 0, 20, 1])
            #expect([acmeCounter.upstreamQuantity, acmeCounter.upstreamEvents] == [0, 0])
            // The log says where each batch came from.
            let sources = try await runtime.log.entries(start: 0, limit: 10_000).map { try AuditEntry(decoding: $0.body).record }
                .filter { $0.action == "usage.recorded" }.map { $0.data["source"]?.stringValue ?? "declared" }
            #expect(sources == ["declared", "gateway", "upstream"])

            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let logIndex = try #require(try closed.json()["log_index"] as? Int)
            let entry = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: UInt64(logIndex), limit: 1).first).body)
            #expect(entry.record.data["format_version"] == 4)

            let report = try await s.report(period, client).json()
            #expect(report["format_version"] as? Int == 4)
            let all = lines(report)
            let acmeLine = try #require(all.first { $0["grant_id"] as? String == s.acmeGrant })
            #expect(acmeLine["source"] as? String == "mixed")
            #expect(acmeLine["declared_quantity"] as? Int == 3)
            #expect(acmeLine["gateway_quantity"] as? Int == 5)
            #expect(acmeLine["upstream_quantity"] as? Int == 0)
            #expect(acmeLine.keys.contains("provider_quantity") && acmeLine["provider_quantity"] is NSNull)
            #expect(acmeLine["quantity"] as? Int == 8)
            #expect(acmeLine["amount_minor"] as? Int == 32)  // 8 × 0.04: rated as one line
            let bigLine = try #require(all.first { $0["grant_id"] as? String == s.bigGrant })
            #expect(bigLine["source"] as? String == "upstream")
            #expect(bigLine["declared_quantity"] as? Int == 0)
            #expect(bigLine["gateway_quantity"] as? Int == 0)
            #expect(bigLine["upstream_quantity"] as? Int == 20)

            // The CSV, its digest, a statement: the same sources.
            let digests = try #require(try closed.json()["reports"] as? [String: String])
            let csv = try await s.report(period, query: "format=csv", client)
            let bytes = Array(csv.body.readableBytesView)
            #expect(Hex.encode(SHA256.hash(bytes).bytes) == digests["csv"])
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.split(separator: "\r\n").first?.hasSuffix(",corrects,reason,source,declared_quantity,gateway_quantity,upstream_quantity,provider_quantity") == true)
            #expect(text.contains(",mixed,3,5,0,\r\n") && text.contains(",upstream,0,0,20,\r\n"))
            let statement = lines(try await s.report(period, as: "acme", client).json())
            #expect(statement.map { $0["source"] as? String } == ["mixed"])

            // A stored report reads back as it was closed, and renders to the bytes its digests name.
            let stored = try #require(try await runtime.database.read { try await $0.settlement(period) })
            let read = try SettlementReport(json: stored.document)
            #expect(read.formatVersion == 4)
            #expect(Hex.encode(SHA256.hash(read.rendered(as: .xlsx)).bytes) == digests["xlsx"])
        }
    }
}
