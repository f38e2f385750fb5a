public import Cryptography

/// A perfect subtree: the `2^level` leaves starting at leaf `index << level`.
public struct MerkleNodeID: Hashable, Sendable, Comparable {
    /// Height above the leaves: 0 is a leaf.
    public var level: Int
    /// Position among the subtrees of this level, counted from the left.
    public var index: UInt64

    /// The subtree of `2^level` leaves starting at leaf `index << level`.
    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }

    /// Orders by level, then by position.
    public static func < (a: Self, b: Self) -> Bool { (a.level, a.index) < (b.level, b.index) }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
/// Enough to append and to compute the root without the leaves.
public struct MerkleFrontier: Sendable, Equatable {
    /// Number of leaves appended so far.
    public private(set) var size: UInt64 = 0
    /// Perfect-subtree roots, largest (leftmost) first; one per set bit of `size`.
    public private(set) var hashes: [SHA256Digest] = []

    /// An empty tree.
    public init() {
        // One slot per bit of a 64-bit size: appends never grow the array again.
        hashes.reserveCapacity(UInt64.bitWidth)
    }

    /// Restores a stored frontier; nil if `hashes.count` is not the popcount of `size`.
    public init?(size: UInt64, hashes: [SHA256Digest]) {
        guard hashes.count == size.nonzeroBitCount else { return nil }
        self.size = size
        self.hashes.reserveCapacity(UInt64.bitWidth)
        self.hashes.append(contentsOf: hashes)
    }

    /// Appends a leaf hash; returns every perfect subtree completed by it, the leaf itself
    /// (level 0) first, so a store can keep all node hashes.
    ///
    /// A leaf at an index ending in `k` one bits completes `k` subtrees above it, merging with the
    /// last `k` frontier hashes: O(1) amortized. Traps when the tree already holds 2^64 − 1 leaves.
    @discardableResult
    public mutating func append(leafHash: SHA256Digest, using hasher: SHA256 = SHA256()) -> [(MerkleNodeID, SHA256Digest)] {
        precondition(size < UInt64.max, "a Merkle tree holds fewer than 2^64 leaves")
        let leafIndex = size
        let merges = (~leafIndex).trailingZeroBitCount
        var completed: [(MerkleNodeID, SHA256Digest)] = []
        completed.reserveCapacity(merges + 1)
        var hash = leafHash
        completed.append((MerkleNodeID(level: 0, index: leafIndex), hash))
        var level = 0
        while level < merges {
            level += 1
            hash = MerkleHash.node(hashes.removeLast(), hash, using: hasher)
            completed.append((MerkleNodeID(level: level, index: leafIndex >> level), hash))
        }
        hashes.append(hash)
        size += 1
        return completed
    }

    /// The RFC 9162 root of the tree so far (`MerkleHash.emptyTree` when empty).
    ///
    /// MTH splits at the largest power of two below the size, so the root is the frontier folded
    /// from the right: the smaller subtrees combine first, the largest joins last.
    public func root(using hasher: SHA256 = SHA256()) -> SHA256Digest {
        guard var root = hashes.last else { return MerkleHash.emptyTree }
        for hash in hashes.dropLast().reversed() {
            root = MerkleHash.node(hash, root, using: hasher)
        }
        return root
    }
}

/// Which stored perfect-subtree hashes a proof needs, and how to fold them into the proof.
/// Lets an asynchronous store fetch every node a proof needs in one query.
public struct MerkleProofPlan: Sendable {
    /// The node hashes to fetch, in proof order; no node appears twice. `assemble` relies on this
    /// order, so fetch by it but leave it as planned.
    public var nodes: [MerkleNodeID]
    /// For each proof element, how many consecutive `nodes` it folds (right to left) into one hash.
    /// Zero stands for the empty tree, the root of size 0.
    var runs: [Int]

    /// Builds the plan for proof elements that are each the MTH of a leaf range `[start, end)`.
    ///
    /// Every range here starts at a multiple of a power of two at least as large as the range, so its
    /// perfect subtrees are the binary digits of its length, largest first, and MTH is their right fold.
    init(ranges: [(start: UInt64, end: UInt64)]) {
        nodes = []
        runs = []
        runs.reserveCapacity(ranges.count)
        for (start, end) in ranges {
            let before = nodes.count
            var position = start
            while position < end {
                var level = UInt64.bitWidth - 1 - (end - position).leadingZeroBitCount
                if position != 0 { level = min(level, position.trailingZeroBitCount) }
                nodes.append(MerkleNodeID(level: level, index: position >> level))
                position += 1 << level
            }
            runs.append(nodes.count - before)
        }
    }

    /// Builds the proof path from fetched hashes; throws if one is missing.
    public func assemble(_ fetched: [MerkleNodeID: SHA256Digest]) throws(MerkleError) -> [SHA256Digest] {
        try assemble(fetched, using: SHA256())
    }

    /// Builds the proof path from fetched hashes, hashing with `hasher`; throws if one is missing.
    public func assemble(_ fetched: [MerkleNodeID: SHA256Digest], using hasher: SHA256) throws(MerkleError) -> [SHA256Digest] {
        guard runs.reduce(0, +) == nodes.count else {
            throw MerkleError(code: .missingNode, detail: "the plan's node list was changed after planning")
        }
        func hash(_ id: MerkleNodeID) throws(MerkleError) -> SHA256Digest {
            guard let hash = fetched[id] else {
                throw MerkleError(code: .missingNode, detail: "no hash for level \(id.level) index \(id.index)")
            }
            return hash
        }
        var proof: [SHA256Digest] = []
        proof.reserveCapacity(runs.count)
        var next = nodes.startIndex
        for run in runs {
            guard run > 0 else {
                proof.append(MerkleHash.emptyTree)
                continue
            }
            var folded = try hash(nodes[next + run - 1])
            for position in stride(from: next + run - 2, through: next, by: -1) {
                folded = MerkleHash.node(try hash(nodes[position]), folded, using: hasher)
            }
            proof.append(folded)
            next += run
        }
        return proof
    }

    /// For a ``MerkleProof/rootPlan(size:)``: the root from fetched hashes; throws if one is missing.
    public func assembleRoot(_ fetched: [MerkleNodeID: SHA256Digest], using hasher: SHA256 = SHA256()) throws(MerkleError) -> SHA256Digest {
        let folded = try assemble(fetched, using: hasher)
        guard folded.count == 1 else {
            throw MerkleError(code: .invalidProof, detail: "the plan is for a proof of \(folded.count) hashes, not a root")
        }
        return folded[0]
    }
}

/// A proof request that does not fit the tree, or a proof that does not verify.
public typealias MerkleError = ModuleError<MerkleErrorCode>

/// The stable codes of ``MerkleError``: the raw value is what a problem+json `code` says.
public enum MerkleErrorCode: String, Sendable, CaseIterable {
    case indexOutOfRange = "index_out_of_range"
    case sizeOutOfRange = "size_out_of_range"
    case missingNode = "missing_node"
    case invalidProof = "invalid_proof"
}

/// RFC 9162 §2.1.3 and §2.1.4 proofs.
public enum MerkleProof {
    /// Plan for the root of the first `size` leaves (`MTH(D[0:size])`), from stored nodes.
    public static func rootPlan(size: UInt64) -> MerkleProofPlan {
        var plan = MerkleProofPlan(ranges: [(0, size)])
        if size == 0 { plan.runs = [0] }
        return plan
    }

    /// Plan for the inclusion proof of `leafIndex` in the tree of `treeSize` leaves.
    ///
    /// RFC 9162 §2.1.3.1 PATH(m, D[n]): descending from the root, each level contributes the MTH of
    /// the half not holding the leaf; the path lists them from the leaf upwards.
    public static func inclusionPlan(leafIndex: UInt64, treeSize: UInt64) throws(MerkleError) -> MerkleProofPlan {
        guard leafIndex < treeSize else {
            throw MerkleError(code: .indexOutOfRange, detail: "leaf \(leafIndex) is not in a tree of \(treeSize) leaves")
        }
        var siblings: [(start: UInt64, end: UInt64)] = []
        var start: UInt64 = 0
        var end = treeSize
        while end - start > 1 {
            let split = start + largestPowerOfTwo(below: end - start)
            if leafIndex < split {
                siblings.append((split, end))
                end = split
            } else {
                siblings.append((start, split))
                start = split
            }
        }
        return MerkleProofPlan(ranges: siblings.reversed())
    }

    /// Plan for the consistency proof between `oldSize` and `newSize` (`0 < oldSize <= newSize`).
    ///
    /// RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true); the proof is empty when m == n.
    public static func consistencyPlan(oldSize: UInt64, newSize: UInt64) throws(MerkleError) -> MerkleProofPlan {
        guard oldSize > 0, oldSize <= newSize else {
            throw MerkleError(code: .sizeOutOfRange, detail: "no consistency proof from size \(oldSize) to size \(newSize)")
        }
        // SUBPROOF appends each level's hash after the deeper ones: collect top-down, then reverse.
        var siblings: [(start: UInt64, end: UInt64)] = []
        var deepest: [(start: UInt64, end: UInt64)] = []
        var start: UInt64 = 0
        var end = newSize
        var oldTreeIsWholeSubtree = true  // SUBPROOF's b
        while true {
            let count = end - start
            let oldCount = oldSize - start
            if oldCount == count {
                // The old tree's own root is known to the verifier only while b holds.
                if !oldTreeIsWholeSubtree { deepest.append((start, end)) }
                break
            }
            let half = largestPowerOfTwo(below: count)
            if oldCount <= half {
                siblings.append((start + half, end))
                end = start + half
            } else {
                siblings.append((start, start + half))
                start += half
                oldTreeIsWholeSubtree = false
            }
        }
        return MerkleProofPlan(ranges: deepest + siblings.reversed())
    }

    /// RFC 9162 §2.1.3.2: true when `proof` shows `leafHash` at `leafIndex` in the tree with `root`.
    public static func verifyInclusion(leafHash: SHA256Digest, leafIndex: UInt64, treeSize: UInt64,
                                       proof: [SHA256Digest], root: SHA256Digest) -> Bool {
        verifyInclusion(leafHash: leafHash, leafIndex: leafIndex, treeSize: treeSize, proof: proof, root: root,
                        using: SHA256())
    }

    /// RFC 9162 §2.1.3.2 with a caller's hasher, for verifying many proofs without reallocating.
    public static func verifyInclusion(leafHash: SHA256Digest, leafIndex: UInt64, treeSize: UInt64,
                                       proof: [SHA256Digest], root: SHA256Digest, using hasher: SHA256) -> Bool {
        guard leafIndex < treeSize else { return false }
        var fn = leafIndex
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r, using: hasher)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p, using: hasher)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2: true when `proof` shows the tree of `oldSize` is a prefix of the tree of `newSize`.
    ///
    /// Equal sizes need an empty proof and equal roots. The empty tree is a prefix of every tree,
    /// with an empty proof, provided `oldRoot` is the empty tree's hash.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: SHA256Digest,
                                         newRoot: SHA256Digest, proof: [SHA256Digest]) -> Bool {
        verifyConsistency(oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, proof: proof,
                          using: SHA256())
    }

    /// RFC 9162 §2.1.4.2 with a caller's hasher, for verifying many proofs without reallocating.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: SHA256Digest,
                                         newRoot: SHA256Digest, proof: [SHA256Digest], using hasher: SHA256) -> Bool {
        guard oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty && oldRoot == MerkleHash.emptyTree }
        // Step 1.
        guard let firstElement = proof.first else { return false }
        // Step 2: a power-of-two old tree is a whole subtree, so its root starts the path.
        let oldIsPowerOfTwo = oldSize & (oldSize - 1) == 0
        let start = oldIsPowerOfTwo ? oldRoot : firstElement
        let rest = oldIsPowerOfTwo ? proof[...] : proof.dropFirst()
        // Step 3.
        var fn = oldSize - 1
        var sn = newSize - 1
        // Step 4.
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // Step 5.
        var fr = start
        var sr = start
        // Step 6.
        for c in rest {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr, using: hasher)
                sr = MerkleHash.node(c, sr, using: hasher)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c, using: hasher)
            }
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        return fr == oldRoot && sr == newRoot && sn == 0
    }

    /// The largest power of two strictly below `count`, for `count >= 2`: where MTH splits.
    static func largestPowerOfTwo(below count: UInt64) -> UInt64 {
        1 << (UInt64.bitWidth - 1 - (count - 1).leadingZeroBitCount)
    }
}
