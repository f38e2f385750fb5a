import AuditLog
import Cryptography
import Foundation
import Testing

/// An export of `size` vector entries signed by a fresh key, removed when the value is dropped.
final class ScratchExport {
    let signer: NoteSigner
    let directory: String
    let size: Int

    init(size: Int, signer: NoteSigner? = nil) throws {
        self.signer = try signer ?? NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        self.size = size
        self.directory = try TestExports.write(size: size, signer: self.signer)
    }

    deinit { TestExports.remove(directory) }

    func path(_ relative: String) -> String { "\(directory)/\(relative)" }

    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    func write(_ bytes: [UInt8], to relative: String) throws {
        let url = URL(fileURLWithPath: path(relative))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: path(relative))
    }

    /// The entries of a bundle, split at their length prefixes.
    func entries(ofBundle relative: String) throws -> [[UInt8]] {
        let bytes = try bytes(relative)
        var entries: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            entries.append(Array(bytes[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        return entries
    }

    func writeBundle(_ entries: [[UInt8]], to relative: String) throws {
        try write(entries.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }, to: relative)
    }

    /// A checkpoint over the first `size` vector entries, signed by `signer`.
    func checkpoint(size: Int, origin: String? = nil, signer: NoteSigner? = nil) throws -> [UInt8] {
        var builder = TileBuilder()
        for i in 0..<size { _ = builder.append(entry: TestExports.entry(i)) }
        let signer = signer ?? self.signer
        let checkpoint = Checkpoint(origin: origin ?? signer.name, size: UInt64(size), rootHash: builder.root())
        return Array(try checkpoint.sign(with: [signer]).serialized.utf8)
    }

    func verify(pinned: [NoteVerifier]? = nil) -> ExportVerification {
        verifier(directory, pinned: pinned).verify()
    }
}

private func verifier(_ directory: String, pinned: [NoteVerifier]?) -> ExportVerifier {
    ExportVerifier(directory: directory, keys: pinned.map { .pinned($0) } ?? .exportVerifierKey)
}

extension ExportVerification {
    var finding: ExportFinding? {
        if case .failed(let finding) = self { return finding }
        return nil
    }

    var summary: ExportSummary? {
        if case .verified(let summary) = self { return summary }
        return nil
    }
}

@Suite struct ExportVerifierTests {
    @Test(arguments: [0, 1, 255, 256, 257, 65536 + 300])
    func exportsOfEverySizeVerify(size: Int) throws {
        let export = try ScratchExport(size: size)
        var reports: [(UInt64, UInt64)] = []
        let verdict = verifier(export.directory, pinned: [export.signer.verifier]).verify { reports.append(($0, $1)) }
        let summary = try #require(verdict.summary, "\(String(describing: verdict.finding))")
        #expect(summary.checkpoint.size == UInt64(size))
        #expect(summary.checkpoint.origin == "pdx.example/audit")
        #expect(summary.signers == [export.signer.verifier])
        #expect(summary.keyIsPinned)
        #expect(reports.first.map { $0 == (0, UInt64(size)) } == true)
        #expect(reports.last.map { $0 == (UInt64(size), UInt64(size)) } == true)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 <= $1.0 })

        // The tiles on disk are the naive tree's hashes.
        let leaves = (0..<size).map { MerkleHash.leaf(TestExports.entry($0)) }
        #expect(summary.checkpoint.rootHash == naiveRoot(leaves[...]))
        for path in try TestExports.files(in: export.directory) {
            guard let address = TileAddress(path: path), case .hashes(let level) = address.kind else { continue }
            let bytes = try export.bytes(path)
            let span = 1 << (8 * level)
            for i in 0..<address.width {
                let first = (Int(address.index) * 256 + i) * span
                #expect(Array(bytes[(i * 32)..<(i * 32 + 32)]) == naiveRoot(leaves[first..<(first + span)]).bytes)
            }
        }
    }

    @Test func withoutAPinnedKeyTheExportsOwnKeyIsUsedAndSaidSo() throws {
        let export = try ScratchExport(size: 3)
        let summary = try #require(export.verify().summary)
        #expect(!summary.keyIsPinned)
        #expect(summary.signers == [export.signer.verifier])
    }

    /// Re-signing with another key and replacing `vkey` passes a self-consistency check: only a pinned
    /// key catches it.
    @Test func aCheckpointSignedByAnotherKeyIsCaughtByThePinnedKey() throws {
        let export = try ScratchExport(size: 300)
        let impostor = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        try export.write(try export.checkpoint(size: 300, signer: impostor), to: "checkpoint")
        let finding = export.verify(pinned: [export.signer.verifier]).finding
        #expect(finding?.code == "checkpoint_key_unknown")
        #expect(finding?.location == "checkpoint")
        #expect(export.verify().finding?.code == "checkpoint_key_unknown")

        try export.write(Array((impostor.verifierKey + "\n").utf8), to: "vkey")
        #expect(export.verify().summary?.keyIsPinned == false)
        #expect(export.verify(pinned: [export.signer.verifier]).finding?.code == "checkpoint_key_unknown")
    }

    @Test func aCheckpointWhoseOriginDiffersFromTheKeyNameIsRefused() throws {
        let export = try ScratchExport(size: 300)
        try export.write(try export.checkpoint(size: 300, origin: "other.example/log"), to: "checkpoint")
        #expect(export.verify(pinned: [export.signer.verifier]).finding?.code == "origin_mismatch")
    }

    @Test func aTamperedSignatureIsRefused() throws {
        let export = try ScratchExport(size: 10)
        var text = String(decoding: try export.bytes("checkpoint"), as: UTF8.self)
        let signatureStart = try #require(text.range(of: "\u{2014} pdx.example/audit ")).upperBound
        let target = text.index(signatureStart, offsetBy: 20)
        text.replaceSubrange(target...target, with: text[target] == "A" ? "B" : "A")
        try export.write(Array(text.utf8), to: "checkpoint")
        #expect(export.verify(pinned: [export.signer.verifier]).finding?.code == "checkpoint_signature_invalid")
    }

    /// An export of n entries under the checkpoint of m < n: the files past m are refused.
    @Test(arguments: [200, 256, 299])
    func anOlderCheckpointOverANewerExportIsRefused(older: Int) throws {
        let export = try ScratchExport(size: 300)
        try export.write(try export.checkpoint(size: older), to: "checkpoint")
        let finding = export.verify(pinned: [export.signer.verifier]).finding
        #expect(finding?.code == "unexpected_file", "\(String(describing: finding))")
    }

    @Test func aChangedByteThatBreaksTheJSONIsNamedByEntry() throws {
        let export = try ScratchExport(size: 300)
        var entries = try export.entries(ofBundle: "tile/entries/000")
        entries[5][0] = UInt8(ascii: "[")
        try export.writeBundle(entries, to: "tile/entries/000")
        let finding = export.verify(pinned: [export.signer.verifier]).finding
        #expect(finding?.code == "entry_not_canonical")
        #expect(finding?.location == "entry 5")
    }

    @Test func aChangedByteThatKeepsTheJSONCanonicalIsCaughtByTheTile() throws {
        let export = try ScratchExport(size: 300)
        var entries = try export.entries(ofBundle: "tile/entries/000")
        let original = entries[5]
        entries[5] = TestExports.entry(5, actor: "vectos")
        #expect(entries[5].count == original.count)
        try export.writeBundle(entries, to: "tile/entries/000")
        let finding = export.verify(pinned: [export.signer.verifier]).finding
        #expect(finding?.code == "tile_mismatch")
        #expect(finding?.location == "tile/0/000")
        #expect(finding?.reason.contains("entry 5") == true)
    }

    @Test func aNonCanonicalSpellingOfTheSameEntryIsRefused() throws {
        let export = try ScratchExport(size: 3)
        var entries = try export.entries(ofBundle: "tile/entries/000.p/3")
        entries[1] = Array(String(decoding: entries[1], as: UTF8.self).replacingOccurrences(of: ",\"seq\"", with: ", \"seq\"").utf8)
        try export.writeBundle(entries, to: "tile/entries/000.p/3")
        let finding = export.verify().finding
        #expect(finding?.code == "entry_not_canonical")
        #expect(finding?.location == "entry 1")
    }

    @Test func aDroppedEntryIsRefused() throws {
        let export = try ScratchExport(size: 300)
        var entries = try export.entries(ofBundle: "tile/entries/000")
        entries.remove(at: 7)
        try export.writeBundle(entries, to: "tile/entries/000")
        let finding = export.verify().finding
        #expect(finding?.code == "entry_sequence_mismatch")
        #expect(finding?.location == "entry 7")

        let other = try ScratchExport(size: 300)
        try other.writeBundle(try other.entries(ofBundle: "tile/entries/001.p/44").dropLast(), to: "tile/entries/001.p/44")
        let last = other.verify().finding
        #expect(last?.code == "bundle_truncated")
        #expect(last?.location == "tile/entries/001.p/44")
    }

    @Test func swappedEntriesAreRefused() throws {
        let export = try ScratchExport(size: 300)
        var entries = try export.entries(ofBundle: "tile/entries/000")
        entries.swapAt(10, 11)
        try export.writeBundle(entries, to: "tile/entries/000")
        let finding = export.verify().finding
        #expect(finding?.code == "entry_sequence_mismatch")
        #expect(finding?.location == "entry 10")
    }

    @Test func bundlesCutShortOrRunningLongAreRefused() throws {
        let export = try ScratchExport(size: 300)
        let bundle = try export.bytes("tile/entries/000")
        try export.write(Array(bundle.dropLast(3)), to: "tile/entries/000")
        #expect(export.verify().finding == ExportFinding(code: "bundle_truncated", location: "", reason: ""))
        try export.write(Array(bundle.dropLast(bundle.count - 1)), to: "tile/entries/000")
        #expect(export.verify().finding == ExportFinding(code: "bundle_truncated", location: "", reason: ""))
        try export.write(bundle + [0, 1, 0x20], to: "tile/entries/000")
        let finding = export.verify().finding
        #expect(finding?.code == "bundle_oversized")
        #expect(finding?.location == "tile/entries/000")
        try export.write([], to: "tile/entries/000")
        #expect(export.verify().finding?.code == "bundle_truncated")
    }

    @Test(arguments: ["tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"])
    func truncatedTilesAreRefused(path: String) throws {
        let export = try ScratchExport(size: 300)
        let tile = try export.bytes(path)
        try export.write(Array(tile.dropLast()), to: path)
        let finding = export.verify().finding
        #expect(finding?.code == "tile_truncated")
        #expect(finding?.location == path)
        try export.write(tile + [0], to: path)
        #expect(export.verify().finding?.code == "tile_oversized")
    }

    @Test(arguments: ["tile/0/000", "tile/1/000", "tile/1/001.p/1", "tile/2/000.p/1"])
    func changedTileHashesAreRefused(path: String) throws {
        let export = try ScratchExport(size: 65536 + 256)
        var bytes = try export.bytes(path)
        bytes[bytes.count - 1] ^= 0x80
        try export.write(bytes, to: path)
        let finding = export.verify().finding
        #expect(finding?.code == "tile_mismatch")
        #expect(finding?.location == path)
    }

    @Test(arguments: [
        ("tile/0/000", "tile_missing"), ("tile/1/000.p/1", "tile_missing"), ("tile/entries/000", "bundle_missing"),
        ("tile/entries/001.p/44", "bundle_missing"), ("checkpoint", "checkpoint_missing"), ("vkey", "vkey_missing"),
    ])
    func missingFilesAreRefused(path: String, code: String) throws {
        let export = try ScratchExport(size: 300)
        try export.remove(path)
        let finding = export.verify().finding
        #expect(finding?.code == code)
        #expect(finding?.location == path)
    }

    /// Entries and tiles rewritten consistently still fail against the signed root.
    @Test func consistentlyRewrittenEntriesFailTheSignedRoot() throws {
        let export = try ScratchExport(size: 300)
        var entries = (0..<300).map { TestExports.entry($0) }
        entries[123] = TestExports.entry(123, actor: "forger")
        let forged = try TestExports.write(entries, signer: export.signer)
        defer { TestExports.remove(forged) }
        try FileManager.default.removeItem(atPath: "\(forged)/checkpoint")
        try FileManager.default.copyItem(atPath: export.path("checkpoint"), toPath: "\(forged)/checkpoint")
        let finding = verifier(forged, pinned: [export.signer.verifier]).verify().finding
        #expect(finding?.code == "root_mismatch")
        #expect(finding?.location == "checkpoint")
    }

    @Test(arguments: ["tile/0/000.bak", "tile/0/0", "tile/entries/002.p/1", "tile/3/000.p/1", "tile/x", "README", "tile/0/001.p/43"])
    func unexpectedFilesAreRefused(path: String) throws {
        let export = try ScratchExport(size: 300)
        try export.write([1, 2, 3], to: path)
        let finding = export.verify().finding
        #expect(finding?.code == "unexpected_file")
        #expect(finding?.location == path)
    }

    @Test func aDirectoryWhereATileBelongsIsRefusedAndHiddenTopLevelFilesIgnored() throws {
        let export = try ScratchExport(size: 300)
        try export.write([1], to: ".tmp-7")
        #expect(export.verify().summary != nil)
        try FileManager.default.createDirectory(atPath: export.path("tile/0/001"), withIntermediateDirectories: true)
        let finding = export.verify().finding
        #expect(finding?.code == "unexpected_file")
        #expect(finding?.location == "tile/0/001")
    }

    @Test(arguments: [
        ("{\"seq\":0}", "entry_malformed"),
        ("\"text\"", "entry_malformed"),
        ("{\"action\":\"a\",\"actor\":\"b\",\"data\":{},\"seq\":\"0\",\"subjects\":[],\"time\":\"t\"}", "entry_malformed"),
        ("{\"action\":\"a\",\"actor\":\"b\",\"data\":{},\"seq\":1,\"subjects\":[],\"time\":\"t\"}", "entry_sequence_mismatch"),
        ("{\"action\":\"a\",\"actor\":\"b\",\"data\":{},\"seq\":0,\"subjects\":[],\"time\":\"t\"}", ""),
    ])
    func entriesMustBeObjectsWithEveryMemberAndTheirIndexAsSeq(entry: String, code: String) throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let directory = try TestExports.write([Array(entry.utf8)], signer: signer)
        defer { TestExports.remove(directory) }
        let verdict = verifier(directory, pinned: [signer.verifier]).verify()
        #expect(verdict.finding?.code ?? "" == code)
        #expect(verdict.finding.map { $0.location == "entry 0" } ?? true)
    }

    /// A key the export names itself can sign any size; a size near the 64-bit limit must still give a
    /// finding, not a crash.
    @Test func anAbsurdSelfSignedSizeIsAFindingNotACrash() throws {
        let export = try ScratchExport(size: 0)
        let checkpoint = Checkpoint(origin: export.signer.name, size: .max, rootHash: MerkleHash.emptyTree)
        try export.write(Array(try checkpoint.sign(with: [export.signer]).serialized.utf8), to: "checkpoint")
        let finding = export.verify().finding
        #expect(finding?.code == "bundle_missing")
        #expect(finding?.location == "tile/entries/000")
    }

    @Test func theExportMayBeALinkButItsFilesMayNot() throws {
        let export = try ScratchExport(size: 0)
        let link = export.directory + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: export.directory)
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect(verifier(link, pinned: [export.signer.verifier]).verify().summary?.checkpoint.size == 0)

        try FileManager.default.moveItem(atPath: export.path("checkpoint"), toPath: export.path(".real-checkpoint"))
        try FileManager.default.createSymbolicLink(atPath: export.path("checkpoint"), withDestinationPath: export.path(".real-checkpoint"))
        let finding = export.verify(pinned: [export.signer.verifier]).finding
        #expect(finding?.code == "unexpected_file")
        #expect(finding?.location == "checkpoint")
    }

    @Test func aMissingDirectoryOrMalformedKeyFileIsReported() throws {
        #expect(verifier("/nonexistent/pdx-export", pinned: nil).verify().finding?.code == "directory_missing")
        let export = try ScratchExport(size: 1)
        try export.write(Array("not a key\n".utf8), to: "vkey")
        #expect(export.verify().finding?.code == "vkey_malformed")
        try export.write(Array("garbage\n".utf8), to: "checkpoint")
        #expect(export.verify(pinned: [export.signer.verifier]).finding?.code == "checkpoint_malformed")
    }
}
