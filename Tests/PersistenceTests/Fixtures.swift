import Identity
import AuditLog
import Cryptography
import Foundation
@testable import Persistence
import PDXTesting
import Testing

/// A fresh, empty database for one test (a file in a new directory, or a new PostgreSQL schema),
/// opened as many times as the test wants, like several processes would.
final class Fixture: @unchecked Sendable {
    let backend: Backend
    private let location: String
    private var handles: [any Database] = []

    private init(backend: Backend, location: String) {
        self.backend = backend
        self.location = location
    }

    /// Runs `body` with a fresh database, then closes every handle and deletes the data.
    static func with<T>(_ backend: Backend, _ body: (Fixture) async throws -> T) async throws -> T {
        let suffix = Hex.encode(try SecureRandom.bytes(6))
        let fixture: Fixture
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-store-\(suffix)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            fixture = Fixture(backend: backend, location: directory.appendingPathComponent("pdx.sqlite").path)
        case .postgres:
            let base = try #require(Backend.postgresURL)
            let separator = base.contains("?") ? "&" : "?"
            fixture = Fixture(backend: backend, location: "\(base)\(separator)schema=test_\(suffix)")
        }
        do {
            let result = try await body(fixture)
            await fixture.tearDown()
            return result
        } catch {
            await fixture.tearDown()
            throw error
        }
    }

    /// Opens one more handle on the database.
    func open() async throws -> any Database {
        let database: any Database = switch backend {
        case .sqlite: try await SQLiteDatabase(path: location)
        case .postgres: try await PostgresDatabase(url: location, acquireTimeout: .seconds(10))
        }
        handles.append(database)
        return database
    }

    private func tearDown() async {
        if backend == .postgres, let schema = location.components(separatedBy: "schema=").last {
            // A handle of its own: the test may have closed its handles.
            let database = try? await open()
            _ = try? await database?.transaction { transaction in
                try await transaction.context.execute("DROP SCHEMA \(PostgresDatabase.quoted(schema)) CASCADE")
            }
        }
        for handle in handles { await handle.close() }
        handles.removeAll()
        if backend == .sqlite {
            try? FileManager.default.removeItem(atPath: (location as NSString).deletingLastPathComponent)
        }
    }
}

func testSigner(_ seed: UInt8 = 11) throws -> NoteSigner {
    try NoteSigner(name: "pdx.test/log", key: try Ed25519PrivateKey(seed: [UInt8](repeating: seed, count: 32)))
}

func makeLog(_ database: any Database, maxEntries: Int = 1000, signers: [NoteSigner]? = nil) throws -> TransparencyLog {
    try TransparencyLog(database: database, signers: signers ?? [try testSigner()],
                        policy: CheckpointPolicy(maxEntries: maxEntries, maxAge: .seconds(10)))
}

func records(_ count: Int, tag: String = "r") -> [AuditRecord] {
    (0..<count).map { i in
        AuditRecord(actor: "op_\(i % 5)", action: "usage.recorded", subjects: ["grant:g_\(i % 7)", "event:\(tag)_\(i)"],
                    data: ["units": .number(Double(i)), "tag": .string(tag), "ok": .bool(i % 2 == 0)])
    }
}

/// RFC 9162 MTH the direct recursive way, to check the stored tree against.
func referenceRoot(_ leaves: ArraySlice<SHA256Digest>) -> SHA256Digest {
    switch leaves.count {
    case 0: return MerkleHash.emptyTree
    case 1: return leaves.first!
    default:
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let middle = leaves.startIndex + split
        return MerkleHash.node(referenceRoot(leaves[..<middle]), referenceRoot(leaves[middle...]))
    }
}

/// Every stored entry, read in pages.
func allEntries(_ log: TransparencyLog) async throws -> [StoredEntry] {
    var entries: [StoredEntry] = []
    while true {
        let page = try await log.entries(start: UInt64(entries.count), limit: 1000)
        entries += page
        if page.count < 1000 { return entries }
    }
}

/// Statements that take a database back to before migration 16 (the principal generation), for
/// tests that rebuild an older schema: the triggers first, so that later changes to `principals`
/// do not meet a trigger whose table is gone.
func undoPrincipalGeneration(_ backend: Backend) -> [String] {
    switch backend {
    case .sqlite:
        ["principals", "operators"].flatMap { table in
            ["insert", "update", "delete"].map { "DROP TRIGGER IF EXISTS \(table)_\($0)_principal_generation" }
        } + ["DROP TABLE principal_generation"]
    case .postgres:
        ["DROP FUNCTION bump_principal_generation() CASCADE", "DROP TABLE principal_generation"]
    }
}
