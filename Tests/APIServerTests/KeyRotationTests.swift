import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Persistence
import PDXTesting
import Replay
import Testing

/// Appends one entry through the log and signs a checkpoint covering it.
private func appendAndSign(_ runtime: Runtime, _ label: String) async throws -> SignedNote {
    try await runtime.database.transaction { tx in
        _ = try await runtime.log.append(AuditRecord(actor: "system", action: "test_clock.advanced",
                                                     data: ["from": .null, "to": .string(label)]), in: tx)
    }
    return try await runtime.log.signCheckpoint()
}

@Suite("Signing-key rotation on an opened marketplace")
struct KeyRotationRuntimeTests {
    @Test(arguments: Backend.available)
    func beginSignWithBothFinishAndInstallOnAnotherDirectory(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        await (try await market.open()).close()
        let directory = DataDirectory(path: market.location.dataDirectory)
        let oldPEM = try String(contentsOfFile: directory.signingKeyPath, encoding: .utf8)

        let begun = try await beginKeyRotation(at: market.location)
        #expect(begun.lines[0].contains("log.key_added"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.nextSigningKeyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let nextPEM = try String(contentsOfFile: directory.nextSigningKeyPath, encoding: .utf8)

        // Begin twice: refused, and the next key stays the one announced.
        await #expect(throws: AuditLogError(code: .keyRotationInProgress, detail: "")) {
            try await beginKeyRotation(at: market.location)
        }
        #expect(try String(contentsOfFile: directory.nextSigningKeyPath, encoding: .utf8) == nextPEM)

        // A process started with both files signs with both; each key alone verifies.
        let both = try await market.open()
        #expect(both.log.signers.count == 2)
        let keys = try await both.verifierKeys()
        #expect(keys.count == 2)
        let old = try NoteVerifier(verifierKey: keys[0])
        let new = try NoteVerifier(verifierKey: keys[1])
        let during = try await appendAndSign(both, "during")
        #expect(during.signatures.count == 2)
        #expect(try during.verify(with: [old]) == [old])
        #expect(try during.verify(with: [new]) == [new])
        await both.close()

        let finished = try await finishKeyRotation(at: market.location)
        #expect(finished.lines[0].contains("log.key_retired"))
        let retiredPath = directory.retiredSigningKeyPath(keyID: old.keyIDHex)
        #expect(try String(contentsOfFile: retiredPath, encoding: .utf8) == oldPEM)
        let retiredAttributes = try FileManager.default.attributesOfItem(atPath: retiredPath)
        #expect((retiredAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: directory.nextSigningKeyPath))
        #expect(try String(contentsOfFile: directory.signingKeyPath, encoding: .utf8) == nextPEM)

        let after = try await market.open()
        #expect(try await after.verifierKeys() == [new.verifierKey])
        let note = try await appendAndSign(after, "after")
        #expect(note.signatures.count == 1)
        #expect(try note.verify(with: [new]) == [new])
        #expect(throws: NoteError.self) { try note.verify(with: [old]) }
        await after.close()

        await #expect(throws: AuditLogError(code: .noKeyRotation, detail: "")) {
            try await finishKeyRotation(at: market.location)
        }

        // Another instance's directory that still holds the old key and the next one: refused at
        // start, told to finish there, which only installs the files.
        try oldPEM.write(toFile: directory.signingKeyPath, atomically: true, encoding: .utf8)
        try nextPEM.write(toFile: directory.nextSigningKeyPath, atomically: true, encoding: .utf8)
        await #expect(throws: KeyFileError(.signingKeyRetired, "")) { try await market.open() }
        let installed = try await finishKeyRotation(at: market.location)
        #expect(installed.lines[0].contains("finished this rotation already"))
        let reopened = try await market.open()
        #expect(reopened.log.verifiers == [new])
        await reopened.close()
    }

    @Test(arguments: Backend.available)
    func aDataDirectoryWithAnotherSigningKeyIsRefusedAtStart(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        await (try await market.open()).close()
        let directory = DataDirectory(path: market.location.dataDirectory)
        try FileManager.default.removeItem(atPath: directory.signingKeyPath)
        _ = try directory.loadOrCreateSigningKey()
        await #expect(throws: KeyFileError(.signingKeyUnknown, "")) { try await market.open() }

        // An unannounced next key beside the right one is refused as well.
        let other = try TestMarketplace(backend)
        defer { other.removeFiles() }
        await (try await other.open()).close()
        let otherDirectory = DataDirectory(path: other.location.dataDirectory)
        _ = try otherDirectory.createNextSigningKey()
        await #expect(throws: KeyFileError(.nextKeyUnannounced, "")) { try await other.open() }
    }
}

@Suite("A restored old backup is noticed at start")
struct RollbackWitnessTests {
    /// Adds an authority over HTTP and signs a checkpoint covering it.
    private func addAuthority(_ market: TestMarketplace, id: String) async throws {
        try await market.withServer { runtime, client in
            let created = try await client.request(.post, "/v1/authorities", key: try market.adminToken,
                                                   body: #"{"id":"\#(id)","name":"\#(id)","region":"\#(id)"}"#)
            #expect(created.status == .created)
            _ = try await runtime.log.signCheckpoint()
        }
    }

    /// The log tables of a PostgreSQL schema, copied aside and put back, as a restore of a
    /// backup taken at that moment would. Only the log's tables: they are all the start-up check
    /// reads, and a copy of the whole schema would need pg_dump, which the tests do not assume.
    private static let logTables = ["log_head", "log_entries", "log_nodes", "log_checkpoints", "meta"]

    @Test(arguments: Backend.available)
    func anOlderDatabaseThanTheWitnessRefusesWrites(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let directory = DataDirectory(path: market.location.dataDirectory)
        try await addAuthority(market, id: "bj")
        // First start wrote the witness: the checkpoint this directory has seen.
        let before = try Checkpoint.parse(try SignedNote.parse(try #require(try directory.witness())).text)

        // A backup taken while the server is stopped.
        let backup = directory.path + "/backup"
        switch backend {
        case .sqlite:
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: directory.databasePath + suffix) {
                try FileManager.default.copyItem(atPath: directory.databasePath + suffix, toPath: backup + suffix)
            }
        case .postgres:
            let runtime = try await market.open()
            try await runtime.database.transaction { tx in
                for table in Self.logTables {
                    try await tx.context.execute("CREATE TABLE backup_\(table) AS SELECT * FROM \(table)")
                }
            }
            await runtime.close()
        }

        try await addAuthority(market, id: "tj")
        let witnessed = try #require(try directory.witness())
        let after = try Checkpoint.parse(try SignedNote.parse(witnessed).text)
        #expect(after.size > before.size)

        // The restore.
        switch backend {
        case .sqlite:
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: directory.databasePath + suffix) }
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: backup + suffix) {
                try FileManager.default.copyItem(atPath: backup + suffix, toPath: directory.databasePath + suffix)
            }
        case .postgres:
            let runtime = try await market.open()
            try await runtime.database.transaction { tx in
                for table in Self.logTables {
                    try await tx.context.execute("DELETE FROM \(table)")
                    try await tx.context.execute("INSERT INTO \(table) SELECT * FROM backup_\(table)")
                }
            }
            await runtime.close()
        }

        try await market.withServer { runtime, client in
            // The restored database is intact in itself: only the witness tells.
            #expect(runtime.integrity.isIntact)
            #expect(runtime.log.readOnlyError?.code == .logRolledBack)
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.text.contains("log_rolled_back"))
            let size = try await runtime.log.head().size
            let write = try await client.request(.post, "/v1/authorities", key: try market.adminToken,
                                                 body: #"{"id":"hb","name":"hb","region":"hb"}"#)
            #expect(write.status == .serviceUnavailable)
            #expect(try write.problem()["code"] as? String == "log_read_only")
            #expect(try await runtime.log.head().size == size)
        }
        // The evidence stays: the witness is not replaced by the older checkpoint.
        #expect(try directory.witness() == witnessed)
    }

    @Test(arguments: Backend.available)
    func aDirectoryWithoutAWitnessStartsAndGetsOne(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await addAuthority(market, id: "bj")
        let directory = DataDirectory(path: market.location.dataDirectory)
        // An install from before the witness: the file is absent.
        try FileManager.default.removeItem(atPath: directory.witnessPath)
        try await market.withServer { runtime, _ in
            #expect(runtime.isWritable)
            let latest = try #require(try await runtime.log.latestCheckpoint())
            #expect(try directory.witness() == latest.serialized)
        }
    }
}

@Suite("Replay: key rotation entries")
struct KeyReplayTests {
    static let origin = "pdx.example/log"

    static func key(_ seed: UInt8, name: String = origin) throws -> NoteVerifier {
        try NoteSigner(name: name, key: try Ed25519PrivateKey(seed: [UInt8](repeating: seed, count: 32))).verifier
    }

    static func entry(_ action: String, _ data: [String: JSONValue]) -> AuditRecord {
        AuditRecord(actor: "system", action: action, subjects: ["log:\(origin)"], data: data)
    }

    /// Replays `records` after a `log.initialized` announcing key 1, and returns the findings.
    static func findings(_ records: [AuditRecord]) throws -> [ReplayFinding] {
        var replay = LogReplay()
        let initialized = entry("log.initialized", ["origin": .string(origin), "vkeys": [.string(try key(1).verifierKey)]])
        for (seq, record) in ([initialized] + records).enumerated() {
            replay.apply(AuditEntry(seq: UInt64(seq), time: Date(timeIntervalSince1970: 1_800_000_000), record: record))
        }
        replay.finish()
        return replay.findings
    }

    static func added(_ key: NoteVerifier) -> AuditRecord { entry("log.key_added", LogKeys.data(for: key)) }
    static func retired(_ key: NoteVerifier) -> AuditRecord { entry("log.key_retired", LogKeys.data(for: key)) }

    @Test func aLawfulRotationHasNoFinding() throws {
        let findings = try Self.findings([Self.added(try Self.key(2)), Self.retired(try Self.key(1)),
                                          Self.added(try Self.key(3)), Self.retired(try Self.key(2))])
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func unlawfulRotationsAreFoundAtTheirEntry() throws {
        let one = try Self.key(1), two = try Self.key(2), three = try Self.key(3)
        let cases: [([AuditRecord], ReplayFinding.Code, Int)] = [
            // A key added during a rollover.
            ([Self.added(two), Self.added(three)], .keyRotationInvalid, 2),
            // A retirement without a rollover, and one of the key that was not current.
            ([Self.retired(one)], .keyRotationInvalid, 1),
            ([Self.added(two), Self.retired(two)], .keyRotationInvalid, 2),
            // A key of another name, a key announced before, a malformed key, a wrong key id.
            ([Self.added(try Self.key(2, name: "other.example/log"))], .keyInvalid, 1),
            ([Self.added(one)], .keyInvalid, 1),
            ([Self.entry("log.key_added", ["vkey": "not a key", "key_id": "00000000"])], .keyInvalid, 1),
            ([Self.entry("log.key_added", ["vkey": .string(two.verifierKey), "key_id": "00000000"])], .keyInvalid, 1),
            // No vkey at all.
            ([Self.entry("log.key_retired", ["key_id": "00000000"])], .recordMalformed, 1),
        ]
        for (records, code, seq) in cases {
            let findings = try Self.findings(records)
            #expect(findings.first?.code == code, "\(records.map(\.action)): \(findings)")
            #expect(findings.first?.location == "entry \(seq)", "\(findings)")
        }
    }
}
