#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
public import Cryptography
public import Foundation

/// Why a witness refuses a checkpoint.
public typealias WitnessError = ModuleError<WitnessErrorCode>

/// The stable codes of ``WitnessError``. Each maps to one status of the C2SP tlog-witness protocol
/// (`WitnessErrorCode.status`); the server puts the code in a plain-text body beside it.
public enum WitnessErrorCode: String, Sendable, CaseIterable {
    /// The body is not an old-size line, proof lines, a blank line and a signed note (400).
    case malformedRequest = "malformed_request"
    /// The old size is larger than the checkpoint's size (400).
    case oldSizeTooLarge = "old_size_too_large"
    /// No log with the checkpoint's origin is witnessed here (404).
    case unknownOrigin = "unknown_origin"
    /// No trusted key of the log signed the checkpoint, or a trusted key's signature is bad (403).
    case untrustedCheckpoint = "untrusted_checkpoint"
    /// The old size is not the size last cosigned (409, with that size in the body).
    case staleOldSize = "stale_old_size"
    /// Same size as the checkpoint last cosigned, another root: the log forked (409).
    case rootConflict = "root_conflict"
    /// The consistency proof does not prove the checkpoint extends the one last cosigned (422).
    case invalidProof = "invalid_proof"
    /// The witness could not keep its state; nothing was cosigned (500).
    case stateUnavailable = "state_unavailable"

    /// The protocol's HTTP status for this refusal.
    public var status: Int {
        switch self {
        case .malformedRequest, .oldSizeTooLarge: 400
        case .unknownOrigin: 404
        case .untrustedCheckpoint: 403
        case .staleOldSize, .rootConflict: 409
        case .invalidProof: 422
        case .stateUnavailable: 500
        }
    }
}

/// A parsed `add-checkpoint` request body (C2SP tlog-witness): `old <size>`, up to 63 base64 proof
/// hashes, a blank line, then the signed checkpoint.
public struct AddCheckpointRequest: Sendable, Equatable {
    /// Largest body accepted: a checkpoint with 100 signatures and 63 proof lines fits many times over.
    public static let maximumBytes = 1 << 16
    /// The spec's cap on proof lines.
    public static let maximumProofLines = 63

    /// The size the client believes the witness last cosigned.
    public var oldSize: UInt64
    /// Consistency proof from `oldSize` to the checkpoint's size.
    public var proof: [SHA256Digest]
    /// The signed checkpoint.
    public var note: SignedNote

    /// A request from its parts.
    public init(oldSize: UInt64, proof: [SHA256Digest], note: SignedNote) {
        self.oldSize = oldSize
        self.proof = proof
        self.note = note
    }

    /// The body as sent.
    public var body: String {
        var out = "old \(oldSize)\n"
        for hash in proof { out += Base64.encode(hash.bytes) + "\n" }
        return out + "\n" + note.serialized
    }

    /// Parses a body; throws `malformed_request` for anything the protocol does not allow.
    public static func parse(_ body: some Collection<UInt8>) throws(WitnessError) -> AddCheckpointRequest {
        func malformed(_ detail: String) -> WitnessError { WitnessError(code: .malformedRequest, detail: detail) }
        guard body.count <= maximumBytes else { throw malformed("the body is over \(maximumBytes) bytes") }
        var rest = Array(body)[...]
        func line() throws(WitnessError) -> ArraySlice<UInt8> {
            guard let newline = rest.firstIndex(of: 0x0A) else { throw malformed("a line does not end in a newline") }
            defer { rest = rest[(newline + 1)...] }
            return rest[..<newline]
        }
        let first = try line()
        let prefix = Array("old ".utf8)
        guard first.starts(with: prefix) else { throw malformed("the first line is not 'old <size>'") }
        let digits = first.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              digits.first != 0x30 || digits.count == 1,
              let oldSize = UInt64(String(decoding: digits, as: UTF8.self))
        else { throw malformed("the old size is not a decimal number without leading zeros") }
        var proof: [SHA256Digest] = []
        while true {
            let next = try line()
            if next.isEmpty { break }
            guard proof.count < maximumProofLines else { throw malformed("more than \(maximumProofLines) proof lines") }
            guard let bytes = Base64.decode(String(decoding: next, as: UTF8.self)), let hash = SHA256Digest(bytes: bytes) else {
                throw malformed("proof line \(proof.count + 1) is not the base64 of 32 bytes")
            }
            proof.append(hash)
        }
        let note: SignedNote
        do {
            note = try SignedNote.parse(bytes: rest)
        } catch {
            throw malformed("the checkpoint is not a signed note: \(error.detail)")
        }
        return AddCheckpointRequest(oldSize: oldSize, proof: proof, note: note)
    }
}

/// What a witness answers an `add-checkpoint`.
public enum AddCheckpointResult: Sendable, Equatable {
    /// Cosigned: the signature lines to answer with, each ending in a newline.
    case cosigned(SignedNote.Signature, line: String)
    /// Refused; for `stale_old_size`, `latestSize` is the size last cosigned, which the answer carries.
    case refused(WitnessError, latestSize: UInt64?)
}

/// What a witness remembers of one log: the checkpoint it last cosigned.
public struct WitnessedCheckpoint: Sendable, Equatable, Codable {
    /// Its tree size.
    public var size: UInt64
    /// Its root hash, base64.
    public var rootHash: String
    /// When it was cosigned (POSIX seconds).
    public var cosignedAt: UInt64

    enum CodingKeys: String, CodingKey {
        case size
        case rootHash = "root_hash"
        case cosignedAt = "cosigned_at"
    }
}

/// The witness's durable memory: per log origin, the checkpoint last cosigned, kept in one JSON file
/// that is replaced atomically (written, synced, renamed, directory synced) before any cosignature
/// leaves the witness. A lock file keeps a second process off the same directory.
public final class WitnessStateFile: @unchecked Sendable {
    /// The state directory.
    public let directory: String
    private var lockDescriptor: Int32 = -1
    private var counter = 0

    /// The state file's name in the directory.
    public static let fileName = "witness-state.json"

    /// Opens (creating it if missing) the state directory and locks it; throws `state_unavailable`
    /// when another process holds it or it cannot be created.
    public init(directory: String) throws(WitnessError) {
        self.directory = directory
        do {
            if FileSystem.kind(of: directory, followingLinks: true) == .missing { try FileSystem.createDirectories(directory) }
        } catch {
            throw WitnessError(code: .stateUnavailable, detail: error.description)
        }
        let descriptor = open("\(directory)/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw WitnessError(code: .stateUnavailable, detail: "cannot open \(directory)/lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw WitnessError(code: .stateUnavailable, detail: "another witness process holds \(directory)")
        }
        lockDescriptor = descriptor
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    /// The stored state; empty when there is no file yet.
    public func load() throws(WitnessError) -> [String: WitnessedCheckpoint] {
        let bytes: [UInt8]?
        do {
            bytes = try FileSystem.readSmallFile("\(directory)/\(Self.fileName)", limit: 1 << 24)
        } catch {
            throw WitnessError(code: .stateUnavailable, detail: error.description)
        }
        guard let bytes else { return [:] }
        do {
            return try JSONDecoder().decode([String: WitnessedCheckpoint].self, from: Data(bytes))
        } catch {
            throw WitnessError(code: .stateUnavailable, detail: "\(directory)/\(Self.fileName) is not a witness state file")
        }
    }

    /// Replaces the stored state, durably.
    public func save(_ state: [String: WitnessedCheckpoint]) throws(WitnessError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let data = try encoder.encode(state)
            counter += 1
            let file = try AtomicFileWriter(temporaryPath: "\(directory)/.tmp-\(getpid())-\(counter)")
            try file.write(Array(data))
            try file.commit(to: "\(directory)/\(Self.fileName)")
            try FileSystem.syncDirectory(directory)
        } catch let error as FileSystemError {
            throw WitnessError(code: .stateUnavailable, detail: error.description)
        } catch {
            throw WitnessError(code: .stateUnavailable, detail: "cannot encode the witness state")
        }
    }
}

/// A C2SP tlog-witness: cosigns a log's checkpoint only when it is consistent with the checkpoint it
/// last cosigned for that log, which it keeps durably before answering.
///
/// An actor, so checking a request against the stored size and storing the new one happen as one
/// step: two requests never both extend the same old size.
public actor LogWitness {
    /// The cosigning key.
    public nonisolated let signer: CosignatureSigner
    /// The logs witnessed: origin → the log keys trusted for it.
    public nonisolated let logs: [String: [NoteVerifier]]
    private let stateFile: WitnessStateFile
    private var state: [String: WitnessedCheckpoint]
    private let clock: @Sendable () -> Date
    private let hasher = SHA256()

    /// A witness of the logs whose verifier keys are `logKeys` (the key name is the log origin),
    /// remembering what it cosigned in `state`.
    public init(signer: CosignatureSigner, logKeys: [NoteVerifier], state: WitnessStateFile,
                clock: @escaping @Sendable () -> Date = { Date() }) throws(WitnessError) {
        self.signer = signer
        self.logs = Dictionary(grouping: logKeys, by: \.name)
        self.stateFile = state
        self.state = try state.load()
        self.clock = clock
    }

    /// The checkpoint last cosigned for `origin`, if any.
    public func latest(origin: String) -> WitnessedCheckpoint? { state[origin] }

    /// Handles a raw `add-checkpoint` body.
    public func addCheckpoint(body: some Collection<UInt8>) -> AddCheckpointResult {
        do {
            return addCheckpoint(try AddCheckpointRequest.parse(body))
        } catch {
            return .refused(error, latestSize: nil)
        }
    }

    /// Checks `request` in the order the protocol lists the checks, and cosigns when all pass.
    public func addCheckpoint(_ request: AddCheckpointRequest) -> AddCheckpointResult {
        func refuse(_ code: WitnessErrorCode, _ detail: String, latest: UInt64? = nil) -> AddCheckpointResult {
            .refused(WitnessError(code: code, detail: detail), latestSize: latest)
        }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.parse(request.note.text)
        } catch {
            return refuse(.malformedRequest, "the note is not a checkpoint: \(error.detail)")
        }
        guard let keys = logs[checkpoint.origin] else {
            return refuse(.unknownOrigin, "this witness does not witness the log \(checkpoint.origin)")
        }
        do {
            _ = try request.note.verify(with: keys)
        } catch {
            return refuse(.untrustedCheckpoint, "the checkpoint is not signed by the log's key: \(error.detail)")
        }
        guard request.oldSize <= checkpoint.size else {
            return refuse(.oldSizeTooLarge, "old size \(request.oldSize) is larger than the checkpoint's \(checkpoint.size)")
        }
        let latest = state[checkpoint.origin]
        let latestSize = latest?.size ?? 0
        guard request.oldSize == latestSize else {
            return refuse(.staleOldSize, "the last checkpoint cosigned for \(checkpoint.origin) has size \(latestSize), not \(request.oldSize)",
                          latest: latestSize)
        }
        let rootText = Base64.encode(checkpoint.rootHash.bytes)
        if let latest, latest.size == checkpoint.size {
            guard latest.rootHash == rootText else {
                return refuse(.rootConflict, "a checkpoint of size \(checkpoint.size) with another root was cosigned before: the log forked")
            }
            guard request.proof.isEmpty else { return refuse(.invalidProof, "no proof is needed between equal sizes") }
        } else if let latest, latest.size > 0 {
            guard let oldRootBytes = Base64.decode(latest.rootHash), let oldRoot = SHA256Digest(bytes: oldRootBytes) else {
                return refuse(.stateUnavailable, "the stored root for \(checkpoint.origin) is unreadable")
            }
            guard MerkleProof.verifyConsistency(oldSize: latest.size, newSize: checkpoint.size, oldRoot: oldRoot,
                                                newRoot: checkpoint.rootHash, proof: request.proof, using: hasher)
            else {
                return refuse(.invalidProof, "the proof does not show size \(checkpoint.size) extends the cosigned size \(latest.size)")
            }
        } else {
            guard request.proof.isEmpty else { return refuse(.invalidProof, "the proof must be empty from old size 0") }
            if checkpoint.size == 0 && checkpoint.rootHash != MerkleHash.emptyTree {
                return refuse(.invalidProof, "an empty tree has the empty tree's root")
            }
        }
        let time = max(UInt64(max(clock().timeIntervalSince1970, 1)), latest?.cosignedAt ?? 1)
        let signature: SignedNote.Signature
        do {
            signature = try signer.cosign(request.note.text, time: time)
        } catch {
            return refuse(.stateUnavailable, "cosigning failed: \(error.detail)")
        }
        var next = state
        next[checkpoint.origin] = WitnessedCheckpoint(size: checkpoint.size, rootHash: rootText, cosignedAt: time)
        do {
            try stateFile.save(next)
        } catch {
            return .refused(error, latestSize: nil)
        }
        state = next
        let line = SignedNote(text: "x\n", signatures: [signature]).serialized.dropFirst(3)
        return .cosigned(signature, line: String(line))
    }
}
