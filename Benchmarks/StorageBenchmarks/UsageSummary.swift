import AuditLog
import Benchmark
import BenchmarkSupport
import Foundation
import Licensing
import Metering
import Persistence

// GET /v1/usage/summary reads counters, never events: its cost must not follow the number of events
// stored. The store call behind it, on SQLite and on PostgreSQL (when PDX_TEST_POSTGRES_URL is set),
// with 10,000,000 usage events stored for 1,000 grants of 100 operators, against the same call with
// no events stored (the counters alone), on the same store in the same run. Setup writes the events
// in transactions of 100,000 (about a minute on SQLite here, several on PostgreSQL).

func usageSummaryBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 10,
        maxDuration: .seconds(5), maxIterations: 5_000)
    let period = Period(year: 2026, month: 1)!

    for (name, open) in benchmarkStores() {
        for eventCount in [10_000_000, 0] {
            let store = Shared<OpenedStore>()
            let label = eventCount == 0 ? "counters only (baseline)" : "10,000,000 events stored"
            Benchmark("Usage summary: one operator's period, \(label) (\(name))", configuration: configuration) { _ in
                guard let (database, _) = store.value else { return }
                let counters = try await database.read {
                    try await $0.usageCounters(period: period, filter: UsageFilter(operatorID: "op-0042"))
                }
                guard counters.count == 10 else { throw BatchesExhausted() }
            } setup: {
                let opened = try await open()
                try await populateUsage(opened.database, events: eventCount, period: period)
                store.value = opened
            } teardown: {
                guard let (database, remove) = store.value else { return }
                await database.close()
                remove()
                store.value = nil
            }
        }
    }
}

/// `events` events spread over 1,000 grants (10 per operator), one dataset and unit each, in
/// `period`, and the counters they add up to (also when `events` is 0: then the counters hold
/// made-up totals, as a store that kept only counters would).
func populateUsage(_ database: any Database, events: Int, period: Period) async throws {
    let calendar = MarketCalendar()
    let start = calendar.start(of: period)
    let grants = 1_000
    var counters: [UsageCounter] = (0..<grants).map { grant in
        UsageCounter(key: CounterKey(grantID: "gr-\(grant)", datasetID: "bj-traffic", unit: .call, period: period),
                     operatorID: "op-\(String(format: "%04d", grant / 10))", authorityID: "bj",
                     quantity: 0, events: 0, firstLogIndex: 0, lastLogIndex: 0)
    }
    let chunk = 100_000
    var written = 0
    while written < events {
        let count = min(chunk, events - written)
        var byOperator: [String: [UsageEvent]] = [:]
        for index in written..<(written + count) {
            let grant = index % grants
            let event = UsageEvent(id: "e-\(index)", grantID: "gr-\(grant)", datasetID: "bj-traffic", unit: .call, quantity: 1,
                                   time: start.addingTimeInterval(Double(index % 2_000_000)), calendar: calendar)
            byOperator[counters[grant].operatorID, default: []].append(event)
            counters[grant].quantity += 1
            counters[grant].events += 1
        }
        try await database.transaction { tx in
            for (operatorID, events) in byOperator {
                try await tx.insertUsageEvents(events, operatorID: operatorID)
            }
        }
        written += count
    }
    if events == 0 {
        for index in counters.indices {
            counters[index].quantity = 10_000
            counters[index].events = 10_000
        }
    }
    try await database.transaction { try await $0.addUsage(counters) }
}
