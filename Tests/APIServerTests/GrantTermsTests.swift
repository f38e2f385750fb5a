import Identity
import APIServer
import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import Metering
import PDXTesting
import Persistence
import Replay
import Settlement
import Testing

/// A marketplace whose platform fee changes between two activations: `acme`'s grant fixed 500
/// bps, `second` (acme again, on the same dataset) fixed 800 bps; both have usage in `period`,
/// which is closed.
struct TermsScenario {
    var s: SettlementMarket
    var second: String
    var period: Period
    var entries: [AuditEntry]

    static let feeBody = #"{"platform_fee_bps":800,"reason":"2027 fee schedule approved by the board"}"#

    static func run(_ market: TestMarketplace, _ runtime: Runtime, _ client: any TestClientProtocol,
                    beforeClose: (SettlementMarket) async throws -> Void = { _ in }) async throws -> TermsScenario {
        let s = try await SettlementMarket.setUp(market, client)
        let changed = try await client.request(.put, "/v1/marketplace/platform-fee", key: s.m.actors.admin, body: feeBody)
        #expect(changed.status == .ok, "\(changed.text)")
        #expect(try changed.json()["platform_fee_bps"] as? Int == 800)
        let startsAt = RFC3339.format(s.start.addingTimeInterval(-3600))
        let endsAt = RFC3339.format(s.start.addingTimeInterval(200 * 86_400))
        let granted = try await s.m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: startsAt, endsAt: endsAt), client)
        #expect(granted["status"] as? String == "active")
        let second = try #require(granted["id"] as? String)
        let t = s.start.addingTimeInterval(60)
        #expect(try await s.use("acme", grant: s.acmeGrant, [("f-1", 1_000, t)], client) == ["accepted"])
        #expect(try await s.use("acme", grant: second, [("f-2", 1_000, t)], client) == ["accepted"])
        try await beforeClose(s)
        let calendar = MarketCalendar()
        let period = calendar.period(of: s.start)
        try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
        let closed = try await s.close(period, client)
        #expect(closed.status == .ok, "\(closed.text)")
        let size = try await runtime.log.head().size
        var entries: [AuditEntry] = []
        while UInt64(entries.count) < size {
            entries += try await runtime.log.entries(start: UInt64(entries.count), limit: 500).map { try AuditEntry(decoding: $0.body) }
        }
        return TermsScenario(s: s, second: second, period: period, entries: entries)
    }

    /// The usage line of `grant` in the closed period's report.
    func line(of grant: String, _ client: any TestClientProtocol) async throws -> [String: Any] {
        try #require(lines(try await s.report(period, client).json()).first { $0["grant_id"] as? String == grant && $0["kind"] as? String == "usage" })
    }
}

@Suite("Grant terms: a grant is settled by the share and fee in force when it became active")
struct GrantTermsTests {
    @Test("a fee change between two activations gives the two grants different fees in the same close; the log replays",
          arguments: Backend.available)
    func feeChangeBetweenActivations(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await TermsScenario.run(market, runtime, client)
            let first = try await scenario.line(of: scenario.s.acmeGrant, client)
            let second = try await scenario.line(of: scenario.second, client)
            #expect(first["platform_bps"] as? Int == 500)
            #expect(second["platform_bps"] as? Int == 800)
            // 1,000 calls at 0.04: 40.00 yuan each; the platform's part follows each grant's fee.
            #expect(first["amount_minor"] as? Int == 4_000 && second["amount_minor"] as? Int == 4_000)
            #expect(first["platform_minor"] as? Int == 200)
            #expect(second["platform_minor"] as? Int == 320)
            // The grant shows its terms; the activation record carries them.
            let grant = try await client.request(.get, "/v1/grants/\(scenario.second)", key: scenario.s.m.actors["acme"]).json()
            let terms = try #require(grant["terms"] as? [[String: Any]])
            #expect(terms.count == 1 && terms.first?["platform_fee_bps"] as? Int == 800 && terms.first?["dataset_id"] as? String == "bj-open")
            let activation = try #require(scenario.entries.last {
                $0.record.action == "grant.activated" && $0.record.data["grant_id"]?.stringValue == scenario.second
            })
            let logged = try #require(activation.record.data["terms"]?.arrayValue?.first?.objectValue)
            #expect(logged["platform_fee_bps"] == JSONValue(800))
            #expect(logged["unit_prices"] == ["call": "0.04"])
            let change = try #require(scenario.entries.first { $0.record.action == "marketplace.fee_changed" })
            #expect(change.record.actor != "system" && change.record.actor != GrantLifecycle.system)
            #expect(change.record.data["old_bps"] == JSONValue(500) && change.record.data["new_bps"] == JSONValue(800))
            let replay = ReplayScenario.replay(scenario.entries)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            #expect(replay.state.grants[scenario.second]?.grant.terms.first?.platformFeeBPS == 800)
        }
    }

    @Test("a co-approved grant fixes the fee in force at its last approval, not at its request", arguments: Backend.available)
    func feeFixedAtActivation(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            #expect(try await s.m.publish("bj-cond", by: "bj-a", openness: "conditional", client).status == .created)
            let startsAt = RFC3339.format(s.start.addingTimeInterval(-3600))
            let endsAt = RFC3339.format(s.start.addingTimeInterval(200 * 86_400))
            let requested = try await s.m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04")], startsAt: startsAt, endsAt: endsAt), client)
            #expect(requested["status"] as? String == "pending")
            #expect(requested["terms"] == nil, "no terms before it is active")
            let id = try #require(requested["id"] as? String)
            let changed = try await client.request(.put, "/v1/marketplace/platform-fee", key: s.m.actors.admin,
                                                   body: #"{"platform_fee_bps":900,"reason":"new schedule"}"#)
            #expect(changed.status == .ok)
            let decided = try await client.request(.post, "/v1/grants/\(id)/decisions", key: s.m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(decided.status == .ok, "\(decided.text)")
            let terms = try #require(try decided.json()["terms"] as? [[String: Any]])
            #expect(terms.first?["platform_fee_bps"] as? Int == 900)
            // The grants active before the change keep 500.
            let earlier = try await client.request(.get, "/v1/grants/\(s.acmeGrant)", key: s.m.actors["acme"]).json()
            #expect((earlier["terms"] as? [[String: Any]])?.first?["platform_fee_bps"] as? Int == 500)
            let size = try await runtime.log.head().size
            let entries = try await runtime.log.entries(start: 0, limit: Int(size)).map { try AuditEntry(decoding: $0.body) }
            let replay = ReplayScenario.replay(entries)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
        }
    }

    @Test("a share change on the dataset after activation does not change the grant's settlement", arguments: Backend.available)
    func shareChangeAfterActivation(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await TermsScenario.run(market, runtime, client) { s in
                // No route changes a share today; the store is where a later one would write it.
                try await runtime.database.transaction { tx in
                    let d = try #require(try await tx.dataset(id: "bj-open"))
                    try await tx.updateDataset(Dataset(
                        id: d.id, title: d.title, description: d.description, authorityID: d.authorityID, theme: d.theme,
                        openness: d.openness, grade: d.grade, fields: d.fields, units: d.units, currency: d.currency,
                        ceilingPrices: d.ceilingPrices, revenueShareBPS: d.revenueShareBPS == 1_000 ? 2_000 : 1_000,
                        version: d.version + 1, publishedAt: d.publishedAt, updatedAt: d.updatedAt,
                        delivery: d.delivery, reconciliationToleranceBPS: d.reconciliationToleranceBPS, upstream: d.upstream))
                }
            }
            let stored = try #require(try await runtime.database.read { try await $0.grant(id: scenario.s.acmeGrant) })
            let fixed = try #require(stored.terms(for: "bj-open"))
            let now = try #require(try await runtime.database.read { try await $0.dataset(id: "bj-open") })
            #expect(fixed.revenueShareBPS != now.revenueShareBPS, "the dataset's share changed after activation")
            let line = try await scenario.line(of: scenario.s.acmeGrant, client)
            #expect(line["authority_bps"] as? Int == fixed.revenueShareBPS)
            #expect(line["authority_minor"] as? Int == 4_000 * fixed.revenueShareBPS / 10_000)
        }
    }

    @Test("only the admin changes the fee; a bad fee or reason is refused with nothing written", arguments: Backend.available)
    func feeRefusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("fin", role: .finance, client)
            try await actors.principal("aud", role: .auditor, client)
            let size = try await runtime.log.head().size
            let path = "/v1/marketplace/platform-fee"
            #expect(try await client.request(.put, path, key: actors["fin"], body: TermsScenario.feeBody).status == .forbidden)
            #expect(try await client.request(.put, path, key: actors["aud"], body: TermsScenario.feeBody).status == .forbidden)
            for (body, code) in [
                (#"{"platform_fee_bps":10001,"reason":"too much"}"#, "invalid_platform_fee"),
                (#"{"platform_fee_bps":-1,"reason":"negative"}"#, "invalid_platform_fee"),
                (#"{"platform_fee_bps":600,"reason":"  "}"#, "reason_required"),
                (#"{"platform_fee_bps":600,"reason":"\#(String(repeating: "x", count: 2001))"}"#, "reason_too_long"),
            ] {
                let refused = try await client.request(.put, path, key: actors.admin, body: body)
                #expect(refused.status == .unprocessableContent, "\(body.prefix(60)): \(refused.text)")
                #expect(try refused.problem()["code"] as? String == code)
            }
            #expect(try await client.request(.put, path, key: actors.admin, body: #"{"platform_fee_bps":600}"#).status == .badRequest)
            #expect(try await client.request(.put, path, key: actors.admin, body: #"{"platform_fee_bps":"600","reason":"r"}"#).status == .badRequest)
            #expect(try await runtime.log.head().size == size, "nothing logged")
            let read = try await client.request(.get, path, key: actors["fin"])
            #expect(read.status == .ok)
            #expect(try read.json()["platform_fee_bps"] as? Int == 500, "the initial fee, unchanged")
            #expect(try read.json()["changed_at"] == nil)
            let set = try await client.request(.put, path, key: actors.admin, body: #"{"platform_fee_bps":0,"reason":"promotion"}"#)
            #expect(set.status == .ok, "\(set.text)")
            #expect(try await client.request(.get, path, key: actors.admin).json()["platform_fee_bps"] as? Int == 0)
            #expect(try await runtime.log.head().size == size + 1)
        }
    }

    @Test("pdx settlement close and adjust act as a named finance principal; anyone else is refused with nothing written",
          arguments: Backend.available)
    func actingPersons(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var s = try await SettlementMarket.setUp(market, client)
            try await s.m.actors.principal("fin-gone", role: .finance, client)
            let gone = try #require(s.m.actors.ids["fin-gone"])
            #expect(try await client.request(.post, "/v1/principals/\(gone)/revoke", key: s.m.actors.admin,
                                             body: #"{"reason":"left the company"}"#).status == .ok)
            let t = s.start.addingTimeInterval(60)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("p-1", 100, t)], client) == ["accepted"])
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let size = try await runtime.log.head().size
            let refusals: [(String, MarketplaceErrorCode)] = [
                ("pr_nobody", .actorNotFound), (gone, .actorInactive),
                (try #require(s.m.actors.ids["acme"]), .actorNotFinance), (try #require(s.m.actors.ids["aud"]), .actorNotFinance),
            ]
            for (actor, code) in refusals {
                let error = await #expect(throws: MarketplaceError.self) {
                    try await closePeriod(period, at: market.location, policy: SettlementPolicy(), actor: actor)
                }
                #expect(error?.code == code, "\(actor)")
            }
            #expect(try await runtime.log.head().size == size)
            #expect(try await runtime.database.read { try await $0.settlement(period) } == nil)

            let finance = try #require(s.m.actors.ids["fin"])
            let closed = try await closePeriod(period, at: market.location, policy: SettlementPolicy(), actor: finance)
            let entry = try #require(try await runtime.log.entries(start: closed.logIndex, limit: 1).first)
            #expect(try AuditEntry(decoding: entry.body).record.actor == finance)

            let line = try #require(closed.report.lines.first { $0.grantID == s.acmeGrant })
            let next = calendar.period(of: calendar.end(of: period))
            let afterClose = try await runtime.log.head().size
            let refused = await #expect(throws: MarketplaceError.self) {
                try await adjustLine(line.id, by: -10, in: next, reason: "double billing", actor: try #require(s.m.actors.ids["acme"]),
                                     at: market.location, policy: SettlementPolicy())
            }
            #expect(refused?.code == .actorNotFinance)
            #expect(try await runtime.log.head().size == afterClose)
            let adjustment = try await adjustLine(line.id, by: -10, in: next, reason: "double billing", actor: finance,
                                                  at: market.location, policy: SettlementPolicy())
            #expect(adjustment.actor == finance)
            let adjusted = try #require(try await runtime.log.entries(start: afterClose, limit: 1).first)
            #expect(try AuditEntry(decoding: adjusted.body).record.actor == finance)
        }
    }

    @Test("the verifier re-derives the money from the grants' terms and finds a tampered activation or close", arguments: Backend.available)
    func verifierFindsTampering(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await TermsScenario.run(market, runtime, client)
            let activation = try #require(scenario.entries.lastIndex {
                $0.record.action == "grant.activated" && $0.record.data["grant_id"]?.stringValue == scenario.second
            })
            // The second grant's activation claims 700 bps while 800 was in force: the activation
            // is a finding, and the close, re-derived with 700, no longer matches its entry.
            var tampered = scenario.entries
            var record = tampered[activation].record
            var terms = try #require(record.data["terms"]?.arrayValue?.first?.objectValue)
            terms["platform_fee_bps"] = JSONValue(700)
            record.data["terms"] = .array([.object(terms)])
            tampered[activation] = AuditEntry(seq: tampered[activation].seq, time: tampered[activation].time, record: record)
            let codes = Set(ReplayScenario.replay(tampered).findings.map(\.code))
            #expect(codes.contains(.grantTermsMismatch))
            #expect(codes.contains(.settlementMismatch))

            // Without the fee change, the 800 bps the activation logs was never in force.
            let withoutChange = scenario.entries.filter { $0.record.action != "marketplace.fee_changed" }
            #expect(ReplayScenario.replay(withoutChange).findings.map(\.code).contains(.grantTermsMismatch))

            // A fee change whose old fee is not the one in force.
            let changeIndex = try #require(scenario.entries.firstIndex { $0.record.action == "marketplace.fee_changed" })
            var forged = scenario.entries
            var change = forged[changeIndex].record
            change.data["old_bps"] = JSONValue(300)
            forged[changeIndex] = AuditEntry(seq: forged[changeIndex].seq, time: forged[changeIndex].time, record: change)
            #expect(ReplayScenario.replay(forged).findings.map(\.code).contains(.feeChangeInvalid))
        }
    }

    @Test("a log written before grants kept terms replays as then: the close's fee and the dataset's share", arguments: Backend.available)
    func logWithoutTerms(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let t = s.start.addingTimeInterval(60)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("o-1", 1_000, t)], client) == ["accepted"])
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(period, client).status == .ok)
            let size = try await runtime.log.head().size
            let entries = try await runtime.log.entries(start: 0, limit: Int(size)).map { try AuditEntry(decoding: $0.body) }
            let legacy = entries.map { entry -> AuditEntry in
                guard entry.record.action == "grant.activated" else { return entry }
                var record = entry.record
                record.data["terms"] = nil
                return AuditEntry(seq: entry.seq, time: entry.time, record: record)
            }
            let replay = ReplayScenario.replay(legacy)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            #expect(replay.state.grants[s.acmeGrant]?.grant.terms.isEmpty == true)
        }
    }
}
