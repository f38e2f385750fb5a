import Identity
import AuditLog
import Cryptography
import Foundation
@testable import Persistence
import PDXTesting
import Testing

@Suite("Log storage on SQLite and PostgreSQL")
struct LogStorageTests {
    @Test("appends, reads, proves and checkpoints", arguments: Backend.available)
    func roundTrip(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database, maxEntries: 100)
            let initial = try #require(try await log.initializeIfEmpty(actor: "system"))
            #expect(initial.seq == 0)

            var appended = [initial]
            for size in [1, 2, 57, 150, 3] {
                appended += try await database.transaction { try await log.append(records(size), in: $0) }
            }
            #expect(appended.map(\.seq) == Array(0..<214))

            let stored = try await allEntries(log)
            #expect(stored.map(\.seq) == Array(0..<214))
            #expect(stored.map(\.body) == (try appended.map { try $0.encoded() }))
            #expect(try stored.map { try AuditEntry(decoding: $0.body) } == appended)
            #expect(stored.allSatisfy { $0.leafHash == MerkleHash.leaf($0.body) })
            #expect(stored[5].action == "usage.recorded")
            #expect(stored[5].time == appended[5].time)

            let leaves = stored.map(\.leafHash)
            let head = try await log.head()
            #expect(head.size == 214)
            #expect(MerkleFrontier(size: 214, hashes: head.frontier)?.root() == referenceRoot(leaves[...]))

            // Checkpoints at 1 (initialization), then whenever 100 were unsigned.
            let checkpoints = try await log.checkpoints()
            #expect(checkpoints.map(\.size) == [1, 211])
            for checkpoint in checkpoints {
                let note = try SignedNote.parse(checkpoint.note)
                #expect(try note.verify(with: log.verifiers).count == 1)
                let body = try Checkpoint.parse(note.text)
                #expect(body.size == checkpoint.size)
                #expect(body.rootHash == referenceRoot(leaves[..<Int(checkpoint.size)]))
            }
            let latest = try await log.signCheckpoint()
            #expect(try Checkpoint.parse(latest.text).size == 214)
            #expect(try await log.latestCheckpoint() == latest)

            for (leaf, size) in [(0, 1), (0, 214), (100, 211), (213, 214), (77, 128)] as [(UInt64, UInt64)] {
                let proof = try await log.inclusionProof(leafIndex: leaf, treeSize: size)
                #expect(MerkleProof.verifyInclusion(leafHash: leaves[Int(leaf)], leafIndex: leaf, treeSize: size,
                                                    proof: proof, root: referenceRoot(leaves[..<Int(size)])))
            }
            for (old, new) in [(1, 214), (211, 214), (64, 128), (100, 150), (214, 214)] as [(UInt64, UInt64)] {
                let proof = try await log.consistencyProof(oldSize: old, newSize: new)
                #expect(MerkleProof.verifyConsistency(oldSize: old, newSize: new, oldRoot: referenceRoot(leaves[..<Int(old)]),
                                                      newRoot: referenceRoot(leaves[..<Int(new)]), proof: proof))
            }
            await #expect(throws: AuditLogError(code: .sizeOutOfRange, detail: "")) {
                try await log.inclusionProof(leafIndex: 0, treeSize: 215)
            }

            let report = try await log.verifyIntegrity()
            #expect(report.isIntact, "\(report)")
            #expect(report.entriesChecked == 214)
            #expect(report.checkpointSize == 214)
        }
    }

    @Test("a reopened database keeps the log", arguments: Backend.available)
    func reopen(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let first = try await fixture.open()
            let log = try makeLog(first, maxEntries: 10)
            try await log.initializeIfEmpty()
            _ = try await first.transaction { try await log.append(records(25), in: $0) }
            await first.close()

            let second = try await fixture.open()
            let reopened = try makeLog(second, maxEntries: 10)
            #expect(try await reopened.verifyIntegrity().isIntact)
            #expect(try await reopened.initializeIfEmpty() == nil)
            let more = try await second.transaction { try await reopened.append(records(3), in: $0) }
            #expect(more.map(\.seq) == [26, 27, 28])
        }
    }

    @Test("a rolled-back caller transaction leaves no entry", arguments: Backend.available)
    func rollback(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database, maxEntries: 2)
            struct DomainRefusal: Error {}
            await #expect(throws: DomainRefusal.self) {
                try await database.transaction { transaction in
                    try await transaction.setMetaValue("changed", forKey: "state")
                    try await log.append(records(5), in: transaction)  // signs a checkpoint too
                    throw DomainRefusal()
                }
            }
            #expect(try await log.head() == .empty)
            #expect(try await log.entries(start: 0, limit: 10).isEmpty)
            #expect(try await log.latestCheckpoint() == nil)
            #expect(try await database.read { try await $0.metaValue(forKey: "state") } == nil)
            #expect(try await database.read { try await $0.nodeHashes([MerkleNodeID(level: 1, index: 0)]) }.isEmpty)

            let entries = try await database.transaction { try await log.append(records(1), in: $0) }
            #expect(entries.map(\.seq) == [0])
        }
    }

    @Test("the integrity check catches an entry byte changed in the database", arguments: Backend.available)
    func changedByte(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database, maxEntries: 20)
            try await log.initializeIfEmpty()
            _ = try await database.transaction { try await log.append(records(40), in: $0) }
            #expect(try await log.verifyIntegrity().isIntact)

            try await database.transaction { transaction in
                var body = try await transaction.entries(from: 17, limit: 1)[0].body
                body[body.count / 2] ^= 0x20
                try await transaction.context.execute("UPDATE log_entries SET body = $1 WHERE seq = $2",
                                                      [.blob(body), .integer(17)])
            }
            let fresh = try makeLog(database, maxEntries: 20)
            let report = try await fresh.verifyIntegrity()
            #expect(!report.isIntact)
            #expect(report.problems.first?.code == .leafHashMismatch)
            #expect(report.problems.first?.seq == 17)
            #expect(report.problems.map(\.code).contains(.rootMismatch))
            let error = await #expect(throws: AuditLogError.self) {
                try await database.transaction { try await fresh.append(records(1), in: $0) }
            }
            #expect(error?.code == .logReadOnly)
            #expect(try await fresh.head().size == 41)
        }
    }

    @Test("the integrity check catches a deleted checkpoint-covered entry", arguments: Backend.available)
    func deletedEntry(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database, maxEntries: 30)
            _ = try await database.transaction { try await log.append(records(30), in: $0) }
            _ = try await database.transaction { try await log.append(records(5), in: $0) }
            try await database.transaction { transaction in
                try await transaction.context.execute("DELETE FROM log_entries WHERE seq = $1", [.integer(12)])
            }
            let report = try await makeLog(database).verifyIntegrity()
            #expect(report.problems.first?.code == .entryMissing)
            #expect(report.problems.first?.seq == 12)
            #expect(report.checkpointSize == 30)
        }
    }

    @Test("two handles appending at once keep one gap-free, consistent log", arguments: Backend.available)
    func concurrentHandles(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let handles = [try await fixture.open(), try await fixture.open()]
            let logs = try handles.map { try makeLog($0, maxEntries: 37) }
            try await logs[0].initializeIfEmpty()
            let perTask = 12, tasksPerHandle = 3, batch = 9
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (handle, log) in zip(handles, logs) {
                    for task in 0..<tasksPerHandle {
                        group.addTask {
                            for round in 0..<perTask {
                                let appended = try await handle.transaction {
                                    try await log.append(records(batch, tag: "\(task).\(round)"), in: $0)
                                }
                                // Each batch is consecutive even with the other handle racing.
                                #expect(appended.map(\.seq) == Array(appended[0].seq..<(appended[0].seq + UInt64(batch))))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = 1 + 2 * tasksPerHandle * perTask * batch
            let entries = try await allEntries(logs[1])
            #expect(entries.map(\.seq) == Array(0..<UInt64(total)))
            let leaves = entries.map(\.leafHash)
            #expect(leaves == entries.map { MerkleHash.leaf($0.body) })
            let head = try await logs[1].head()
            #expect(head.size == UInt64(total))
            #expect(MerkleFrontier(size: head.size, hashes: head.frontier)?.root() == referenceRoot(leaves[...]))

            // Every checkpoint is signed, matches the entries, and is consistent with the next.
            let checkpoints = try await logs[0].checkpoints(limit: 1000)
            #expect(checkpoints.count > 5)
            for checkpoint in checkpoints {
                let body = try Checkpoint.parse(try SignedNote.parse(checkpoint.note).text)
                #expect(body.rootHash == referenceRoot(leaves[..<Int(checkpoint.size)]))
            }
            for (older, newer) in zip(checkpoints, checkpoints.dropFirst()) {
                let proof = try await logs[0].consistencyProof(oldSize: older.size, newSize: newer.size)
                #expect(MerkleProof.verifyConsistency(oldSize: older.size, newSize: newer.size, oldRoot: older.rootHash,
                                                      newRoot: newer.rootHash, proof: proof))
            }
            #expect(try await logs[0].verifyIntegrity().isIntact)
        }
    }

    @Test("a handle signing with another key extends no checkpoint: it turns read-only, nothing half-written",
          arguments: Backend.available)
    func foreignSigningKey(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let ownHandle = try await fixture.open()
            let foreignHandle = try await fixture.open()
            let own = try makeLog(ownHandle, maxEntries: 4)
            let foreign = try makeLog(foreignHandle, maxEntries: 4, signers: [try testSigner(12)])
            // Checked while the database was empty, as a second instance started with a key of its
            // own at the same moment as the first would be.
            #expect(try await foreign.verifyIntegrity().isIntact)
            try await own.initializeIfEmpty()

            // Below the checkpoint threshold its entries go in: entries carry no signature.
            try await foreignHandle.transaction { try await foreign.append(records(2, tag: "f"), in: $0) }
            // The append that would sign the next checkpoint finds the last one under another key.
            let refused = await #expect(throws: AuditLogError.self) {
                try await foreignHandle.transaction { try await foreign.append(records(3, tag: "g"), in: $0) }
            }
            #expect(refused?.code == .signingKeyMismatch)
            #expect(foreign.readOnlyError?.code == .signingKeyMismatch)
            await #expect(throws: AuditLogError(code: .logReadOnly, detail: "")) { try await foreign.signCheckpoint() }
            #expect(try await own.head().size == 3, "the refused append rolled back whole")

            // The log goes on under its own key; every checkpoint verifies with it.
            try await ownHandle.transaction { try await own.append(records(4, tag: "h"), in: $0) }
            let checkpoints = try await own.checkpoints(limit: 100)
            #expect(checkpoints.map(\.size) == [1, 7])
            for checkpoint in checkpoints {
                _ = try SignedNote.parse(checkpoint.note).verify(with: [try testSigner().verifier])
            }
            #expect(try await own.verifyIntegrity().isIntact)
            // Restarted with that key, the start-up check says why.
            let restarted = try makeLog(foreignHandle, signers: [try testSigner(12)])
            #expect(try await restarted.verifyIntegrity().problems.map(\.code) == [.checkpointSignatureInvalid])
        }
    }

    @Test("opening one new database from two handles at once migrates it once", arguments: Backend.available)
    func concurrentOpen(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            async let first = fixture.open()
            async let second = fixture.open()
            let handles = try await [first, second]
            let versions = try await handles[1].read { reader in
                try await reader.context.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.integer(0) }
            }
            #expect(versions == Migrations.all.map { Int64($0.version) })
            // Versions grow but may leave gaps: a version taken on another branch arrives later.
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 })
            #expect(try await handles[0].read { try await $0.head() } == .empty)
        }
    }

    @Test("meta values are upserted", arguments: Backend.available)
    func meta(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            #expect(try await database.read { try await $0.metaValue(forKey: "k") } == nil)
            try await database.transaction { try await $0.setMetaValue("one", forKey: "k") }
            try await database.transaction { try await $0.setMetaValue("two", forKey: "k") }
            #expect(try await database.read { try await $0.metaValue(forKey: "k") } == "two")
        }
    }

    @Test("a duplicate key is unique_violation and the transaction cannot commit", arguments: Backend.available)
    func constraintViolation(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database)
            _ = try await database.transaction { try await log.append(records(2), in: $0) }
            let entry = try await log.entries(start: 1, limit: 1)[0]

            let error = await #expect(throws: StorageError.self) {
                try await database.transaction { transaction in
                    try await transaction.setMetaValue("lost", forKey: "k")
                    do {
                        try await transaction.insertEntries([entry])
                    } catch let error as StorageError {
                        #expect(error.code == .uniqueViolation)
                    }
                    // Carrying on after a failed statement is refused on every engine.
                    try await transaction.setMetaValue("lost again", forKey: "k")
                }
            }
            #expect(error?.code == .transactionAborted)
            #expect(try await database.read { try await $0.metaValue(forKey: "k") } == nil)

            // Swallowing the failure does not commit the rest either.
            let swallowed = await #expect(throws: StorageError.self) {
                try await database.transaction { transaction in
                    try await transaction.setMetaValue("lost", forKey: "k")
                    _ = try? await transaction.insertEntries([entry])
                }
            }
            #expect(swallowed?.code == .transactionAborted)
            #expect(try await database.read { try await $0.metaValue(forKey: "k") } == nil)
        }
    }

    @Test("a transaction object is dead after its transaction", arguments: Backend.available)
    func closedTransaction(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let escaped = try await database.transaction { $0 }
            let error = await #expect(throws: StorageError.self) { try await escaped.setMetaValue("x", forKey: "k") }
            #expect(error?.code == .transactionClosed)
        }
    }

    @Test("principals are stored, found by key id and listed", arguments: Backend.available)
    func principals(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let created = Date(timeIntervalSince1970: 1_795_000_000.5)
            let operatorKey = Principal(id: "op_1", name: "Operator One", role: .operator, keyID: "key_op1",
                                        keyHash: SHA256.hash(Array("secret-1".utf8)), createdAt: created)
            let authority = Principal(id: "au_1", name: "Authority", role: .authorityReviewer, authorityID: "auth_sz",
                                      keyID: "key_au1", keyHash: SHA256.hash(Array("secret-2".utf8)),
                                      createdAt: created.addingTimeInterval(1), expiresAt: created.addingTimeInterval(86_400))
            try await database.transaction { transaction in
                try await transaction.insertPrincipal(operatorKey)
                try await transaction.insertPrincipal(authority)
            }
            #expect(try await database.read { try await $0.principal(keyID: "key_au1") }?.unreferenced == authority)
            #expect(try await database.read { try await $0.principal(id: "op_1") }?.unreferenced == operatorKey)
            #expect(try await database.read { try await $0.principal(keyID: "nope") } == nil)
            #expect(try await database.read { try await $0.principals() }.map(\.unreferenced) == [operatorKey, authority])

            var clash = authority
            clash.id = "au_2"
            let error = await #expect(throws: StorageError.self) {
                try await database.transaction { try await $0.insertPrincipal(clash) }
            }
            #expect(error?.code == .uniqueViolation)

            let revokedAt = created.addingTimeInterval(100)
            #expect(try await database.transaction { try await $0.revokePrincipal(id: "op_1", at: revokedAt) })
            #expect(try await database.transaction { try await $0.revokePrincipal(id: "op_1", at: revokedAt + 5) } == false)
            let revoked = try #require(try await database.read { try await $0.principal(keyID: "key_op1") })
            #expect(revoked.revokedAt == revokedAt)
            #expect(!revoked.isActive(at: revokedAt))
            #expect(revoked.isActive(at: revokedAt - 1))
            #expect(!authority.isActive(at: created.addingTimeInterval(86_401)))
        }
    }
}

@Suite("Database failures")
struct DatabaseFailureTests {
    @Test("a SQLite file that cannot be created is database_unavailable")
    func sqliteUnavailable() async throws {
        let error = await #expect(throws: StorageError.self) {
            try await SQLiteDatabase(path: "/nonexistent-\(UUID().uuidString)/pdx.sqlite")
        }
        #expect(error?.code == .databaseUnavailable)
    }

    @Test("a PostgreSQL server that does not answer is database_unavailable")
    func postgresUnavailable() async throws {
        // How fast is a matter for the fault benchmarks; a loaded test machine can delay any timer.
        let error = await #expect(throws: StorageError.self) {
            try await PostgresDatabase(url: "postgres://pdx@127.0.0.1:1/pdx?sslmode=disable", acquireTimeout: .seconds(2))
        }
        #expect(error?.code == .databaseUnavailable)
    }

    @Test("bad PostgreSQL URLs are invalid_configuration", arguments: [
        "mysql://u@h/db", "postgres://h/db", "postgres://u@h/db?sslmode=sometimes", "postgres://u@h/db?schema=a;drop",
        "postgres://u@h/db?color=blue", "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        "postgres://u@h/db?sslmode=require&sslrootcert=/etc/hostname",
    ])
    func badURL(url: String) {
        #expect(throws: StorageError(code: .invalidConfiguration, detail: "")) {
            try PostgresDatabase.configuration(url: url)
        }
    }

    @Test("PostgreSQL URLs are read like libpq's")
    func goodURL() throws {
        let parsed = try PostgresDatabase.configuration(url: "postgresql://pdx:s%40cret@db.internal:6543/market?sslmode=disable&schema=tenant_1")
        #expect(parsed.host == "db.internal")
        #expect(parsed.port == 6543)
        #expect(parsed.username == "pdx")
        #expect(parsed.password == "s@cret")
        #expect(parsed.database == "market")
        #expect(parsed.schema == "tenant_1")
        #expect(!parsed.redacted.contains("cret"))
    }

    @Test("verify-full and verify-ca check the server's certificate against the given roots; require does not")
    func verifiedTLS() throws {
        let full = try PostgresDatabase.configuration(url: "postgres://pdx@db.internal/market?sslmode=verify-full&sslrootcert=/etc/hostname")
        #expect(full.requiresTLS)
        #expect(full.certificateCheck == .chainAndHost)
        #expect(full.sslRootCertificate == "/etc/hostname")
        let ca = try PostgresDatabase.configuration(url: "postgres://pdx@db.internal/market?sslmode=verify-ca")
        #expect(ca.requiresTLS)
        #expect(ca.certificateCheck == .chain)
        let loose = try PostgresDatabase.configuration(url: "postgres://pdx@db.internal/market?sslmode=require")
        #expect(loose.requiresTLS)
        #expect(loose.certificateCheck == .none)
        let plain = try PostgresDatabase.configuration(url: "postgres://pdx@db.internal/market")
        #expect(!plain.requiresTLS)
    }

    @Test("SQLite runs in WAL mode, syncs every commit, checks foreign keys and waits for locks")
    func sqliteSettings() async throws {
        try await Fixture.with(.sqlite) { fixture in
            let database = try #require(try await fixture.open() as? SQLiteDatabase)
            let settings = try await database.withConnection { connection in
                try ["journal_mode", "synchronous", "foreign_keys", "busy_timeout"].map { pragma in
                    try connection.query("PRAGMA \(pragma)", [])[0].values[0]
                }
            }
            #expect(settings == [.text("wal"), .integer(2), .integer(1), .integer(10_000)])
        }
    }

    @Test("SQLite gets $n placeholders as ?n, quoted text untouched")
    func placeholders() {
        #expect("SELECT a FROM t WHERE b = $1 AND c IN ($2, $10) AND d = '$3'".sqlitePlaceholders
            == "SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?10) AND d = '$3'")
    }
}
