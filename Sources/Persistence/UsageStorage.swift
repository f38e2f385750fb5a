internal import AuditLog
public import Cryptography
public import Foundation
internal import Licensing
public import Metering

// The Metering module's tables on the shared SQL store: reads on `DatabaseReader`, writes on
// `DatabaseTransaction`. The usage path calls them in the transaction that first locked the log
// head, which serializes every usage batch on both engines: the reads need no row locks, and no
// other batch's upsert can come between a read of a counter and the write that adds to it.

// MARK: Reads

extension DatabaseReader {
    /// The digest of each of `eventIDs` already stored for `operatorID`; ids never stored for it are
    /// absent. Any number of ids, looked up in chunks.
    public func usageDigests(operatorID: String, eventIDs: [String]) async throws -> [String: SHA256Digest] {
        try await storedDigests(.usageEvents, owner: operatorID, ids: eventIDs)
    }

    /// The digest of each of `ids` stored under `owner` in `table`; ids never stored are absent. The
    /// lookup behind every idempotent batch (usage events, provider reports): a repeat is told from a
    /// conflict by its digest.
    func storedDigests(_ table: DigestTable, owner: String, ids: [String]) async throws -> [String: SHA256Digest] {
        var digests: [String: SHA256Digest] = [:]
        switch context.dialect {
        case .sqlite:
            for chunk in Self.inLists(ids, limit: Self.inListLimit) {
                let query = Self.digestsQuery(table, count: chunk.count)
                for row in try await context.query(query, [.text(owner)] + chunk.map(SQLValue.text)) {
                    digests[try row.text(0)] = try Self.digest(row.blob(1))
                }
            }
        case .postgres:
            // Every id in one array: one statement, whatever the batch's size (a round trip is
            // made while every other appender waits for the log head).
            guard !ids.isEmpty else { return [:] }
            var seen = Set<String>()
            let distinct = ids.filter { seen.insert($0).inserted }
            for row in try await context.query(Self.postgresDigestsQuery(table), [.text(owner), .array(.text(distinct))]) {
                digests[try row.text(0)] = try Self.digest(row.blob(1))
            }
        }
        return digests
    }

    /// The quantity counted so far for each of `keys` that has a counter; keys without one (nothing
    /// counted yet) are absent.
    public func usageQuantities(_ keys: [CounterKey]) async throws -> [CounterKey: Int64] {
        var quantities: [CounterKey: Int64] = [:]
        // Four binds a key; a key's terms name the whole primary key, so each is one index lookup.
        for chunk in Self.inLists(keys, limit: Self.inListLimit / 4) {
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * 4)
            let terms = chunk.map { key -> String in
                binds += [.text(key.grantID), .text(key.datasetID), .text(key.unit.rawValue), .text(key.period.description)]
                let last = binds.count
                return "(grant_id = $\(last - 3) AND dataset_id = $\(last - 2) AND unit = $\(last - 1) AND period = $\(last))"
            }
            let rows = try await context.query(
                "SELECT grant_id, dataset_id, unit, period, quantity FROM usage_counters WHERE " + terms.joined(separator: " OR "),
                binds
            )
            for row in rows {
                quantities[try Self.counterKey(row)] = try row.integer(4)
            }
        }
        return quantities
    }

    /// Those of `periods` that are closed for settlement.
    public func closedPeriods(among periods: [Period]) async throws -> Set<Period> {
        var closed = Set<Period>()
        for chunk in Self.inLists(periods.map(\.description), limit: Self.inListLimit) {
            let rows = try await context.query(
                "SELECT period FROM settlement_periods WHERE status = 'closed' AND period IN (\(Self.placeholders(1, chunk.count)))",
                chunk.map(SQLValue.text)
            )
            for row in rows {
                closed.insert(try Self.period(row.text(0)))
            }
        }
        return closed
    }

    /// The counters of `period` that match `filter`, by grant, dataset and unit. Reads the counters
    /// only, never the events.
    public func usageCounters(period: Period, filter: UsageFilter) async throws -> [UsageCounter] {
        var binds: [SQLValue] = [.text(period.description)]
        var conditions = ["period = $1"]
        for (column, value) in [("operator_id", filter.operatorID), ("authority_id", filter.authorityID), ("grant_id", filter.grantID)] {
            guard let value else { continue }
            binds.append(.text(value))
            conditions.append("\(column) = $\(binds.count)")
        }
        return try await context.query(
            """
            SELECT grant_id, dataset_id, unit, period, operator_id, authority_id, quantity, events, log_first, log_last,
                gateway_quantity, gateway_events, upstream_quantity, upstream_events
            FROM usage_counters WHERE \(conditions.joined(separator: " AND ")) ORDER BY grant_id, dataset_id, unit
            """,
            binds
        ).map { row in
            UsageCounter(
                key: try Self.counterKey(row),
                operatorID: try row.text(4),
                authorityID: try row.text(5),
                quantity: try row.integer(6),
                events: try row.integer(7),
                firstLogIndex: try Self.unsigned(row.integer(8)),
                lastLogIndex: try Self.unsigned(row.integer(9)),
                gatewayQuantity: try row.integer(10),
                gatewayEvents: try row.integer(11),
                upstreamQuantity: try row.integer(12),
                upstreamEvents: try row.integer(13)
            )
        }
    }

    /// The day counters of grant `grantID` in `period`, by day, dataset and unit.
    public func dailyUsage(grantID: String, period: Period) async throws -> [DailyUsage] {
        // Days are `YYYY-MM-DD` in the marketplace's time zone, as periods are its months, so a
        // period's days are a range of the key.
        try await context.query(
            """
            SELECT grant_id, dataset_id, unit, day, quantity, events FROM usage_daily
            WHERE grant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, dataset_id, unit
            """,
            [.text(grantID), .text("\(period)-01"), .text("\(period)-31")]
        ).map { row in
            DailyUsage(
                key: DayKey(grantID: try row.text(0), datasetID: try row.text(1), unit: try Self.unit(row.text(2)),
                            day: try row.text(3)),
                quantity: try row.integer(4),
                events: try row.integer(5)
            )
        }
    }

    // MARK: Helpers

    /// Most binds in one lookup statement.
    static let inListLimit = 512

    /// The digests of `count` ids (`$2`…) of owner `$1` in `table` (by default operators' usage
    /// events), on SQLite: its planner looks each id of an `IN` list up by the primary key.
    static func digestsQuery(_ table: DigestTable = .usageEvents, count: Int) -> String {
        "SELECT \(table.idColumn), digest FROM \(table.name) WHERE \(table.ownerColumn) = $1 AND \(table.idColumn) IN (\(placeholders(2, count)))"
    }

    /// The digests of the ids in the array `$2` of owner `$1` in `table`, on PostgreSQL: one
    /// primary-key lookup per id.
    ///
    /// An `IN` list is not enough: until autovacuum first analyzes usage_events (up to a minute
    /// after a new database starts filling, never if autovacuum is off) the planner has no
    /// statistics, estimates a few dozen rows for any operator and reads the list as a filter over
    /// all of that operator's rows (40 ms instead of 2 ms for 500 ids among 170,000 rows). Each id
    /// is therefore looked up on its own, in a `LATERAL` subquery with `LIMIT 1` that the planner
    /// cannot flatten: a nested loop of key lookups whatever the statistics say. The ids come as
    /// one array, so the statement's text is the same for any number of them.
    static func postgresDigestsQuery(_ table: DigestTable = .usageEvents) -> String {
        let (name, owner, id) = (table.name, table.ownerColumn, table.idColumn)
        return """
            SELECT e.\(id), e.digest FROM unnest($2::text[]) AS ids (id) CROSS JOIN LATERAL
            (SELECT \(id), digest FROM \(name) WHERE \(owner) = $1 AND \(id) = ids.id LIMIT 1) AS e
            """
    }

    /// `values` without repeats, in lists of at most `limit`, each padded to a power of two by
    /// repeating its last value. A repeat changes no lookup, and with few list lengths there are
    /// few statement texts: SQLite's statement cache would otherwise fill with one per length.
    static func inLists<Value: Hashable>(_ values: [Value], limit: Int) -> [[Value]] {
        var seen = Set<Value>()
        let distinct = values.filter { seen.insert($0).inserted }
        return stride(from: 0, to: distinct.count, by: limit).map { start in
            var list = Array(distinct[start..<min(distinct.count, start + limit)])
            var length = 1
            while length < list.count { length *= 2 }
            list += repeatElement(list[list.count - 1], count: length - list.count)
            return list
        }
    }

    /// `$first, …` for `count` binds.
    static func placeholders(_ first: Int, _ count: Int) -> String {
        (first..<(first + count)).map { "$\($0)" }.joined(separator: ", ")
    }

    /// The key in columns 0 to 3: grant_id, dataset_id, unit, period.
    static func counterKey(_ row: SQLRow) throws -> CounterKey {
        CounterKey(grantID: try row.text(0), datasetID: try row.text(1), unit: try unit(row.text(2)),
                   period: try period(row.text(3)))
    }

    static func unit(_ text: String) throws(StorageError) -> MeteringUnit {
        guard let unit = MeteringUnit(rawValue: text) else { throw StorageError.unexpected("a stored unit is not a metering unit") }
        return unit
    }

    static func period(_ text: String) throws(StorageError) -> Period {
        guard let period = Period(text) else { throw StorageError.unexpected("a stored period is not YYYY-MM") }
        return period
    }
}

// MARK: Writes

extension DatabaseTransaction {
    /// Stores accepted events of `operatorID`: their ids become its idempotency keys. An id already
    /// stored for the operator (or twice in `events`) is `StorageError` `unique_violation`, after
    /// which the transaction can only roll back; the usage path looks ids up first.
    public func insertUsageEvents(_ events: [UsageEvent], operatorID: String) async throws {
        // By column: one statement of arrays on PostgreSQL (nine binds, whatever the batch's size,
        // instead of a VALUES list of nine a row to parse and plan), one prepared statement stepped
        // per row on SQLite, and no `SQLValue` per value on either.
        try await context.insert(
            into: "usage_events",
            columns: Self.eventColumns,
            shared: [.text(operatorID)],
            values: SQLColumns([
                .text(events.map(\.id)), .blob(events.map(\.digest.bytes)), .text(events.map(\.grantID)),
                .text(events.map(\.datasetID)), .text(events.map(\.unit.rawValue)), .integer(events.map(\.quantity)),
                .integer(events.map { Timestamp.milliseconds($0.time) }), .text(events.map(\.period.description)),
            ])
        )
    }

    /// Adds to the period counters: each counter's quantity and events, and their gateway and
    /// upstream parts, are added to the stored ones (a counter not stored yet starts at zero), its
    /// log range widened to cover both. A stored counter keeps its operator and authority. Counters
    /// with one key are added up first.
    public func addUsage(_ counters: [UsageCounter]) async throws {
        try await context.insert(into: "usage_counters", columns: Self.counterColumns,
                                 rows: Self.merged(counters).map(Self.counterRow), conflict: Self.counterConflict(context.dialect))
    }

    /// Adds to the day counters, as ``addUsage(_:)`` does to the period counters.
    public func addDailyUsage(_ days: [DailyUsage]) async throws {
        try await context.insert(into: "usage_daily", columns: Self.dayColumns, rows: Self.merged(days).map(Self.dayRow),
                                 conflict: Self.dayConflict)
    }

    /// The writes of accepted usage: each batch's events (``insertUsageEvents(_:operatorID:)``),
    /// then the period and day counters they add to (``addUsage(_:)``, ``addDailyUsage(_:)``).
    /// On PostgreSQL all of it is one statement of arrays, so the usage path's writes are one
    /// round trip made while every other appender waits for the log head.
    public func recordUsage(_ batches: [(operatorID: String, events: [UsageEvent])], counters: [UsageCounter],
                            days: [DailyUsage]) async throws {
        guard context.dialect == .postgres else {
            for batch in batches where !batch.events.isEmpty {
                try await insertUsageEvents(batch.events, operatorID: batch.operatorID)
            }
            if !counters.isEmpty { try await addUsage(counters) }
            if !days.isEmpty { try await addDailyUsage(days) }
            return
        }
        let events = batches.flatMap { batch in batch.events.lazy.map { (batch.operatorID, $0) } }
        let counters = Self.merged(counters)
        let days = Self.merged(days)
        guard !events.isEmpty || !counters.isEmpty || !days.isEmpty else { return }
        var binds: [SQLValue] = []
        /// `unnest` of `columns`, each bound as an array.
        func unnest(_ columns: [SQLColumn]) -> String {
            let arrays = columns.map { column -> String in
                binds.append(.array(column))
                return "$\(binds.count)::\(column.postgresArrayType)"
            }
            return "unnest(\(arrays.joined(separator: ", ")))"
        }
        let eventRows = unnest([
            .text(events.map(\.0)), .text(events.map(\.1.id)), .blob(events.map(\.1.digest.bytes)),
            .text(events.map(\.1.grantID)), .text(events.map(\.1.datasetID)), .text(events.map(\.1.unit.rawValue)),
            .integer(events.map(\.1.quantity)), .integer(events.map { Timestamp.milliseconds($0.1.time) }),
            .text(events.map(\.1.period.description)),
        ])
        let counterRows = unnest([
            .text(counters.map(\.key.grantID)), .text(counters.map(\.key.datasetID)), .text(counters.map(\.key.unit.rawValue)),
            .text(counters.map(\.key.period.description)), .text(counters.map(\.operatorID)), .text(counters.map(\.authorityID)),
            .integer(counters.map(\.quantity)), .integer(counters.map(\.events)),
            .integer(counters.map { Int64(clamping: $0.firstLogIndex) }), .integer(counters.map { Int64(clamping: $0.lastLogIndex) }),
            .integer(counters.map(\.gatewayQuantity)), .integer(counters.map(\.gatewayEvents)),
            .integer(counters.map(\.upstreamQuantity)), .integer(counters.map(\.upstreamEvents)),
        ])
        let dayRows = unnest([
            .text(days.map(\.key.grantID)), .text(days.map(\.key.datasetID)), .text(days.map(\.key.unit.rawValue)),
            .text(days.map(\.key.day)), .integer(days.map(\.quantity)), .integer(days.map(\.events)),
        ])
        // Data-modifying `WITH` parts run once and to completion whether or not anything reads them.
        try await context.execute(
            """
            WITH events AS (INSERT INTO usage_events (\(Self.eventColumns.joined(separator: ", "))) SELECT * FROM \(eventRows)),
            counters AS (INSERT INTO usage_counters (\(Self.counterColumns.joined(separator: ", "))) SELECT * FROM \(counterRows)
                \(Self.counterConflict(.postgres)))
            INSERT INTO usage_daily (\(Self.dayColumns.joined(separator: ", "))) SELECT * FROM \(dayRows) \(Self.dayConflict)
            """,
            binds
        )
    }

    static let eventColumns = ["operator_id", "event_id", "digest", "grant_id", "dataset_id", "unit", "quantity", "occurred_at", "period"]

    static let counterColumns = [
        "grant_id", "dataset_id", "unit", "period", "operator_id", "authority_id", "quantity", "events",
        "log_first", "log_last", "gateway_quantity", "gateway_events", "upstream_quantity", "upstream_events",
    ]

    static func counterConflict(_ d: SQLDialect) -> String {
        """
        ON CONFLICT (grant_id, dataset_id, unit, period) DO UPDATE SET \
        quantity = usage_counters.quantity + excluded.quantity, \
        events = usage_counters.events + excluded.events, \
        gateway_quantity = usage_counters.gateway_quantity + excluded.gateway_quantity, \
        gateway_events = usage_counters.gateway_events + excluded.gateway_events, \
        upstream_quantity = usage_counters.upstream_quantity + excluded.upstream_quantity, \
        upstream_events = usage_counters.upstream_events + excluded.upstream_events, \
        log_first = \(d.least("usage_counters.log_first", "excluded.log_first")), \
        log_last = \(d.greatest("usage_counters.log_last", "excluded.log_last"))
        """
    }

    static let dayColumns = ["grant_id", "dataset_id", "unit", "day", "quantity", "events"]

    static let dayConflict = """
        ON CONFLICT (grant_id, dataset_id, unit, day) DO UPDATE SET \
        quantity = usage_daily.quantity + excluded.quantity, events = usage_daily.events + excluded.events
        """

    /// `counters` with those of one key added up, in key order: writers then lock rows in one
    /// order (and PostgreSQL refuses to update one row twice in a statement).
    static func merged(_ counters: [UsageCounter]) -> [UsageCounter] {
        var merged: [CounterKey: UsageCounter] = [:]
        for counter in counters {
            guard var sum = merged[counter.key] else {
                merged[counter.key] = counter
                continue
            }
            sum.quantity += counter.quantity
            sum.events += counter.events
            sum.firstLogIndex = min(sum.firstLogIndex, counter.firstLogIndex)
            sum.lastLogIndex = max(sum.lastLogIndex, counter.lastLogIndex)
            sum.gatewayQuantity += counter.gatewayQuantity
            sum.gatewayEvents += counter.gatewayEvents
            sum.upstreamQuantity += counter.upstreamQuantity
            sum.upstreamEvents += counter.upstreamEvents
            merged[counter.key] = sum
        }
        return merged.values.sorted { $0.key < $1.key }
    }

    /// `days` with those of one key added up, in key order.
    static func merged(_ days: [DailyUsage]) -> [DailyUsage] {
        var merged: [DayKey: DailyUsage] = [:]
        for day in days {
            guard var sum = merged[day.key] else {
                merged[day.key] = day
                continue
            }
            sum.quantity += day.quantity
            sum.events += day.events
            merged[day.key] = sum
        }
        return merged.values.sorted {
            ($0.key.grantID, $0.key.datasetID, $0.key.unit.rawValue, $0.key.day)
                < ($1.key.grantID, $1.key.datasetID, $1.key.unit.rawValue, $1.key.day)
        }
    }

    static func counterRow(_ counter: UsageCounter) -> [SQLValue] {
        [.text(counter.key.grantID), .text(counter.key.datasetID), .text(counter.key.unit.rawValue),
         .text(counter.key.period.description), .text(counter.operatorID), .text(counter.authorityID),
         .integer(counter.quantity), .integer(counter.events), .integer(Int64(clamping: counter.firstLogIndex)),
         .integer(Int64(clamping: counter.lastLogIndex)), .integer(counter.gatewayQuantity), .integer(counter.gatewayEvents),
         .integer(counter.upstreamQuantity), .integer(counter.upstreamEvents)]
    }

    static func dayRow(_ day: DailyUsage) -> [SQLValue] {
        [.text(day.key.grantID), .text(day.key.datasetID), .text(day.key.unit.rawValue), .text(day.key.day),
         .integer(day.quantity), .integer(day.events)]
    }

    /// Marks `period` closed at `time`, whatever its status was; a period closed already keeps the
    /// time it was first closed at.
    public func markPeriodClosed(_ period: Period, at time: Date) async throws {
        try await context.execute(
            """
            INSERT INTO settlement_periods (period, status, closed_at) VALUES ($1, 'closed', $2)
            ON CONFLICT (period) DO UPDATE SET status = 'closed', closed_at = CASE
                WHEN settlement_periods.status = 'closed' THEN settlement_periods.closed_at ELSE excluded.closed_at END
            """,
            [.text(period.description), .integer(Timestamp.milliseconds(time))]
        )
    }
}

/// A table of idempotent items, keyed by their owner and their id, each with the digest of its content.
struct DigestTable {
    let name: String
    let ownerColumn: String
    let idColumn: String

    /// Operators' usage events.
    static let usageEvents = DigestTable(name: "usage_events", ownerColumn: "operator_id", idColumn: "event_id")
    /// Authorities' provider reports.
    static let providerUsage = DigestTable(name: "provider_usage", ownerColumn: "authority_id", idColumn: "report_id")
}
