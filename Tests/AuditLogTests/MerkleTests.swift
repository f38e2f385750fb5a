import AuditLog
import Cryptography
import Testing

/// RFC 9162 §2.1 written as literally as the text reads: recursive, slow, obviously right.
private enum Reference {
    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH(D[n]) over leaf hashes.
    static func mth(_ leaves: ArraySlice<SHA256Digest>) -> SHA256Digest {
        switch leaves.count {
        case 0: return SHA256.hash([UInt8]())
        case 1: return leaves[leaves.startIndex]
        default:
            let k = split(leaves.count)
            let mid = leaves.startIndex + k
            return MerkleHash.node(mth(leaves[..<mid]), mth(leaves[mid...]))
        }
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ leaves: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        guard leaves.count > 1 else { return [] }
        let k = split(leaves.count)
        let mid = leaves.startIndex + k
        if m < k {
            return path(m, leaves[..<mid]) + [mth(leaves[mid...])]
        } else {
            return path(m - k, leaves[mid...]) + [mth(leaves[..<mid])]
        }
    }

    /// PROOF(m, D[n]).
    static func proof(_ m: Int, _ leaves: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        subproof(m, leaves, true)
    }

    static func subproof(_ m: Int, _ leaves: ArraySlice<SHA256Digest>, _ b: Bool) -> [SHA256Digest] {
        let n = leaves.count
        if m == n { return b ? [] : [mth(leaves)] }
        let k = split(n)
        let mid = leaves.startIndex + k
        if m <= k {
            return subproof(m, leaves[..<mid], b) + [mth(leaves[mid...])]
        } else {
            return subproof(m - k, leaves[mid...], false) + [mth(leaves[..<mid])]
        }
    }
}

/// A tree built through the frontier, keeping every node hash it reports, as a store would.
private struct StoredTree: Sendable {
    var leaves: [SHA256Digest] = []
    var nodes: [MerkleNodeID: SHA256Digest] = [:]
    var frontier = MerkleFrontier()

    init(size: Int, seed: String = "leaf") {
        let hasher = SHA256()
        for index in 0..<size { append(Array("\(seed) \(index)".utf8), using: hasher) }
    }

    mutating func append(_ data: [UInt8], using hasher: SHA256) {
        let leaf = MerkleHash.leaf(data, using: hasher)
        leaves.append(leaf)
        for (id, hash) in frontier.append(leafHash: leaf, using: hasher) {
            nodes[id] = hash
        }
    }
}

private func flipped(_ digest: SHA256Digest, byte: Int = 0) -> SHA256Digest {
    var bytes = digest.bytes
    bytes[byte] ^= 0x10
    return SHA256Digest(bytes: bytes)!
}

private let someHash = SHA256.hash(Array("not in the tree".utf8))

/// Sizes checked exhaustively up to 64 and sampled above, with the awkward ones always included.
private func sampledIndices(below n: Int, using random: inout SplitMix64) -> [Int] {
    if n <= 64 { return Array(0..<n) }
    var picks: Set<Int> = [0, 1, n / 2, n - 2, n - 1]
    for _ in 0..<6 { picks.insert(Int.random(in: 0..<n, using: &random)) }
    return picks.sorted()
}

@Suite struct MerkleFrontierTests {
    @Test func rootMatchesReferenceForEverySizeUpTo300() {
        let tree = StoredTree(size: 300)
        var frontier = MerkleFrontier()
        #expect(frontier.root() == MerkleHash.emptyTree)
        for n in 1...300 {
            frontier.append(leafHash: tree.leaves[n - 1])
            #expect(frontier.size == UInt64(n))
            #expect(frontier.hashes.count == n.nonzeroBitCount)
            #expect(frontier.root() == Reference.mth(tree.leaves[..<n]), "size \(n)")
        }
        #expect(frontier == tree.frontier)
    }

    @Test func appendReportsEveryCompletedSubtreeLeafFirst() {
        let leaves = StoredTree(size: 130).leaves
        var frontier = MerkleFrontier()
        for (index, leaf) in leaves.enumerated() {
            let completed = frontier.append(leafHash: leaf)
            // A leaf whose index ends in k one bits completes k subtrees above itself.
            let merges = (~index).trailingZeroBitCount
            #expect(completed.count == merges + 1)
            for (level, (id, hash)) in completed.enumerated() {
                #expect(id == MerkleNodeID(level: level, index: UInt64(index >> level)))
                let first = Int(id.index) << level
                #expect(hash == Reference.mth(leaves[first..<(first + (1 << level))]))
            }
        }
    }

    @Test func restoredFrontierContinuesLikeTheOriginal() throws {
        let tree = StoredTree(size: 100)
        var original = MerkleFrontier()
        for leaf in tree.leaves[..<37] { original.append(leafHash: leaf) }
        var restored = try #require(MerkleFrontier(size: original.size, hashes: original.hashes))
        #expect(restored == original)
        for leaf in tree.leaves[37...] {
            #expect(restored.append(leafHash: leaf).map(\.1) == original.append(leafHash: leaf).map(\.1))
        }
        #expect(restored.root() == Reference.mth(tree.leaves[...]))
    }

    @Test func restoreRefusesAHashCountThatDoesNotMatchTheSize() {
        let hash = MerkleHash.leaf([UInt8]())
        #expect(MerkleFrontier(size: 0, hashes: []) == MerkleFrontier())
        #expect(MerkleFrontier(size: 0, hashes: [hash]) == nil)
        #expect(MerkleFrontier(size: 3, hashes: [hash]) == nil)
        #expect(MerkleFrontier(size: 3, hashes: [hash, hash]) != nil)
        #expect(MerkleFrontier(size: UInt64.max, hashes: Array(repeating: hash, count: 63)) == nil)
    }
}

@Suite struct MerkleProofTests {
    fileprivate static let tree = StoredTree(size: 300)

    @Test func rootPlansMatchReferenceForEveryPrefix() throws {
        let tree = Self.tree
        for n in 0...300 {
            let plan = MerkleProof.rootPlan(size: UInt64(n))
            #expect(try plan.assembleRoot(tree.nodes) == Reference.mth(tree.leaves[..<n]), "size \(n)")
            #expect(Set(plan.nodes).count == plan.nodes.count)
            #expect(plan.nodes.count == n.nonzeroBitCount)
        }
    }

    @Test func inclusionProofsMatchReferenceAndVerify() throws {
        let tree = Self.tree
        var random = SplitMix64(seed: 6962)
        var checked = 0
        for n in 1...300 {
            let root = Reference.mth(tree.leaves[..<n])
            for m in sampledIndices(below: n, using: &random) {
                let plan = try MerkleProof.inclusionPlan(leafIndex: UInt64(m), treeSize: UInt64(n))
                #expect(Set(plan.nodes).count == plan.nodes.count)
                let proof = try plan.assemble(tree.nodes)
                #expect(proof == Reference.path(m, tree.leaves[..<n]), "leaf \(m) of \(n)")
                #expect(MerkleProof.verifyInclusion(leafHash: tree.leaves[m], leafIndex: UInt64(m), treeSize: UInt64(n),
                                                    proof: proof, root: root))
                expectTamperedInclusionFails(leaf: tree.leaves[m], index: m, size: n, proof: proof, root: root)
                checked += 1
            }
        }
        #expect(checked > 3000)
    }

    @Test func consistencyProofsMatchReferenceAndVerify() throws {
        let tree = Self.tree
        var random = SplitMix64(seed: 9162)
        var checked = 0
        for n in 1...300 {
            let newRoot = Reference.mth(tree.leaves[..<n])
            for m in sampledIndices(below: n, using: &random).map({ $0 + 1 }) {
                let oldRoot = Reference.mth(tree.leaves[..<m])
                let plan = try MerkleProof.consistencyPlan(oldSize: UInt64(m), newSize: UInt64(n))
                #expect(Set(plan.nodes).count == plan.nodes.count)
                let proof = try plan.assemble(tree.nodes)
                #expect(proof == Reference.proof(m, tree.leaves[..<n]), "from \(m) to \(n)")
                #expect(MerkleProof.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: oldRoot,
                                                      newRoot: newRoot, proof: proof))
                expectTamperedConsistencyFails(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
                checked += 1
            }
        }
        #expect(checked > 3000)
    }

    @Test func randomTreesAgreeWithReference() throws {
        var random = SplitMix64(seed: 42)
        for round in 0..<6 {
            let n = Int.random(in: 301...2500, using: &random)
            let tree = StoredTree(size: n, seed: "random \(round) \(random.next())")
            let root = Reference.mth(tree.leaves[...])
            #expect(tree.frontier.root() == root)
            #expect(try MerkleProof.rootPlan(size: UInt64(n)).assembleRoot(tree.nodes) == root)
            for _ in 0..<20 {
                let m = Int.random(in: 0..<n, using: &random)
                let inclusion = try MerkleProof.inclusionPlan(leafIndex: UInt64(m), treeSize: UInt64(n)).assemble(tree.nodes)
                #expect(inclusion == Reference.path(m, tree.leaves[...]))
                #expect(MerkleProof.verifyInclusion(leafHash: tree.leaves[m], leafIndex: UInt64(m), treeSize: UInt64(n),
                                                    proof: inclusion, root: root))
                let old = m + 1
                let consistency = try MerkleProof.consistencyPlan(oldSize: UInt64(old), newSize: UInt64(n)).assemble(tree.nodes)
                #expect(consistency == Reference.proof(old, tree.leaves[...]))
                #expect(MerkleProof.verifyConsistency(oldSize: UInt64(old), newSize: UInt64(n),
                                                      oldRoot: Reference.mth(tree.leaves[..<old]), newRoot: root,
                                                      proof: consistency))
            }
        }
    }

    @Test func requestsOutsideTheTreeAreRefusedWithStableCodes() {
        #expect(throws: MerkleError(code: .indexOutOfRange, detail: "")) {
            try MerkleProof.inclusionPlan(leafIndex: 5, treeSize: 5)
        }
        #expect(throws: MerkleError(code: .indexOutOfRange, detail: "")) {
            try MerkleProof.inclusionPlan(leafIndex: 0, treeSize: 0)
        }
        #expect(throws: MerkleError(code: .sizeOutOfRange, detail: "")) {
            try MerkleProof.consistencyPlan(oldSize: 0, newSize: 5)
        }
        #expect(throws: MerkleError(code: .sizeOutOfRange, detail: "")) {
            try MerkleProof.consistencyPlan(oldSize: 6, newSize: 5)
        }
    }

    @Test func assembleNamesAMissingNode() throws {
        var nodes = Self.tree.nodes
        let plan = try MerkleProof.inclusionPlan(leafIndex: 3, treeSize: 7)
        nodes[plan.nodes[1]] = nil
        #expect(throws: MerkleError(code: .missingNode, detail: "")) { try plan.assemble(nodes) }
        #expect(throws: MerkleError(code: .missingNode, detail: "")) { try plan.assemble([:]) }
    }

    @Test func emptyTreeAndEqualSizes() throws {
        #expect(try MerkleProof.rootPlan(size: 0).assembleRoot([:]) == MerkleHash.emptyTree)
        #expect(try MerkleProof.consistencyPlan(oldSize: 9, newSize: 9).nodes.isEmpty)
        let root = Reference.mth(Self.tree.leaves[..<9])
        #expect(MerkleProof.verifyConsistency(oldSize: 9, newSize: 9, oldRoot: root, newRoot: root, proof: []))
        #expect(!MerkleProof.verifyConsistency(oldSize: 9, newSize: 9, oldRoot: root, newRoot: someHash, proof: []))
        #expect(!MerkleProof.verifyConsistency(oldSize: 9, newSize: 9, oldRoot: root, newRoot: root, proof: [root]))
        // The empty tree is a prefix of every tree, but only under its own root hash.
        #expect(MerkleProof.verifyConsistency(oldSize: 0, newSize: 9, oldRoot: MerkleHash.emptyTree, newRoot: root, proof: []))
        #expect(!MerkleProof.verifyConsistency(oldSize: 0, newSize: 9, oldRoot: someHash, newRoot: root, proof: []))
        #expect(!MerkleProof.verifyConsistency(oldSize: 0, newSize: 9, oldRoot: MerkleHash.emptyTree, newRoot: root, proof: [root]))
    }

    @Test func hostileInputIsRefusedWithoutCrashing() {
        let leaf = Self.tree.leaves[0]
        let long = Array(repeating: someHash, count: 200)
        for size in [0, 1, 2, UInt64.max - 1, UInt64.max] as [UInt64] {
            for index in [0, 1, size / 2, size &- 1, size, UInt64.max] {
                for proof in [[], [someHash], long] {
                    #expect(!MerkleProof.verifyInclusion(leafHash: leaf, leafIndex: index, treeSize: size, proof: proof, root: someHash))
                }
            }
            for oldSize in [0, 1, size / 2, size &- 1, size, UInt64.max] {
                for proof in [[], [someHash], long] {
                    #expect(!MerkleProof.verifyConsistency(oldSize: oldSize, newSize: size, oldRoot: leaf, newRoot: someHash, proof: proof))
                }
            }
        }
    }

    @Test func plansForTheLargestTreesStaySmall() throws {
        // At most one perfect subtree per level on the path, plus the split-up range at the right edge.
        for leaf in [0, 1, UInt64.max / 2, UInt64.max - 2, UInt64.max - 1] {
            let plan = try MerkleProof.inclusionPlan(leafIndex: leaf, treeSize: UInt64.max)
            #expect(plan.nodes.count <= 128 && plan.nodes.count >= 63)
        }
        for oldSize in [1, 2, UInt64.max / 3, UInt64.max - 1] {
            let plan = try MerkleProof.consistencyPlan(oldSize: oldSize, newSize: UInt64.max)
            #expect(plan.nodes.count <= 128 && !plan.nodes.isEmpty)
        }
    }

    private func expectTamperedInclusionFails(leaf: SHA256Digest, index m: Int, size n: Int,
                                              proof: [SHA256Digest], root: SHA256Digest) {
        var probes: [(String, UInt64, UInt64, [SHA256Digest], SHA256Digest, SHA256Digest)] = [
            ("index + 1", UInt64(m + 1), UInt64(n), proof, leaf, root),
            ("index - 1", UInt64(bitPattern: Int64(m - 1)), UInt64(n), proof, leaf, root),
            ("index ^ 2", UInt64(m ^ 2), UInt64(n), proof, leaf, root),
            ("size * 2", UInt64(m), UInt64(n * 2), proof, leaf, root),
            ("size / 2", UInt64(m), UInt64(n / 2), proof, leaf, root),
            ("wrong leaf", UInt64(m), UInt64(n), proof, someHash, root),
            ("wrong root", UInt64(m), UInt64(n), proof, leaf, someHash),
            ("empty tree root", UInt64(m), UInt64(n), proof, leaf, MerkleHash.emptyTree),
            ("extra hash at end", UInt64(m), UInt64(n), proof + [someHash], leaf, root),
            ("root at end", UInt64(m), UInt64(n), proof + [root], leaf, root),
            ("extra hash in front", UInt64(m), UInt64(n), [someHash] + proof, leaf, root),
        ]
        if !proof.isEmpty {
            probes.append(("last hash dropped", UInt64(m), UInt64(n), Array(proof.dropLast()), leaf, root))
            probes.append(("first hash dropped", UInt64(m), UInt64(n), Array(proof.dropFirst()), leaf, root))
        }
        if proof.count > 1 { probes.append(("two hashes swapped", UInt64(m), UInt64(n), [proof[1], proof[0]] + proof.dropFirst(2), leaf, root)) }
        for position in proof.indices {
            var changed = proof
            changed[position] = flipped(changed[position], byte: position % 32)
            probes.append(("hash \(position) flipped", UInt64(m), UInt64(n), changed, leaf, root))
        }
        for (name, index, size, tampered, leafHash, expectedRoot) in probes {
            #expect(!MerkleProof.verifyInclusion(leafHash: leafHash, leafIndex: index, treeSize: size, proof: tampered,
                                                 root: expectedRoot), "\(name): leaf \(m) of \(n)")
        }
    }

    private func expectTamperedConsistencyFails(oldSize m: Int, newSize n: Int, oldRoot: SHA256Digest,
                                                newRoot: SHA256Digest, proof: [SHA256Digest]) {
        var probes: [(String, UInt64, UInt64, SHA256Digest, SHA256Digest, [SHA256Digest])] = [
            ("old size + 1", UInt64(m + 1), UInt64(n), oldRoot, newRoot, proof),
            ("old size - 1", UInt64(m - 1), UInt64(n), oldRoot, newRoot, proof),
            ("old size ^ 2", UInt64(m ^ 2), UInt64(n), oldRoot, newRoot, proof),
            ("new size * 2", UInt64(m), UInt64(n * 2), oldRoot, newRoot, proof),
            ("wrong old root", UInt64(m), UInt64(n), someHash, newRoot, proof),
            ("wrong new root", UInt64(m), UInt64(n), oldRoot, someHash, proof),
            ("extra hash at end", UInt64(m), UInt64(n), oldRoot, newRoot, proof + [someHash]),
            ("old root at end", UInt64(m), UInt64(n), oldRoot, newRoot, proof + [oldRoot]),
            ("extra hash in front", UInt64(m), UInt64(n), oldRoot, newRoot, [someHash] + proof),
            ("new root in front", UInt64(m), UInt64(n), oldRoot, newRoot, [newRoot] + proof),
        ]
        if oldRoot != newRoot { probes.append(("roots swapped", UInt64(m), UInt64(n), newRoot, oldRoot, proof)) }
        if n / 2 >= m { probes.append(("new size / 2", UInt64(m), UInt64(n / 2), oldRoot, newRoot, proof)) }
        if !proof.isEmpty {
            probes.append(("empty proof", UInt64(m), UInt64(n), oldRoot, newRoot, []))
            probes.append(("last hash dropped", UInt64(m), UInt64(n), oldRoot, newRoot, Array(proof.dropLast())))
            probes.append(("first hash dropped", UInt64(m), UInt64(n), oldRoot, newRoot, Array(proof.dropFirst())))
            probes.append(("first hash repeated", UInt64(m), UInt64(n), oldRoot, newRoot, [proof[0]] + proof))
        }
        for position in proof.indices {
            var changed = proof
            changed[position] = flipped(changed[position], byte: 31 - position % 32)
            probes.append(("hash \(position) flipped", UInt64(m), UInt64(n), oldRoot, newRoot, changed))
        }
        for (name, oldSize, newSize, first, second, tampered) in probes {
            #expect(!MerkleProof.verifyConsistency(oldSize: oldSize, newSize: newSize, oldRoot: first, newRoot: second,
                                                   proof: tampered), "\(name): from \(m) to \(n)")
        }
    }
}

/// Published vectors from other implementations, in `Contracts/vectors/merkle/`.
@Suite struct MerkleVectorTests {
    private func digest(_ value: JSONValue?) throws -> SHA256Digest {
        let hex = try #require(value?.stringValue)
        return try #require(SHA256Digest(hex: hex))
    }

    private func digests(_ value: JSONValue?) throws -> [SHA256Digest] {
        try #require(value?.arrayValue).map { try digest($0) }
    }

    private func size(_ value: JSONValue?) throws -> UInt64 {
        UInt64(try #require(value?.integerValue))
    }

    private func nodeIDs(_ value: JSONValue?) throws -> Set<MerkleNodeID> {
        Set(try #require(value?.arrayValue).map { node in
            MerkleNodeID(level: try #require(node["level"]?.integerValue), index: try size(node["index"]))
        })
    }

    @Test func referenceTree() throws {
        let vectors = try JSONValue.parse(Vectors.bytes("merkle/rfc6962-reference-tree.json"))
        let leaves = try #require(vectors["leaves"]?.arrayValue).map { leaf in
            let hex = try #require(leaf.stringValue)
            return MerkleHash.leaf(try #require(Hex.decode(hex)))
        }
        #expect(leaves.count == 8)
        var nodes: [MerkleNodeID: SHA256Digest] = [:]
        var frontier = MerkleFrontier()
        var roots: [SHA256Digest] = [frontier.root()]
        for leaf in leaves {
            for (id, hash) in frontier.append(leafHash: leaf) { nodes[id] = hash }
            roots.append(frontier.root())
        }

        let publishedRoots = try #require(vectors["roots"]?.arrayValue)
        #expect(publishedRoots.count == 9)
        for entry in publishedRoots {
            let n = try size(entry["treeSize"])
            #expect(try roots[Int(n)] == digest(entry["root"]), "size \(n)")
            #expect(try MerkleProof.rootPlan(size: n).assembleRoot(nodes) == digest(entry["root"]))
        }

        let inclusion = try #require(vectors["inclusion"]?.arrayValue)
        #expect(inclusion.count == 5)
        for entry in inclusion {
            let m = try size(entry["leafIndex"])
            let n = try size(entry["treeSize"])
            let proof = try digests(entry["proof"])
            #expect(try MerkleProof.inclusionPlan(leafIndex: m, treeSize: n).assemble(nodes) == proof, "leaf \(m) of \(n)")
            #expect(MerkleProof.verifyInclusion(leafHash: leaves[Int(m)], leafIndex: m, treeSize: n, proof: proof, root: roots[Int(n)]))
        }

        let consistency = try #require(vectors["consistency"]?.arrayValue)
        #expect(consistency.count == 5)
        for entry in consistency {
            let m = try size(entry["oldSize"])
            let n = try size(entry["newSize"])
            let proof = try digests(entry["proof"])
            #expect(try MerkleProof.consistencyPlan(oldSize: m, newSize: n).assemble(nodes) == proof, "from \(m) to \(n)")
            #expect(MerkleProof.verifyConsistency(oldSize: m, newSize: n, oldRoot: roots[Int(m)], newRoot: roots[Int(n)], proof: proof))
        }
    }

    @Test func proofNodes() throws {
        let vectors = try JSONValue.parse(Vectors.bytes("merkle/proof-nodes.json"))

        let inclusion = try #require(vectors["inclusion"]?.arrayValue)
        #expect(inclusion.count == 18)
        for entry in inclusion {
            let plan = try MerkleProof.inclusionPlan(leafIndex: try size(entry["leafIndex"]), treeSize: try size(entry["treeSize"]))
            #expect(try Set(plan.nodes) == nodeIDs(entry["nodes"]), "\(entry)")
            #expect(Set(plan.nodes).count == plan.nodes.count)
        }
        for entry in try #require(vectors["inclusionErrors"]?.arrayValue) {
            #expect(throws: MerkleError(code: .indexOutOfRange, detail: "")) {
                try MerkleProof.inclusionPlan(leafIndex: try size(entry["leafIndex"]), treeSize: try size(entry["treeSize"]))
            }
        }

        let consistency = try #require(vectors["consistency"]?.arrayValue)
        #expect(consistency.count == 25)
        for entry in consistency {
            let plan = try MerkleProof.consistencyPlan(oldSize: try size(entry["oldSize"]), newSize: try size(entry["newSize"]))
            #expect(try Set(plan.nodes) == nodeIDs(entry["nodes"]), "\(entry)")
            #expect(Set(plan.nodes).count == plan.nodes.count)
        }
        for entry in try #require(vectors["consistencyErrors"]?.arrayValue) {
            #expect(throws: MerkleError(code: .sizeOutOfRange, detail: "")) {
                try MerkleProof.consistencyPlan(oldSize: try size(entry["oldSize"]), newSize: try size(entry["newSize"]))
            }
        }
    }
}
