public import Cryptography

/// Where a hash tile or entry bundle of a C2SP tlog-tiles log lives, and how wide it is.
///
/// Tiles are 8 tree levels high: a level-L tile holds up to 256 hashes of tree level 8·L, and only
/// the tiles on the right edge of the tree are partial (`.p/<width>`).
public struct TileAddress: Hashable, Sendable, CustomStringConvertible {
    /// Tree levels spanned by one tile.
    public static let height = 8
    /// Hashes in a full tile, entries in a full bundle.
    public static let fullWidth = 256

    /// What the file holds.
    public enum Kind: Hashable, Sendable {
        /// Hashes of tree level `8 × level`, 32 bytes each.
        case hashes(level: Int)
        /// Entries, each a big-endian uint16 length and the entry bytes.
        case entries
    }

    /// Hash tile or entry bundle.
    public var kind: Kind
    /// The tile's index within its level (`N` in the path).
    public var index: UInt64
    /// Number of hashes or entries, 1 through 256; below 256 the tile is partial.
    public var width: Int

    /// An address; `width` must be 1 through 256 and a hash level 0 through 63.
    public init(kind: Kind, index: UInt64, width: Int) {
        precondition((1...Self.fullWidth).contains(width), "a tile holds 1 to 256 hashes")
        if case .hashes(let level) = kind { precondition((0...63).contains(level), "tile levels are 0 to 63") }
        self.kind = kind
        self.index = index
        self.width = width
    }

    /// True for a right-edge tile of fewer than 256 hashes or entries.
    public var isPartial: Bool { width < Self.fullWidth }

    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067` or `tile/entries/000.p/5`.
    public var path: String {
        var path = "tile/"
        switch kind {
        case .hashes(let level): path += String(level)
        case .entries: path += "entries"
        }
        path += "/" + Self.encode(index: index)
        if isPartial { path += ".p/\(width)" }
        return path
    }

    /// The path.
    public var description: String { path }

    /// Parses a tile path; nil unless `path` is exactly what `path` would print for some address, so
    /// leading zeros, missing `x` prefixes and out-of-range levels or widths are all refused.
    public init?(path: String) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count >= 3, components[0] == "tile" else { return nil }
        var width = Self.fullWidth
        if components.count >= 4, components[components.count - 2].hasSuffix(".p") {
            guard let partial = Int(components.removeLast()), (1..<Self.fullWidth).contains(partial) else { return nil }
            width = partial
            components[components.count - 1] = components[components.count - 1].dropLast(2)
        }
        let kind: Kind
        if components[1] == "entries" {
            kind = .entries
        } else {
            guard components[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let level = Int(components[1]),
                  (0...63).contains(level)
            else { return nil }
            kind = .hashes(level: level)
        }
        var index: UInt64 = 0
        for group in components[2...] {
            let digits = group.hasPrefix("x") ? group.dropFirst() : group
            guard digits.utf8.count == 3, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                  let value = UInt64(digits)
            else { return nil }
            let (shifted, overflow) = index.multipliedReportingOverflow(by: 1000)
            let (sum, carry) = shifted.addingReportingOverflow(value)
            guard !overflow, !carry else { return nil }
            index = sum
        }
        self.init(kind: kind, index: index, width: width)
        // Any other spelling of the same address is not a tile path.
        guard self.path == path else { return nil }
    }

    /// True when the tree of `treeSize` leaves has exactly this tile: a full tile it covers, or its
    /// right-edge partial tile at this width.
    public func belongs(toTreeOfSize treeSize: UInt64) -> Bool {
        let count = Self.count(for: kind, treeSize: treeSize)
        let fullTiles = count >> 8
        return isPartial ? index == fullTiles && UInt64(width) == count & 0xFF : index < fullTiles
    }

    /// The tiles of `kind` a tree of `treeSize` leaves has, in index order; the last may be partial.
    public static func tiles(_ kind: Kind, treeSize: UInt64) -> some Sequence<TileAddress> {
        let count = Self.count(for: kind, treeSize: treeSize)
        // Not (count + 255) >> 8: a checkpoint may claim a size near UInt64.max.
        let tiles = (count >> 8) + ((count & 0xFF) == 0 ? 0 : 1)
        return (0..<tiles).lazy.map { index in
            let remaining = count - (index << 8)
            return TileAddress(kind: kind, index: index, width: Int(min(remaining, UInt64(fullWidth))))
        }
    }

    /// Hashes (or entries) a tree of `treeSize` leaves has at the level of `kind`.
    static func count(for kind: Kind, treeSize: UInt64) -> UInt64 {
        switch kind {
        case .entries: treeSize
        case .hashes(let level): level >= 8 ? 0 : treeSize >> UInt64(Self.height * level)
        }
    }

    /// `N` as 3-digit groups, all but the last prefixed with `x`: 1234067 → `x001/x234/067`.
    static func encode(index: UInt64) -> String {
        var groups: [UInt64] = []
        var rest = index
        repeat {
            groups.append(rest % 1000)
            rest /= 1000
        } while rest > 0
        var out = ""
        for (position, group) in groups.reversed().enumerated() {
            if position > 0 { out += "/" }
            if position < groups.count - 1 { out += "x" }
            let digits = String(group)
            out += String(repeating: "0", count: 3 - digits.count) + digits
        }
        return out
    }
}

/// A hash tile: consecutive RFC 9162 subtree hashes of one tree level.
public struct Tile: Sendable, Equatable {
    /// Where the tile goes; `address.width == hashes.count`.
    public var address: TileAddress
    /// The hashes, left to right.
    public var hashes: [SHA256Digest]

    /// A tile from its address and hashes.
    public init(address: TileAddress, hashes: [SHA256Digest]) {
        precondition(address.width == hashes.count, "a tile's width is its number of hashes")
        self.address = address
        self.hashes = hashes
    }

    /// The file contents: the hashes concatenated, 32 bytes each.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hashes.count * SHA256Digest.byteCount)
        for hash in hashes { hash.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }
}

/// Builds the hash tiles of a log from its leaves in order, without keeping the leaves.
///
/// Holds one incomplete tile per level (at most 256 hashes each), so memory stays
/// O(levels × 256 × 32 bytes) however long the log.
public struct TileBuilder {
    /// Leaves appended so far.
    public private(set) var size: UInt64 = 0
    /// `levels[L]`: the hashes of the current, incomplete tile of level L.
    private var levels: [[SHA256Digest]] = []
    // Reused for every hash; SHA256 resets itself on finalize, so sharing between copies is harmless.
    private let hasher = SHA256()

    /// An empty tree.
    public init() {}

    /// Hashes `entry` as an RFC 9162 leaf and appends it; returns the full tiles it completes.
    public mutating func append(entry: some ContiguousBytesCollection) -> [Tile] {
        append(leafHash: MerkleHash.leaf(entry, using: hasher))
    }

    /// Appends a leaf hash; returns the full tiles it completes, lowest level first (none for 255 of
    /// every 256 leaves).
    public mutating func append(leafHash: SHA256Digest) -> [Tile] {
        size += 1
        var completed: [Tile] = []
        var hash = leafHash
        var level = 0
        while true {
            if level == levels.count {
                levels.append([])
                levels[level].reserveCapacity(TileAddress.fullWidth)
            }
            levels[level].append(hash)
            guard levels[level].count == TileAddress.fullWidth else { break }
            // A full tile is a perfect subtree of 256 hashes: its root is one hash of the level above.
            let address = TileAddress(
                kind: .hashes(level: level),
                index: (size >> UInt64(TileAddress.height * (level + 1))) - 1,
                width: TileAddress.fullWidth)
            completed.append(Tile(address: address, hashes: levels[level]))
            hash = Self.perfectRoot(levels[level][...], using: hasher)
            levels[level].removeAll(keepingCapacity: true)
            level += 1
        }
        return completed
    }

    /// The right-edge partial tiles of the tree so far, lowest level first; the spec's
    /// `floor(size / 256^L) mod 256` hashes at level L, and no tile where that is 0.
    public func partialTiles() -> [Tile] {
        levels.enumerated().compactMap { level, hashes in
            guard !hashes.isEmpty else { return nil }
            let address = TileAddress(
                kind: .hashes(level: level),
                index: size >> UInt64(TileAddress.height * (level + 1)),
                width: hashes.count)
            return Tile(address: address, hashes: hashes)
        }
    }

    /// The RFC 9162 root of the tree so far (`MerkleHash.emptyTree` when empty).
    ///
    /// The pending hashes, top level first, split into power-of-two runs, are exactly the tree's
    /// perfect subtrees left to right; folding their roots from the right gives the tree head.
    public func root() -> SHA256Digest {
        var subtrees: [SHA256Digest] = []
        for hashes in levels.reversed() {
            var start = 0
            while start < hashes.count {
                let remaining = hashes.count - start
                let run = 1 << (Int.bitWidth - 1 - remaining.leadingZeroBitCount)
                subtrees.append(Self.perfectRoot(hashes[start..<(start + run)], using: hasher))
                start += run
            }
        }
        guard var root = subtrees.popLast() else { return MerkleHash.emptyTree }
        while let left = subtrees.popLast() {
            root = MerkleHash.node(left, root, using: hasher)
        }
        return root
    }

    /// Root of a perfect subtree whose bottom row is `hashes` (a power-of-two count).
    static func perfectRoot(_ hashes: ArraySlice<SHA256Digest>, using hasher: SHA256) -> SHA256Digest {
        var row = Array(hashes)
        while row.count > 1 {
            for index in 0..<(row.count / 2) {
                row[index] = MerkleHash.node(row[2 * index], row[2 * index + 1], using: hasher)
            }
            row.removeLast(row.count / 2)
        }
        return row[0]
    }
}
