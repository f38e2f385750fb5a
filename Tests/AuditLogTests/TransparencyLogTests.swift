import AuditLog
import Cryptography
import Foundation
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000.25)) { now = Mutex(start) }
    func advance(seconds: Double) { now.withLock { $0 += seconds } }
    var date: Date { now.withLock { $0 } }
    var function: @Sendable () -> Date { { self.date } }
}

/// RFC 9162 §2.1.1 MTH, written the direct recursive way to check the log's incremental tree.
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

func testSigner(_ seed: UInt8 = 7, name: String = "pdx.example/log") throws -> NoteSigner {
    try NoteSigner(name: name, key: try Ed25519PrivateKey(seed: [UInt8](repeating: seed, count: 32)))
}

func records(_ count: Int, from start: Int = 0) -> [AuditRecord] {
    (start..<(start + count)).map { i in
        AuditRecord(actor: "op_\(i % 3)", action: "test.recorded", subjects: ["item:\(i)"],
                    data: ["n": .number(Double(i)), "label": .string("entry \(i)")])
    }
}

@Suite("Audit entries")
struct AuditEntryTests {
    @Test("encodes as canonical JSON with the six members in order")
    func encoding() throws {
        let entry = AuditEntry(
            seq: 42,
            time: Date(timeIntervalSince1970: 1_795_289_661.123),
            record: AuditRecord(actor: "op_1", action: "grant.approved", subjects: ["grant:g_9", "operator:op_1"],
                                data: ["z": .bool(true), "a": .number(1.5)])
        )
        let text = String(decoding: try entry.encoded(), as: UTF8.self)
        #expect(text == #"{"action":"grant.approved","actor":"op_1","data":{"a":1.5,"z":true},"seq":42,"subjects":["grant:g_9","operator:op_1"],"time":"2026-11-21T19:34:21.123Z"}"#)
    }

    @Test("decodes what it encodes")
    func roundTrip() throws {
        let entry = AuditEntry(seq: 7, time: Date(timeIntervalSince1970: 1_700_000_000.999),
                               record: records(1)[0])
        let decoded = try AuditEntry(decoding: try entry.encoded())
        #expect(decoded == entry)
        #expect(decoded.time.timeIntervalSince1970 == 1_700_000_000.999)
    }

    @Test("rounds times to the millisecond")
    func millisecondPrecision() throws {
        let entry = AuditEntry(seq: 0, time: Date(timeIntervalSince1970: 10.123_6), record: records(1)[0])
        #expect(Timestamp.milliseconds(entry.time) == 10_124)
        #expect(try AuditEntry(decoding: entry.encoded()) == entry)
    }

    @Test("refuses entries over 65,535 bytes with entry_too_large")
    func tooLarge() throws {
        let big = AuditRecord(actor: "system", action: "test.big", data: ["blob": .string(String(repeating: "x", count: 65_535))])
        let error = #expect(throws: AuditLogError.self) { try AuditEntry(seq: 0, time: Date(), record: big).encoded() }
        #expect(error?.code == .entryTooLarge)

        // Just under the limit still fits: the overhead of the other members is fixed.
        let overhead = try AuditEntry(seq: 0, time: Date(), record: AuditRecord(actor: "system", action: "test.big", data: ["blob": .string("")])).encoded().count
        let fits = AuditRecord(actor: "system", action: "test.big", data: ["blob": .string(String(repeating: "x", count: 65_535 - overhead))])
        #expect(try AuditEntry(seq: 0, time: Date(), record: fits).encoded().count == 65_535)
    }

    @Test("refuses an empty actor or action")
    func emptyNames() {
        for record in [AuditRecord(actor: "", action: "a.b"), AuditRecord(actor: "system", action: "")] {
            let error = #expect(throws: AuditLogError.self) { try AuditEntry(seq: 0, time: Date(), record: record).encoded() }
            #expect(error?.code == .invalidRecord)
        }
    }

    @Test("rejects bytes that are not a canonical entry", arguments: [
        #"{"actor":"a","action":"x.y","data":{},"seq":1,"subjects":[],"time":"2026-11-21T19:34:21.123Z"}"#,  // not sorted
        #"{"action":"x.y","actor":"a","data":{},"seq":1,"subjects":[]}"#,  // missing time
        #"{"action":"x.y","actor":"a","data":{},"extra":1,"seq":1,"subjects":[],"time":"2026-11-21T19:34:21.123Z"}"#,
        #"{"action":"x.y","actor":"a","data":[],"seq":1,"subjects":[],"time":"2026-11-21T19:34:21.123Z"}"#,
        #"{"action":"x.y","actor":"a","data":{},"seq":1.5,"subjects":[],"time":"2026-11-21T19:34:21.123Z"}"#,
        #"{"action":"x.y","actor":"a","data":{},"seq":-1,"subjects":[],"time":"2026-11-21T19:34:21.123Z"}"#,
        #"{"action":"x.y","actor":"a","data":{},"seq":1,"subjects":[1],"time":"2026-11-21T19:34:21.123Z"}"#,
        #"{"action":"x.y","actor":"a","data":{},"seq":1,"subjects":[],"time":"2026-11-21T19:34:21Z"}"#,
        #"{"action":"x.y","actor":"a","data":{},"seq":1,"subjects":[],"time":"2026-02-30T19:34:21.123Z"}"#,
        #"["not an object"]"#,
    ])
    func malformed(text: String) {
        let error = #expect(throws: AuditLogError.self) { try AuditEntry(decoding: Array(text.utf8)) }
        #expect(error?.code == .malformedEntry)
    }
}

@Suite("Entry timestamps")
struct TimestampTests {
    @Test("formats and parses RFC 3339 UTC with milliseconds", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(1_795_289_661_123), "2026-11-21T19:34:21.123Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(253_402_300_799_999), "9999-12-31T23:59:59.999Z"),
    ])
    func format(milliseconds: Int64, text: String) {
        #expect(Timestamp.format(milliseconds) == text)
        #expect(Timestamp.parse(text) == milliseconds)
    }

    @Test("agrees with Foundation's calendar over many days")
    func agreesWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var milliseconds: Int64 = -2_208_988_800_000  // 1900-01-01
        while milliseconds < 4_102_444_800_000 {  // 2100-01-01
            let date = Timestamp.date(milliseconds: milliseconds)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year!, parts.month!, parts.day!,
                                  parts.hour!, parts.minute!, parts.second!, Int(((milliseconds % 1000) + 1000) % 1000))
            #expect(Timestamp.format(milliseconds) == expected)
            milliseconds += 86_400_000 * 13 + 3_723_457
        }
    }

    @Test("accepts only the one spelling", arguments: [
        "2026-11-21T19:34:21.123+00:00", "2026-11-21t19:34:21.123Z", "2026-11-21T19:34:21.12Z",
        "2026-11-21T24:00:00.000Z", "2026-13-01T00:00:00.000Z", "2025-02-29T00:00:00.000Z", "2026-11-21 19:34:21.123Z",
    ])
    func rejects(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}

@Suite("Transparency log on an in-memory store")
struct TransparencyLogTests {
    let database = MemoryLogDatabase()
    let clock = ManualClock()

    func makeLog(policy: CheckpointPolicy = CheckpointPolicy(), signers: [NoteSigner]? = nil) throws -> TransparencyLog {
        try TransparencyLog(database: database, signers: signers ?? [try testSigner()], policy: policy, clock: clock.function)
    }

    func append(_ log: TransparencyLog, _ records: [AuditRecord]) async throws -> [AuditEntry] {
        try await database.transaction { try await log.append(records, in: $0) }
    }

    func leafHashes() -> [SHA256Digest] {
        database.snapshot.entries.values.sorted { $0.seq < $1.seq }.map(\.leafHash)
    }

    @Test("assigns consecutive indexes and stores the hashes of the canonical bytes")
    func appendAssignsSeqs() async throws {
        let log = try makeLog()
        let first = try await append(log, records(3))
        let second = try await append(log, records(2, from: 3))
        #expect((first + second).map(\.seq) == [0, 1, 2, 3, 4])
        #expect(second[0].time == Timestamp.normalized(clock.date))

        let state = database.snapshot
        #expect(state.head.size == 5)
        for entry in first + second {
            let stored = try #require(state.entries[entry.seq])
            #expect(stored.body == (try entry.encoded()))
            #expect(stored.leafHash == MerkleHash.leaf(stored.body))
            #expect(stored.action == "test.recorded")
        }
        let frontier = try #require(MerkleFrontier(size: 5, hashes: state.head.frontier))
        #expect(frontier.root() == referenceRoot(leafHashes()[...]))
        // Every completed subtree above the leaves is stored: 5 leaves complete 2 + 1 of them.
        #expect(Set(state.nodes.keys) == [MerkleNodeID(level: 1, index: 0), MerkleNodeID(level: 1, index: 1),
                                          MerkleNodeID(level: 2, index: 0)])
    }

    @Test("an empty append changes nothing")
    func emptyAppend() async throws {
        let log = try makeLog()
        #expect(try await append(log, []).isEmpty)
        #expect(database.snapshot.head == .empty)
    }

    @Test("a record that cannot be encoded aborts the whole batch")
    func batchAtomic() async throws {
        let log = try makeLog()
        var batch = records(3)
        batch[1].action = ""
        await #expect(throws: AuditLogError(code: .invalidRecord, detail: "")) { try await append(log, batch) }
        #expect(database.snapshot.entries.isEmpty)
        #expect(database.snapshot.head == .empty)
    }

    @Test("a rolled-back transaction leaves no entry")
    func rollback() async throws {
        let log = try makeLog()
        struct CallerFailure: Error {}
        await #expect(throws: CallerFailure.self) {
            try await database.transaction { transaction in
                try await log.append(records(4), in: transaction)
                throw CallerFailure()
            }
        }
        #expect(database.snapshot.entries.isEmpty)
        #expect(try await log.head() == .empty)
        let entries = try await append(log, records(1))
        #expect(entries.map(\.seq) == [0])
    }

    @Test("signs inside the append once maxEntries entries are unsigned")
    func checkpointByCount() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 4))
        _ = try await append(log, records(3))
        #expect(try await log.latestCheckpoint() == nil)
        _ = try await append(log, records(2, from: 3))
        let note = try #require(try await log.latestCheckpoint())
        let checkpoint = try Checkpoint.parse(note.text)
        #expect(checkpoint.origin == "pdx.example/log")
        #expect(checkpoint.size == 5)
        #expect(checkpoint.rootHash == referenceRoot(leafHashes()[...]))
        #expect(try note.verify(with: log.verifiers).count == 1)

        _ = try await append(log, records(3, from: 5))
        #expect(database.snapshot.checkpoints.count == 1)
        _ = try await append(log, records(1, from: 8))
        #expect(database.snapshot.checkpoints.keys.sorted() == [5, 9])
    }

    @Test("signCheckpoint covers the head and signs nothing new when nothing changed")
    func signOnDemand() async throws {
        let log = try makeLog()
        _ = try await append(log, records(6))
        let note = try await log.signCheckpoint()
        #expect(try Checkpoint.parse(note.text).size == 6)
        clock.advance(seconds: 60)
        let again = try await log.signCheckpoint()
        #expect(again == note)
        #expect(database.snapshot.checkpoints.count == 1)
        #expect(database.snapshot.checkpoints[6]?.signedAt == Timestamp.normalized(clock.date.addingTimeInterval(-60)))
    }

    @Test("signs inside the caller's transaction, and rolls back with it")
    func signInTransaction() async throws {
        let log = try makeLog()
        let note = try await database.transaction { transaction in
            try await log.append(records(3), in: transaction)
            return try await log.signCheckpoint(in: transaction)
        }
        #expect(try Checkpoint.parse(note.text).size == 3)
        #expect(database.snapshot.checkpoints.keys.sorted() == [3])

        struct Abandoned: Error {}
        await #expect(throws: Abandoned.self) {
            try await database.transaction { transaction in
                try await log.append(records(2), in: transaction)
                _ = try await log.signCheckpoint(in: transaction)
                throw Abandoned()
            }
        }
        #expect(database.snapshot.checkpoints.keys.sorted() == [3])
        #expect(try await log.latestCheckpoint() == note)
    }

    @Test("signCheckpointIfDue waits for maxAge and for unsigned entries")
    func signByAge() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 1000, maxAge: .seconds(10)))
        #expect(try await log.signCheckpointIfDue() == nil)  // nothing to sign
        _ = try await append(log, records(2))
        let first = try #require(try await log.signCheckpointIfDue())  // none exists yet
        #expect(try Checkpoint.parse(first.text).size == 2)

        _ = try await append(log, records(1, from: 2))
        clock.advance(seconds: 9)
        #expect(try await log.signCheckpointIfDue() == nil)
        clock.advance(seconds: 1)
        let second = try #require(try await log.signCheckpointIfDue())
        #expect(try Checkpoint.parse(second.text).size == 3)
        clock.advance(seconds: 30)
        #expect(try await log.signCheckpointIfDue() == nil)  // nothing unsigned
    }

    @Test("inclusion and consistency proofs verify against independently computed roots")
    func proofs() async throws {
        let log = try makeLog()
        for batch in [1, 2, 5, 13, 1, 7] {
            _ = try await append(log, records(batch, from: Int(try await log.head().size)))
        }
        let leaves = leafHashes()
        let size = UInt64(leaves.count)
        #expect(size == 29)
        for treeSize in [1, 2, 3, 8, 13, 29] as [UInt64] {
            let root = referenceRoot(leaves[..<Int(treeSize)])
            #expect(try await log.rootHash(treeSize: treeSize) == root)
            for leaf in Set([0, treeSize / 2, treeSize - 1]) {
                let proof = try await log.inclusionProof(leafIndex: leaf, treeSize: treeSize)
                #expect(MerkleProof.verifyInclusion(leafHash: leaves[Int(leaf)], leafIndex: leaf, treeSize: treeSize,
                                                    proof: proof, root: root))
            }
            for oldSize in Set([1, treeSize / 2, treeSize]) where oldSize > 0 {
                let proof = try await log.consistencyProof(oldSize: oldSize, newSize: treeSize)
                #expect(MerkleProof.verifyConsistency(oldSize: oldSize, newSize: treeSize,
                                                      oldRoot: referenceRoot(leaves[..<Int(oldSize)]),
                                                      newRoot: root, proof: proof))
            }
        }
    }

    @Test("refuses proofs outside the log with stable codes")
    func proofErrors() async throws {
        let log = try makeLog()
        _ = try await append(log, records(4))
        await #expect(throws: AuditLogError(code: .sizeOutOfRange, detail: "")) {
            try await log.inclusionProof(leafIndex: 0, treeSize: 5)
        }
        await #expect(throws: AuditLogError(code: .indexOutOfRange, detail: "")) {
            try await log.inclusionProof(leafIndex: 4, treeSize: 4)
        }
        await #expect(throws: AuditLogError(code: .sizeOutOfRange, detail: "")) {
            try await log.consistencyProof(oldSize: 2, newSize: 5)
        }
        await #expect(throws: AuditLogError(code: .sizeOutOfRange, detail: "")) {
            try await log.consistencyProof(oldSize: 0, newSize: 4)
        }
        await #expect(throws: AuditLogError(code: .sizeOutOfRange, detail: "")) {
            try await log.consistencyProof(oldSize: 4, newSize: 3)
        }
    }

    @Test("initializeIfEmpty announces the keys in entry 0 and signs the first checkpoint")
    func initialize() async throws {
        let signers = [try testSigner(7), try testSigner(8)]
        let log = try makeLog(signers: signers)
        let entry = try #require(try await log.initializeIfEmpty(actor: "system"))
        #expect(entry.seq == 0)
        #expect(entry.record.action == "log.initialized")
        #expect(entry.record.data["origin"] == .string("pdx.example/log"))
        #expect(entry.record.data["vkeys"] == .array(signers.map { .string($0.verifierKey) }))

        let note = try #require(try await log.latestCheckpoint())
        #expect(try Checkpoint.parse(note.text).size == 1)
        #expect(note.signatures.count == 2)
        let verifiers = try signers.map { try NoteVerifier(verifierKey: $0.verifierKey) }
        #expect(try note.verify(with: verifiers).count == 2)

        #expect(try await log.initializeIfEmpty(actor: "system") == nil)
        #expect(try await log.head().size == 1)
    }

    @Test("reads entries as stored")
    func readEntries() async throws {
        let log = try makeLog()
        let appended = try await append(log, records(10))
        let page = try await log.entries(start: 3, limit: 4)
        #expect(page.map(\.seq) == [3, 4, 5, 6])
        #expect(page.map(\.body) == (try appended[3..<7].map { try $0.encoded() }))
        #expect(try await log.entries(start: 10, limit: 5).isEmpty)
    }

    @Test("concurrent appenders get gap-free indexes")
    func concurrentAppends() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 7))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<5 {
                        _ = try await database.transaction { try await log.append(records(3, from: task * 100 + round), in: $0) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let state = database.snapshot
        #expect(state.head.size == 120)
        #expect(state.entries.keys.sorted() == Array(0..<120))
        #expect(try await log.verifyIntegrity().isIntact)
    }

    @Test("the integrity check passes on an untouched log")
    func integrityIntact() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 10))
        try await log.initializeIfEmpty()
        for _ in 0..<5 { _ = try await append(log, records(7)) }
        let report = try await log.verifyIntegrity()
        #expect(report.isIntact, "\(report)")
        #expect(report.treeSize == 36)
        #expect(report.entriesChecked == 36)
        #expect(report.checkpointSize == 29)
        #expect(log.readOnlyError == nil)
    }

    @Test("the integrity check streams logs longer than one chunk")
    func integrityManyChunks() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 1500))
        _ = try await append(log, records(2500))
        let report = try await log.verifyIntegrity()
        #expect(report.isIntact, "\(report)")
        #expect(report.entriesChecked == 2500)
        #expect(report.checkpointSize == 2500)
    }

    @Test("a changed entry byte is found and turns the log read-only")
    func integrityChangedByte() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 5))
        _ = try await append(log, records(8))
        database.tamper { state in state.entries[2]!.body[10] ^= 0x01 }
        let report = try await log.verifyIntegrity()
        #expect(!report.isIntact)
        #expect(report.problems.map(\.code).contains(.leafHashMismatch))
        #expect(report.problems.first { $0.code == .leafHashMismatch }?.seq == 2)
        #expect(report.problems.map(\.code).contains(.rootMismatch))

        let error = await #expect(throws: AuditLogError.self) { try await append(log, records(1)) }
        #expect(error?.code == .logReadOnly)
        await #expect(throws: AuditLogError(code: .logReadOnly, detail: "")) { try await log.signCheckpoint() }
        // Reading still works: auditors need to see what happened.
        #expect(try await log.entries(start: 0, limit: 10).count == 8)
    }

    @Test("an entry changed together with its leaf hash still breaks the checkpoint root")
    func integrityRehashedEntry() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 4))
        _ = try await append(log, records(6))
        database.tamper { state in
            state.entries[1]!.body[12] ^= 0x01
            state.entries[1]!.leafHash = MerkleHash.leaf(state.entries[1]!.body)
        }
        let report = try await log.verifyIntegrity()
        #expect(report.problems.map(\.code) == [.rootMismatch, .headMismatch])
        #expect(log.readOnlyError != nil)
    }

    @Test("a deleted checkpoint-covered entry is found")
    func integrityDeletedEntry() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 6))
        _ = try await append(log, records(9))
        database.tamper { state in state.entries[4] = nil }
        let report = try await log.verifyIntegrity()
        #expect(report.problems.first?.code == .entryMissing)
        #expect(report.problems.first?.seq == 4)
        #expect(log.readOnlyError?.code == .logCorrupt)
    }

    @Test("a deleted last entry is found")
    func integrityDeletedLastEntry() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 3))
        _ = try await append(log, records(3))
        database.tamper { state in state.entries[2] = nil }
        let report = try await log.verifyIntegrity()
        #expect(report.problems.map(\.code).contains(.entryMissing))
        #expect(report.problems.first { $0.code == .entryMissing }?.seq == 2)
    }

    @Test("a checkpoint signed by an unknown key is found")
    func integrityForeignSignature() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 2))
        _ = try await append(log, records(2))
        let stranger = try makeLog(signers: [try testSigner(99)])
        let forged = try SignedNote.sign(try Checkpoint.parse(try #require(try await log.latestCheckpoint()).text).text,
                                         with: stranger.signers)
        database.tamper { state in state.checkpoints[2]!.note = forged.serialized }
        let report = try await log.verifyIntegrity()
        #expect(report.problems.map(\.code) == [.checkpointSignatureInvalid])
    }

    @Test("an extra entry beyond the head is found")
    func integrityExtraEntry() async throws {
        let log = try makeLog()
        _ = try await append(log, records(3))
        database.tamper { state in
            var extra = state.entries[2]!
            extra.seq = 3
            state.entries[3] = extra
        }
        let report = try await log.verifyIntegrity()
        #expect(report.problems.map(\.code) == [.unexpectedEntry])
    }

    @Test("refuses to sign a tree that does not extend the last checkpoint")
    func inconsistentTree() async throws {
        let log = try makeLog(policy: CheckpointPolicy(maxEntries: 1000))
        _ = try await append(log, records(5))
        _ = try await log.signCheckpoint()
        // Someone rewrites history under the head: a different leaf 1, its subtree and the head agree
        // with each other but not with the signed checkpoint.
        database.tamper { state in
            let forged = MerkleHash.leaf(Array("forged".utf8))
            state.entries[1]!.leafHash = forged
            let pair = MerkleHash.node(state.entries[0]!.leafHash, forged)
            state.nodes[MerkleNodeID(level: 1, index: 0)] = pair
            let four = MerkleHash.node(pair, state.nodes[MerkleNodeID(level: 1, index: 1)]!)
            state.nodes[MerkleNodeID(level: 2, index: 0)] = four
            state.head.frontier[0] = four
        }
        _ = try await append(log, records(2, from: 5))
        let error = await #expect(throws: AuditLogError.self) { try await log.signCheckpoint() }
        #expect(error?.code == .logInconsistent)
        #expect(database.snapshot.checkpoints.keys.sorted() == [5])
        #expect(log.readOnlyError?.code == .logInconsistent)
        await #expect(throws: AuditLogError(code: .logReadOnly, detail: "")) { try await append(log, records(1)) }
    }

    @Test("refuses to sign when the head is behind the last checkpoint")
    func headBehindCheckpoint() async throws {
        let log = try makeLog()
        _ = try await append(log, records(4))
        _ = try await log.signCheckpoint()
        database.tamper { state in
            state.head = LogHead(size: 2, frontier: [state.nodes[MerkleNodeID(level: 1, index: 0)]!])
        }
        await #expect(throws: AuditLogError(code: .logInconsistent, detail: "")) { try await log.signCheckpoint() }
        #expect(log.readOnlyError?.code == .logInconsistent)
    }

    @Test("refuses to append when the head is behind the last checkpoint")
    func appendBehindCheckpoint() async throws {
        let log = try makeLog()
        _ = try await append(log, records(4))
        _ = try await log.signCheckpoint()
        database.tamper { state in
            state.head = LogHead(size: 2, frontier: [state.nodes[MerkleNodeID(level: 1, index: 0)]!])
            state.entries[2] = nil
            state.entries[3] = nil
        }
        await #expect(throws: AuditLogError(code: .logInconsistent, detail: "")) { try await append(log, records(1)) }
        #expect(database.snapshot.entries.count == 2)
        #expect(log.readOnlyError?.code == .logInconsistent)
    }

    @Test("needs signers that share one name")
    func configuration() throws {
        #expect(throws: AuditLogError(code: .invalidConfiguration, detail: "")) { try makeLog(signers: []) }
        #expect(throws: AuditLogError(code: .invalidConfiguration, detail: "")) {
            try makeLog(signers: [try testSigner(1), try testSigner(2, name: "other.example/log")])
        }
    }

    @Test("appends from inside an actor's transaction")
    func appendFromActor() async throws {
        actor Module {
            var appended = 0
            func record(_ log: TransparencyLog, _ database: MemoryLogDatabase) async throws {
                try await database.transaction { transaction in
                    let entries = try await log.append(records(2), in: transaction)
                    appended += entries.count
                }
            }
        }
        let module = Module()
        try await module.record(try makeLog(), database)
        #expect(await module.appended == 2)
    }
}
