import AuditLog
import Cryptography
import Foundation
import Testing

/// A log on its own in-memory store, for witness tests: two of them with the same key and the
/// same first entries are a fork.
private struct WitnessedLog {
    let database = MemoryLogDatabase()
    let log: TransparencyLog

    init(signer: NoteSigner) throws {
        log = try TransparencyLog(database: database, signers: [signer])
    }

    func append(_ records: [AuditRecord]) async throws {
        _ = try await database.transaction { try await log.append(records, in: $0) }
    }

    /// Signs a checkpoint and the add-checkpoint request from `oldSize` to it.
    func request(from oldSize: UInt64) async throws -> AddCheckpointRequest {
        let note = try await log.signCheckpoint()
        let size = try Checkpoint.parse(note.text).size
        let proof = oldSize == 0 || oldSize == size ? [] : try await log.consistencyProof(oldSize: oldSize, newSize: size)
        return AddCheckpointRequest(oldSize: oldSize, proof: proof, note: note)
    }
}

private func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("pdx-witness-\(UUID().uuidString.prefix(8))").path
}

private func witnessSigner(_ seed: UInt8 = 40, name: String = "witness.bj.example/pdx") throws -> CosignatureSigner {
    try CosignatureSigner(name: name, key: try Ed25519PrivateKey(seed: [UInt8](repeating: seed, count: 32)))
}

private func makeWitness(_ directory: String, logKeys: [NoteVerifier], now: Date = Date(timeIntervalSince1970: 1_790_000_000)) throws -> LogWitness {
    try LogWitness(signer: try witnessSigner(), logKeys: logKeys, state: try WitnessStateFile(directory: directory), clock: { now })
}

private func refusal(_ result: AddCheckpointResult) -> (WitnessErrorCode, UInt64?)? {
    if case .refused(let error, let latest) = result { return (error.code, latest) }
    return nil
}

@Suite("Witness: C2SP tlog-cosignature and tlog-witness")
struct WitnessTests {
    @Test("a cosignature verifies under the witness's verifier key, over exactly the checkpoint text")
    func cosignatureRoundTrip() throws {
        let signer = try witnessSigner()
        let verifier = try CosignatureVerifier(verifierKey: signer.verifierKey)
        #expect(verifier == signer.verifier)
        #expect(signer.verifierKey.hasPrefix("witness.bj.example/pdx+"))
        let text = "pdx.example/log\n3\n\(Base64.encode([UInt8](repeating: 1, count: 32)))\n"
        let signature = try signer.cosign(text, time: 1_790_000_000)
        #expect(signature.signature.count == 72)
        #expect(verifier.verify(signature, text: text) == 1_790_000_000)
        #expect(verifier.verify(signature, text: text.replacingOccurrences(of: "\n3\n", with: "\n4\n")) == nil)
        // A log key is not a witness key, nor the other way round.
        #expect(throws: NoteError.self) { try CosignatureVerifier(verifierKey: try testSigner().verifierKey) }
        #expect(throws: NoteError.self) { try NoteVerifier(verifierKey: signer.verifierKey) }
        // The cosigned note still verifies as the log's checkpoint: unknown lines are ignored.
        let note = try Checkpoint.parse(text).sign(with: [try testSigner()]).adding([signature])
        let reparsed = try SignedNote.parse(note.serialized)
        #expect(try reparsed.verify(with: [try testSigner().verifier]).count == 1)
        #expect(reparsed.cosignatures(by: [verifier]).valid.map(\.time) == [1_790_000_000])
    }

    @Test("cosigns a log as it grows, each time with a consistency proof from what it cosigned")
    func cosignsAGrowingLog() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try WitnessedLog(signer: try testSigner())
        let witness = try makeWitness(directory, logKeys: [try testSigner().verifier])
        try await log.append(records(5))
        let first = try await log.request(from: 0)
        guard case .cosigned(let signature, let line) = await witness.addCheckpoint(body: Array(first.body.utf8)) else {
            Issue.record("the first checkpoint was not cosigned")
            return
        }
        #expect(line.hasPrefix("\u{2014} witness.bj.example/pdx ") && line.hasSuffix("\n"))
        #expect(try witnessSigner().verifier.verify(signature, text: first.note.text) != nil)
        try await log.append(records(300, from: 5))
        let second = try await log.request(from: 5)
        #expect(!second.proof.isEmpty)
        guard case .cosigned = await witness.addCheckpoint(second) else {
            Issue.record("the grown checkpoint was not cosigned")
            return
        }
        #expect(await witness.latest(origin: log.log.origin)?.size == 305)
        // The same checkpoint again, from its own size: cosigned again, with no proof.
        guard case .cosigned = await witness.addCheckpoint(AddCheckpointRequest(oldSize: 305, proof: [], note: second.note)) else {
            Issue.record("the same checkpoint was not cosigned again")
            return
        }
    }

    @Test("a forked log is refused: a longer fork fails the proof (422), one of the same size conflicts (409)")
    func refusesAFork() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let honest = try WitnessedLog(signer: try testSigner())
        let fork = try WitnessedLog(signer: try testSigner())
        let witness = try makeWitness(directory, logKeys: [try testSigner().verifier])
        try await honest.append(records(10))
        try await fork.append(records(6))
        try await fork.append(records(4, from: 100))
        guard case .cosigned = await witness.addCheckpoint(try await honest.request(from: 0)) else {
            Issue.record("the honest checkpoint was not cosigned")
            return
        }
        // The fork shows a checkpoint of the same size with another root.
        #expect(refusal(await witness.addCheckpoint(try await fork.request(from: 0)))?.0 == .staleOldSize)
        #expect(refusal(await witness.addCheckpoint(try await fork.request(from: 10)))?.0 == .rootConflict)
        // The fork grows: its proof from 10 is a proof from its own tree of 10, not the one cosigned.
        try await fork.append(records(20, from: 200))
        #expect(refusal(await witness.addCheckpoint(try await fork.request(from: 10)))?.0 == .invalidProof)
        // A proof that is not one at all.
        var tampered = try await fork.request(from: 10)
        tampered.proof = tampered.proof.map { _ in MerkleHash.emptyTree }
        #expect(refusal(await witness.addCheckpoint(tampered))?.0 == .invalidProof)
        // The honest log still extends what was cosigned.
        try await honest.append(records(20, from: 10))
        guard case .cosigned = await witness.addCheckpoint(try await honest.request(from: 10)) else {
            Issue.record("the honest log's next checkpoint was not cosigned")
            return
        }
        #expect(await witness.latest(origin: honest.log.origin)?.size == 30)
    }

    @Test("answers the protocol's refusals: stale old size with the size, unknown origin, untrusted key, bad bodies")
    func refusals() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try WitnessedLog(signer: try testSigner())
        let witness = try makeWitness(directory, logKeys: [try testSigner().verifier])
        try await log.append(records(3))
        _ = await witness.addCheckpoint(try await log.request(from: 0))
        try await log.append(records(3, from: 3))
        let next = try await log.request(from: 3)
        #expect(refusal(await witness.addCheckpoint(AddCheckpointRequest(oldSize: 0, proof: [], note: next.note)))! == (.staleOldSize, 3))
        #expect(refusal(await witness.addCheckpoint(AddCheckpointRequest(oldSize: 4, proof: next.proof, note: next.note)))?.1 == 3)
        #expect(refusal(await witness.addCheckpoint(AddCheckpointRequest(oldSize: 99, proof: [], note: next.note)))?.0 == .oldSizeTooLarge)

        let other = try WitnessedLog(signer: try testSigner(9, name: "other.example/log"))
        try await other.append(records(2))
        #expect(refusal(await witness.addCheckpoint(try await other.request(from: 0)))?.0 == .unknownOrigin)
        // The right origin, signed by another key.
        let impostor = try WitnessedLog(signer: try testSigner(8))
        try await impostor.append(records(2))
        #expect(refusal(await witness.addCheckpoint(try await impostor.request(from: 0)))?.0 == .untrustedCheckpoint)
        // The right key, a bad signature.
        var forged = next.note
        forged.signatures[0].signature[0] ^= 1
        #expect(refusal(await witness.addCheckpoint(AddCheckpointRequest(oldSize: 3, proof: next.proof, note: forged)))?.0 == .untrustedCheckpoint)

        for body in ["", "old 5\n", "old 05\n\n\(next.note.serialized)", "old -1\n\n\(next.note.serialized)",
                     "new 5\n\n\(next.note.serialized)", "old 5\nnot base64\n\n\(next.note.serialized)",
                     "old 5\n\npdx.example/log\n8\n", "old 18446744073709551616\n\n\(next.note.serialized)",
                     "old 5\n" + String(repeating: Base64.encode(MerkleHash.emptyTree.bytes) + "\n", count: 64) + "\n" + next.note.serialized] {
            #expect(refusal(await witness.addCheckpoint(body: Array(body.utf8)))?.0 == .malformedRequest, "\(body.prefix(40))")
        }
        #expect(refusal(await witness.addCheckpoint(body: [UInt8](repeating: 0x41, count: 70_000)))?.0 == .malformedRequest)
        // None of that moved the witness.
        #expect(await witness.latest(origin: log.log.origin)?.size == 3)
    }

    @Test("a restarted witness keeps what it cosigned, and a second process cannot open its state")
    func stateSurvivesARestart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try WitnessedLog(signer: try testSigner())
        try await log.append(records(7))
        do {
            let witness = try makeWitness(directory, logKeys: [try testSigner().verifier])
            _ = await witness.addCheckpoint(try await log.request(from: 0))
            #expect(throws: WitnessError.self) { try WitnessStateFile(directory: directory) }
        }
        let restarted = try makeWitness(directory, logKeys: [try testSigner().verifier])
        #expect(await restarted.latest(origin: log.log.origin)?.size == 7)
        try await log.append(records(1, from: 7))
        #expect(refusal(await restarted.addCheckpoint(try await log.request(from: 0)))! == (.staleOldSize, 7))
        guard case .cosigned = await restarted.addCheckpoint(try await log.request(from: 7)) else {
            Issue.record("the restarted witness did not cosign the next checkpoint")
            return
        }
    }

    @Test("an unreadable state file stops the witness from starting rather than forgetting")
    func corruptStateIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: "\(directory)/\(WitnessStateFile.fileName)"))
        #expect(throws: WitnessError(code: .stateUnavailable, detail: "")) {
            try makeWitness(directory, logKeys: [try testSigner().verifier])
        }
    }
}
