import AuditLog
import Cryptography
import Foundation
import Testing

@Suite("Key rotation and the rollback witness")
struct KeyRotationTests {
    let old: NoteSigner
    let new: NoteSigner

    init() throws {
        old = try testSigner(7)
        new = try testSigner(8)
    }

    /// A log initialized with the old key and holding a few entries.
    func startedLog(_ database: MemoryLogDatabase) async throws -> TransparencyLog {
        let log = try TransparencyLog(database: database, signers: [old])
        try await log.initializeIfEmpty()
        try await database.transaction { tx in _ = try await log.append(records(3), in: tx) }
        _ = try await log.signCheckpoint()
        return log
    }

    @Test func aRotationSignsWithBothKeysThenOnlyTheNewOne() async throws {
        let database = MemoryLogDatabase()
        _ = try await startedLog(database)
        let both = try TransparencyLog(database: database, signers: [old, new])

        let (added, announcing) = try await both.beginKeyRotation(next: new.verifier, actor: "system")
        #expect(added.record.action == "log.key_added")
        #expect(added.record.data["vkey"]?.stringValue == new.verifierKey)
        #expect(added.record.data["key_id"]?.stringValue == new.verifier.keyIDHex)
        // The announcement is covered by a checkpoint each key alone verifies.
        #expect(try Checkpoint.parse(announcing.text).size == added.seq + 1)
        #expect(announcing.signatures.count == 2)
        #expect(try announcing.verify(with: [old.verifier]) == [old.verifier])
        #expect(try announcing.verify(with: [new.verifier]) == [new.verifier])
        #expect(try await both.keys()?.active == [old.verifier, new.verifier])

        // A second begin is refused while the rollover is under way, and writes nothing.
        let size = try await both.head().size
        await #expect(throws: AuditLogError(code: .keyRotationInProgress, detail: "")) {
            try await both.beginKeyRotation(next: try testSigner(9).verifier, actor: "system")
        }
        #expect(try await both.head().size == size)

        let (retired, last, key) = try await both.finishKeyRotation(actor: "system")
        #expect(retired.record.action == "log.key_retired")
        #expect(key == old.verifier)
        #expect(last.signatures.count == 2)
        #expect(try await both.keys()?.active == [new.verifier])

        // Even a process still holding both keys now signs with the new one only.
        try await database.transaction { tx in _ = try await both.append(records(2, from: 10), in: tx) }
        let after = try await both.signCheckpoint()
        #expect(after.signatures.map(\.keyID) == [new.keyID])
        #expect(throws: NoteError.self) { try after.verify(with: [old.verifier]) }

        // A process left with the retired key alone refuses to sign rather than sign with it.
        let stale = try TransparencyLog(database: database, signers: [old])
        try await database.transaction { tx in _ = try await both.append(records(1, from: 20), in: tx) }
        await #expect(throws: AuditLogError(code: .signingKeyRetired, detail: "")) { try await stale.signCheckpoint() }
        #expect(stale.readOnlyError?.code == .signingKeyRetired)

        // The integrity check replays the key entries and finds them consistent with the stored keys.
        let report = try await TransparencyLog(database: database, signers: [new]).verifyIntegrity()
        #expect(report.isIntact, "\(report)")
        #expect(report.keys?.active == [new.verifier])
        #expect(report.keys?.announced == [old.verifier, new.verifier])
    }

    @Test func finishWithoutARolloverIsRefused() async throws {
        let database = MemoryLogDatabase()
        let log = try await startedLog(database)
        let size = try await log.head().size
        await #expect(throws: AuditLogError(code: .noKeyRotation, detail: "")) { try await log.finishKeyRotation(actor: "system") }
        #expect(try await log.head().size == size)
    }

    @Test func beginNeedsTheNextKeysSigner() async throws {
        let database = MemoryLogDatabase()
        let log = try await startedLog(database)
        await #expect(throws: AuditLogError(code: .invalidConfiguration, detail: "")) {
            try await log.beginKeyRotation(next: new.verifier, actor: "system")
        }
        #expect(try await log.keys()?.isRollingOver == false)
    }

    @Test func storedKeysThatDisagreeWithTheEntriesFailTheIntegrityCheck() async throws {
        let database = MemoryLogDatabase()
        _ = try await startedLog(database)
        // Someone with database access puts a key in force that the log never announced.
        database.tamper { state in state.meta["log.keys"] = try! testSigner(9).verifierKey }
        let report = try await TransparencyLog(database: database, signers: [old]).verifyIntegrity()
        #expect(report.problems.map(\.code).contains(.keysMismatch))
    }

    @Test func theRulesOfKeyEntries() throws {
        var keys = try LogKeys(origin: old.name, initial: [old.verifierKey])
        #expect(throws: LogKeyError(code: .keyRotationInvalid, detail: "")) { try keys.retire(old.verifierKey) }
        #expect(throws: LogKeyError(code: .keyInvalid, detail: "")) { try keys.add(old.verifierKey) }
        #expect(throws: LogKeyError(code: .keyInvalid, detail: "")) { try keys.add("not a key") }
        #expect(throws: LogKeyError(code: .keyInvalid, detail: "")) { try keys.add(try testSigner(8, name: "other.example/log").verifierKey) }
        try keys.add(new.verifierKey)
        #expect(throws: LogKeyError(code: .keyRotationInvalid, detail: "")) { try keys.add(try testSigner(9).verifierKey) }
        #expect(throws: LogKeyError(code: .keyRotationInvalid, detail: "")) { try keys.retire(new.verifierKey) }
        try keys.retire(old.verifierKey)
        #expect(keys.active == [new.verifier])
        #expect(keys.announced == [old.verifier, new.verifier])
    }

    @Test func aWitnessAheadOfTheStoreTurnsTheLogReadOnly() async throws {
        let database = MemoryLogDatabase()
        let log = try await startedLog(database)
        let seen = try Checkpoint.parse(try #require(try await log.latestCheckpoint()).text)
        #expect(try await log.checkWitness(seen) == nil)

        // A witness of a tree the store does not have: more entries than it holds.
        var ahead = seen
        ahead.size += 5
        let larger = try await TransparencyLog(database: database, signers: [old]).checkWitness(ahead)
        #expect(larger?.code == .logRolledBack)

        // The same size with another root, and a smaller size the store does not extend.
        var other = seen
        other.rootHash = SHA256.hash(Array("other".utf8))
        let fork = try TransparencyLog(database: database, signers: [old])
        #expect(try await fork.checkWitness(other)?.code == .logRolledBack)
        await #expect(throws: AuditLogError(code: .logReadOnly, detail: "")) {
            try await database.transaction { tx in _ = try await fork.append(records(1), in: tx) }
        }
        var smaller = other
        smaller.size = 2
        #expect(try await TransparencyLog(database: database, signers: [old]).checkWitness(smaller)?.code == .logRolledBack)

        // An older witness the store extends passes, and the log stays writable.
        let extended = try TransparencyLog(database: database, signers: [old])
        try await database.transaction { tx in _ = try await extended.append(records(4, from: 30), in: tx) }
        #expect(try await extended.checkWitness(seen) == nil)
        #expect(extended.readOnlyError == nil)
    }
}
