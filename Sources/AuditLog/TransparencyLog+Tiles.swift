public import Cryptography

extension TransparencyLog {
    /// The bytes of the tlog-tiles file at `address` of the tree of `treeSize` entries, read from
    /// the stored nodes and entries; nil when that tree has no such tile (see
    /// ``TileAddress/belongs(toTreeOfSize:)``, which a partial tile of a smaller tree also passes when
    /// it is a prefix of this tree's tile: its bytes never change either).
    ///
    /// A hash tile of level L holds the stored subtree hashes of tree level 8·L; an entry bundle holds
    /// each entry as a big-endian uint16 length and its bytes.
    public func tile(_ address: TileAddress, treeSize: UInt64) async throws -> [UInt8]? {
        let count = TileAddress.count(for: address.kind, treeSize: treeSize)
        let start = address.index << 8
        // `index << 8` overflows for indexes past 2^56: no tree is that large.
        guard address.index < (1 << 56), start + UInt64(address.width) <= count else { return nil }
        switch address.kind {
        case .hashes(let level):
            let ids = (0..<UInt64(address.width)).map { MerkleNodeID(level: level * TileAddress.height, index: start + $0) }
            let fetched = try await read { try await $0.nodeHashes(ids) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(ids.count * SHA256Digest.byteCount)
            for id in ids {
                guard let hash = fetched[id] else {
                    throw AuditLogError(code: .logCorrupt, detail: "no stored hash for level \(id.level) index \(id.index)")
                }
                bytes.append(contentsOf: hash.bytes)
            }
            return bytes
        case .entries:
            let entries = try await read { try await $0.entries(from: start, limit: address.width) }
            guard entries.count == address.width else {
                throw AuditLogError(code: .logCorrupt, detail: "entries \(start)..<\(start + UInt64(address.width)) are not all stored")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(entries.reduce(0) { $0 + 2 + $1.body.count })
            for (offset, entry) in entries.enumerated() {
                guard entry.seq == start + UInt64(offset), entry.body.count <= ExportLayout.maximumEntrySize else {
                    throw AuditLogError(code: .logCorrupt, detail: "entry \(start + UInt64(offset)) cannot go into a bundle")
                }
                bytes.append(UInt8(entry.body.count >> 8))
                bytes.append(UInt8(entry.body.count & 0xFF))
                bytes.append(contentsOf: entry.body)
            }
            return bytes
        }
    }
}
