import AuditLog
import Benchmark
import BenchmarkSupport
import CSQLiteBaseline
import Cryptography
import Foundation
import Licensing
import Metering
import Persistence

// The writes of an accepted usage batch of 1,000 events, one transaction per batch, on SQLite as
// the server runs it (WAL, synchronous=FULL) and on PostgreSQL (when PDX_TEST_POSTGRES_URL is set):
// the events, then the period and day counters they add to. Against the floor: the same rows
// through SQLite's C API, prepared statements bound straight from bytes, with the same tables and
// settings. With scaling factor kilo, times are per event.

/// One batch's writes, built before measuring: events with their digests, and the counters they
/// add to, as the usage path would compute them.
struct UsageWrites: Sendable {
    var events: [UsageEvent]
    var counters: [UsageCounter]
    var days: [DailyUsage]
}

let usageOperator = "op-0001"

/// `batches` batches of 1,000 events; ids are random UUIDs, as clients make them, so they go into
/// the key's B-tree at random places.
func usageWrites(batches: Int) -> [UsageWrites] {
    let calendar = MarketCalendar()
    // 2026-01-05 00:00 in Asia/Shanghai.
    let start = Date(timeIntervalSince1970: 1_767_542_400)
    return (0..<batches).map { batch in
        let events = (0..<1_000).map { index in
            let grant = index % 10
            return UsageEvent(
                id: UUID().uuidString.lowercased(), grantID: "gr-\(grant)", datasetID: ["bj-traffic", "tj-port"][index % 2],
                unit: index % 3 == 0 ? .record : .call, quantity: Int64(index % 9 + 1),
                time: start.addingTimeInterval(Double(batch) * 600 + Double(index) * 0.6), calendar: calendar)
        }
        var counters: [CounterKey: UsageCounter] = [:]
        var days: [DayKey: DailyUsage] = [:]
        for event in events {
            let key = event.counterKey
            var counter = counters[key] ?? UsageCounter(
                key: key, operatorID: usageOperator, authorityID: String(key.datasetID.prefix(2)), quantity: 0, events: 0,
                firstLogIndex: UInt64(batch), lastLogIndex: UInt64(batch))
            counter.quantity += event.quantity
            counter.events += 1
            counters[key] = counter
            let dayKey = DayKey(grantID: event.grantID, datasetID: event.datasetID, unit: event.unit, day: event.day)
            var day = days[dayKey] ?? DailyUsage(key: dayKey, quantity: 0, events: 0)
            day.quantity += event.quantity
            day.events += 1
            days[dayKey] = day
        }
        return UsageWrites(events: events, counters: Array(counters.values), days: Array(days.values))
    }
}

struct BatchesExhausted: Error {}

/// The store's writes of one accepted batch, on the store `open` makes.
func storeWritesBenchmark(
    _ store: String, configuration: Benchmark.Configuration, batchCount: Int,
    open: @escaping @Sendable () async throws -> OpenedStore
) {
    let state = Shared<(store: OpenedStore, batches: [UsageWrites], next: Int)>()
    Benchmark(
        "Usage: insertUsageEvents + addUsage + addDailyUsage, batches of 1,000 (\(store))",
        configuration: configuration
    ) { benchmark in
        guard let (store, batches, next) = state.value else { return }
        guard next < batches.count else { throw BatchesExhausted() }
        let batch = batches[next]
        try await store.database.transaction { transaction in
            try await transaction.insertUsageEvents(batch.events, operatorID: usageOperator)
            try await transaction.addUsage(batch.counters)
            try await transaction.addDailyUsage(batch.days)
        }
        state.value?.next += 1
    } setup: {
        state.value = (try await open(), usageWrites(batches: batchCount), 0)
    } teardown: {
        guard let (store, _, _) = state.value else { return }
        await store.database.close()
        store.remove()
        state.value = nil
    }
}

func usageBenchmarks() {
    // At most 100 measured batches: each is a synced commit, and every batch needs fresh ids.
    let usageConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 100
    )
    let batchCount = usageConfiguration.warmupIterations + usageConfiguration.maxIterations + 8

    for (name, open) in benchmarkStores() {
        storeWritesBenchmark(name, configuration: usageConfiguration, batchCount: batchCount, open: open)
    }

    let plain = Shared<(database: PlainUsageSQLite, directory: URL, batches: [PlainUsageBatch], next: Int)>()
    Benchmark(
        "Usage: plain SQLite inserts of the same rows (baseline)",
        configuration: usageConfiguration
    ) { benchmark in
        guard let (database, _, batches, next) = plain.value else { return }
        guard next < batches.count else { throw BatchesExhausted() }
        try database.write(batches[next])
        plain.value?.next += 1
    } setup: {
        let directory = try temporaryDirectory()
        let database = try PlainUsageSQLite(path: directory.appendingPathComponent("plain.sqlite").path)
        plain.value = (database, directory, usageWrites(batches: batchCount).map(PlainUsageBatch.init), 0)
    } teardown: {
        guard let (database, directory, _, _) = plain.value else { return }
        database.close()
        try? FileManager.default.removeItem(at: directory)
        plain.value = nil
    }
}

/// A row for the baseline: its texts and blobs in one buffer, bound in place.
struct PlainRow {
    enum Value {
        case integer(Int64)
        case text(Range<Int>)
        case blob(Range<Int>)
    }

    var bytes: [UInt8] = []
    var values: [Value] = []

    mutating func text(_ text: String) {
        values.append(.text(bytes.count..<(bytes.count + text.utf8.count)))
        bytes += text.utf8
    }

    mutating func blob(_ blob: [UInt8]) {
        values.append(.blob(bytes.count..<(bytes.count + blob.count)))
        bytes += blob
    }

    mutating func integer(_ value: Int64) {
        values.append(.integer(value))
    }
}

/// One batch's rows, in the columns of the baseline's statements.
struct PlainUsageBatch {
    var events: [PlainRow]
    var counters: [PlainRow]
    var days: [PlainRow]

    init(_ writes: UsageWrites) {
        events = writes.events.map { event in
            var row = PlainRow()
            row.text(usageOperator)
            row.text(event.id)
            row.blob(event.digest.bytes)
            row.text(event.grantID)
            row.text(event.datasetID)
            row.text(event.unit.rawValue)
            row.integer(event.quantity)
            row.integer(Timestamp.milliseconds(event.time))
            row.text(event.period.description)
            return row
        }
        counters = writes.counters.map { counter in
            var row = PlainRow()
            row.text(counter.key.grantID)
            row.text(counter.key.datasetID)
            row.text(counter.key.unit.rawValue)
            row.text(counter.key.period.description)
            row.text(counter.operatorID)
            row.text(counter.authorityID)
            row.integer(counter.quantity)
            row.integer(counter.events)
            row.integer(Int64(counter.firstLogIndex))
            row.integer(Int64(counter.lastLogIndex))
            return row
        }
        days = writes.days.map { day in
            var row = PlainRow()
            row.text(day.key.grantID)
            row.text(day.key.datasetID)
            row.text(day.key.unit.rawValue)
            row.text(day.key.day)
            row.integer(day.quantity)
            row.integer(day.events)
            return row
        }
    }
}

/// SQLite through its C API with the store's settings and usage tables (as migration 5 creates
/// them on SQLite), and nothing else: no value enums, no queue hop, no statement cache lookups.
final class PlainUsageSQLite {
    private var database: OpaquePointer?
    private var insertEvent: OpaquePointer?
    private var addCounter: OpaquePointer?
    private var addDay: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            throw SQLiteFailure(description: "cannot open \(path)")
        }
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
        try execute("""
            CREATE TABLE usage_events (
                operator_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                digest BLOB NOT NULL CHECK (length(digest) = 32),
                grant_id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                quantity INTEGER NOT NULL CHECK (quantity > 0),
                occurred_at INTEGER NOT NULL,
                period TEXT NOT NULL,
                PRIMARY KEY (operator_id, event_id)
            )
            """)
        try execute("""
            CREATE TABLE usage_counters (
                grant_id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                period TEXT NOT NULL,
                operator_id TEXT NOT NULL,
                authority_id TEXT NOT NULL,
                quantity INTEGER NOT NULL CHECK (quantity >= 0),
                events INTEGER NOT NULL CHECK (events >= 0),
                log_first INTEGER NOT NULL CHECK (log_first >= 0),
                log_last INTEGER NOT NULL CHECK (log_last >= log_first),
                PRIMARY KEY (grant_id, dataset_id, unit, period)
            ) WITHOUT ROWID
            """)
        try execute("CREATE INDEX usage_counters_operator ON usage_counters (period, operator_id)")
        try execute("CREATE INDEX usage_counters_authority ON usage_counters (period, authority_id)")
        try execute("""
            CREATE TABLE usage_daily (
                grant_id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                day TEXT NOT NULL,
                quantity INTEGER NOT NULL CHECK (quantity >= 0),
                events INTEGER NOT NULL CHECK (events >= 0),
                PRIMARY KEY (grant_id, dataset_id, unit, day)
            ) WITHOUT ROWID
            """)
        insertEvent = try prepare("""
            INSERT INTO usage_events (operator_id, event_id, digest, grant_id, dataset_id, unit, quantity, occurred_at, period)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        addCounter = try prepare("""
            INSERT INTO usage_counters (grant_id, dataset_id, unit, period, operator_id, authority_id, quantity, events,
                log_first, log_last)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (grant_id, dataset_id, unit, period) DO UPDATE SET
                quantity = usage_counters.quantity + excluded.quantity, events = usage_counters.events + excluded.events,
                log_first = min(usage_counters.log_first, excluded.log_first),
                log_last = max(usage_counters.log_last, excluded.log_last)
            """)
        addDay = try prepare("""
            INSERT INTO usage_daily (grant_id, dataset_id, unit, day, quantity, events) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (grant_id, dataset_id, unit, day) DO UPDATE SET
                quantity = usage_daily.quantity + excluded.quantity, events = usage_daily.events + excluded.events
            """)
    }

    /// Writes one batch in one `BEGIN IMMEDIATE` transaction.
    func write(_ batch: PlainUsageBatch) throws {
        try execute("BEGIN IMMEDIATE")
        for row in batch.events { try step(insertEvent, row) }
        for row in batch.counters { try step(addCounter, row) }
        for row in batch.days { try step(addDay, row) }
        try execute("COMMIT")
    }

    func close() {
        for statement in [insertEvent, addCounter, addDay] { sqlite3_finalize(statement) }
        sqlite3_close(database)
    }

    private func step(_ statement: OpaquePointer?, _ row: PlainRow) throws {
        let status = row.bytes.withUnsafeBytes { raw -> Int32 in
            // No destructor (SQLITE_STATIC): the buffer outlives the step.
            let base = raw.baseAddress!
            for (offset, value) in row.values.enumerated() {
                let index = Int32(offset + 1)
                switch value {
                case .integer(let integer):
                    sqlite3_bind_int64(statement, index, integer)
                case .text(let range):
                    sqlite3_bind_text(statement, index, (base + range.lowerBound).assumingMemoryBound(to: CChar.self),
                                      Int32(range.count), nil)
                case .blob(let range):
                    sqlite3_bind_blob(statement, index, base + range.lowerBound, Int32(range.count), nil)
                }
            }
            return sqlite3_step(statement)
        }
        sqlite3_reset(statement)
        guard status == SQLITE_DONE else { throw failure() }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else { throw failure() }
        return statement
    }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(database, sql, nil, nil, nil) == SQLITE_OK else { throw failure() }
    }

    private func failure() -> SQLiteFailure {
        SQLiteFailure(description: String(cString: sqlite3_errmsg(database)))
    }
}
