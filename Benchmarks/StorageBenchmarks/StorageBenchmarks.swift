import AuditLog
import Benchmark
import BenchmarkSupport
import CSQLiteBaseline
import Cryptography
import Foundation
import Persistence

// TransparencyLog.append in batches of 1,000 records, one transaction per batch, as durable as the
// server runs it (SQLite in WAL mode with synchronous=FULL: every commit is synced), against the
// floor: plain SQLite inserts of the same entry bytes into a table of the same shape, with the same
// settings; and the storage layer's insert of the same rows alone (`insertEntries`), on each store
// (on PostgreSQL, which has no plain-driver baseline here, that is the floor). Each iteration is one
// batch; with scaling factor kilo, times are per entry and throughput is in entries per second.

/// Records are built before measuring: only the append is timed.
let records = (0..<UInt64(1_000)).map(SampleEntries.record(seq:))

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 200
    )

    for (name, open) in benchmarkStores() {
        let log = Shared<(store: OpenedStore, log: TransparencyLog)>()
        Benchmark("Storage: TransparencyLog.append, 1,000 per transaction (\(name))", configuration: configuration) { benchmark in
            guard let (store, log) = log.value else { return }
            _ = try await store.database.transaction { transaction in
                try await log.append(records, in: transaction)
            }
        } setup: {
            let store = try await open()
            let transparencyLog = try TransparencyLog(database: store.database, signers: [benchmarkSigner()])
            try await transparencyLog.initializeIfEmpty()
            log.value = (store, transparencyLog)
        } teardown: {
            guard let (store, _) = log.value else { return }
            await store.database.close()
            store.remove()
            log.value = nil
        }

        let rows = Shared<(store: OpenedStore, next: UInt64)>()
        Benchmark(
            "Storage: DatabaseTransaction.insertEntries of the same rows, 1,000 per transaction (\(name))",
            configuration: configuration
        ) { benchmark in
            guard let (store, next) = rows.value else { return }
            try await store.database.transaction { transaction in
                try await transaction.insertEntries(storedEntries(from: next))
            }
            rows.value?.next += UInt64(records.count)
        } setup: {
            rows.value = (try await open(), 0)
        } teardown: {
            guard let (store, _) = rows.value else { return }
            await store.database.close()
            store.remove()
            rows.value = nil
        }
    }

    let plain = Shared<(database: PlainSQLite, directory: URL)>()
    Benchmark(
        "Storage: plain SQLite inserts of the same bytes, 1,000 per transaction (baseline)",
        configuration: configuration
    ) { benchmark in
        guard let (database, _) = plain.value else { return }
        try database.insertBatch()
    } setup: {
        let directory = try temporaryDirectory()
        plain.value = (try PlainSQLite(path: directory.appendingPathComponent("plain.sqlite").path), directory)
    } teardown: {
        guard let (database, directory) = plain.value else { return }
        database.close()
        try? FileManager.default.removeItem(at: directory)
        plain.value = nil
    }

    usageBenchmarks()
    usageOverHTTPBenchmarks()
    usageSummaryBenchmarks()
    releaseBenchmarks()
}

/// Entry bytes and leaf hashes of one batch, computed before measuring.
let sampleRows = (0..<UInt64(1_000)).map { seq in
    let body = SampleEntries.entry(seq: seq)
    return (body: body, leafHash: MerkleHash.leaf(body), action: SampleEntries.record(seq: seq).action)
}

/// The rows the log would store for one batch of sample entries, at `first` and after.
func storedEntries(from first: UInt64) -> [StoredEntry] {
    let time = Date()
    return sampleRows.enumerated().map { offset, row in
        StoredEntry(seq: first + UInt64(offset), time: time, action: row.action, leafHash: row.leafHash, body: row.body)
    }
}

/// The fixed benchmark key: figures must not depend on which key a run draws.
func benchmarkSigner() throws -> NoteSigner {
    try NoteSigner(name: "bench.pdx.example/log", key: try Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32)))
}

struct SQLiteFailure: Error, CustomStringConvertible {
    var description: String
}

/// SQLite through its C API with the log's settings and row shape, and nothing else: no encoding,
/// no hashing, no tree nodes, no head, no checkpoints.
final class PlainSQLite {
    private var database: OpaquePointer?
    private var insert: OpaquePointer?
    private var nextSeq: UInt64 = 0
    /// The rows of one batch, prepared up front: entry bytes, leaf hash and action, as the log stores them.
    private let rows: [(body: [UInt8], leafHash: [UInt8], action: String)]

    init(path: String) throws {
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            throw SQLiteFailure(description: "cannot open \(path)")
        }
        rows = sampleRows.map { ($0.body, $0.leafHash.bytes, $0.action) }
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
        try execute("""
            CREATE TABLE log_entries (
                seq INTEGER PRIMARY KEY CHECK (seq >= 0),
                time INTEGER NOT NULL,
                action TEXT NOT NULL,
                leaf_hash BLOB NOT NULL,
                body BLOB NOT NULL
            )
            """)
        let sql = "INSERT INTO log_entries (seq, time, action, leaf_hash, body) VALUES (?, ?, ?, ?, ?)"
        guard sqlite3_prepare_v2(database, sql, -1, &insert, nil) == SQLITE_OK else { throw failure() }
    }

    /// Inserts the batch's rows at the next sequence numbers in one `BEGIN IMMEDIATE` transaction.
    func insertBatch() throws {
        try execute("BEGIN IMMEDIATE")
        let time = Int64(Date().timeIntervalSince1970 * 1000)
        for row in rows {
            sqlite3_bind_int64(insert, 1, Int64(nextSeq))
            sqlite3_bind_int64(insert, 2, time)
            // No destructor (SQLITE_STATIC): the buffers outlive the step below.
            let done = row.body.withUnsafeBytes { body in
                row.leafHash.withUnsafeBytes { hash in
                    row.action.withCString { action in
                        sqlite3_bind_text(insert, 3, action, -1, nil)
                        sqlite3_bind_blob(insert, 4, hash.baseAddress, Int32(hash.count), nil)
                        sqlite3_bind_blob(insert, 5, body.baseAddress, Int32(body.count), nil)
                        return sqlite3_step(insert)
                    }
                }
            }
            sqlite3_reset(insert)
            guard done == SQLITE_DONE else { throw failure() }
            nextSeq += 1
        }
        try execute("COMMIT")
    }

    func close() {
        sqlite3_finalize(insert)
        sqlite3_close(database)
    }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(database, sql, nil, nil, nil) == SQLITE_OK else { throw failure() }
    }

    private func failure() -> SQLiteFailure {
        SQLiteFailure(description: String(cString: sqlite3_errmsg(database)))
    }
}

/// A database for one benchmark, and what removes it afterwards.
typealias OpenedStore = (database: any Database, remove: @Sendable () -> Void)

/// The stores a benchmark runs on: SQLite in a fresh directory (WAL, synchronous=FULL, as the server
/// runs it), and PostgreSQL in a fresh schema, dropped afterwards, when `PDX_TEST_POSTGRES_URL` is
/// set. PostgreSQL decides durability itself; with its defaults (fsync, synchronous_commit on) every
/// commit is flushed.
func benchmarkStores() -> [(name: String, open: @Sendable () async throws -> OpenedStore)] {
    var stores: [(name: String, open: @Sendable () async throws -> OpenedStore)] = [("SQLite", {
        let directory = try temporaryDirectory()
        let database = try await SQLiteDatabase(path: directory.appendingPathComponent("pdx.sqlite").path)
        return (database, { try? FileManager.default.removeItem(at: directory) })
    })]
    if let url = BenchmarkPostgres.url {
        stores.append(("PostgreSQL", {
            let schema = BenchmarkPostgres.newSchemaName()
            let database = try await PostgresDatabase(url: BenchmarkPostgres.url(url, schema: schema))
            return (database, { BenchmarkPostgres.dropSchema(schema, url: url) })
        }))
    }
    return stores
}
