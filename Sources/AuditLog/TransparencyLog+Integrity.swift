internal import Cryptography

/// One disagreement between the stored log and what it should be.
public struct IntegrityProblem: Sendable, Equatable, CustomStringConvertible {
    /// Stable codes of the problems the check finds.
    public enum Code: String, Sendable, CaseIterable {
        /// The head's frontier does not fit its size.
        case headMalformed = "head_malformed"
        /// The latest checkpoint is not a note, not a checkpoint, or not of this log.
        case checkpointMalformed = "checkpoint_malformed"
        /// The latest checkpoint is not validly signed by a configured key.
        case checkpointSignatureInvalid = "checkpoint_signature_invalid"
        /// The checkpoint's stored size or root differ from its note.
        case checkpointMismatch = "checkpoint_mismatch"
        /// The checkpoint covers more entries than the head.
        case checkpointBeyondHead = "checkpoint_beyond_head"
        /// No entry where one is expected (a gap in `seq`, or fewer entries than the head says).
        case entryMissing = "entry_missing"
        /// An entry beyond the head.
        case unexpectedEntry = "unexpected_entry"
        /// An entry's stored leaf hash is not the hash of its stored bytes.
        case leafHashMismatch = "leaf_hash_mismatch"
        /// The root recomputed from the entries differs from the checkpoint's.
        case rootMismatch = "root_mismatch"
        /// The frontier recomputed from the entries differs from the stored head.
        case headMismatch = "head_mismatch"
        /// A `log.key_added` or `log.key_retired` entry breaks the rotation rules, or the keys in
        /// force stored beside the log differ from those the entries announce.
        case keysMismatch = "keys_mismatch"
    }

    /// What is wrong.
    public var code: Code
    /// The entry index concerned, when there is one.
    public var seq: UInt64?
    /// Details for an operator.
    public var detail: String

    /// Creates a problem.
    public init(code: Code, seq: UInt64? = nil, detail: String) {
        self.code = code
        self.seq = seq
        self.detail = detail
    }

    /// `code at entry seq: detail`.
    public var description: String {
        if let seq { return "\(code.rawValue) at entry \(seq): \(detail)" }
        return "\(code.rawValue): \(detail)"
    }
}

/// The outcome of `TransparencyLog/verifyIntegrity()`.
public struct IntegrityReport: Sendable, Equatable, CustomStringConvertible {
    /// The stored head size.
    public var treeSize: UInt64
    /// The size of the latest checkpoint, nil if none is stored.
    public var checkpointSize: UInt64?
    /// How many entries were read and rehashed.
    public var entriesChecked: UInt64
    /// Everything found wrong, in the order found; at most ``maxProblems``.
    public var problems: [IntegrityProblem]
    /// The keys the entries announce (in force and retired); nil for an empty log or one whose
    /// key entries do not apply.
    public var keys: LogKeys?

    /// The report keeps this many problems; a damaged store would otherwise fill memory.
    public static let maxProblems = 100

    /// True when nothing was found wrong.
    public var isIntact: Bool { problems.isEmpty }

    /// One line for logs.
    public var description: String {
        let status = isIntact ? "intact" : "\(problems.count) problem(s): " + problems.map(\.description).joined(separator: "; ")
        return "log of \(treeSize) entries, checkpoint at \(checkpointSize.map(String.init) ?? "none"): \(status)"
    }
}

extension TransparencyLog {
    /// Entries read per query while rehashing; memory stays flat whatever the log's size.
    static let integrityChunk = 1000

    /// Checks the stored log against its latest checkpoint, in one read-only transaction.
    ///
    /// Verifies the checkpoint's signature with the configured keys, rehashes every stored entry
    /// (streaming, in chunks) up to the head, and compares the root at the checkpoint's size with
    /// the checkpoint and the recomputed frontier with the stored head; entry `i` must have
    /// `seq` `i`. On any problem the log turns read-only: appends and signing are refused with
    /// `log_read_only`. Throws only when the store cannot be read.
    public func verifyIntegrity() async throws -> IntegrityReport {
        let report = try await read { reader in try await self.check(reader) }
        if let first = report.problems.first {
            markReadOnly(AuditLogError(code: .logCorrupt, detail: "integrity check failed: \(first)"))
        }
        return report
    }

    private func check(_ reader: any LogReader) async throws -> IntegrityReport {
        let head = try await reader.head()
        var report = IntegrityReport(treeSize: head.size, checkpointSize: nil, entriesChecked: 0, problems: [])
        func found(_ code: IntegrityProblem.Code, _ seq: UInt64? = nil, _ detail: String) {
            if report.problems.count < IntegrityReport.maxProblems {
                report.problems.append(IntegrityProblem(code: code, seq: seq, detail: detail))
            }
        }

        if MerkleFrontier(size: head.size, hashes: head.frontier) == nil {
            found(.headMalformed, nil, "\(head.frontier.count) frontier hashes for size \(head.size)")
        }

        // The root the entries must reproduce, from the checkpoint's note rather than the stored
        // column, since the signature covers only the note.
        var signedSize: UInt64?
        var signedRoot: SHA256Digest?
        if let stored = try await reader.latestCheckpoint() {
            report.checkpointSize = stored.size
            do {
                let note = try SignedNote.parse(stored.note)
                do {
                    _ = try note.verify(with: verifiers)
                } catch {
                    found(.checkpointSignatureInvalid, nil, "checkpoint at size \(stored.size): \(error)")
                }
                let checkpoint = try Checkpoint.parse(note.text)
                if checkpoint.origin != origin {
                    found(.checkpointMalformed, nil, "checkpoint origin \(checkpoint.origin) is not \(origin)")
                }
                if checkpoint.size != stored.size || checkpoint.rootHash != stored.rootHash {
                    found(.checkpointMismatch, nil,
                          "stored size \(stored.size) root \(stored.rootHash.hex), note says size \(checkpoint.size) root \(checkpoint.rootHash.hex)")
                }
                signedSize = checkpoint.size
                signedRoot = checkpoint.rootHash
            } catch {
                found(.checkpointMalformed, nil, "checkpoint at size \(stored.size): \(error)")
            }
            if let size = signedSize, size > head.size {
                found(.checkpointBeyondHead, nil, "checkpoint size \(size) exceeds the head size \(head.size)")
            }
        }

        let hasher = SHA256()
        var frontier = MerkleFrontier()
        func compareRoot() {
            if let signedSize, let signedRoot, frontier.size == signedSize {
                let root = frontier.root(using: hasher)
                if root != signedRoot {
                    found(.rootMismatch, nil, "the entries give root \(root.hex) at size \(signedSize), the checkpoint \(signedRoot.hex)")
                }
            }
        }
        compareRoot()

        var keys: LogKeys?
        var keysBroken = false
        func applyKeys(_ entry: StoredEntry) {
            guard !keysBroken, entry.action.hasPrefix("log.") else { return }
            do {
                let record = try AuditEntry(decoding: entry.body).record
                switch record.action {
                case LogKeys.initializedAction where keys == nil:
                    let vkeys = record.data["vkeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    keys = try LogKeys(origin: origin, initial: vkeys)
                case LogKeys.addedAction:
                    guard keys != nil else { throw LogKeyError(code: .keyRotationInvalid, detail: "a key added before log.initialized") }
                    try keys?.add(record.data["vkey"]?.stringValue ?? "")
                case LogKeys.retiredAction:
                    guard keys != nil else { throw LogKeyError(code: .keyRotationInvalid, detail: "a key retired before log.initialized") }
                    try keys?.retire(record.data["vkey"]?.stringValue ?? "")
                default:
                    return
                }
            } catch {
                keysBroken = true
                found(.keysMismatch, entry.seq, "\(error)")
            }
        }

        var next: UInt64 = 0
        var gap = false
        scan: while true {
            let chunk = try await reader.entries(from: next, limit: Self.integrityChunk)
            for entry in chunk {
                guard entry.seq < head.size else {
                    found(.unexpectedEntry, entry.seq, "an entry at or beyond the head size \(head.size)")
                    break scan
                }
                guard entry.seq == next else {
                    found(.entryMissing, next, "the next stored entry is \(entry.seq)")
                    gap = true
                    break scan
                }
                let leafHash = MerkleHash.leaf(entry.body, using: hasher)
                if leafHash != entry.leafHash {
                    found(.leafHashMismatch, entry.seq, "the stored bytes hash to \(leafHash.hex), the stored leaf hash is \(entry.leafHash.hex)")
                }
                frontier.append(leafHash: leafHash, using: hasher)
                applyKeys(entry)
                report.entriesChecked += 1
                next += 1
                compareRoot()
            }
            if chunk.count < Self.integrityChunk { break }
        }
        if !gap, next < head.size {
            found(.entryMissing, next, "the head has \(head.size) entries, the store \(next)")
        }
        if !gap, next == head.size, frontier.hashes != head.frontier {
            found(.headMismatch, nil, "the frontier recomputed from the entries differs from the stored head")
        }
        if let signedSize, next < signedSize, !report.problems.contains(where: { $0.code == .entryMissing }) {
            found(.entryMissing, next, "the checkpoint covers \(signedSize) entries, the store has \(next)")
        }
        if !keysBroken, let keys {
            let stored = try? await self.keys(in: reader)
            if stored?.active != keys.active {
                let said = stored.map { $0.active.map(\.keyDescription).joined(separator: ", ") } ?? "unreadable"
                found(.keysMismatch, nil,
                      "the entries put \(keys.active.map(\.keyDescription).joined(separator: ", ")) in force, the stored key state says \(said)")
            } else {
                report.keys = keys
            }
        }
        return report
    }
}

extension TransparencyLog {
    /// Checks that the stored log extends `witness`, a checkpoint this log signed or verified
    /// earlier and that was kept outside the database (see `Docs/operations.md`, "Backups and
    /// restores"): its tree may not be larger than the stored one, and the stored tree must prove
    /// consistent with it. Otherwise the database is older than what was seen, e.g. a restored
    /// backup, and the log turns read-only with `log_rolled_back`, which this returns.
    ///
    /// The start-up integrity check alone cannot see this: it compares the store with the latest
    /// checkpoint in the same store, which an old backup restores consistently.
    @discardableResult
    public func checkWitness(_ witness: Checkpoint) async throws -> AuditLogError? {
        let problem: String? = try await read { reader in
            guard witness.origin == self.origin else {
                return "the witness is a checkpoint of the log \(witness.origin), the database holds \(self.origin)"
            }
            let frontier = try self.restoreFrontier(try await reader.head())
            guard witness.size <= frontier.size else {
                return "the database holds \(frontier.size) entries, but this data directory last saw a checkpoint of \(witness.size)"
            }
            guard witness.size > 0 else { return nil }
            let hasher = SHA256()
            let root = frontier.root(using: hasher)
            if witness.size == frontier.size {
                return root == witness.rootHash ? nil
                    : "the database's tree of \(frontier.size) entries has another root than the checkpoint this data directory last saw"
            }
            let proof: [SHA256Digest]
            do {
                let plan = try MerkleProof.consistencyPlan(oldSize: witness.size, newSize: frontier.size)
                proof = try plan.assemble(try await reader.nodeHashes(plan.nodes))
            } catch {
                return "no consistency proof from the witnessed size \(witness.size) to the database's \(frontier.size): \(error)"
            }
            guard MerkleProof.verifyConsistency(oldSize: witness.size, newSize: frontier.size,
                                                oldRoot: witness.rootHash, newRoot: root, proof: proof)
            else {
                return "the database's tree of \(frontier.size) entries does not extend the checkpoint of \(witness.size) this data directory last saw"
            }
            return nil
        }
        guard let problem else { return nil }
        let error = AuditLogError(code: .logRolledBack, detail: problem)
        markReadOnly(error)
        return error
    }
}
