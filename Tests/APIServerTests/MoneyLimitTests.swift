import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import Metering
import PDXTesting
import Persistence
import Testing

/// One operator must not be able to stop the settlement of the whole marketplace by reporting more
/// money than a period can hold.
@Suite("HTTP: money is bounded where it enters")
struct MoneyLimitTests {
    /// A grant body for `bj-premium` at 1000 yuan a call with `quota` calls a period, in force from
    /// the day before the market's start for 300 days.
    static func grant(_ s: SettlementMarket, quota: Int) -> String {
        let startsAt = RFC3339.format(s.start.addingTimeInterval(-86_400))
        let endsAt = RFC3339.format(s.start.addingTimeInterval(300 * 86_400))
        return """
        {"purpose":"Freight pricing","scenario":"industry","starts_at":"\(startsAt)","ends_at":"\(endsAt)",
         "agreement":{"id":"standard-data-use","version":"1"},
         "datasets":[{"id":"bj-premium","fields":["road_id"],"unit_prices":{"call":"1000"},"quota_per_period":{"call":\(quota)}}]}
        """
    }

    /// The settlement market with `bj-premium` beside it: an open dataset whose authority allows a
    /// high price, so that any grant of it is approved at once.
    static func premiumMarket(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> SettlementMarket {
        let s = try await SettlementMarket.setUp(market, client)
        #expect(try await s.m.publish("bj-premium", by: "bj-a", ceiling: "1000", client).status == .created)
        return s
    }

    /// Reports `events` (id, quantity, time) of `bj-premium` under `grant` as `name`; the statuses.
    static func use(_ s: SettlementMarket, _ name: String, grant: String, _ events: [(String, Int, Date)],
                    _ client: any TestClientProtocol) async throws -> [String] {
        let body = usageBody(events.map { usageEvent($0.0, grant: grant, dataset: "bj-premium", quantity: $0.1, time: $0.2) })
        return try await client.request(.post, "/v1/usage", key: s.m.actors[name], body: body).usageStatuses()
    }

    @Test("a huge quota is denied at request time, usage stops at the quota, and the period still closes", arguments: Backend.available)
    func attack(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await Self.premiumMarket(market, client)

            // 10^15 calls at 1000 yuan could charge 10^20 fen in one month: denied, with its reason.
            let huge = try await s.m.requestGrant("acme", Self.grant(s, quota: 1_000_000_000_000_000), client)
            #expect(huge["status"] as? String == "denied")
            #expect(reasonCodes(huge) == ["period_amount_limit"])
            let hugeID = try #require(huge["id"] as? String)
            let refused = try await Self.use(s, "acme", grant: hugeID, [("h-1", 1_000_000_000_000, s.start)], client)
            #expect(refused == ["rejected:grant_not_found"])

            // At the limit exactly (10^7 calls at 1000 yuan = 10^12 fen): allowed.
            let full = try await s.m.requestGrant("acme", Self.grant(s, quota: 10_000_000), client)
            #expect(full["status"] as? String == "active", "\(full)")
            let fullID = try #require(full["id"] as? String)
            #expect(try await Self.use(s, "acme", grant: fullID, [("f-1", 10_000_000, s.start), ("f-2", 1, s.start)], client)
                    == ["accepted", "rejected:quota_exceeded"])

            // Ten such grants would let one operator hold 10^13 fen a month: the tenth is refused.
            var codes: [[String]] = []
            for _ in 0..<9 {
                codes.append(reasonCodes(try await s.m.requestGrant(
                    "acme", Self.grant(s, quota: 10_000_000), client)))
            }
            let allowed = codes.dropLast().allSatisfy { $0.isEmpty }
            #expect(allowed, "\(codes)")
            #expect(codes.last == ["operator_amount_limit"])
            // Another operator is not held back by acme's grants.
            let other = try await s.m.requestGrant("big", Self.grant(s, quota: 10_000_000), client)
            #expect(other["status"] as? String == "active")

            // The month closes, with acme's ten billion yuan in it.
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(2 * 86_400), client)
            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let totals = try #require(try closed.json()["totals"] as? [String: Any])
            #expect(totals["gross_minor"] as? Int == 1_000_000_000_000)
            _ = runtime
        }
    }

    @Test("a grant made before the limit existed: usage past the money limit is refused with its own code", arguments: Backend.available)
    func legacyGrant(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await Self.premiumMarket(market, client)
            let granted = try await s.m.requestGrant("acme", Self.grant(s, quota: 10_000_000), client)
            let id = try #require(granted["id"] as? String)
            // The stored grant's quota raised past the money limit, as a grant from before the limit
            // was checked at request time may have it.
            try await runtime.database.transaction { tx in
                let stored = try #require(try await tx.grant(id: id))
                try await tx.updateGrant(stored.with(quotas: [.call: 1_000_000_000_000_000]))
            }
            let statuses = try await Self.use(s, "acme", grant: id, [("l-1", 6_000_000, s.start), ("l-2", 4_000_000, s.start),
                                                               ("l-3", 1, s.start)], client)
            #expect(statuses == ["accepted", "accepted", "rejected:amount_limit_exceeded"])
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(2 * 86_400), client)
            #expect(try await s.close(period, client).status == .ok)
        }
    }
}

extension Grant {
    /// This grant, one revision on, with every item's quotas replaced.
    func with(quotas: [MeteringUnit: Int64]) -> Grant {
        Grant(id: id, operatorID: operatorID, requestedBy: requestedBy, purpose: purpose, scenario: scenario,
              startsAt: startsAt, endsAt: endsAt, agreement: agreement,
              items: items.map { GrantItem(datasetID: $0.datasetID, authorityID: $0.authorityID, fields: $0.fields,
                                           unitPrices: $0.unitPrices, priceTiers: $0.priceTiers, quotas: quotas) },
              currency: currency, requestedAt: requestedAt, status: status, approvals: approvals, reasons: reasons,
              suspensionCause: suspensionCause, history: history, revision: revision + 1, suspendedBy: suspendedBy, terms: terms)
    }
}
