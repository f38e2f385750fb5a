import Identity
import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
@testable import Persistence
import PDXTesting
import Testing
import Vetting

/// Usage events and counters as the usage path builds them.
enum UsageSamples {
    static let calendar = MarketCalendar()
    static let january = Period("2026-01")!
    static let february = Period("2026-02")!
    static let march = Period("2026-03")!

    /// An event `minutes` after 2026-01-10 00:00 in Asia/Shanghai.
    static func event(_ id: String, grant: String = "gr-1", dataset: String = "bj-traffic", unit: MeteringUnit = .call,
                      quantity: Int64 = 1, minutes: Double = 0) -> UsageEvent {
        UsageEvent(id: id, grantID: grant, datasetID: dataset, unit: unit, quantity: quantity,
                   time: Date(timeIntervalSince1970: 1_767_974_400 + minutes * 60), calendar: calendar)
    }

    static func key(grant: String = "gr-1", dataset: String = "bj-traffic", unit: MeteringUnit = .call,
                    period: Period = january) -> CounterKey {
        CounterKey(grantID: grant, datasetID: dataset, unit: unit, period: period)
    }

    static func counter(_ key: CounterKey, operator operatorID: String = "op-1", authority: String = "bj",
                        quantity: Int64, events: Int64, log: ClosedRange<UInt64>,
                        gateway: (quantity: Int64, events: Int64) = (0, 0),
                        upstream: (quantity: Int64, events: Int64) = (0, 0)) -> UsageCounter {
        UsageCounter(key: key, operatorID: operatorID, authorityID: authority, quantity: quantity, events: events,
                     firstLogIndex: log.lowerBound, lastLogIndex: log.upperBound,
                     gatewayQuantity: gateway.quantity, gatewayEvents: gateway.events,
                     upstreamQuantity: upstream.quantity, upstreamEvents: upstream.events)
    }

    static func day(_ day: String, grant: String = "gr-1", dataset: String = "bj-traffic", unit: MeteringUnit = .call,
                    quantity: Int64, events: Int64) -> DailyUsage {
        DailyUsage(key: DayKey(grantID: grant, datasetID: dataset, unit: unit, day: day), quantity: quantity, events: events)
    }
}

@Suite("Usage events on SQLite and PostgreSQL")
struct UsageEventStorageTests {
    @Test("events are stored whole and their digests found by operator and id; another operator's id is its own",
          arguments: Backend.available)
    func digests(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = UsageSamples.event("evt-1", quantity: 3, minutes: 0.0125)
            let second = UsageSamples.event("evt-2", dataset: "bj-weather", unit: .byte, quantity: 4_096)
            let rival = UsageSamples.event("evt-1", grant: "gr-2", quantity: 9)
            #expect(first.digest != rival.digest)
            try await database.transaction { transaction async throws in
                try await transaction.insertUsageEvents([first, second], operatorID: "op-a")
                try await transaction.insertUsageEvents([rival], operatorID: "op-b")
                // The transaction sees its own events.
                #expect(try await transaction.usageDigests(operatorID: "op-a", eventIDs: ["evt-1"]) == ["evt-1": first.digest])
            }

            try await database.read { reader async throws in
                #expect(try await reader.usageDigests(operatorID: "op-a", eventIDs: ["evt-1", "evt-2", "evt-3", "evt-1"])
                    == ["evt-1": first.digest, "evt-2": second.digest])
                #expect(try await reader.usageDigests(operatorID: "op-b", eventIDs: ["evt-1", "evt-2"]) == ["evt-1": rival.digest])
                #expect(try await reader.usageDigests(operatorID: "op-c", eventIDs: ["evt-1"]).isEmpty)
                #expect(try await reader.usageDigests(operatorID: "op-a", eventIDs: []).isEmpty)

                // Every member is stored as the event has it: the time to the millisecond, the period as YYYY-MM.
                let row = try #require(try await reader.context.query(
                    """
                    SELECT grant_id, dataset_id, unit, quantity, occurred_at, period FROM usage_events
                    WHERE operator_id = $1 AND event_id = $2
                    """,
                    [.text("op-a"), .text("evt-1")]
                ).first)
                #expect(try row.text(0) == "gr-1")
                #expect(try row.text(1) == "bj-traffic")
                #expect(try row.text(2) == "call")
                #expect(try row.integer(3) == 3)
                #expect(try row.integer(4) == 1_767_974_400_750)
                #expect(try row.text(5) == "2026-01")
            }
        }
    }

    @Test("more ids than one lookup statement holds are found, repeated and unknown ones among them",
          arguments: Backend.available)
    func chunkedLookup(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let count = DatabaseReader.inListLimit * 2 + 300
            let events = (0..<count).map { UsageSamples.event("evt-\($0)", quantity: Int64($0 % 5 + 1)) }
            try await database.transaction { try await $0.insertUsageEvents(events, operatorID: "op-1") }

            let asked = events.map(\.id) + (0..<200).map { "unknown-\($0)" } + events.prefix(50).map(\.id)
            let found = try await database.read { try await $0.usageDigests(operatorID: "op-1", eventIDs: asked.shuffled()) }
            #expect(found == Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0.digest) }))
        }
    }

    @Test("thousands of events go in in one call, more than one INSERT statement holds", arguments: Backend.available)
    func thousands(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            // Past the rows of one multi-row statement (PostgreSQL), whatever the engine under test.
            let count = SQLDialect.postgres.rowsPerInsert(columns: 9) + 500
            let events = (0..<count).map { UsageSamples.event("evt-\($0)", quantity: Int64($0 % 7 + 1), minutes: Double($0)) }
            try await database.transaction { try await $0.insertUsageEvents(events, operatorID: "op-1") }

            try await database.read { reader async throws in
                let stored = try await reader.context.query(
                    "SELECT count(*), CAST(sum(quantity) AS \(reader.context.dialect.bigint)) FROM usage_events WHERE operator_id = $1", [.text("op-1")]
                )
                #expect(try stored[0].integer(0) == Int64(count))
                #expect(try stored[0].integer(1) == events.reduce(0) { $0 + $1.quantity })
                let found = try await reader.usageDigests(operatorID: "op-1", eventIDs: events.map(\.id))
                #expect(found.count == count)
                #expect(found["evt-\(count - 1)"] == events.last?.digest)
            }
        }
    }

    @Test("an event id stored twice for one operator is unique_violation and the transaction cannot commit",
          arguments: Backend.available)
    func duplicateID(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = UsageSamples.event("evt-1", quantity: 2)
            try await database.transaction { try await $0.insertUsageEvents([first], operatorID: "op-1") }

            // Across batches, with the same content or other content alike: the usage path looks ids
            // up first and never writes a stored one.
            for again in [first, UsageSamples.event("evt-1", quantity: 5)] {
                let error = await #expect(throws: StorageError.self) {
                    try await database.transaction { transaction async throws in
                        try await transaction.addUsage([UsageSamples.counter(UsageSamples.key(), quantity: 5, events: 1, log: 1...1)])
                        do {
                            try await transaction.insertUsageEvents([UsageSamples.event("evt-2"), again], operatorID: "op-1")
                            Issue.record("a stored id was inserted again")
                        } catch let error as StorageError {
                            #expect(error.code == .uniqueViolation)
                        }
                    }
                }
                #expect(error?.code == .transactionAborted)
            }
            // Within one call.
            let error = await #expect(throws: StorageError.self) {
                try await database.transaction { transaction async throws in
                    try await transaction.insertUsageEvents([UsageSamples.event("evt-3"), UsageSamples.event("evt-3")], operatorID: "op-1")
                }
            }
            #expect(error?.code == .uniqueViolation)

            try await database.read { reader async throws in
                #expect(try await reader.usageDigests(operatorID: "op-1", eventIDs: ["evt-1", "evt-2", "evt-3"]) == ["evt-1": first.digest])
                #expect(try await reader.usageQuantities([UsageSamples.key()]).isEmpty)
            }
        }
    }
}

@Suite("A usage group's writes at once on SQLite and PostgreSQL")
struct RecordUsageStorageTests {
    @Test("events of several operators, counters and day counters are written as the three writes would; stored counters add up",
          arguments: Backend.available)
    func recordsAll(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let calls = UsageSamples.key()
            let records = UsageSamples.key(dataset: "tj-port", unit: .record)
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([UsageSamples.counter(calls, quantity: 10, events: 2, log: 3...4)])
                try await transaction.addDailyUsage([UsageSamples.day("2026-01-10", quantity: 10, events: 2)])
            }
            let a = [UsageSamples.event("evt-1", quantity: 2), UsageSamples.event("evt-2", dataset: "tj-port", unit: .record, quantity: 7)]
            let b = [UsageSamples.event("evt-1", grant: "gr-2", quantity: 5)]
            try await database.transaction { transaction async throws in
                try await transaction.recordUsage(
                    [(operatorID: "op-a", events: a), (operatorID: "op-b", events: b), (operatorID: "op-c", events: [])],
                    counters: [
                        UsageSamples.counter(calls, quantity: 2, events: 1, log: 8...8),
                        UsageSamples.counter(records, quantity: 7, events: 1, log: 8...8),
                        // One key twice is added up before it is written.
                        UsageSamples.counter(calls, quantity: 1, events: 1, log: 9...9),
                    ],
                    days: [
                        UsageSamples.day("2026-01-10", quantity: 2, events: 1),
                        UsageSamples.day("2026-01-10", quantity: 1, events: 1),
                        UsageSamples.day("2026-01-10", dataset: "tj-port", unit: .record, quantity: 7, events: 1),
                    ])
                // Nothing at all writes nothing.
                try await transaction.recordUsage([], counters: [], days: [])
            }
            try await database.read { reader async throws in
                #expect(try await reader.usageDigests(operatorID: "op-a", eventIDs: ["evt-1", "evt-2"])
                    == ["evt-1": a[0].digest, "evt-2": a[1].digest])
                #expect(try await reader.usageDigests(operatorID: "op-b", eventIDs: ["evt-1", "evt-2"]) == ["evt-1": b[0].digest])
                let row = try #require(try await reader.context.query(
                    "SELECT grant_id, dataset_id, unit, quantity, occurred_at, period FROM usage_events WHERE operator_id = $1 AND event_id = $2",
                    [.text("op-a"), .text("evt-2")]
                ).first)
                #expect(try row.text(1) == "tj-port")
                #expect(try row.text(2) == "record")
                #expect(try row.integer(3) == 7)
                #expect(try row.integer(4) == Timestamp.milliseconds(a[1].time))
                #expect(try row.text(5) == "2026-01")
                #expect(try await reader.usageCounters(period: UsageSamples.january, filter: UsageFilter()) == [
                    UsageSamples.counter(calls, quantity: 13, events: 4, log: 3...9),
                    UsageSamples.counter(records, quantity: 7, events: 1, log: 8...8),
                ])
                #expect(try await reader.dailyUsage(grantID: "gr-1", period: UsageSamples.january) == [
                    UsageSamples.day("2026-01-10", quantity: 13, events: 4),
                    UsageSamples.day("2026-01-10", dataset: "tj-port", unit: .record, quantity: 7, events: 1),
                ])
            }
        }
    }

    @Test("a stored event id among them is unique_violation, and nothing of the group is written", arguments: Backend.available)
    func duplicateWritesNothing(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = UsageSamples.event("evt-1", quantity: 2)
            try await database.transaction { try await $0.insertUsageEvents([first], operatorID: "op-1") }
            let error = await #expect(throws: StorageError.self) {
                try await database.transaction { transaction async throws in
                    try await transaction.recordUsage(
                        [(operatorID: "op-1", events: [UsageSamples.event("evt-2"), first])],
                        counters: [UsageSamples.counter(UsageSamples.key(), quantity: 3, events: 2, log: 1...1)],
                        days: [UsageSamples.day("2026-01-10", quantity: 3, events: 2)])
                }
            }
            #expect(error?.code == .uniqueViolation)
            try await database.read { reader async throws in
                #expect(try await reader.usageDigests(operatorID: "op-1", eventIDs: ["evt-1", "evt-2"]) == ["evt-1": first.digest])
                #expect(try await reader.usageQuantities([UsageSamples.key()]).isEmpty)
                #expect(try await reader.dailyUsage(grantID: "gr-1", period: UsageSamples.january).isEmpty)
            }
        }
    }
}

@Suite("Usage counters on SQLite and PostgreSQL")
struct UsageCounterStorageTests {
    @Test("counters added twice add up; the log range covers both; operator and authority stay",
          arguments: Backend.available)
    func addUp(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let calls = UsageSamples.key()
            let bytes = UsageSamples.key(unit: .byte)
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([
                    UsageSamples.counter(calls, quantity: 10, events: 2, log: 5...7),
                    UsageSamples.counter(bytes, quantity: 1_000_000, events: 1, log: 6...6),
                ])
            }
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([
                    // One key twice in a call is added up before it is written.
                    UsageSamples.counter(calls, operator: "op-other", authority: "tj", quantity: 3, events: 1, log: 2...4),
                    UsageSamples.counter(calls, quantity: 1, events: 1, log: 9...9),
                ])
                try await transaction.addUsage([])
            }
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([UsageSamples.counter(bytes, quantity: 24, events: 3, log: 6...8)])
            }

            let counters = try await database.read { try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter()) }
            #expect(counters == [
                UsageSamples.counter(bytes, quantity: 1_000_024, events: 4, log: 6...8),
                UsageSamples.counter(calls, quantity: 14, events: 4, log: 2...9),
            ])
        }
    }

    @Test("the gateway's part of a counter adds up with it: declared and metered usage share one counter and its quota",
          arguments: Backend.available)
    func gatewayParts(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let calls = UsageSamples.key()
            let records = UsageSamples.key(unit: .record)
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([
                    UsageSamples.counter(calls, quantity: 10, events: 2, log: 5...5),
                    UsageSamples.counter(records, quantity: 7, events: 1, log: 5...5, gateway: (7, 1)),
                ])
            }
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([
                    // Two gateway batches of one group commit: added up before they are written.
                    UsageSamples.counter(calls, quantity: 4, events: 1, log: 6...6, gateway: (4, 1)),
                    UsageSamples.counter(calls, quantity: 3, events: 3, log: 7...7, gateway: (3, 3)),
                ])
            }
            try await database.transaction { transaction async throws in
                try await transaction.addUsage([UsageSamples.counter(records, quantity: 2, events: 2, log: 8...8)])
            }
            let counters = try await database.read { try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter()) }
            #expect(counters == [
                UsageSamples.counter(calls, quantity: 17, events: 6, log: 5...7, gateway: (7, 4)),
                UsageSamples.counter(records, quantity: 9, events: 3, log: 5...8, gateway: (7, 1)),
            ])
            #expect(counters.map(\.declaredQuantity) == [10, 2])
            // The quota reads the whole quantity, whoever counted it.
            #expect(try await database.read { try await $0.usageQuantities([calls, records]) } == [calls: 17, records: 9])
        }
    }

    @Test("quantities are read for the keys that have counters; absent keys are left out", arguments: Backend.available)
    func quantities(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            // More keys than one lookup statement holds, every other one counted.
            let keys = (0..<300).map { index in
                UsageSamples.key(grant: "gr-\(index / 6)", dataset: "ds-\(index % 2)", unit: MeteringUnit.allCases[index % 3],
                                 period: index % 4 < 2 ? UsageSamples.january : UsageSamples.february)
            }
            #expect(Set(keys).count == keys.count)
            let counted = keys.enumerated().filter { $0.offset % 2 == 0 }
            try await database.transaction { transaction async throws in
                try await transaction.addUsage(counted.map { offset, key in
                    UsageSamples.counter(key, quantity: Int64(offset + 1), events: 1, log: 1...1)
                })
            }
            let expected = Dictionary(uniqueKeysWithValues: counted.map { ($0.element, Int64($0.offset + 1)) })
            try await database.read { reader async throws in
                #expect(try await reader.usageQuantities(keys.shuffled()) == expected)
                #expect(try await reader.usageQuantities([keys[0], keys[1], keys[0]]) == [keys[0]: 1])
                #expect(try await reader.usageQuantities([UsageSamples.key(period: UsageSamples.march)]).isEmpty)
                #expect(try await reader.usageQuantities([]).isEmpty)
            }
        }
    }

    @Test("the summary of a period is filtered by operator, authority and grant, by grant, dataset and unit",
          arguments: Backend.available)
    func summary(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            func counter(_ grant: String, _ dataset: String, _ unit: MeteringUnit, _ operatorID: String, _ authority: String,
                         period: Period = UsageSamples.january) -> UsageCounter {
                UsageSamples.counter(UsageSamples.key(grant: grant, dataset: dataset, unit: unit, period: period),
                                     operator: operatorID, authority: authority, quantity: 7, events: 1, log: 3...3)
            }
            let a = counter("gr-a", "bj-traffic", .call, "op-1", "bj")
            let b = counter("gr-a", "bj-traffic", .record, "op-1", "bj")
            let c = counter("gr-a", "tj-port", .call, "op-1", "tj")
            let d = counter("gr-b", "bj-traffic", .byte, "op-2", "bj")
            let e = counter("gr-c", "tj-port", .call, "op-2", "tj")
            let later = counter("gr-a", "bj-traffic", .call, "op-1", "bj", period: UsageSamples.february)
            // No event is stored: the summary reads the counters alone.
            try await database.transaction { try await $0.addUsage([e, later, c, a, d, b].shuffled()) }

            let cases: [(UsageFilter, [UsageCounter])] = [
                (UsageFilter(), [a, b, c, d, e]),
                (UsageFilter(operatorID: "op-1"), [a, b, c]),
                (UsageFilter(operatorID: "op-2"), [d, e]),
                (UsageFilter(authorityID: "bj"), [a, b, d]),
                (UsageFilter(authorityID: "tj"), [c, e]),
                (UsageFilter(grantID: "gr-a"), [a, b, c]),
                (UsageFilter(operatorID: "op-1", authorityID: "tj"), [c]),
                (UsageFilter(operatorID: "op-2", authorityID: "tj", grantID: "gr-c"), [e]),
                (UsageFilter(operatorID: "op-1", grantID: "gr-b"), []),
                (UsageFilter(operatorID: "op-3"), []),
            ]
            try await database.read { reader async throws in
                for (filter, expected) in cases {
                    #expect(try await reader.usageCounters(period: UsageSamples.january, filter: filter) == expected, "\(filter)")
                }
                #expect(try await reader.usageCounters(period: UsageSamples.february, filter: UsageFilter()) == [later])
                #expect(try await reader.usageCounters(period: UsageSamples.march, filter: UsageFilter()).isEmpty)
            }
        }
    }

    @Test("day counters add up and are read for a grant's period, by day, dataset and unit", arguments: Backend.available)
    func daily(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { transaction async throws in
                try await transaction.addDailyUsage([
                    UsageSamples.day("2026-01-10", dataset: "tj-port", quantity: 5, events: 1),
                    UsageSamples.day("2026-01-10", quantity: 2, events: 2),
                    UsageSamples.day("2026-01-01", unit: .record, quantity: 8, events: 1),
                    UsageSamples.day("2026-01-31", quantity: 1, events: 1),
                    // Next to the period and in another grant: not read below.
                    UsageSamples.day("2025-12-31", quantity: 100, events: 1),
                    UsageSamples.day("2026-02-01", quantity: 100, events: 1),
                    UsageSamples.day("2026-01-10", grant: "gr-2", quantity: 100, events: 1),
                ])
            }
            try await database.transaction { transaction async throws in
                try await transaction.addDailyUsage([
                    UsageSamples.day("2026-01-10", quantity: 3, events: 1),
                    UsageSamples.day("2026-01-10", quantity: 4, events: 1),
                    UsageSamples.day("2026-01-01", quantity: 6, events: 3),
                ])
            }
            try await database.read { reader async throws in
                #expect(try await reader.dailyUsage(grantID: "gr-1", period: UsageSamples.january) == [
                    UsageSamples.day("2026-01-01", quantity: 6, events: 3),
                    UsageSamples.day("2026-01-01", unit: .record, quantity: 8, events: 1),
                    UsageSamples.day("2026-01-10", quantity: 9, events: 4),
                    UsageSamples.day("2026-01-10", dataset: "tj-port", quantity: 5, events: 1),
                    UsageSamples.day("2026-01-31", quantity: 1, events: 1),
                ])
                #expect(try await reader.dailyUsage(grantID: "gr-2", period: UsageSamples.january).map(\.quantity) == [100])
                #expect(try await reader.dailyUsage(grantID: "gr-1", period: UsageSamples.march).isEmpty)
            }
        }
    }

    @Test("closed periods are found among others; closing again keeps the first time", arguments: Backend.available)
    func closedPeriods(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let periods = [UsageSamples.january, UsageSamples.february, UsageSamples.march]
            #expect(try await database.read { try await $0.closedPeriods(among: periods) }.isEmpty)

            try await database.transaction { transaction async throws in
                try await transaction.markPeriodClosed(UsageSamples.january, at: Date(timeIntervalSince1970: 1_770_000_000))
                // A period being closed is not closed yet.
                try await transaction.context.execute(
                    "INSERT INTO settlement_periods (period, status) VALUES ($1, 'closing')", [.text("2026-02")]
                )
            }
            try await database.read { reader async throws in
                #expect(try await reader.closedPeriods(among: periods) == [UsageSamples.january])
                #expect(try await reader.closedPeriods(among: [UsageSamples.february, UsageSamples.march]).isEmpty)
                #expect(try await reader.closedPeriods(among: []).isEmpty)
            }

            try await database.transaction { transaction async throws in
                try await transaction.markPeriodClosed(UsageSamples.january, at: Date(timeIntervalSince1970: 1_780_000_000))
                try await transaction.markPeriodClosed(UsageSamples.february, at: Date(timeIntervalSince1970: 1_780_000_000))
            }
            try await database.read { reader async throws in
                #expect(try await reader.closedPeriods(among: periods + periods) == [UsageSamples.january, UsageSamples.february])
                let rows = try await reader.context.query("SELECT period, status, closed_at FROM settlement_periods ORDER BY period")
                #expect(try rows.map { [try $0.text(0), try $0.text(1), String(try $0.integer(2))] } == [
                    ["2026-01", "closed", "1770000000000"],
                    ["2026-02", "closed", "1780000000000"],
                ])
            }
        }
    }
}

@Suite("Schema upgrade for usage")
struct UsageMigrationTests {
    @Test("a database at schema version 4 gains the usage tables and keeps its grants", arguments: Backend.available)
    func upgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            let operatorValue = try LicensingSamples.approvedOperator()
            let dataset = try LicensingSamples.dataset("bj-traffic")
            let grant = try LicensingSamples.requested("gr-1", operator: operatorValue, datasets: [dataset])
            // Take the fresh database back to version 4, as a deployment before this change has it.
            try await current.transaction { transaction async throws in
                for statement in undoPrincipalGeneration(backend) + [
                    "DROP TABLE usage_events", "DROP TABLE usage_counters", "DROP TABLE usage_daily",
                    "DROP TABLE settlement_periods", "DROP TABLE settlement_reports", "DROP TABLE settlement_parties", "DROP TABLE settlement_adjustments", "DROP TABLE revenue_caps", 
                    "DROP TABLE personal_data", "ALTER TABLE principals DROP COLUMN name_ref",
                    "ALTER TABLE principals DROP COLUMN email_ref", "ALTER TABLE principals ADD COLUMN name TEXT NOT NULL DEFAULT ''",
                    "ALTER TABLE principals ADD COLUMN email TEXT NULL",
                    "DROP TABLE releases", "DROP TABLE release_rows", "DROP TABLE release_values",
                    "DROP TABLE provider_usage", "DROP TABLE discrepancy_acknowledgements", "DROP TABLE upstream_credentials",
                    "DROP TABLE marketplace_settings", "DROP TABLE console_form_tokens", "DROP TABLE console_sessions",
                    "DELETE FROM schema_migrations WHERE version >= 5",
                ] {
                    try await transaction.context.execute(statement)
                }
                try await transaction.insertDataset(dataset)
                try await transaction.insertGrant(grant)
            }
            await current.close()

            let upgraded = try await fixture.open()
            let versions = try await upgraded.read { reader async throws in
                try await reader.context.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.integer(0) }
            }
            #expect(versions == Migrations.all.map { Int64($0.version) })
            #expect(try await upgraded.read { try await $0.grant(id: "gr-1") } == grant)
            let event = UsageSamples.event("evt-1", grant: "gr-1", quantity: 4)
            try await upgraded.transaction { transaction async throws in
                try await transaction.insertUsageEvents([event], operatorID: operatorValue.id)
                try await transaction.addUsage([UsageSamples.counter(event.counterKey, quantity: 4, events: 1, log: 0...0)])
                try await transaction.addDailyUsage([UsageSamples.day(event.day, quantity: 4, events: 1)])
                try await transaction.markPeriodClosed(UsageSamples.february, at: Date(timeIntervalSince1970: 1_780_000_000))
            }
            try await upgraded.read { reader async throws in
                #expect(try await reader.usageDigests(operatorID: operatorValue.id, eventIDs: ["evt-1"]) == ["evt-1": event.digest])
                #expect(try await reader.usageQuantities([event.counterKey]) == [event.counterKey: 4])
                #expect(try await reader.dailyUsage(grantID: "gr-1", period: event.period).map(\.quantity) == [4])
                #expect(try await reader.closedPeriods(among: [event.period, UsageSamples.february]) == [UsageSamples.february])
            }
        }
    }
}

@Suite("Schema upgrade for usage sources")
struct UsageSourceMigrationTests {
    @Test("a database before migration 10 keeps its counters, all of them declared, and then counts the gateway's part",
          arguments: Backend.available)
    func upgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            let calls = UsageSamples.key()
            // Take the fresh database back to before the split, with a counter in it.
            try await current.transaction { transaction async throws in
                for statement in undoPrincipalGeneration(backend) + [
                    "ALTER TABLE usage_counters DROP COLUMN gateway_quantity", "ALTER TABLE usage_counters DROP COLUMN gateway_events",
                    "ALTER TABLE usage_counters DROP COLUMN upstream_quantity", "ALTER TABLE usage_counters DROP COLUMN upstream_events",
                    "DROP TABLE provider_usage", "DROP TABLE discrepancy_acknowledgements", "DROP TABLE upstream_credentials",
                    "DROP TABLE marketplace_settings", "DROP TABLE console_form_tokens", "DROP TABLE console_sessions",
                    "DELETE FROM schema_migrations WHERE version >= 10",
                ] {
                    try await transaction.context.execute(statement)
                }
                try await transaction.context.execute(
                    """
                    INSERT INTO usage_counters (grant_id, dataset_id, unit, period, operator_id, authority_id, quantity, events,
                        log_first, log_last) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """,
                    [.text(calls.grantID), .text(calls.datasetID), .text(calls.unit.rawValue), .text(calls.period.description),
                     .text("op-1"), .text("bj"), .integer(12), .integer(3), .integer(4), .integer(9)])
            }
            await current.close()

            let upgraded = try await fixture.open()
            let versions = try await upgraded.read { reader async throws in
                try await reader.context.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.integer(0) }
            }
            #expect(versions == Migrations.all.map { Int64($0.version) })
            #expect(try await upgraded.read { try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter()) }
                    == [UsageSamples.counter(calls, quantity: 12, events: 3, log: 4...9)])
            try await upgraded.transaction { transaction async throws in
                try await transaction.addUsage([UsageSamples.counter(calls, quantity: 5, events: 1, log: 10...10, gateway: (5, 1))])
            }
            #expect(try await upgraded.read { try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter()) }
                    == [UsageSamples.counter(calls, quantity: 17, events: 4, log: 4...10, gateway: (5, 1))])
        }
    }

    @Test("a database before migration 13 keeps its gateway parts, and then counts the upstream part beside them",
          arguments: Backend.available)
    func upstreamUpgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            let calls = UsageSamples.key()
            try await current.transaction { transaction async throws in
                // Written before the upstream part: forwarded calls were counted as the gateway's.
                try await transaction.addUsage([UsageSamples.counter(calls, quantity: 12, events: 3, log: 4...9, gateway: (7, 2))])
                for statement in undoPrincipalGeneration(backend) + [
                    "ALTER TABLE usage_counters DROP COLUMN upstream_quantity", "ALTER TABLE usage_counters DROP COLUMN upstream_events",
                    "DROP TABLE marketplace_settings", "DROP TABLE console_form_tokens", "DROP TABLE console_sessions",
                    "DELETE FROM schema_migrations WHERE version >= 13",
                ] {
                    try await transaction.context.execute(statement)
                }
            }
            await current.close()

            let upgraded = try await fixture.open()
            #expect(try await upgraded.read { try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter()) }
                    == [UsageSamples.counter(calls, quantity: 12, events: 3, log: 4...9, gateway: (7, 2))])
            try await upgraded.transaction { transaction async throws in
                try await transaction.addUsage([
                    UsageSamples.counter(calls, quantity: 5, events: 1, log: 10...10, upstream: (5, 1)),
                    UsageSamples.counter(calls, quantity: 2, events: 2, log: 11...11, upstream: (2, 2)),
                ])
            }
            let counter = try #require(try await upgraded.read {
                try await $0.usageCounters(period: UsageSamples.january, filter: UsageFilter())
            }.first)
            #expect(counter == UsageSamples.counter(calls, quantity: 19, events: 6, log: 4...11, gateway: (7, 2), upstream: (7, 3)))
            #expect(counter.declaredQuantity == 5)
        }
    }
}

@Suite("The duplicate lookup on PostgreSQL")
struct UsageLookupPlanTests {
    @Test("is one primary-key lookup per id even before the table has statistics",
          .enabled(if: Backend.postgresURL != nil))
    func keyLookupsWithoutStatistics() async throws {
        try await Fixture.with(.postgres) { fixture in
            let database = try await fixture.open()
            // A new table, never analyzed: the planner has no statistics for usage_events.
            try await database.transaction { transaction async throws in
                try await transaction.insertUsageEvents((0..<20_000).map { UsageSamples.event("evt-\($0)") }, operatorID: "op-a")
            }
            let ids = (0..<512).map { "evt-\($0 * 7)" }
            try await database.read { reader async throws in
                let plan = try await reader.context.query(
                    "EXPLAIN " + DatabaseReader.postgresDigestsQuery(),
                    [.text("op-a"), .array(.text(ids))]
                ).map { try $0.text(0) }
                let lookup = plan.first { $0.contains("Index Cond:") } ?? ""
                #expect(plan.contains { $0.contains("Index Scan using usage_events_pkey") }, "\(plan)")
                #expect(lookup.contains("operator_id =") && lookup.contains("event_id ="),
                        "both key columns are index conditions: \(plan)")
                #expect(!plan.contains { $0.contains("Filter:") || $0.contains("Bitmap") }, "\(plan)")

                let digests = try await reader.usageDigests(operatorID: "op-a", eventIDs: ids + ["evt-none", ids[0]])
                #expect(digests.count == ids.count)
                #expect(digests["evt-7"] == UsageSamples.event("evt-7").digest)
                // Any number of ids in the one statement: a batch's and more.
                let many = (0..<3_000).map { "evt-\($0 * 3)" } + (0..<100).map { "evt-none-\($0)" }
                let found = try await reader.usageDigests(operatorID: "op-a", eventIDs: many)
                #expect(found.count == 3_000)
                #expect(found["evt-8997"] == UsageSamples.event("evt-8997").digest)
            }
        }
    }
}
