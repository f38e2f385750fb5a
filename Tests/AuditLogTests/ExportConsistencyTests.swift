import AuditLog
import Cryptography
import Foundation
import Testing

/// An export whose entries are the vector entries, except those in `changed`, which carry another
/// actor: a history that verifies on its own but differs from the vectors from the first changed entry.
private func forkedExport(size: Int, changed: Set<Int>, signer: NoteSigner) throws -> String {
    try TestExports.write((0..<size).map { changed.contains($0) ? TestExports.entry($0, actor: "forger") : TestExports.entry($0) },
                          signer: signer)
}

private func consistency(previous: String, current: String, pinned: [NoteVerifier]?) -> ExportConsistencyVerification {
    ExportConsistency(previous: previous, current: current, keys: pinned.map { .pinned($0) } ?? .exportVerifierKey).verify()
}

extension ExportConsistencyVerification {
    var finding: ExportFinding? {
        if case .failed(let finding) = self { return finding }
        return nil
    }

    var summary: ExportConsistencySummary? {
        if case .verified(let summary) = self { return summary }
        return nil
    }
}

@Suite struct ExportConsistencyTests {
    /// Sizes on both sides of the tile edges (255, 256, 257) and of the level-1 tiles' own subtrees
    /// (512 leaves are a level-9 node, computed from the tile of level 8).
    @Test(arguments: [
        (0, 0), (0, 5), (1, 1), (1, 2), (1, 300), (3, 3), (255, 256), (256, 257), (255, 257), (256, 256), (257, 300),
        (300, 700), (256, 700), (511, 513), (512, 999), (7, 999),
    ])
    func aPrefixOfTheLogVerifies(previousSize: Int, currentSize: Int) throws {
        let current = try ScratchExport(size: currentSize)
        let previous = try ScratchExport(size: previousSize, signer: current.signer)
        let verdict = consistency(previous: previous.directory, current: current.directory, pinned: [current.signer.verifier])
        let summary = try #require(verdict.summary, "\(String(describing: verdict.finding))")
        #expect(summary.previous.checkpoint.size == UInt64(previousSize))
        #expect(summary.current.checkpoint.size == UInt64(currentSize))
        #expect(summary.previous.keyIsPinned && summary.current.keyIsPinned)

        // The proof built from the tiles is the one built from the leaves by the RFC's definition.
        guard previousSize > 0 else {
            #expect(summary.proof.isEmpty)
            return
        }
        let leaves = (0..<currentSize).map { MerkleHash.leaf(TestExports.entry($0)) }
        let plan = try MerkleProof.consistencyPlan(oldSize: UInt64(previousSize), newSize: UInt64(currentSize))
        var nodes: [MerkleNodeID: SHA256Digest] = [:]
        for node in plan.nodes {
            let first = Int(node.index) << node.level
            nodes[node] = naiveRoot(leaves[first..<(first + (1 << node.level))])
        }
        #expect(summary.proof == (try plan.assemble(nodes)))
    }

    @Test func theSameExportAsBothVerifies() throws {
        let export = try ScratchExport(size: 300)
        let summary = try #require(consistency(previous: export.directory, current: export.directory, pinned: nil).summary)
        #expect(summary.proof.isEmpty)
        #expect(!summary.previous.keyIsPinned)
    }

    /// A fork re-signed with the log's own key verifies on its own: only the comparison catches it,
    /// and it names the first entry that differs.
    @Test(arguments: [(40, 300, [5]), (300, 300, [257, 260]), (256, 700, [255]), (1, 2, [0]), (257, 257, [256]), (700, 999, [3, 600])])
    func aRewrittenHistoryIsRefusedNamingTheFirstChangedEntry(previousSize: Int, currentSize: Int, changed: [Int]) throws {
        let current = try ScratchExport(size: currentSize)
        let forked = try forkedExport(size: previousSize, changed: Set(changed), signer: current.signer)
        defer { TestExports.remove(forked) }
        #expect(ExportVerifier(directory: forked, keys: .pinned([current.signer.verifier])).verify().summary != nil)

        let finding = try #require(consistency(previous: forked, current: current.directory, pinned: [current.signer.verifier]).finding)
        #expect(finding.code == "history_rewritten")
        #expect(finding.location == "entry \(changed[0])")
        #expect(finding.reason.hasPrefix("the previous export's entry \(changed[0]) differs from this export's; "))
        #expect(finding.reason.contains("previous checkpoint (size \(previousSize), root "))
    }

    @Test func aPreviousExportLargerThanThisOneIsRefused() throws {
        let current = try ScratchExport(size: 256)
        let previous = try ScratchExport(size: 257, signer: current.signer)
        let finding = consistency(previous: previous.directory, current: current.directory, pinned: [current.signer.verifier]).finding
        #expect(finding?.code == "previous_larger")
        #expect(finding?.location == "previous: checkpoint")
    }

    /// Two logs, each verifying with its own key: whether the keys are pinned or each export's own.
    @Test(arguments: [true, false])
    func anExportOfAnotherLogIsRefused(pinned: Bool) throws {
        let current = try ScratchExport(size: 20)
        let other = try ScratchExport(size: 10, signer: try NoteSigner(name: "other.example/audit", key: Ed25519PrivateKey()))
        let keys = pinned ? [current.signer.verifier, other.signer.verifier] : nil
        let finding = consistency(previous: other.directory, current: current.directory, pinned: keys).finding
        #expect(finding?.code == "previous_other_log")
        #expect(finding?.location == "previous: checkpoint")
        #expect(finding?.reason.contains("\"other.example/audit\"") == true)
    }

    @Test func aTamperedPreviousExportFailsItsOwnVerificationNamedAsThePrevious() throws {
        let current = try ScratchExport(size: 300)
        let previous = try ScratchExport(size: 40, signer: current.signer)
        var entries = try previous.entries(ofBundle: "tile/entries/000.p/40")
        entries[3][0] = UInt8(ascii: "[")
        try previous.writeBundle(entries, to: "tile/entries/000.p/40")
        let finding = consistency(previous: previous.directory, current: current.directory, pinned: [current.signer.verifier]).finding
        #expect(finding?.code == "entry_not_canonical")
        #expect(finding?.location == "previous: entry 3")
    }

    @Test func aPreviousExportSignedByAnotherKeyFailsAgainstThePinnedKey() throws {
        let current = try ScratchExport(size: 30)
        let impostor = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let previous = try ScratchExport(size: 20, signer: impostor)
        let finding = consistency(previous: previous.directory, current: current.directory, pinned: [current.signer.verifier]).finding
        #expect(finding?.code == "checkpoint_key_unknown")
        #expect(finding?.location == "previous: checkpoint")
    }

    @Test func aTamperedCurrentExportIsNamedWithoutThePrefix() throws {
        let current = try ScratchExport(size: 300)
        let previous = try ScratchExport(size: 40, signer: current.signer)
        try current.remove("tile/1/000.p/1")
        let finding = consistency(previous: previous.directory, current: current.directory, pinned: nil).finding
        #expect(finding?.code == "tile_missing")
        #expect(finding?.location == "tile/1/000.p/1")
    }
}
