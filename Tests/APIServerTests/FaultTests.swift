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

extension TestResponse {
    /// Records an issue unless this is a 503 problem with `code` and a Retry-After.
    func expectOutOfService(_ code: String, retryAfter: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(status == .serviceUnavailable, "\(text)", sourceLocation: sourceLocation)
        #expect(try problem()["code"] as? String == code, "\(text)", sourceLocation: sourceLocation)
        #expect(headers[.retryAfter] == retryAfter, sourceLocation: sourceLocation)
    }
}

/// `count` usage events `prefix-1`… of `quantity` each.
private func usageEvents(_ prefix: String, _ count: Int, grant: String, quantity: Int = 1, time: Date) -> [String] {
    var events: [String] = []
    for index in 1...count {
        events.append(usageEvent("\(prefix)-\(index)", grant: grant, quantity: quantity, time: time))
    }
    return events
}

/// Waits (bounded) until `/readyz` answers 200; false if it never did.
private func becomesReady(_ client: any TestClientProtocol, within limit: Duration) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await client.request(.get, "/readyz").status == .ok { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

/// `[quantity, events]` of `acme`'s usage in the period of `time`.
private func usageTotals(_ u: UsageMarket, at time: Date, _ client: any TestClientProtocol) async throws -> [Int] {
    let period = MarketCalendar().period(of: time)
    let summary = try await client.request(.get, "/v1/usage/summary?period=\(period)", key: u.m.actors["acme"])
    #expect(summary.status == .ok, "\(summary.text)")
    let items = try #require(try summary.json()["items"] as? [[String: Any]])
    return [items.reduce(0) { $0 + ($1["quantity"] as? Int ?? 0) }, items.reduce(0) { $0 + ($1["events"] as? Int ?? 0) }]
}

/// The event ids in the log's `usage.recorded` entries, with repeats.
private func loggedEventIDs(_ runtime: Runtime) async throws -> [String] {
    var ids: [String] = []
    var start: UInt64 = 0
    while true {
        let batch = try await runtime.log.entries(start: start, limit: 1000)
        if batch.isEmpty { break }
        start += UInt64(batch.count)
        for stored in batch {
            let record = try AuditEntry(decoding: stored.body).record
            guard record.action == "usage.recorded" else { continue }
            for group in record.data["usage"]?.arrayValue ?? [] {
                ids += (group.objectValue?["events"]?.arrayValue ?? []).compactMap { $0.arrayValue?.first?.stringValue }
            }
        }
    }
    return ids
}

@Suite("Faults: database out of reach, storage full or read-only", .serialized)
struct FaultTests {
    // MARK: PostgreSQL out of reach

    // The time limit turns a request that is never answered (a statement lost with its connection,
    // see `ConnectionWatch`) into a failure instead of a suite that never ends.
    @Test("PostgreSQL out of reach: 503 database_unavailable in bounded time, /readyz fails, nothing half-written, recovery without restart",
          .enabled(if: Backend.postgresURL != nil), .timeLimit(.minutes(5)))
    func postgresOutOfReach() async throws {
        let url = try #require(Backend.postgresURL)
        let server = try #require(URLComponents(string: url))
        let forwarder = try TCPForwarder(toPort: server.port ?? 5432, host: server.host ?? "127.0.0.1")
        defer { forwarder.stop() }
        // Long enough that setting up the marketplace through the forwarder does not time out while
        // the whole suite shares two cores; the bounds below scale with it.
        let timeout = Duration.seconds(5)
        let market = try TestMarketplace(.postgres, databasePort: forwarder.port, databaseTimeout: timeout)
        defer { market.removeFiles() }
        // `/readyz` keeps its answer for a second; here every probe must ask the database, or a
        // ready answer from before a cut would pass for readiness after it. A running manual clock
        // is an hour later at every reading.
        try await market.withServer(probeNow: ManualClock().now) { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            #expect(try await u.report(usageEvents("a", 3, grant: u.grant, time: t), client).status == .ok)
            let headBefore = try await runtime.log.head()

            // Every open connection drops, new ones are refused.
            forwarder.cut()
            let batch = usageEvents("b", 200, grant: u.grant, quantity: 2, time: t)
            let grantBody = LicensingMarket.grantBody([("bj-other", "0.04")])
            let started = ContinuousClock.now
            try await u.report(batch, client).expectOutOfService("database_unavailable", retryAfter: "5")
            try await client.request(.post, "/v1/grants", key: u.m.actors["acme"], body: grantBody)
                .expectOutOfService("database_unavailable", retryAfter: "5")
            try await client.request(.get, "/v1/grants/\(u.grant)", key: u.m.actors["acme"])
                .expectOutOfService("database_unavailable", retryAfter: "5")
            // Three requests, each bounded by the timeout (a lease, or a failed connection sooner);
            // without the bound the pool would wait a minute for each.
            #expect(ContinuousClock.now - started < timeout * 3 + .seconds(6))
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect((try ready.json()["checks"] as? [String: String])?["database"] == "unavailable")
            #expect(try await client.request(.get, "/healthz").status == .ok)

            // Back: the same client recovers on its own, no restart.
            forwarder.restore()
            #expect(try await becomesReady(client, within: .seconds(15)))
            #expect(try await runtime.log.head() == headBefore, "the refused writes left nothing")
            let granted = try await client.request(.post, "/v1/grants", key: u.m.actors["acme"], body: grantBody)
            #expect(granted.status == .created, "\(granted.text)")

            // Lost in the middle of the usage transaction: its log entries are sent, its events not.
            forwarder.cut(whenClientSends: "INSERT INTO usage_events")
            try await u.report(batch, client).expectOutOfService("database_unavailable", retryAfter: "5")
            #expect(forwarder.isCut)
            forwarder.restore()
            #expect(try await becomesReady(client, within: .seconds(15)))

            let retried = try await u.report(batch, client)
            #expect(retried.status == .ok, "\(retried.text)")
            #expect(try retried.json()["accepted"] as? Int == 200, "the cut transaction stored nothing: \(retried.text.prefix(600))")

            // Lost just after COMMIT was sent: the client cannot know whether it was stored; the
            // retry with the same event ids finds either nothing or all of it, never part.
            let ambiguous = usageEvents("c", 200, grant: u.grant, quantity: 2, time: t)
            forwarder.cut(whenClientSends: "INSERT INTO usage_events", "COMMIT", afterForwarding: true)
            try await u.report(ambiguous, client).expectOutOfService("database_unavailable", retryAfter: "5")
            #expect(forwarder.isCut)
            forwarder.restore()
            #expect(try await becomesReady(client, within: .seconds(15)))
            let statuses = Set(try await u.report(ambiguous, client).usageStatuses())
            #expect(statuses == ["accepted"] || statuses == ["duplicate"], "\(statuses)")

            #expect(try await usageTotals(u, at: t, client) == [3 + 200 * 2 + 200 * 2, 403])
            let ids = try await loggedEventIDs(runtime)
            #expect(ids.count == 403)
            #expect(Set(ids).count == 403, "no event logged twice")
            let integrity = try await runtime.log.verifyIntegrity()
            #expect(integrity.isIntact, "\(integrity)")
        }
    }

    // MARK: SQLite full or read-only

    // Root ignores file modes and filling a real disk is slow and shared, so SQLite itself refuses:
    // `max_page_count` just above the current size fails the next growth with SQLITE_FULL, and
    // `query_only` fails every write with SQLITE_READONLY, both through the real transaction path.

    @Test("SQLite full: 503 storage_full, the batch absent, earlier entries intact; with space back it is stored, the log verifies")
    func sqliteFull() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let database = try #require(runtime.database as? SQLiteDatabase)
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            #expect(try await u.report(usageEvents("a", 3, grant: u.grant, time: t), client).status == .ok)
            let head = try await runtime.log.head()
            let entries = try await runtime.log.entries(start: 0, limit: 1000)

            try await database.limitSize(toPages: try await database.pageCount() + 1)
            let batch = usageEvents("b", 2000, grant: u.grant, quantity: 2, time: t)
            try await u.report(batch, client).expectOutOfService("storage_full", retryAfter: "30")
            #expect(try await runtime.log.head() == head)
            #expect(try await runtime.log.entries(start: 0, limit: 1000) == entries)
            #expect(try await usageTotals(u, at: t, client) == [3, 3], "reads still work")
            #expect(runtime.log.readOnlyError == nil, "a full disk is not a damaged log")

            try await database.limitSize(toPages: 1 << 30)
            let retried = try await u.report(batch, client)
            #expect(retried.status == .ok, "\(retried.text)")
            #expect(try retried.json()["accepted"] as? Int == 2000)
            #expect(try await usageTotals(u, at: t, client) == [3 + 4000, 2003])
            let integrity = try await runtime.log.verifyIntegrity()
            #expect(integrity.isIntact, "\(integrity)")

            let export = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-full-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: export) }
            let exported = try await runtime.exportLog(to: export)
            switch ExportVerifier(directory: export, keys: .pinned(runtime.log.verifiers)).verify() {
            case .verified(let summary): #expect(summary.checkpoint.size == exported.size)
            case .failed(let finding): Issue.record("\(finding)")
            }
        }
    }

    @Test("SQLite read-only: writes answer 503 storage_read_only, reads work; writable again, the retry is stored once")
    func sqliteReadOnly() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let database = try #require(runtime.database as? SQLiteDatabase)
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let head = try await runtime.log.head()

            try await database.refuseWrites(true)
            let batch = usageEvents("r", 50, grant: u.grant, time: t)
            try await u.report(batch, client).expectOutOfService("storage_read_only", retryAfter: "30")
            try await client.request(.post, "/v1/grants", key: u.m.actors["acme"], body: LicensingMarket.grantBody([("bj-other", "0.04")]))
                .expectOutOfService("storage_read_only", retryAfter: "30")
            #expect(try await client.request(.get, "/v1/grants/\(u.grant)", key: u.m.actors["acme"]).status == .ok)
            #expect(try await runtime.log.head() == head)

            try await database.refuseWrites(false)
            #expect(try await u.report(batch, client).usageStatuses() == Array(repeating: "accepted", count: 50))
            #expect(try await usageTotals(u, at: t, client) == [50, 50])
            let integrity = try await runtime.log.verifyIntegrity()
            #expect(integrity.isIntact, "\(integrity)")
        }
    }
}
