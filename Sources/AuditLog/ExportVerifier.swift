internal import Cryptography

/// The first thing found wrong with an export: a stable code, where, and why.
public struct ExportFinding: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code, one of: `directory_missing`, `vkey_missing`, `vkey_malformed`, `checkpoint_missing`,
    /// `checkpoint_malformed`, `checkpoint_signature_invalid`, `checkpoint_key_unknown`,
    /// `checkpoint_key_ambiguous`, `origin_mismatch`, `unexpected_file`, `bundle_missing`,
    /// `bundle_truncated`, `bundle_oversized`, `entry_not_canonical`, `entry_malformed`,
    /// `entry_sequence_mismatch`, `tile_missing`, `tile_truncated`, `tile_oversized`, `tile_mismatch`,
    /// `root_mismatch`, `io_error`; and from ``ExportConsistency``: `previous_other_log`,
    /// `previous_larger`, `history_rewritten`.
    public var code: String
    /// Where: `entry <index>`, a path relative to the export directory (`tile/0/000`, `checkpoint`), or
    /// the directory itself; prefixed with `previous: ` when it is in the previous export.
    public var location: String
    /// Why, in a sentence fragment.
    public var reason: String

    /// A finding from its parts.
    public init(code: String, location: String, reason: String) {
        self.code = code
        self.location = location
        self.reason = reason
    }

    /// Findings are equal when their codes are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// `<code> at <location>: <reason>`.
    public var description: String { "\(code) at \(location): \(reason)" }
}

/// What a successful verification established.
public struct ExportSummary: Sendable {
    /// The verified checkpoint: every entry and tile up to `checkpoint.size` matches it.
    public var checkpoint: Checkpoint
    /// The known keys that signed the checkpoint.
    public var signers: [NoteVerifier]
    /// False when the keys came from the export's own `vkey` file, which proves only that the export
    /// is self-consistent, not who made it.
    public var keyIsPinned: Bool
}

/// The outcome of verifying an export: a failed verification is an expected answer, not an error.
public enum ExportVerification: Sendable {
    /// Everything verified.
    case verified(ExportSummary)
    /// The first problem found.
    case failed(ExportFinding)
}

/// Verifies a C2SP tlog-tiles export of the audit log, streaming, in flat memory.
///
/// Checks, in order: the checkpoint's signature by a known key named after its origin; that the
/// directory holds no file the checkpoint does not cover (which is how an older checkpoint over a
/// newer export is caught); then every entry in order (canonical JSON, an object whose `seq` is its
/// index, with all entry members), every hash tile full and partial at every level, and finally the
/// root recomputed from the entries against the checkpoint.
public struct ExportVerifier: Sendable {
    /// Where the verifying keys come from.
    public enum Keys: Sendable {
        /// Keys the auditor got out of band.
        case pinned([NoteVerifier])
        /// The export's own `vkey` file: shows the export is self-consistent, not who signed it.
        case exportVerifierKey
    }

    /// Members every entry object must have.
    public static let entryMembers = ["seq", "time", "actor", "action", "subjects", "data"]
    /// The same names, as the one-pass checker takes them.
    static let requiredEntryMembers: [StaticString] = ["seq", "time", "actor", "action", "subjects", "data"]

    /// The export directory.
    public var directory: String
    /// The keys to check the checkpoint with.
    public var keys: Keys

    /// A verifier of the export in `directory`.
    public init(directory: String, keys: Keys) {
        self.directory = directory
        self.keys = keys
    }

    /// Runs every check and returns the verdict; `progress` gets (entries verified, entries in the
    /// checkpoint) after every bundle, and `entry` each entry's index and bytes, in order, once they
    /// passed the entry checks (the tiles around them may still fail later).
    public func verify(
        progress: (_ verified: UInt64, _ total: UInt64) -> Void = { _, _ in },
        entry: (_ seq: UInt64, _ bytes: ArraySlice<UInt8>) -> Void = { _, _ in }
    ) -> ExportVerification {
        do {
            return .verified(try run(progress: progress, entry: entry))
        } catch {
            return .failed(error)
        }
    }

    private func run(progress: (UInt64, UInt64) -> Void, entry: (UInt64, ArraySlice<UInt8>) -> Void) throws(ExportFinding) -> ExportSummary {
        // The export itself may be reached through a link (e.g. "latest"); what is inside may not.
        guard FileSystem.kind(of: directory, followingLinks: true) == .directory else {
            throw ExportFinding(code: "directory_missing", location: directory, reason: "not a directory")
        }
        let (verifiers, pinned) = try verifyingKeys()
        let (checkpoint, signers) = try readCheckpoint(verifiers: verifiers)
        try checkForUnexpectedFiles(treeSize: checkpoint.size)
        var stream = EntryStream(directory: directory, treeSize: checkpoint.size)
        let root = try stream.run(progress: progress, entry: entry)
        guard root == checkpoint.rootHash else {
            throw ExportFinding(
                code: "root_mismatch", location: ExportLayout.checkpoint,
                reason: "the entries hash to root \(Base64.encode(root.bytes)), the checkpoint signs \(Base64.encode(checkpoint.rootHash.bytes))")
        }
        return ExportSummary(checkpoint: checkpoint, signers: signers, keyIsPinned: pinned)
    }

    private func verifyingKeys() throws(ExportFinding) -> (verifiers: [NoteVerifier], pinned: Bool) {
        if case .pinned(let verifiers) = keys { return (verifiers, true) }
        let location = ExportLayout.verifierKey
        guard let bytes = try read(ExportLayout.verifierKey, limit: 1 << 16) else {
            throw ExportFinding(code: "vkey_missing", location: location, reason: "the export has no vkey file and no key was given")
        }
        guard bytes.count <= 1 << 16, let text = String(validating: bytes, as: UTF8.self) else {
            throw ExportFinding(code: "vkey_malformed", location: location, reason: "not a UTF-8 text file of verifier keys")
        }
        do {
            return (try NoteVerifier.list(from: text), false)
        } catch {
            throw ExportFinding(code: "vkey_malformed", location: location, reason: error.detail)
        }
    }

    private func readCheckpoint(verifiers: [NoteVerifier]) throws(ExportFinding) -> (Checkpoint, [NoteVerifier]) {
        let location = ExportLayout.checkpoint
        // Generous: 100 signatures of any type stay far below this.
        let limit = 1 << 20
        guard let bytes = try read(ExportLayout.checkpoint, limit: limit) else {
            throw ExportFinding(code: "checkpoint_missing", location: location, reason: "the export has no checkpoint")
        }
        guard bytes.count <= limit else {
            throw ExportFinding(code: "checkpoint_malformed", location: location, reason: "larger than 1 MiB")
        }
        do {
            let note = try SignedNote.parse(bytes: bytes)
            let (checkpoint, signers) = try note.verifiedCheckpoint(with: verifiers)
            return (checkpoint, signers)
        } catch {
            let code = switch error.code {
            case .badSignature: "checkpoint_signature_invalid"
            case .noKnownSignature: "checkpoint_key_unknown"
            case .ambiguousVerifier: "checkpoint_key_ambiguous"
            case .originMismatch: "origin_mismatch"
            case .malformedNote, .malformedVkey, .invalidKeyName, .signingFailed, .malformedCheckpoint: "checkpoint_malformed"
            }
            let keys = verifiers.map(\.keyDescription).joined(separator: ", ")
            let reason = code == "checkpoint_key_unknown" ? "\(error.detail); expected \(keys.isEmpty ? "a known key" : keys)" : error.detail
            throw ExportFinding(code: code, location: location, reason: reason)
        }
    }

    /// Walks the directory (sorted, so the same export always gives the same first finding) and refuses
    /// anything that is not the checkpoint, the key or a tile of the tree the checkpoint covers.
    /// Names starting with "." at the top are ignored: they are not part of the layout, e.g. the
    /// writer's temporary files.
    private func checkForUnexpectedFiles(treeSize: UInt64) throws(ExportFinding) {
        for name in try list("") where !name.hasPrefix(".") {
            let kind = FileSystem.kind(of: "\(directory)/\(name)")
            switch (name, kind) {
            case (ExportLayout.checkpoint, .regularFile), (ExportLayout.verifierKey, .regularFile), (ExportLayout.tiles, .directory):
                continue
            default:
                throw ExportFinding(code: "unexpected_file", location: name, reason: "not part of a tlog-tiles export")
            }
        }
        guard FileSystem.kind(of: "\(directory)/\(ExportLayout.tiles)") == .directory else { return }
        // Depth-first, iteratively: the layout is at most a dozen levels deep, an attacker's need not be.
        var pending = [ExportLayout.tiles]
        while let relative = pending.popLast() {
            let names = try list(relative)
            for name in names.reversed() {
                let path = "\(relative)/\(name)"
                let kind = FileSystem.kind(of: "\(directory)/\(path)")
                let address = TileAddress(path: path)
                switch kind {
                case .directory:
                    guard address == nil, path.utf8.count < 200 else {
                        throw ExportFinding(code: "unexpected_file", location: path, reason: "a directory where a tile path is expected")
                    }
                    pending.append(path)
                case .regularFile:
                    guard let address else {
                        throw ExportFinding(code: "unexpected_file", location: path, reason: "not a tile or entry bundle path")
                    }
                    guard address.belongs(toTreeOfSize: treeSize) else {
                        throw ExportFinding(code: "unexpected_file", location: path,
                                            reason: "not part of the tree of \(treeSize) entries the checkpoint covers")
                    }
                case .other, .missing:
                    throw ExportFinding(code: "unexpected_file", location: path, reason: "not a regular file")
                }
            }
        }
    }

    private func list(_ relative: String) throws(ExportFinding) -> [String] {
        let path = relative.isEmpty ? directory : "\(directory)/\(relative)"
        do {
            return try FileSystem.contents(ofDirectory: path)
        } catch {
            throw ExportFinding(code: "io_error", location: relative.isEmpty ? directory : relative, reason: error.description)
        }
    }

    /// Reads a small top-level file; nil when it is missing.
    private func read(_ relative: String, limit: Int) throws(ExportFinding) -> [UInt8]? {
        switch FileSystem.kind(of: "\(directory)/\(relative)") {
        case .missing: return nil
        case .regularFile: break
        case .directory, .other:
            throw ExportFinding(code: "unexpected_file", location: relative, reason: "not a regular file")
        }
        do {
            return try FileSystem.readSmallFile("\(directory)/\(relative)", limit: limit)
        } catch {
            throw ExportFinding(code: "io_error", location: relative, reason: error.description)
        }
    }
}

/// The streaming pass: bundles and level-0 tiles side by side, higher tiles as they complete.
private struct EntryStream {
    let directory: String
    let treeSize: UInt64
    var builder = TileBuilder()
    let hasher = SHA256()
    var entry = [UInt8](repeating: 0, count: ExportLayout.maximumEntrySize)
    var scratch = [UInt8](repeating: 0, count: SHA256Digest.byteCount)

    init(directory: String, treeSize: UInt64) {
        self.directory = directory
        self.treeSize = treeSize
    }

    /// Checks everything below the checkpoint and returns the recomputed root.
    mutating func run(progress: (UInt64, UInt64) -> Void, entry visit: (UInt64, ArraySlice<UInt8>) -> Void) throws(ExportFinding) -> SHA256Digest {
        progress(0, treeSize)
        for bundle in TileAddress.tiles(.entries, treeSize: treeSize) {
            try verify(bundle: bundle, visit: visit)
            progress(builder.size, treeSize)
        }
        // Level-0 partial tiles were compared entry by entry with their bundle.
        for tile in builder.partialTiles() where tile.address.kind != .hashes(level: 0) {
            try compare(tile)
        }
        return builder.root()
    }

    private mutating func verify(bundle address: TileAddress, visit: (UInt64, ArraySlice<UInt8>) -> Void) throws(ExportFinding) {
        let bundlePath = address.path
        guard let bundle = try open(bundlePath) else {
            throw ExportFinding(code: "bundle_missing", location: bundlePath, reason: "the checkpoint covers entries \(address.index << 8) and on")
        }
        let tileAddress = TileAddress(kind: .hashes(level: 0), index: address.index, width: address.width)
        let tilePath = tileAddress.path
        guard let tile = try open(tilePath) else {
            throw ExportFinding(code: "tile_missing", location: tilePath, reason: "the checkpoint covers entries \(address.index << 8) and on")
        }
        try checkSize(of: tile, at: tilePath, width: address.width)

        for position in 0..<address.width {
            let index = (address.index << 8) + UInt64(position)
            var length = 0
            for _ in 0..<2 {
                guard try read(1, from: bundle, at: bundlePath, into: &scratch) == 1 else {
                    throw ExportFinding(
                        code: "bundle_truncated", location: bundlePath,
                        reason: length == 0 && position == 0 ? "it is empty, the checkpoint needs \(address.width) entries"
                            : "it ends at entry \(index), the checkpoint needs \(address.width) entries")
                }
                length = length << 8 | Int(scratch[0])
            }
            guard try read(length, from: bundle, at: bundlePath, into: &entry) == length else {
                throw ExportFinding(code: "bundle_truncated", location: bundlePath, reason: "it ends inside entry \(index)")
            }
            let bytes = entry[0..<length]
            try check(entry: bytes, index: index)
            visit(index, bytes)

            let leaf = MerkleHash.leaf(bytes, using: hasher)
            guard try read(SHA256Digest.byteCount, from: tile, at: tilePath, into: &scratch) == SHA256Digest.byteCount else {
                throw ExportFinding(code: "tile_truncated", location: tilePath, reason: "it ends before hash \(position)")
            }
            let stored = scratch.withUnsafeBytes { SHA256Digest(copying: $0.baseAddress!) }
            guard stored == leaf else {
                throw ExportFinding(code: "tile_mismatch", location: tilePath,
                                    reason: "hash \(position) is not the hash of entry \(index)")
            }
            for completed in builder.append(leafHash: leaf) where completed.address.kind != .hashes(level: 0) {
                try compare(completed)
            }
        }
        guard try atEnd(bundle, at: bundlePath) else {
            throw ExportFinding(code: "bundle_oversized", location: bundlePath,
                                reason: "it holds more than the \(address.width) entries the checkpoint covers")
        }
    }

    private func check(entry bytes: ArraySlice<UInt8>, index: UInt64) throws(ExportFinding) {
        let location = "entry \(index)"
        // One pass, no value built: a million entries must verify in about the time it takes to hash them.
        let checked = bytes.withUnsafeBytes { raw -> Result<CanonicalEntrySummary, CanonicalJSONError> in
            do throws(CanonicalJSONError) {
                return .success(try CanonicalJSON.checkEntry(
                    raw, integerMember: "seq", requiredMembers: ExportVerifier.requiredEntryMembers))
            } catch {
                return .failure(error)
            }
        }
        let summary: CanonicalEntrySummary
        switch checked {
        case .success(let result): summary = result
        case .failure(let error):
            throw ExportFinding(code: "entry_not_canonical", location: location, reason: error.description)
        }
        guard summary.isObject else {
            throw ExportFinding(code: "entry_malformed", location: location, reason: "not a JSON object")
        }
        guard let seq = summary.integerMember else {
            throw ExportFinding(code: "entry_malformed", location: location, reason: "no integer \"seq\" member")
        }
        guard seq == Int64(clamping: index) else {
            throw ExportFinding(code: "entry_sequence_mismatch", location: location,
                                reason: "its \"seq\" is \(seq) but it is entry \(index) of the log")
        }
        if let missing = summary.firstMissingMember {
            throw ExportFinding(code: "entry_malformed", location: location,
                                reason: "no \"\(ExportVerifier.entryMembers[missing])\" member")
        }
    }

    /// Compares a recomputed tile (level 1 and up) with its file.
    private func compare(_ tile: Tile) throws(ExportFinding) {
        let path = tile.address.path
        guard let file = try open(path) else {
            throw ExportFinding(code: "tile_missing", location: path, reason: "the checkpoint's tree has this tile")
        }
        try checkSize(of: file, at: path, width: tile.address.width)
        var stored = [UInt8](repeating: 0, count: SHA256Digest.byteCount)
        for (position, hash) in tile.hashes.enumerated() {
            guard try read(SHA256Digest.byteCount, from: file, at: path, into: &stored) == SHA256Digest.byteCount else {
                throw ExportFinding(code: "tile_truncated", location: path, reason: "it ends before hash \(position)")
            }
            guard stored.withUnsafeBytes({ SHA256Digest(copying: $0.baseAddress!) }) == hash else {
                throw ExportFinding(code: "tile_mismatch", location: path,
                                    reason: "hash \(position) differs from the one recomputed from the entries")
            }
        }
    }

    private func checkSize(of file: BufferedFileReader, at path: String, width: Int) throws(ExportFinding) {
        let expected = Int64(width * SHA256Digest.byteCount)
        let actual: Int64
        do { actual = try file.size() } catch { throw ExportFinding(code: "io_error", location: path, reason: error.description) }
        if actual < expected {
            throw ExportFinding(code: "tile_truncated", location: path, reason: "\(actual) bytes, a tile of \(width) hashes is \(expected)")
        }
        if actual > expected {
            throw ExportFinding(code: "tile_oversized", location: path, reason: "\(actual) bytes, a tile of \(width) hashes is \(expected)")
        }
    }

    private func open(_ relative: String) throws(ExportFinding) -> BufferedFileReader? {
        do {
            return try BufferedFileReader(path: "\(directory)/\(relative)")
        } catch {
            throw ExportFinding(code: "io_error", location: relative, reason: error.description)
        }
    }

    private func read(_ count: Int, from file: BufferedFileReader, at path: String, into buffer: inout [UInt8]) throws(ExportFinding) -> Int {
        do {
            return try file.read(into: &buffer, count: count)
        } catch {
            throw ExportFinding(code: "io_error", location: path, reason: error.description)
        }
    }

    private func atEnd(_ file: BufferedFileReader, at path: String) throws(ExportFinding) -> Bool {
        do {
            return try file.isAtEnd()
        } catch {
            throw ExportFinding(code: "io_error", location: path, reason: error.description)
        }
    }
}

