import AuditLog
import Benchmark
import BenchmarkSupport
import Cryptography
import Delivery
import Foundation
import Licensing
import Persistence

// Dataset releases, on SQLite and on PostgreSQL (when PDX_TEST_POSTGRES_URL is set):
// - loading a 5-field CSV of 200,000 rows as the loader does it (the streaming reader, then rows
//   written 5,000 to a transaction under a `loading` release, then published), from bytes already
//   in memory, so the figure is the reader's and the store's;
// - a filtered read (`station = S…`, 1,000 matches, a page of 100) on a published 1,000,000-row
//   release: the index lookup behind the data API's equality filters.
// The load also reports the benchmark process's CPU time (the reader, the encoding and, on SQLite,
// the store; not the PostgreSQL server's): on a shared machine the wall clock mostly measures the
// other work.

let releaseFields = [
    DatasetField(name: "station", type: .string, sensitive: false, filterable: true),
    DatasetField(name: "hour", type: .integer, sensitive: false, filterable: true),
    DatasetField(name: "day", type: .date, sensitive: false),
    DatasetField(name: "flow", type: .decimal, sensitive: false),
    DatasetField(name: "open", type: .boolean, sensitive: false),
]

/// A CSV of `rows` rows: 1,000 stations, 24 hours.
func releaseCSV(rows: Int) -> [UInt8] {
    var text = "station,hour,day,flow,open\n"
    text.reserveCapacity(rows * 40)
    for n in 0..<rows {
        text += "S\(n % 1000),\(n % 24),2026-12-\(String(format: "%02d", n % 28 + 1)),\(n % 997).\(n % 10),\(n % 2 == 0)\n"
    }
    return Array(text.utf8)
}

/// Loads `bytes` as `version` of `bench-flow`, in chunks of 1 MiB.
func loadRelease(_ bytes: [UInt8], version: String, into database: any Database) async throws {
    let now = Date()
    let loadID = "load-\(version)"
    try await database.transaction { tx in
        try await tx.beginRelease(datasetID: "bench-flow", version: version, mediaType: .csv, fields: releaseFields.map(\.name),
                                  loadedBy: "pr_bench", loadID: loadID, at: now, staleBefore: now.addingTimeInterval(-600))
    }
    var reader = ReleaseReader(fields: releaseFields, mediaType: .csv)
    var pending: [ReleaseRow] = []
    func write(_ rows: [ReleaseRow]) async throws {
        try await database.transaction { tx in
            try await tx.appendReleaseRows(datasetID: "bench-flow", version: version, loadID: loadID, rows: rows, at: now)
        }
    }
    for start in stride(from: 0, to: bytes.count, by: 1 << 20) {
        pending += try reader.consume(bytes[start..<min(bytes.count, start + (1 << 20))])
        if pending.count >= 5000 {
            try await write(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }
    pending += try reader.finish()
    if !pending.isEmpty { try await write(pending) }
    let (rows, count, digest) = (reader.rowCount, reader.byteCount, reader.sha256!.hex)
    try await database.transaction { tx in
        _ = try await tx.lockHead()
        try await tx.publishRelease(datasetID: "bench-flow", version: version, loadID: loadID, sha256: digest,
                                    rows: rows, bytes: count, at: Date())
    }
}

func releaseBenchmarks() {
    let loading = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 1,
        maxDuration: .seconds(60), maxIterations: 5)
    let reading = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 20,
        maxDuration: .seconds(10), maxIterations: 5_000)
    let csv = Shared<[UInt8]>()

    for (name, open) in benchmarkStores() {
        let store = Shared<OpenedStore>()
        let counter = Shared<Int>()
        Benchmark("Release load: 200,000 rows of 5 fields from CSV (\(name))", configuration: loading) { benchmark in
            guard let (database, _) = store.value, let bytes = csv.value else { return }
            let iteration = (counter.value ?? 0) + 1
            counter.value = iteration
            benchmark.startMeasurement()
            try await loadRelease(bytes, version: "v\(iteration)", into: database)
            benchmark.stopMeasurement()
        } setup: {
            if csv.value == nil { csv.value = releaseCSV(rows: 200_000) }
            store.value = try await open()
        } teardown: {
            guard let (database, remove) = store.value else { return }
            await database.close()
            remove()
            store.value = nil
        }

        let large = Shared<OpenedStore>()
        let station = Shared<Int>()
        Benchmark("Release read: a page of 100 filtered by station, 1,000,000 rows (\(name))", configuration: reading) { _ in
            guard let (database, _) = large.value else { return }
            let next = ((station.value ?? 0) + 7) % 1000
            station.value = next
            let rows = try await database.read {
                try await $0.releaseRows(datasetID: "bench-flow", version: "big", after: 0, limit: 100,
                                         filters: [("station", "S\(next)")])
            }
            guard rows.count == 100 else { throw BatchesExhausted() }
        } setup: {
            let opened = try await open()
            try await loadRelease(releaseCSV(rows: 1_000_000), version: "big", into: opened.database)
            large.value = opened
        } teardown: {
            guard let (database, remove) = large.value else { return }
            await database.close()
            remove()
            large.value = nil
        }
    }
}
