import AuditLog
import Delivery
import Foundation
import Licensing
@testable import Persistence
import PDXTesting
import Testing

/// Release rows and their equality index on both stores: loaded in chunks under a `loading` row no
/// reader sees, published at once, discarded whole, taken over when stale.
@Suite("Releases on SQLite and PostgreSQL")
struct ReleaseStorageTests {
    static let fields = [
        DatasetField(name: "road", type: .string, sensitive: false, filterable: true),
        DatasetField(name: "hour", type: .integer, sensitive: false, filterable: true),
        DatasetField(name: "flow", type: .decimal, sensitive: false),
    ]

    /// `count` rows: road `r<n % 3>`, hour `n % 24`, flow `n.5`.
    static func rows(_ count: Int) throws -> [ReleaseRow] {
        var reader = ReleaseReader(fields: fields, mediaType: .csv)
        var text = "road,hour,flow\n"
        for n in 1...count { text += "r\(n % 3),\(n % 24),\(n).5\n" }
        return try reader.consume(Array(text.utf8)) + reader.finish()
    }

    static let t0 = Date(timeIntervalSince1970: 1_796_083_200)

    static func load(_ database: any Database, version: String, rows: [ReleaseRow], loadID: String = "load-1",
                     chunk: Int = 7, at time: Date = t0) async throws {
        try await database.transaction { tx in
            try await tx.beginRelease(datasetID: "bj-flow", version: version, mediaType: .csv, fields: fields.map(\.name),
                                      loadedBy: "pr_rev", loadID: loadID, at: time, staleBefore: time.addingTimeInterval(-600))
        }
        for start in stride(from: 0, to: rows.count, by: chunk) {
            let part = Array(rows[start..<min(rows.count, start + chunk)])
            try await database.transaction { tx in
                try await tx.appendReleaseRows(datasetID: "bj-flow", version: version, loadID: loadID, rows: part, at: time)
            }
        }
    }

    static func publish(_ database: any Database, version: String, rows: Int64, loadID: String = "load-1",
                        at time: Date = t0.addingTimeInterval(1)) async throws {
        try await database.transaction { tx in
            try await tx.publishRelease(datasetID: "bj-flow", version: version, loadID: loadID, sha256: String(repeating: "0", count: 64),
                                        rows: rows, bytes: 100, at: time)
        }
    }

    @Test("a loaded release is seen only once published, with its rows in order", arguments: Backend.available)
    func loadAndRead(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let rows = try Self.rows(50)
            try await Self.load(database, version: "v1", rows: rows)
            // Loading: no reader sees it.
            #expect(try await database.read { try await $0.releases(datasetID: "bj-flow") }.isEmpty)
            #expect(try await database.read { try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: 0, limit: 10) }.isEmpty)
            try await Self.publish(database, version: "v1", rows: 50)

            let release = try #require(try await database.read { try await $0.release(datasetID: "bj-flow", version: "v1") })
            #expect(release.rows == 50 && release.fields == ["road", "hour", "flow"] && release.publishedBy == "pr_rev")
            #expect(release.mediaType == .csv)
            let page = try await database.read { try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: 0, limit: 20) }
            #expect(page.map(\.rowNumber) == Array(1...20))
            #expect(page[0].document == rows[0].encoded)
            let next = try await database.read { try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: 45, limit: 20) }
            #expect(next.map(\.rowNumber) == [46, 47, 48, 49, 50])

            // A second release is listed first; the latest is it.
            try await Self.load(database, version: "v2", rows: try Self.rows(3), loadID: "load-2")
            try await Self.publish(database, version: "v2", rows: 3, loadID: "load-2", at: Self.t0.addingTimeInterval(60))
            #expect(try await database.read { try await $0.releases(datasetID: "bj-flow") }.map(\.version) == ["v2", "v1"])
            #expect(try await database.read { try await $0.latestRelease(datasetID: "bj-flow") }?.version == "v2")
            #expect(try await database.read { try await $0.latestRelease(datasetID: "other") } == nil)
        }
    }

    @Test("equality filters use the index, combine, and page by row number", arguments: Backend.available)
    func filters(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await Self.load(database, version: "v1", rows: try Self.rows(100))
            try await Self.publish(database, version: "v1", rows: 100)
            func numbers(_ filters: [(field: String, value: String)], after: Int64 = 0, limit: Int = 100) async throws -> [Int64] {
                try await database.read {
                    try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: after, limit: limit, filters: filters)
                }.map(\.rowNumber)
            }
            #expect(try await numbers([("road", "r1")]) == Array(stride(from: 1, through: 100, by: 3)).map(Int64.init))
            #expect(try await numbers([("road", "r1")], after: 10, limit: 3) == [13, 16, 19])
            // hour 7: rows 7, 31, 55, 79; of those road r1 (n % 3 == 1): 7, 31, 55, 79 → 7 % 3 = 1, 31 % 3 = 1, 55 % 3 = 1, 79 % 3 = 1.
            #expect(try await numbers([("hour", ReleaseValue.filterKey(for: .integer, text: "07")!)]) == [7, 31, 55, 79])
            #expect(try await numbers([("hour", "7"), ("road", "r1")]) == [7, 31, 55, 79])
            #expect(try await numbers([("hour", "8"), ("road", "r1")]).isEmpty)
            #expect(try await numbers([("hour", "8"), ("road", "r2")]) == [8, 32, 56, 80])
            // A field that is not filterable has no index: it matches nothing.
            #expect(try await numbers([("flow", "1.5")]).isEmpty)
            // The document of a filtered row is the row's.
            let row = try await database.read {
                try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: 0, limit: 1, filters: [("hour", "7")])
            }
            #expect(row.first?.document == "\"r1\"\u{1F}7\u{1F}7.5")
        }
    }

    @Test("a discarded load leaves nothing; a version is taken once; a stale load is taken over", arguments: Backend.available)
    func discardDuplicateAndTakeover(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await Self.load(database, version: "v1", rows: try Self.rows(20))
            try await database.transaction { try await $0.discardRelease(datasetID: "bj-flow", version: "v1", loadID: "load-1") }
            for table in ["releases", "release_rows", "release_values"] {
                let count = try await database.read { try await $0.context.query("SELECT count(*) FROM \(table)") }
                #expect(try count[0].integer(0) == 0, "\(table)")
            }

            // A load under way (recent progress) holds the version.
            try await Self.load(database, version: "v1", rows: try Self.rows(20))
            await #expect(throws: ReleaseError(.releaseExists, "")) {
                try await Self.load(database, version: "v1", rows: [], loadID: "load-2", at: Self.t0.addingTimeInterval(60))
            }
            // Ten minutes without progress: a new load takes it over, and the old one's rows are gone.
            try await Self.load(database, version: "v1", rows: try Self.rows(5), loadID: "load-3", at: Self.t0.addingTimeInterval(601))
            // The stalled load may not write any more.
            await #expect(throws: ReleaseError(.loadSuperseded, "")) {
                try await database.transaction { tx in
                    try await tx.appendReleaseRows(datasetID: "bj-flow", version: "v1", loadID: "load-1", rows: [], at: Self.t0)
                }
            }
            await #expect(throws: ReleaseError(.loadSuperseded, "")) {
                try await Self.publish(database, version: "v1", rows: 20)
            }
            try await Self.publish(database, version: "v1", rows: 5, loadID: "load-3")
            let rows = try await database.read { try await $0.releaseRows(datasetID: "bj-flow", version: "v1", after: 0, limit: 100) }
            #expect(rows.count == 5)
            // Published: the version is taken for good, however old.
            await #expect(throws: ReleaseError(.releaseExists, "")) {
                try await Self.load(database, version: "v1", rows: [], loadID: "load-4", at: Self.t0.addingTimeInterval(86_400))
            }
        }
    }
}
