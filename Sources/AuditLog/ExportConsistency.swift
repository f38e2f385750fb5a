public import Cryptography

/// What a successful check of a new export against a previous one established.
public struct ExportConsistencySummary: Sendable {
    /// The verification of the current (newer) export.
    public var current: ExportSummary
    /// The verification of the previous export, with the same keys.
    public var previous: ExportSummary
    /// The RFC 9162 §2.1.4 consistency proof from the previous tree to the current one, built from the
    /// current export's hash tiles; empty when the sizes are equal or the previous tree is empty.
    public var proof: [SHA256Digest]
}

/// The outcome of checking that one export extends another: a failure is an expected answer, not an error.
public enum ExportConsistencyVerification: Sendable {
    /// Both exports verify and the current one extends the previous one.
    case verified(ExportConsistencySummary)
    /// The first problem found.
    case failed(ExportFinding)
}

/// Checks that an export extends an earlier export of the same log: nobody rewrote history between
/// the two checkpoints.
///
/// Both exports are verified in full with the same keys (``ExportVerifier``); then the RFC 9162
/// §2.1.4 consistency proof from the previous size to the current size is built from the current
/// export's hash tiles and verified against both signed roots. When it fails, the level-0 tiles of
/// the two exports are compared to name the first entry that differs. Memory stays flat: the proof
/// needs at most two hashes per tree level, and tiles are read one at a time.
///
/// Finding codes besides ``ExportVerifier``'s (whose findings about the previous export have their
/// location prefixed with `previous: `): `previous_other_log`, `previous_larger`, `history_rewritten`.
public struct ExportConsistency: Sendable {
    /// Prefixed to the location of a finding about the previous export.
    public static let previousLocationPrefix = "previous: "

    /// The earlier export, e.g. the one kept from last month's audit.
    public var previous: String
    /// The export that should extend it.
    public var current: String
    /// The keys both checkpoints are checked with: the same pinned keys, or each export's own `vkey`.
    public var keys: ExportVerifier.Keys

    /// A check that the export in `current` extends the one in `previous`.
    public init(previous: String, current: String, keys: ExportVerifier.Keys) {
        self.previous = previous
        self.current = current
        self.keys = keys
    }

    /// Verifies both exports, then the consistency proof; `progress` gets each export's
    /// (entries verified, entries in its checkpoint), the current export first.
    public func verify(progress: (_ verified: UInt64, _ total: UInt64) -> Void = { _, _ in }) -> ExportConsistencyVerification {
        switch ExportVerifier(directory: current, keys: keys).verify(progress: progress) {
        case .failed(let finding): .failed(finding)
        case .verified(let summary): verify(current: summary, progress: progress)
        }
    }

    /// Verifies the previous export and the consistency proof, given the verification of the current
    /// export (by ``ExportVerifier`` with these keys) that a caller has already made.
    public func verify(current summary: ExportSummary,
                       progress: (_ verified: UInt64, _ total: UInt64) -> Void = { _, _ in }) -> ExportConsistencyVerification {
        let previousSummary: ExportSummary
        switch ExportVerifier(directory: previous, keys: keys).verify(progress: progress) {
        case .verified(let verified):
            previousSummary = verified
        case .failed(let finding):
            return .failed(ExportFinding(code: finding.code, location: Self.previousLocationPrefix + finding.location,
                                         reason: finding.reason))
        }
        do {
            let proof = try checkExtends(previous: previousSummary.checkpoint, current: summary.checkpoint)
            return .verified(ExportConsistencySummary(current: summary, previous: previousSummary, proof: proof))
        } catch {
            return .failed(error)
        }
    }

    private func checkExtends(previous old: Checkpoint, current new: Checkpoint) throws(ExportFinding) -> [SHA256Digest] {
        let checkpoint = Self.previousLocationPrefix + ExportLayout.checkpoint
        guard old.origin == new.origin else {
            throw ExportFinding(code: "previous_other_log", location: checkpoint,
                                reason: "the previous export is of log \"\(old.origin)\", this one of log \"\(new.origin)\"")
        }
        guard old.size <= new.size else {
            throw ExportFinding(code: "previous_larger", location: checkpoint,
                                reason: "the previous export has \(old.size) entries, this one only \(new.size): a log never shrinks")
        }
        var proof: [SHA256Digest] = []
        if old.size > 0 {
            guard let plan = try? MerkleProof.consistencyPlan(oldSize: old.size, newSize: new.size) else {
                preconditionFailure("a consistency proof exists for 0 < \(old.size) <= \(new.size)")
            }
            var tiles = TileHashReader(directory: current, treeSize: new.size)
            var fetched: [MerkleNodeID: SHA256Digest] = [:]
            for node in plan.nodes { fetched[node] = try tiles.hash(of: node) }
            do {
                proof = try plan.assemble(fetched)
            } catch {
                throw ExportFinding(code: "io_error", location: ExportLayout.tiles, reason: error.detail)
            }
        }
        guard MerkleProof.verifyConsistency(oldSize: old.size, newSize: new.size, oldRoot: old.rootHash,
                                            newRoot: new.rootHash, proof: proof)
        else {
            throw try rewritten(old: old, newSize: new.size)
        }
        return proof
    }

    /// The finding for a failed proof, naming the first entry whose leaf hash differs.
    private func rewritten(old: Checkpoint, newSize: UInt64) throws(ExportFinding) -> ExportFinding {
        let since = "the log was rewritten after the previous checkpoint (size \(old.size), root \(Base64.encode(old.rootHash.bytes)))"
        guard let index = try firstDifferingLeaf(count: old.size, currentSize: newSize) else {
            // Both exports verified, so their leaves determine their roots: equal leaves cannot
            // give a failed proof. Kept as a finding rather than a trap all the same.
            return ExportFinding(code: "history_rewritten", location: Self.previousLocationPrefix + ExportLayout.checkpoint,
                                 reason: "the consistency proof does not verify; \(since)")
        }
        return ExportFinding(code: "history_rewritten", location: "entry \(index)",
                             reason: "the previous export's entry \(index) differs from this export's; \(since)")
    }

    /// Compares the level-0 tiles (the leaf hashes, which both verifications matched to the entries)
    /// of the previous export with those of the current one, one tile of each at a time.
    private func firstDifferingLeaf(count: UInt64, currentSize: UInt64) throws(ExportFinding) -> UInt64? {
        let currentTiles = TileHashReader(directory: current, treeSize: currentSize)
        for address in TileAddress.tiles(.hashes(level: 0), treeSize: count) {
            let old = try TileHashReader.read(address, in: previous, location: Self.previousLocationPrefix + address.path)
            // The current export's tile of the same index is at least as wide; only its prefix is compared.
            let newAddress = try currentTiles.address(level: 0, index: address.index, covering: address.width)
            let new = try TileHashReader.read(newAddress, in: current, location: newAddress.path)
            let byteCount = SHA256Digest.byteCount
            for position in 0..<address.width {
                let range = (position * byteCount)..<((position + 1) * byteCount)
                if old[range] != new[range] { return (address.index << 8) + UInt64(position) }
            }
        }
        return nil
    }
}

/// Reads subtree hashes out of an export's hash tiles, one tile in memory at a time.
private struct TileHashReader {
    let directory: String
    let treeSize: UInt64
    let hasher = SHA256()
    var cached: (address: TileAddress, bytes: [UInt8])?

    init(directory: String, treeSize: UInt64) {
        self.directory = directory
        self.treeSize = treeSize
    }

    /// The hash of the perfect subtree `node`. A level-L tile holds tree level 8·L; a node between
    /// two tile levels is the root of the 2^k hashes below it in the lower tile, which lie in one tile
    /// since tiles are 256 = 2^8 hashes wide and aligned.
    mutating func hash(of node: MerkleNodeID) throws(ExportFinding) -> SHA256Digest {
        let tileLevel = node.level / TileAddress.height
        let below = node.level % TileAddress.height
        let first = node.index << UInt64(below)
        let address = try self.address(level: tileLevel, index: first >> 8, covering: Int(first & 0xFF) + (1 << below))
        if cached?.address != address {
            cached = (address, try Self.read(address, in: directory, location: address.path))
        }
        let bytes = cached!.bytes
        let byteCount = SHA256Digest.byteCount
        let offset = Int(first & 0xFF) * byteCount
        let hashes = (0..<(1 << below)).map { position in
            bytes.withUnsafeBytes { SHA256Digest(copying: $0.baseAddress! + offset + position * byteCount) }
        }
        return TileBuilder.perfectRoot(hashes[...], using: hasher)
    }

    /// The address of tile `index` at tile level `level` of this tree; a finding unless it holds at least
    /// `covering` hashes.
    func address(level: Int, index: UInt64, covering: Int) throws(ExportFinding) -> TileAddress {
        let shift = UInt64(TileAddress.height * level)
        let hashes = level >= 8 ? 0 : treeSize >> shift
        let available = hashes > index << 8 ? min(hashes - (index << 8), UInt64(TileAddress.fullWidth)) : 0
        guard available >= UInt64(covering) else {
            throw ExportFinding(code: "tile_missing", location: "\(ExportLayout.tiles)/\(level)",
                                reason: "the tree of \(treeSize) entries has no tile \(index) of \(covering) hashes at level \(level)")
        }
        return TileAddress(kind: .hashes(level: level), index: index, width: Int(available))
    }

    /// A whole tile (at most 8 KiB), checked to have exactly its width in hashes.
    static func read(_ address: TileAddress, in directory: String, location: String) throws(ExportFinding) -> [UInt8] {
        let expected = address.width * SHA256Digest.byteCount
        let bytes: [UInt8]?
        do {
            bytes = try FileSystem.readSmallFile("\(directory)/\(address.path)", limit: expected)
        } catch {
            throw ExportFinding(code: "io_error", location: location, reason: error.description)
        }
        guard let bytes else {
            throw ExportFinding(code: "tile_missing", location: location, reason: "the checkpoint's tree has this tile")
        }
        guard bytes.count == expected else {
            throw ExportFinding(code: bytes.count < expected ? "tile_truncated" : "tile_oversized", location: location,
                                reason: "a tile of \(address.width) hashes is \(expected) bytes")
        }
        return bytes
    }
}
