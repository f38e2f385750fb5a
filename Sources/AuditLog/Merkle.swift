// INTERFACE STUB — owned by the Merkle work; replace the bodies, keep the signatures.
public import Cryptography

/// A perfect subtree: the `2^level` leaves starting at leaf `index << level`.
public struct MerkleNodeID: Hashable, Sendable, Comparable {
    public var level: Int
    public var index: UInt64
    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }
    public static func < (a: Self, b: Self) -> Bool { (a.level, a.index) < (b.level, b.index) }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
/// Enough to append and to compute the root without the leaves.
public struct MerkleFrontier: Sendable, Equatable {
    public private(set) var size: UInt64 = 0
    /// Perfect-subtree roots, largest (leftmost) first; one per set bit of `size`.
    public private(set) var hashes: [SHA256Digest] = []

    public init() {}
    /// Restores a stored frontier; nil if `hashes.count` is not the popcount of `size`.
    public init?(size: UInt64, hashes: [SHA256Digest]) { fatalError("stub") }

    /// Appends a leaf hash; returns every perfect subtree completed by it, the leaf itself
    /// (level 0) first, so a store can keep all node hashes.
    @discardableResult
    public mutating func append(leafHash: SHA256Digest, using hasher: SHA256 = SHA256()) -> [(MerkleNodeID, SHA256Digest)] {
        fatalError("stub")
    }

    /// The RFC 9162 root of the tree so far (`MerkleHash.emptyTree` when empty).
    public func root(using hasher: SHA256 = SHA256()) -> SHA256Digest { fatalError("stub") }
}

/// Which stored perfect-subtree hashes a proof needs, and how to fold them into the proof.
/// Lets an asynchronous store fetch every node a proof needs in one query.
public struct MerkleProofPlan: Sendable {
    /// The node hashes to fetch.
    public var nodes: [MerkleNodeID]
    /// Builds the proof path from fetched hashes; throws if one is missing.
    public func assemble(_ fetched: [MerkleNodeID: SHA256Digest]) throws(MerkleError) -> [SHA256Digest] {
        fatalError("stub")
    }
}

/// A proof request that does not fit the tree, or a proof that does not verify.
public struct MerkleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code: `index_out_of_range`, `size_out_of_range`, `missing_node`, `invalid_proof`.
    public var code: String
    public var detail: String
    public init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public var description: String { "\(code): \(detail)" }
}

/// RFC 9162 §2.1.3 and §2.1.4 proofs.
public enum MerkleProof {
    /// Plan for the root of the first `size` leaves (`MTH(D[0:size])`), from stored nodes.
    public static func rootPlan(size: UInt64) -> MerkleProofPlan { fatalError("stub") }
    /// Plan for the inclusion proof of `leafIndex` in the tree of `treeSize` leaves.
    public static func inclusionPlan(leafIndex: UInt64, treeSize: UInt64) throws(MerkleError) -> MerkleProofPlan { fatalError("stub") }
    /// Plan for the consistency proof between `oldSize` and `newSize` (`0 < oldSize <= newSize`).
    public static func consistencyPlan(oldSize: UInt64, newSize: UInt64) throws(MerkleError) -> MerkleProofPlan { fatalError("stub") }

    /// RFC 9162 §2.1.3.2: true when `proof` shows `leafHash` at `leafIndex` in the tree with `root`.
    public static func verifyInclusion(leafHash: SHA256Digest, leafIndex: UInt64, treeSize: UInt64,
                                       proof: [SHA256Digest], root: SHA256Digest) -> Bool { fatalError("stub") }
    /// RFC 9162 §2.1.4.2: true when `proof` shows the tree of `oldSize` is a prefix of the tree of `newSize`.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: SHA256Digest,
                                         newRoot: SHA256Digest, proof: [SHA256Digest]) -> Bool { fatalError("stub") }
}
