import Marketplace
import AuditLog
import Benchmark
import BenchmarkSupport
import Foundation
import Licensing
import Logging
import Metering
import Persistence
import Settlement
import Vetting

// Closing a period must cost in proportion to its grants, not its events: the close reads counters,
// never events. One iteration closes one period through the same SettlementDesk the server and
// `pdx settlement close` use (rate, split, clawback, append settlement.closed, sign a checkpoint,
// store the report, one synced transaction), on SQLite and on PostgreSQL (when PDX_TEST_POSTGRES_URL
// is set; tables in a schema of their own, dropped afterwards), for 1,000 grants of 100 operators
// (half of them graduated prices, ten operators capped). Each period's counters add up to
// 10,000,000 events. Measured twice on each store in the same run: with 10,000,000 event rows stored
// (the events table as a month of such usage leaves it), and with none (the counters alone), as the
// baseline. Setup writes the events in transactions of 100,000 (a few minutes here).

struct Fixture {
    let runtime: Runtime
    let desk: SettlementDesk
    let directory: URL
    let schema: (name: String, url: String)?
    var next = 0
}

struct UnexpectedClose: Error {}

let grants = 1_000
let periods = (1...12).map { Period(year: 2026, month: $0)! }
let closeAt = Date(timeIntervalSince1970: 1_830_000_000)  // 2027-12

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1,
        maxDuration: .seconds(120), maxIterations: 10)

    var stores: [(name: String, postgresURL: String?)] = [("SQLite", nil)]
    if let url = BenchmarkPostgres.url { stores.append(("PostgreSQL", url)) }
    let cases = stores.flatMap { store in [10_000_000, 0].map { (store.name, store.postgresURL, $0) } }
    for (store, postgresURL, eventRows) in cases {
        let state = Shared<Fixture>()
        let label = eventRows == 0 ? "no event rows (baseline)" : "10,000,000 event rows stored"
        Benchmark("Close a period of 1,000 grants and 10,000,000 events, \(label) (\(store))", configuration: configuration) { _ in
            guard var fixture = state.value, fixture.next < periods.count else { throw UnexpectedClose() }
            let period = periods[fixture.next]
            fixture.next += 1
            state.value = fixture
            let closed = try await fixture.desk.close(period, actor: "bench", at: closeAt)
            guard !closed.wasClosed, closed.report.totals.eventCount == 10_000_000 else { throw UnexpectedClose() }
            blackHole(closed.digests)
        } setup: {
            state.value = try await makeFixture(eventRows: eventRows, postgresURL: postgresURL)
        } teardown: {
            guard let fixture = state.value else { return }
            await fixture.runtime.close()
            try? FileManager.default.removeItem(at: fixture.directory)
            if let schema = fixture.schema { BenchmarkPostgres.dropSchema(schema.name, url: schema.url) }
            state.value = nil
        }
    }
}

/// A marketplace in a fresh data directory, on SQLite there or, with `postgresURL`, on PostgreSQL in a
/// fresh schema.
func makeFixture(eventRows: Int, postgresURL: String?) async throws -> Fixture {
    let directory = try temporaryDirectory()
    let schema = postgresURL.map { (name: BenchmarkPostgres.newSchemaName(), url: $0) }
    var logger = Logger(label: "pdx.bench")
    logger.logLevel = .warning
    let location = StoreLocation(dataDirectory: directory.path,
                                 databaseURL: schema.map { BenchmarkPostgres.url($0.url, schema: $0.name) })
    let runtime = try await Runtime.open(location, logger: logger)
    let database = runtime.database
    let start = Date(timeIntervalSince1970: 1_767_196_800)  // 2025-12-31T16:00Z, 2026-01-01 in Shanghai
    let dataset = Dataset(
        id: "bj-traffic", title: "Traffic flow", description: "Hourly flow per road segment", authorityID: "bj", theme: "traffic",
        openness: .open, grade: .general, fields: [DatasetField(name: "road_id", type: .string, sensitive: false)],
        units: [.call], currency: .cny, ceilingPrices: [.call: UnitPrice("0.05")!], revenueShareBPS: 3000, version: 1,
        publishedAt: start, updatedAt: start)
    let operators = (0..<grants).map { "op-\(String(format: "%04d", $0 / 10))" }
    try await database.transaction { tx in
        try await tx.insertDataset(dataset)
        for index in 0..<grants {
            let tiers: [MeteringUnit: [PriceTier]] = index % 2 == 0 ? [:] : [.call: [
                PriceTier(upTo: 5_000, unitPrice: UnitPrice("0.045")!), PriceTier(upTo: nil, unitPrice: UnitPrice("0.012345")!)]]
            let item = GrantItem(datasetID: "bj-traffic", authorityID: "bj", fields: ["road_id"],
                                 unitPrices: [.call: UnitPrice(index % 2 == 0 ? "0.04" : "0.045")!], priceTiers: tiers,
                                 quotas: [.call: 1_000_000_000])
            try await tx.insertGrant(Grant(
                id: "gr-\(index)", operatorID: operators[index], requestedBy: "p-\(index)", purpose: "benchmark", scenario: .industry,
                startsAt: start, endsAt: start.addingTimeInterval(364 * 86_400),
                agreement: AgreementBinding(id: "standard-data-use", version: "1", sha256: String(repeating: "0", count: 64)),
                items: [item], currency: .cny, requestedAt: start, status: .active, approvals: [], reasons: [], suspensionCause: nil,
                history: [GrantStatusChange(action: .activated, from: .pending, to: .active, at: start, actor: "system", reason: nil)],
                revision: 1,
                terms: [DatasetTerms(datasetID: "bj-traffic", revenueShareBPS: 3000, platformFeeBPS: PlatformFee.initialBPS)]))
        }
        for index in stride(from: 0, to: 100, by: 10) {
            try await tx.setRevenueCap(try RevenueCap(operatorID: operators[index * 10], year: 2026, amountMinor: 2_000_000,
                                                      reason: "cap", actor: "bench", at: start))
        }
    }
    // The raw rows: one month's 10,000,000 events.
    let calendar = MarketCalendar()
    var written = 0
    while written < eventRows {
        let count = min(100_000, eventRows - written)
        var byOperator: [String: [UsageEvent]] = [:]
        for index in written..<(written + count) {
            let grant = index % grants
            byOperator[operators[grant], default: []].append(UsageEvent(
                id: "e-\(index)", grantID: "gr-\(grant)", datasetID: "bj-traffic", unit: .call, quantity: 1,
                time: start.addingTimeInterval(Double(index % 2_000_000)), calendar: calendar))
        }
        try await database.transaction { tx in
            for (operatorID, events) in byOperator { try await tx.insertUsageEvents(events, operatorID: operatorID) }
        }
        written += count
    }
    // Every period's counters: 10,000 events of quantity 1 per grant.
    try await database.transaction { tx in
        try await tx.addUsage(periods.flatMap { period in
            (0..<grants).map { grant in
                UsageCounter(key: CounterKey(grantID: "gr-\(grant)", datasetID: "bj-traffic", unit: .call, period: period),
                             operatorID: operators[grant], authorityID: "bj", quantity: 10_000, events: 10_000,
                             firstLogIndex: 1, lastLogIndex: 1)
            }
        })
    }
    let policy = SettlementPolicy()
    return Fixture(runtime: runtime, desk: SettlementDesk(database: database, log: runtime.log, policy: policy), directory: directory,
                   schema: schema)
}
