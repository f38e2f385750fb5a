import Identity
import AuditLog
import Foundation
import Licensing
@testable import Persistence
import PDXTesting
import Testing
import Vetting

@Suite("Datasets on SQLite and PostgreSQL")
struct DatasetStorageTests {
    @Test("a dataset is inserted once, found by id and read back whole", arguments: Backend.available)
    func insertAndFind(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let traffic = try LicensingSamples.dataset("bj-traffic", title: "北京市交通流量", description: "五分钟\n粒度")
            try await database.transaction { try await $0.insertDataset(traffic) }
            #expect(try await database.read { try await $0.dataset(id: "bj-traffic") } == traffic)
            #expect(try await database.transaction { try await $0.dataset(id: "bj-traffic") } == traffic)
            #expect(try await database.read { try await $0.dataset(id: "bj-other") } == nil)

            // The duplicate is reported without failing a statement, so the transaction can go on.
            let rival = try LicensingSamples.dataset("bj-traffic", authority: "tj", at: 99)
            try await database.transaction { transaction in
                await #expect(throws: LicensingError(code: .datasetExists, detail: "")) {
                    try await transaction.insertDataset(rival)
                }
                try await transaction.insertDataset(try LicensingSamples.dataset("tj-port", authority: "tj"))
            }
            #expect(try await database.read { try await $0.dataset(id: "bj-traffic") } == traffic)
            #expect(try await database.read { try await $0.dataset(id: "tj-port") } != nil)
        }
    }

    @Test("an update at the next version replaces the dataset; a stale one changes nothing", arguments: Backend.available)
    func update(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { try await $0.insertDataset(try LicensingSamples.dataset("bj-traffic")) }

            // Two reviewers read version 1 and each compute version 2; only the first may store it.
            let read = try #require(try await database.read { try await $0.dataset(id: "bj-traffic") })
            let closed = try LicensingSamples.changed(read, DatasetUpdate(openness: .closed, reason: "withdrawn"), at: 60).updated
            let repriced = try LicensingSamples.changed(read, DatasetUpdate(ceilingPrices: ["call": "0.02"], reason: "cheaper"), at: 61).updated
            #expect(closed.version == 2 && repriced.version == 2)
            try await database.transaction { try await $0.updateDataset(closed) }
            await #expect(throws: LicensingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.updateDataset(repriced) }
            }
            #expect(try await database.read { try await $0.dataset(id: "bj-traffic") } == closed)
            // The refused writer's openness is not searchable either: the row's columns did not move.
            #expect(try await database.read { try await $0.datasets(DatasetFilter(openness: .open), after: nil, limit: 10) }.datasets.isEmpty)
            #expect(try await database.read { try await $0.datasets(DatasetFilter(openness: .closed), after: nil, limit: 10) }.datasets == [closed])

            // Skipping a version is stale too.
            let third = try LicensingSamples.changed(closed, DatasetUpdate(grade: .important, reason: "graded"), at: 70).updated
            let fourth = try LicensingSamples.changed(third, DatasetUpdate(grade: .core, reason: "graded again"), at: 80).updated
            await #expect(throws: LicensingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.updateDataset(fourth) }
            }
            try await database.transaction { transaction in
                try await transaction.updateDataset(third)
                try await transaction.updateDataset(fourth)
            }
            #expect(try await database.read { try await $0.dataset(id: "bj-traffic") } == fourth)

            let ghost = try LicensingSamples.changed(try LicensingSamples.dataset("bj-ghost"), DatasetUpdate(grade: .core, reason: "x"), at: 5).updated
            await #expect(throws: LicensingError(code: .datasetNotFound, detail: "")) {
                try await database.transaction { try await $0.updateDataset(ghost) }
            }
        }
    }

    @Test("the catalog is filtered by authority, theme, openness, grade and text, by id in pages", arguments: Backend.available)
    func filters(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let datasets = [
                try LicensingSamples.dataset("bj-traffic", authority: "bj", title: "北京市交通流量", description: "Road sensors"),
                try LicensingSamples.dataset("bj-parking", authority: "bj", openness: .conditional, title: "Parking Lots",
                                             description: "停车场 occupancy, 100% coverage"),
                try LicensingSamples.dataset("bj-health", authority: "bj", theme: "health", openness: .conditional, grade: .important,
                                             title: "Clinic visits", description: "门诊\nÉTUDE des visites"),
                try LicensingSamples.dataset("tj-port", authority: "tj", theme: "logistics", grade: .important,
                                             title: "天津港 Container TRAFFIC", description: ""),
                try LicensingSamples.dataset("tj-bus", authority: "tj", openness: .closed, title: "Bus_routes", description: "公交线路"),
                try LicensingSamples.dataset("sh-core", authority: "sh", theme: "energy", grade: .core, title: "Grid", description: "电网"),
            ]
            try await database.transaction { transaction in
                for dataset in datasets { try await transaction.insertDataset(dataset) }
            }
            func ids(_ filter: DatasetFilter, limit: Int = 100) async throws -> [String] {
                try await allPages { cursor in
                    let page = try await database.read { try await $0.datasets(filter, after: cursor, limit: limit) }
                    return (page.datasets, page.nextCursor)
                }.flatMap { $0 }.map(\.id)
            }
            let cases: [(DatasetFilter, [String])] = [
                (DatasetFilter(), ["bj-health", "bj-parking", "bj-traffic", "sh-core", "tj-bus", "tj-port"]),
                (DatasetFilter(authorityID: "bj"), ["bj-health", "bj-parking", "bj-traffic"]),
                (DatasetFilter(authorityID: "gd"), []),
                (DatasetFilter(theme: "traffic"), ["bj-parking", "bj-traffic", "tj-bus"]),
                (DatasetFilter(openness: .conditional), ["bj-health", "bj-parking"]),
                (DatasetFilter(openness: .closed), ["tj-bus"]),
                (DatasetFilter(grade: .important), ["bj-health", "tj-port"]),
                (DatasetFilter(grade: .core), ["sh-core"]),
                (DatasetFilter(authorityID: "tj", theme: "traffic"), ["tj-bus"]),
                (DatasetFilter(authorityID: "bj", openness: .conditional, grade: .general), ["bj-parking"]),
                // Text: id, title or description, any case, any script.
                (DatasetFilter(text: "traffic"), ["bj-traffic", "tj-port"]),
                (DatasetFilter(text: "TrAfFiC"), ["bj-traffic", "tj-port"]),
                (DatasetFilter(text: "交通"), ["bj-traffic"]),
                (DatasetFilter(text: "停车场"), ["bj-parking"]),
                (DatasetFilter(text: "天津港"), ["tj-port"]),
                (DatasetFilter(text: "门诊\né"), ["bj-health"]),
                (DatasetFilter(text: "étude"), ["bj-health"]),
                (DatasetFilter(text: "Étude DES"), ["bj-health"]),
                // Compared in one normalization form: a decomposed é finds the precomposed one.
                (DatasetFilter(text: "E\u{301}TUDE"), ["bj-health"]),
                (DatasetFilter(text: "电网"), ["sh-core"]),
                (DatasetFilter(text: ""), ["bj-health", "bj-parking", "bj-traffic", "sh-core", "tj-bus", "tj-port"]),
                (DatasetFilter(text: "-"), ["bj-health", "bj-parking", "bj-traffic", "sh-core", "tj-bus", "tj-port"]),
                (DatasetFilter(text: "tj-"), ["tj-bus", "tj-port"]),
                // Pattern characters of LIKE are plain text here.
                (DatasetFilter(text: "%"), ["bj-parking"]),
                (DatasetFilter(text: "100%"), ["bj-parking"]),
                (DatasetFilter(text: "_"), ["tj-bus"]),
                (DatasetFilter(text: "b_s"), []),
                (DatasetFilter(text: "p%g"), []),
                (DatasetFilter(text: "'; DROP TABLE datasets; --"), []),
                // Never across the boundary of id, title and description.
                (DatasetFilter(text: "sensors\u{1F}"), []),
                (DatasetFilter(text: "traffic北京"), []),
                (DatasetFilter(authorityID: "tj", text: "交通"), []),
                (DatasetFilter(authorityID: "bj", text: "o"), ["bj-parking", "bj-traffic"]),
            ]
            for (filter, expected) in cases {
                #expect(try await ids(filter) == expected, "\(filter)")
                #expect(try await ids(filter, limit: 1) == expected, "\(filter), limit 1")
            }

            // Pages of two over the whole catalog, with the cursor of each page.
            let pages = try await allPages { cursor in
                let page = try await database.read { try await $0.datasets(DatasetFilter(), after: cursor, limit: 2) }
                return (page.datasets.map(\.id), page.nextCursor)
            }
            #expect(pages == [["bj-health", "bj-parking"], ["bj-traffic", "sh-core"], ["tj-bus", "tj-port"]])
            let conditional = try await database.read { try await $0.datasets(DatasetFilter(openness: .conditional), after: nil, limit: 2) }
            #expect(conditional.nextCursor == nil)
            #expect(conditional.datasets == datasets.filter { $0.openness == .conditional }.sorted { $0.id < $1.id })
        }
    }

    @Test("a cursor that the catalog listing did not hand out is invalid_cursor", arguments: Backend.available)
    func badCursor(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            try await database.transaction { transaction in
                for id in ["bj-a", "bj-b", "bj-c"] { try await transaction.insertDataset(try LicensingSamples.dataset(id)) }
                try await transaction.insertAuthority(Samples.authority("aa"))
                try await transaction.insertAuthority(Samples.authority("bb"))
                let open = try LicensingSamples.dataset("bj-a")
                try await transaction.insertGrant(try LicensingSamples.requested("gr-1", operator: op, datasets: [open]))
                try await transaction.insertGrant(try LicensingSamples.requested("gr-2", operator: op, datasets: [open]))
            }
            let authorityCursor = try #require(try await database.read { try await $0.authorities(after: nil, limit: 1) }.nextCursor)
            let grantCursor = try #require(try await database.read { try await $0.grants(GrantFilter(), after: nil, limit: 1) }.nextCursor)
            let datasetCursor = try #require(try await database.read { try await $0.datasets(DatasetFilter(), after: nil, limit: 1) }.nextCursor)
            for cursor in ["bj-a", "", "!!!", authorityCursor, grantCursor, PageCursor(listing: "datasets", key: ["a", "b"]).token] {
                await #expect(throws: LicensingError(code: .invalidCursor, detail: ""), "\(cursor)") {
                    try await database.read { try await $0.datasets(DatasetFilter(), after: cursor, limit: 1) }
                }
            }
            for cursor in [datasetCursor, authorityCursor, PageCursor(listing: "grants", key: ["soon", "gr-1"]).token] {
                await #expect(throws: LicensingError(code: .invalidCursor, detail: ""), "\(cursor)") {
                    try await database.read { try await $0.grants(GrantFilter(), after: cursor, limit: 1) }
                }
            }
        }
    }
}

@Suite("Grants on SQLite and PostgreSQL")
struct GrantStorageTests {
    @Test("a grant is inserted once with its datasets and read back whole", arguments: Backend.available)
    func insertAndFind(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let full = try LicensingSamples.fullyPopulated()
            try await database.transaction { try await $0.insertGrant(full.grant) }
            let stored = try #require(try await database.read { try await $0.grant(id: "gr-full") })
            #expect(stored == full.grant)
            #expect(stored.reasons.first?.datasetID == "bj-traffic")
            #expect(try await database.transaction { try await $0.grant(id: "gr-full") } == full.grant)
            #expect(try await database.read { try await $0.grant(id: "gr-none") } == nil)
            let rows = try await database.read { reader in
                try await reader.context.query("SELECT grant_id, dataset_id, authority_id FROM grant_datasets ORDER BY dataset_id")
                    .map { try [$0.text(0), $0.text(1), $0.text(2)] }
            }
            #expect(rows == [["gr-full", "bj-traffic", "bj"], ["gr-full", "tj-port", "tj"]])

            let rival = try LicensingSamples.requested("gr-full", operator: full.operator, datasets: [try LicensingSamples.dataset("bj-open")])
            try await database.transaction { transaction in
                await #expect(throws: LicensingError(code: .grantExists, detail: "")) {
                    try await transaction.insertGrant(rival)
                }
                try await transaction.insertGrant(try LicensingSamples.requested("gr-2", operator: full.operator,
                                                                                 datasets: [try LicensingSamples.dataset("bj-open")]))
            }
            #expect(try await database.read { try await $0.grant(id: "gr-full") } == full.grant)
            #expect(try await database.read { try await $0.grant(id: "gr-2") }?.status == .active)
        }
    }

    @Test("an update at the next revision replaces the grant; a stale one changes nothing", arguments: Backend.available)
    func update(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            try await database.transaction { try await $0.insertGrant(try LicensingSamples.requested("gr-1", operator: op, datasets: [open])) }

            // An admin suspends and another revokes, both from the same read; only the first may store.
            let read = try #require(try await database.read { try await $0.grant(id: "gr-1") })
            let suspended = try LicensingSamples.suspended(read, at: 60)
            let revoked = try #require(LicensingSamples.lifecycle.revoke(read, by: LicensingSamples.admin, reason: "breach",
                                                                         at: Samples.time(61)).change).updated
            #expect(suspended.revision == 2 && revoked.revision == 2)
            try await database.transaction { try await $0.updateGrant(suspended) }
            await #expect(throws: LicensingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.updateGrant(revoked) }
            }
            #expect(try await database.read { try await $0.grant(id: "gr-1") } == suspended)
            #expect(try await database.read { try await $0.grants(GrantFilter(status: .revoked), after: nil, limit: 10) }.grants.isEmpty)

            // Skipping a revision is stale too.
            let reinstated = try #require(LicensingSamples.lifecycle.reinstate(
                suspended, by: LicensingSamples.admin, reason: nil, operator: op, datasets: [open.id: open], at: Samples.time(70)).change).updated
            let expired = try #require(LicensingSamples.lifecycle.expire(reinstated, at: Samples.time(91 * 86_400)))
            await #expect(throws: LicensingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.updateGrant(expired.updated) }
            }
            try await database.transaction { transaction in
                try await transaction.updateGrant(reinstated)
                try await transaction.updateGrant(expired.updated)
            }
            #expect(try await database.read { try await $0.grant(id: "gr-1") } == expired.updated)

            let ghost = try LicensingSamples.suspended(try LicensingSamples.requested("gr-ghost", operator: op, datasets: [open]), at: 60)
            await #expect(throws: LicensingError(code: .grantNotFound, detail: "")) {
                try await database.transaction { try await $0.updateGrant(ghost) }
            }
        }
    }

    @Test("grants are listed newest request first, by each filter, in pages", arguments: Backend.available)
    func listing(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = try LicensingSamples.approvedOperator("op-1", uscc: 1)
            let second = try LicensingSamples.approvedOperator("op-2", uscc: 2)
            let bjOpen = try LicensingSamples.dataset("bj-open")
            let bjCond = try LicensingSamples.dataset("bj-cond", openness: .conditional)
            let tjOpen = try LicensingSamples.dataset("tj-open", authority: "tj")
            let closed = try LicensingSamples.dataset("tj-closed", authority: "tj", openness: .closed)
            // (id, operator, datasets, seconds after start); gr-b, gr-c and gr-d share a request time.
            let plan: [(String, Operator, [Dataset], Double)] = [
                ("gr-a", first, [bjOpen], 10), ("gr-c", first, [bjCond, tjOpen], 20), ("gr-b", second, [tjOpen], 20),
                ("gr-d", second, [bjOpen, tjOpen], 20), ("gr-e", first, [closed], 30), ("gr-f", second, [bjCond], 40.001),
            ]
            let grants = Dictionary(uniqueKeysWithValues: try plan.map { id, op, datasets, seconds in
                (id, try LicensingSamples.requested(id, operator: op, datasets: datasets, at: seconds))
            })
            try await database.transaction { transaction in
                for (id, _, _, _) in plan { try await transaction.insertGrant(grants[id]!) }
            }
            #expect(grants.mapValues(\.status) == ["gr-a": .active, "gr-b": .active, "gr-c": .pending, "gr-d": .active,
                                                    "gr-e": .denied, "gr-f": .pending])
            let cases: [(GrantFilter, [String])] = [
                (GrantFilter(), ["gr-f", "gr-e", "gr-d", "gr-c", "gr-b", "gr-a"]),
                (GrantFilter(operatorID: "op-1"), ["gr-e", "gr-c", "gr-a"]),
                (GrantFilter(operatorID: "op-3"), []),
                (GrantFilter(authorityID: "bj"), ["gr-f", "gr-d", "gr-c", "gr-a"]),
                (GrantFilter(authorityID: "tj"), ["gr-e", "gr-d", "gr-c", "gr-b"]),
                (GrantFilter(datasetID: "tj-open"), ["gr-d", "gr-c", "gr-b"]),
                (GrantFilter(datasetID: "bj-cond"), ["gr-f", "gr-c"]),
                (GrantFilter(status: .active), ["gr-d", "gr-b", "gr-a"]),
                (GrantFilter(status: .pending), ["gr-f", "gr-c"]),
                (GrantFilter(status: .revoked), []),
                (GrantFilter(operatorID: "op-2", authorityID: "bj"), ["gr-f", "gr-d"]),
                (GrantFilter(operatorID: "op-1", authorityID: "tj", status: .pending), ["gr-c"]),
                (GrantFilter(authorityID: "tj", datasetID: "bj-open"), ["gr-d"]),
            ]
            for limit in [1, 2, 4, 10] {
                for (filter, expected) in cases {
                    let pages = try await allPages { cursor in
                        let page = try await database.read { try await $0.grants(filter, after: cursor, limit: limit) }
                        return (page.grants, page.nextCursor)
                    }
                    #expect(pages.flatMap { $0 }.map(\.id) == expected, "\(filter), limit \(limit)")
                    #expect(pages.flatMap { $0 } == expected.map { grants[$0]! })
                    #expect(pages.count == max(1, (expected.count + limit - 1) / limit))
                }
            }
        }
    }

    @Test("grants by dataset and by operator, with statuses", arguments: Backend.available)
    func byDatasetAndOperator(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = try LicensingSamples.approvedOperator("op-1", uscc: 1)
            let second = try LicensingSamples.approvedOperator("op-2", uscc: 2)
            let open = try LicensingSamples.dataset("bj-open")
            let cond = try LicensingSamples.dataset("tj-cond", authority: "tj", openness: .conditional)
            let both = try LicensingSamples.requested("gr-both", operator: first, datasets: [cond, open], at: 30)
            let pending = try LicensingSamples.requested("gr-pending", operator: first, datasets: [cond], at: 20)
            let suspended = try LicensingSamples.suspended(try LicensingSamples.requested("gr-suspended", operator: second,
                                                                                          datasets: [open], at: 10), at: 50)
            let other = try LicensingSamples.requested("gr-other", operator: second, datasets: [open], at: 40)
            try await database.transaction { transaction in
                for grant in [both, pending, suspended, other] { try await transaction.insertGrant(grant) }
            }
            // gr-both is pending too: tj-cond needs tj's approval.
            #expect(both.status == .pending)
            try await database.read { reader async throws in
                let live: Set<GrantStatus> = [.active, .suspended]
                #expect(try await reader.grants(withDataset: "bj-open", statuses: live).map(\.id) == ["gr-suspended", "gr-other"])
                #expect(try await reader.grants(withDataset: "bj-open", statuses: Set(GrantStatus.allCases)).map(\.id)
                    == ["gr-suspended", "gr-both", "gr-other"])
                #expect(try await reader.grants(withDataset: "tj-cond", statuses: [.pending]) == [pending, both])
                #expect(try await reader.grants(withDataset: "tj-cond", statuses: [.active]) == [])
                #expect(try await reader.grants(withDataset: "bj-open", statuses: []) == [])
                #expect(try await reader.grants(withDataset: "nothing", statuses: live) == [])
                #expect(try await reader.grants(ofOperator: "op-1", statuses: [.pending]) == [pending, both])
                #expect(try await reader.grants(ofOperator: "op-2", statuses: [.suspended]) == [suspended])
                #expect(try await reader.grants(ofOperator: "op-2", statuses: live.union([.pending])) == [suspended, other])
                #expect(try await reader.grants(ofOperator: "op-1", statuses: [.active, .denied]) == [])
                #expect(try await reader.grants(ofOperator: "op-1", statuses: []) == [])
            }
        }
    }

    @Test("grants ending by a time, with given statuses, earliest end first", arguments: Backend.available)
    func ending(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            let cond = try LicensingSamples.dataset("bj-cond", openness: .conditional)
            let day = 86_400.0
            // Terms start 10 s after start and last these many days.
            let short = try LicensingSamples.requested("gr-short", operator: op, datasets: [open], days: 1)
            let shortTwin = try LicensingSamples.requested("gr-short-2", operator: op, datasets: [open], days: 1)
            let middle = try LicensingSamples.suspended(try LicensingSamples.requested("gr-middle", operator: op, datasets: [open], days: 5), at: 60)
            let long = try LicensingSamples.requested("gr-long", operator: op, datasets: [open], days: 30)
            let pending = try LicensingSamples.requested("gr-pending", operator: op, datasets: [cond], days: 2)
            try await database.transaction { transaction in
                for grant in [long, pending, middle, shortTwin, short] { try await transaction.insertGrant(grant) }
            }
            let live: Set<GrantStatus> = [.active, .suspended]
            func ending(_ seconds: Double, _ statuses: Set<GrantStatus> = live, limit: Int = 10) async throws -> [String] {
                try await database.read { try await $0.grantsEnding(atOrBefore: Samples.time(seconds), statuses: statuses, limit: limit) }.map(\.id)
            }
            #expect(try await ending(10 + day - 0.001) == [])
            // The end is exclusive for usage, so a grant ending exactly now is due.
            #expect(try await ending(10 + day) == ["gr-short", "gr-short-2"])
            #expect(try await ending(10 + 5 * day) == ["gr-short", "gr-short-2", "gr-middle"])
            #expect(try await ending(10 + 5 * day, [.suspended]) == ["gr-middle"])
            #expect(try await ending(10 + 5 * day, [.pending]) == ["gr-pending"])
            #expect(try await ending(10 + 365 * day) == ["gr-short", "gr-short-2", "gr-middle", "gr-long"])
            #expect(try await ending(10 + 365 * day, limit: 3) == ["gr-short", "gr-short-2", "gr-middle"])
            #expect(try await ending(10 + 365 * day, limit: 0) == [])
            #expect(try await ending(10 + 365 * day, []) == [])

            // What a sweep does with them: expire, store, and they are no longer due.
            try await database.transaction { transaction in
                let now = Samples.time(10 + 5 * day)
                for grant in try await transaction.grantsEnding(atOrBefore: now, statuses: live, limit: 100) {
                    try await transaction.updateGrant(try #require(LicensingSamples.lifecycle.expire(grant, at: now)).updated)
                }
            }
            #expect(try await ending(10 + 365 * day) == ["gr-long"])
            #expect(try await ending(10 + 365 * day, [.expired]) == ["gr-short", "gr-short-2", "gr-middle"])
        }
    }

    @Test("a row whose document does not match its columns is unexpected_data", arguments: Backend.available)
    func corruptDocument(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            try await database.transaction { transaction in
                try await transaction.insertDataset(open)
                try await transaction.insertGrant(try LicensingSamples.requested("gr-1", operator: op, datasets: [open]))
            }
            try await database.transaction { transaction in
                try await transaction.context.execute("UPDATE grants SET status = 'suspended'")
                try await transaction.context.execute("UPDATE datasets SET authority_id = 'tj'")
            }
            let grantError = await #expect(throws: StorageError.self) {
                try await database.read { try await $0.grant(id: "gr-1") }
            }
            #expect(grantError?.code == .unexpectedData)
            let datasetError = await #expect(throws: StorageError.self) {
                try await database.read { try await $0.datasets(DatasetFilter(), after: nil, limit: 5) }
            }
            #expect(datasetError?.code == .unexpectedData)
        }
    }

    @Test("a rolled-back transaction leaves no dataset, grant, grant dataset or generation", arguments: Backend.available)
    func rollback(backend: Backend) async throws {
        struct Abandon: Error {}
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            await #expect(throws: Abandon.self) {
                try await database.transaction { transaction in
                    try await transaction.insertDataset(open)
                    try await transaction.insertGrant(try LicensingSamples.requested("gr-1", operator: op, datasets: [open]))
                    #expect(try await transaction.grantGeneration() == 1)
                    #expect(try await transaction.grant(id: "gr-1") != nil)
                    throw Abandon()
                }
            }
            try await database.read { reader async throws in
                #expect(try await reader.dataset(id: "bj-open") == nil)
                #expect(try await reader.grant(id: "gr-1") == nil)
                #expect(try await reader.grants(GrantFilter(datasetID: "bj-open"), after: nil, limit: 10).grants.isEmpty)
                #expect(try await reader.grantGeneration() == 0)
                #expect(try await reader.context.query("SELECT 1 FROM grant_datasets").isEmpty)
            }
        }
    }

    @Test("a reviewer's queue: pending grants its authority has not decided, paged across many grants", arguments: Backend.available)
    func awaitingQueue(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let traffic = try LicensingSamples.dataset("bj-traffic", authority: "bj", openness: .conditional)
            let port = try LicensingSamples.dataset("tj-port", authority: "tj", theme: "logistics", openness: .conditional)
            let byID = [traffic.id: traffic, port.id: port]
            // More grants than one read of the queue takes, a third already approved by Beijing, so
            // that pages end in the middle of reads and reads hold grants the queue skips.
            var waitingForBeijing: [String] = []
            var waitingForTianjin: [String] = []
            try await database.transaction { tx in
                for n in 0..<450 {
                    let id = "gr-\(n)"
                    var grant = try LicensingSamples.requested(id, operator: op, datasets: [traffic, port], at: 10 + Double(n))
                    try #require(grant.status == .pending)
                    if n % 3 == 0 {
                        grant = try #require(LicensingSamples.lifecycle.decide(
                            grant, by: LicensingSamples.reviewer("bj"), decision: .approve, reason: nil, operator: op,
                            datasets: byID, at: Samples.time(10 + Double(n))).change).updated
                        try #require(grant.status == .pending)
                    } else {
                        waitingForBeijing.append(id)
                    }
                    waitingForTianjin.append(id)
                    try await tx.insertGrant(grant)
                }
                let onlyBeijing = try LicensingSamples.requested("gr-bj", operator: op, datasets: [traffic], at: 5)
                try await tx.insertGrant(onlyBeijing)
                waitingForBeijing.append(onlyBeijing.id)
            }
            for (authority, expected) in [("bj", waitingForBeijing), ("tj", waitingForTianjin)] {
                for limit in [7, 250, 1_000] {
                    var ids: [String] = []
                    var cursor: String?
                    repeat {
                        let page = try await database.read {
                            try await $0.grants(GrantFilter(awaitingAuthorityID: authority), after: cursor, limit: limit)
                        }
                        #expect(page.grants.count <= limit)
                        #expect(page.grants.allSatisfy { $0.awaitsDecision(of: authority) })
                        ids += page.grants.map(\.id)
                        cursor = page.nextCursor
                    } while cursor != nil
                    // Newest request first: the reverse of the order they were requested in.
                    #expect(ids == expected.sorted { Int($0.dropFirst(3)) ?? -1 > Int($1.dropFirst(3)) ?? -1 },
                            "\(authority), limit \(limit)")
                }
            }
            #expect(try await database.read {
                try await $0.grants(GrantFilter(awaitingAuthorityID: "hb"), after: nil, limit: 10)
            }.grants.isEmpty)
        }
    }
}

@Suite("Grant generations and the grant directory on SQLite and PostgreSQL")
struct GrantGenerationTests {
    @Test("every grant insert and update takes the next generation and stamps the row", arguments: Backend.available)
    func bumps(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            func stamps() async throws -> [String: Int64] {
                try await database.read { reader in
                    Dictionary(uniqueKeysWithValues: try await reader.context.query("SELECT id, generation FROM grants")
                        .map { (try $0.text(0), try $0.integer(1)) })
                }
            }
            #expect(try await database.read { try await $0.grantGeneration() } == 0)
            let first = try LicensingSamples.requested("gr-1", operator: op, datasets: [open])
            let second = try LicensingSamples.requested("gr-2", operator: op, datasets: [open])
            try await database.transaction { transaction in
                try await transaction.insertGrant(first)
                try await transaction.insertGrant(second)
                // Datasets do not take generations.
                try await transaction.insertDataset(open)
            }
            #expect(try await database.read { try await $0.grantGeneration() } == 2)
            #expect(try await stamps() == ["gr-1": 1, "gr-2": 2])

            try await database.transaction { try await $0.updateGrant(try LicensingSamples.suspended(first, at: 60)) }
            #expect(try await database.read { try await $0.grantGeneration() } == 3)
            #expect(try await stamps() == ["gr-1": 3, "gr-2": 2])

            // A refused write may use up a generation, but stamps nothing.
            try await database.transaction { transaction async throws -> Void in
                await #expect(throws: LicensingError(code: .grantExists, detail: "")) { try await transaction.insertGrant(second) }
            }
            let after = try await database.read { try await $0.grantGeneration() }
            #expect(after >= 3)
            #expect(try await stamps() == ["gr-1": 3, "gr-2": 2])
            try await database.transaction { try await $0.updateGrant(try LicensingSamples.suspended(second, at: 60)) }
            #expect(try await database.read { try await $0.grantGeneration() } == after + 1)
            #expect(try await stamps() == ["gr-1": 3, "gr-2": after + 1])
        }
    }

    @Test("a refresh loads every grant the first time and only changed grants afterwards", arguments: Backend.available)
    func refresh(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            let cond = try LicensingSamples.dataset("bj-cond", openness: .conditional)
            let directory = GrantDirectory()

            // Nothing stored yet: the directory moves to generation 0 and holds nothing.
            try await database.read { try await $0.refresh(directory) }
            #expect(directory.generation == 0 && directory.count == 0)

            let first = try LicensingSamples.requested("gr-1", operator: op, datasets: [open])
            let second = try LicensingSamples.requested("gr-2", operator: op, datasets: [open])
            let pending = try LicensingSamples.requested("gr-pending", operator: op, datasets: [cond])
            try await database.transaction { transaction in
                for grant in [first, second, pending] { try await transaction.insertGrant(grant) }
            }
            try await database.read { try await $0.refresh(directory) }
            #expect(directory.generation == 3)
            // A grant never in force is kept out: it answers like one that does not exist.
            #expect(directory.count == 2)
            #expect(directory.snapshot("gr-1") == GrantSnapshot(first))
            #expect(directory.check(LicensingSamples.query(pending, at: Samples.time(100))) == .denied(.grantNotFound))
            #expect(directory.check(LicensingSamples.query(first, at: Samples.time(100))) == .allowed)

            // Nothing changed: nothing is read. A document broken behind the store's back shows it,
            // since reading that row would fail.
            try await database.transaction { transaction in
                try await transaction.context.execute("UPDATE grants SET document = 'broken' WHERE id = 'gr-2'")
            }
            try await database.read { try await $0.refresh(directory) }

            // gr-1 changes: only it is read, and its suspension shows.
            let suspended = try LicensingSamples.suspended(first, at: 200)
            try await database.transaction { try await $0.updateGrant(suspended) }
            try await database.read { try await $0.refresh(directory) }
            #expect(directory.generation == 4)
            #expect(directory.snapshot("gr-1") == GrantSnapshot(suspended))
            #expect(directory.check(LicensingSamples.query(first, at: Samples.time(100))) == .allowed)
            #expect(directory.check(LicensingSamples.query(first, at: Samples.time(300))) == .denied(.grantNotActive))
            #expect(directory.snapshot("gr-2") == GrantSnapshot(second))

            // A directory that starts over loads every grant, and so trips over the broken one.
            let fresh = GrantDirectory()
            let error = await #expect(throws: StorageError.self) {
                try await database.read { try await $0.refresh(fresh) }
            }
            #expect(error?.code == .unexpectedData)
            #expect(fresh.generation == -1)
        }
    }

    @Test("a change committed through one handle reaches a directory refreshed through another", arguments: Backend.available)
    func twoHandles(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            // Like two server processes on one database.
            let writer = try await fixture.open()
            let checker = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let open = try LicensingSamples.dataset("bj-open")
            let cond = try LicensingSamples.dataset("tj-cond", authority: "tj", openness: .conditional)
            let grant = try LicensingSamples.requested("gr-1", operator: op, datasets: [open])
            let pending = try LicensingSamples.requested("gr-2", operator: op, datasets: [cond])
            try await writer.transaction { transaction in
                try await transaction.insertDataset(open)
                try await transaction.insertDataset(cond)
                try await transaction.insertGrant(grant)
                try await transaction.insertGrant(pending)
            }
            let directory = GrantDirectory()
            try await checker.read { try await $0.refresh(directory) }
            let beforeSuspension = Samples.time(100)
            let afterSuspension = Samples.time(300)
            #expect(directory.check(LicensingSamples.query(grant, at: afterSuspension)) == .allowed)
            #expect(directory.check(LicensingSamples.query(pending, at: afterSuspension)) == .denied(.grantNotFound))

            // Handle A suspends gr-1 and approves gr-2.
            try await writer.transaction { transaction in
                let stored = try #require(try await transaction.grant(id: "gr-1"))
                try await transaction.updateGrant(try LicensingSamples.suspended(stored, at: 200))
                let waiting = try #require(try await transaction.grant(id: "gr-2"))
                let approved = try #require(LicensingSamples.lifecycle.decide(
                    waiting, by: LicensingSamples.reviewer("tj"), decision: .approve, reason: nil, operator: op,
                    datasets: [cond.id: cond], at: Samples.time(250)).change).updated
                try await transaction.updateGrant(approved)
            }
            // Handle B has not looked yet; then it does, in a read and in a transaction.
            #expect(directory.check(LicensingSamples.query(grant, at: afterSuspension)) == .allowed)
            try await checker.read { try await $0.refresh(directory) }
            #expect(directory.generation == 4)
            #expect(directory.check(LicensingSamples.query(grant, at: afterSuspension)) == .denied(.grantNotActive))
            #expect(directory.check(LicensingSamples.query(grant, at: beforeSuspension)) == .allowed)
            #expect(directory.check(LicensingSamples.query(pending, at: afterSuspension)) == .allowed)
            #expect(directory.check(LicensingSamples.query(pending, at: beforeSuspension)) == .denied(.grantNotActive))

            try await writer.transaction { transaction in
                let stored = try #require(try await transaction.grant(id: "gr-2"))
                try await transaction.updateGrant(try LicensingSamples.suspended(stored, at: 400))
            }
            try await checker.transaction { try await $0.refresh(directory) }
            #expect(directory.generation == 5)
            #expect(directory.check(LicensingSamples.query(pending, at: Samples.time(500))) == .denied(.grantNotActive))

            // Changes racing a refresh: whatever the interleaving, a final refresh sees the final state.
            let others = try (3...12).map { try LicensingSamples.requested("gr-\($0)", operator: op, datasets: [open]) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for grant in others {
                        try await writer.transaction { try await $0.insertGrant(grant) }
                    }
                }
                group.addTask {
                    for _ in 0..<10 { try await checker.read { try await $0.refresh(directory) } }
                }
                try await group.waitForAll()
            }
            try await checker.read { try await $0.refresh(directory) }
            #expect(directory.generation == 15)
            #expect(directory.count == 12)
            #expect(others.allSatisfy { directory.check(LicensingSamples.query($0, at: Samples.time(500))) == .allowed })
        }
    }
}
