import AuditLog
import Cryptography
import Foundation
import Testing

/// Exports built for tests in fresh temporary directories.
enum TestExports {
    /// Entry `i` of the vectors in `Contracts/vectors/tiles/README.md`: canonical JSON with `seq` = `i`.
    static func entry(_ i: Int, actor: String = "vector") -> [UInt8] {
        Array(("{\"action\":\"test.entry\",\"actor\":\"\(actor)\",\"data\":{\"i\":\(i)},\"seq\":\(i),"
            + "\"subjects\":[\"s-\(i)\"],\"time\":\"2026-01-01T00:00:00Z\"}").utf8)
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pdx-tiles-\(UUID().uuidString)").path
    }

    /// Writes entries `entries` signed by `signer` into a new directory and returns its path.
    static func write(_ entries: [[UInt8]], signer: NoteSigner, origin: String? = nil,
                      into directory: String = temporaryDirectory()) throws -> String {
        let writer = try TlogTilesWriter(directory: directory)
        var builder = TileBuilder()
        for entry in entries {
            try writer.append(entry: entry)
            _ = builder.append(entry: entry)
        }
        let checkpoint = Checkpoint(origin: origin ?? signer.name, size: UInt64(entries.count), rootHash: builder.root())
        try writer.finish(checkpoint: try checkpoint.sign(with: [signer]), verifierKey: signer.verifierKey)
        return directory
    }

    static func write(size: Int, signer: NoteSigner, into directory: String = temporaryDirectory()) throws -> String {
        try write((0..<size).map { entry($0) }, signer: signer, into: directory)
    }

    /// Every regular file under `directory`, by relative path.
    static func files(in directory: String) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        var files: [String] = []
        while let path = enumerator.nextObject() as? String {
            if enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular { files.append(path) }
        }
        return files.sorted()
    }

    static func remove(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// RFC 9162 §2.1.1 as written: the slow recursive definition, to check the streaming code against.
func naiveRoot(_ leaves: ArraySlice<SHA256Digest>) -> SHA256Digest {
    if leaves.isEmpty { return MerkleHash.emptyTree }
    if leaves.count == 1 { return leaves[leaves.startIndex] }
    var split = 1
    while split * 2 < leaves.count { split *= 2 }
    let middle = leaves.startIndex + split
    return MerkleHash.node(naiveRoot(leaves[..<middle]), naiveRoot(leaves[middle...]))
}

@Suite struct TileAddressTests {
    @Test(arguments: [
        (TileAddress(kind: .hashes(level: 0), index: 1_234_067, width: 256), "tile/0/x001/x234/067"),
        (TileAddress(kind: .hashes(level: 0), index: 0, width: 256), "tile/0/000"),
        (TileAddress(kind: .hashes(level: 2), index: 1000, width: 1), "tile/2/x001/000.p/1"),
        (TileAddress(kind: .entries, index: 999, width: 255), "tile/entries/999.p/255"),
        (TileAddress(kind: .entries, index: 1_000_000, width: 256), "tile/entries/x001/x000/000"),
        (TileAddress(kind: .hashes(level: 63), index: .max, width: 7),
         "tile/63/x018/x446/x744/x073/x709/x551/615.p/7"),
    ])
    func pathsFollowTheSpec(address: TileAddress, path: String) {
        #expect(address.path == path)
        #expect(TileAddress(path: path) == address)
    }

    @Test(arguments: [
        "tile/0/1", "tile/0/01", "tile/0/0000", "tile/0/x000/001", "tile/0/001/234", "tile/0/x001",
        "tile/00/000", "tile/64/000", "tile/-1/000", "tile/+1/000", "tile/0/000.p/0", "tile/0/000.p/256",
        "tile/0/000.p/05", "tile/0/000.p", "tile/0/000.p/", "tile/0/000/", "tile/entry/000", "tiles/0/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616", "tile//000", "tile/0/xx01/000", "tile/0/x1/000",
        "/tile/0/000", "tile/0/000.p/1/2",
    ])
    func nonCanonicalPathsAreRefused(path: String) {
        #expect(TileAddress(path: path) == nil)
    }

    /// The tlog-tiles spec's own example: "a tree of size 70,000 will be represented by 273 full
    /// level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1
    /// tile of width 17, and one partial level 2 tile of width 1."
    @Test func aTreeOf70000HasTheTilesTheSpecLists() {
        let level0 = Array(TileAddress.tiles(.hashes(level: 0), treeSize: 70000))
        #expect(level0.count == 274)
        #expect(level0.dropLast().allSatisfy { !$0.isPartial })
        #expect(level0.last == TileAddress(kind: .hashes(level: 0), index: 273, width: 112))
        #expect(Array(TileAddress.tiles(.hashes(level: 1), treeSize: 70000)) == [
            TileAddress(kind: .hashes(level: 1), index: 0, width: 256),
            TileAddress(kind: .hashes(level: 1), index: 1, width: 17),
        ])
        #expect(Array(TileAddress.tiles(.hashes(level: 2), treeSize: 70000)) == [
            TileAddress(kind: .hashes(level: 2), index: 0, width: 1),
        ])
        #expect(Array(TileAddress.tiles(.hashes(level: 3), treeSize: 70000)).isEmpty)
        #expect(Array(TileAddress.tiles(.entries, treeSize: 70000)).count == 274)
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
        #expect(Array(TileAddress.tiles(.hashes(level: 0), treeSize: 256)).map(\.path) == ["tile/0/000"])
        #expect(Array(TileAddress.tiles(.hashes(level: 1), treeSize: 256)).map(\.path) == ["tile/1/000.p/1"])
    }

    @Test func theLargestTreeSizeHasWellFormedEdgeTiles() {
        #expect(Array(TileAddress.tiles(.hashes(level: 7), treeSize: .max)) == [
            TileAddress(kind: .hashes(level: 7), index: 0, width: 255),
        ])
        let level6 = Array(TileAddress.tiles(.hashes(level: 6), treeSize: .max))
        #expect(level6.count == 256)
        #expect(level6.last == TileAddress(kind: .hashes(level: 6), index: 255, width: 255))
        #expect(TileAddress.tiles(.entries, treeSize: .max).first(where: { _ in true })?.path == "tile/entries/000")
    }

    @Test func belongingFollowsTheTreeSize() throws {
        let full = TileAddress(kind: .entries, index: 0, width: 256)
        #expect(!full.belongs(toTreeOfSize: 255))
        #expect(full.belongs(toTreeOfSize: 256))
        #expect(full.belongs(toTreeOfSize: 70000))
        let partial = TileAddress(kind: .hashes(level: 1), index: 1, width: 17)
        #expect(partial.belongs(toTreeOfSize: 70000))
        // 70000 = 273·256 + 112: the level-1 partial tile grows at the next multiple of 256.
        #expect(partial.belongs(toTreeOfSize: 70000 + 143))
        #expect(!partial.belongs(toTreeOfSize: 70000 + 144))
        #expect(!partial.belongs(toTreeOfSize: 70000 - 256))
        #expect(!TileAddress(kind: .hashes(level: 1), index: 0, width: 256).belongs(toTreeOfSize: 65535))
        #expect(!TileAddress(kind: .hashes(level: 9), index: 0, width: 1).belongs(toTreeOfSize: .max))
        #expect(TileAddress(kind: .hashes(level: 7), index: 0, width: 255).belongs(toTreeOfSize: .max))
    }
}

@Suite struct TileBuilderTests {
    /// Every tile the builder emits, full or partial, and its root, against the naive definition:
    /// hash `i` of tile `n` at level `l` is `MTH(D[(n·256 + i)·256^l ..< (n·256 + i + 1)·256^l])`.
    @Test(arguments: [0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65536 + 300])
    func tilesAndRootEqualTheNaiveTree(size: Int) throws {
        let leaves = (0..<size).map { MerkleHash.leaf(Array("leaf \($0)".utf8)) }
        var builder = TileBuilder()
        var tiles: [Tile] = []
        for (index, leaf) in leaves.enumerated() {
            let completed = builder.append(leafHash: leaf)
            // A full tile of level l completes exactly when the leaf count reaches a multiple of 256^(l+1).
            let expectedCount = (1...8).prefix { (index + 1) % (1 << (8 * $0)) == 0 }.count
            #expect(completed.count == expectedCount)
            tiles += completed
        }
        #expect(builder.size == UInt64(size))
        let partials = builder.partialTiles()
        #expect(partials.allSatisfy { $0.address.isPartial })
        tiles += partials

        var expected: [String] = []
        for level in 0..<8 {
            expected += TileAddress.tiles(.hashes(level: level), treeSize: UInt64(size)).map(\.path)
        }
        #expect(tiles.map(\.address.path).sorted() == expected.sorted())
        for tile in tiles {
            guard case .hashes(let level) = tile.address.kind else { Issue.record("not a hash tile"); continue }
            let span = 1 << (8 * level)
            for (i, hash) in tile.hashes.enumerated() {
                let first = (Int(tile.address.index) * 256 + i) * span
                #expect(hash == naiveRoot(leaves[first..<(first + span)]), "\(tile.address.path) hash \(i)")
            }
            #expect(tile.bytes.count == tile.hashes.count * 32)
        }
        #expect(builder.root() == naiveRoot(leaves[...]))
    }

    @Test func entriesAreHashedAsRFC9162Leaves() {
        var byEntry = TileBuilder()
        var byHash = TileBuilder()
        for i in 0..<300 {
            let entry = TestExports.entry(i)
            #expect(byEntry.append(entry: entry) == byHash.append(leafHash: MerkleHash.leaf(entry)))
        }
        #expect(byEntry.partialTiles() == byHash.partialTiles())
        #expect(byEntry.root() == byHash.root())
    }
}

@Suite struct TlogTilesWriterTests {
    /// The writer's output, file by file, equals the export an independent implementation made from the
    /// specs (`Contracts/vectors/tiles/generate.py`).
    @Test(arguments: [0, 1, 256, 258, 70000])
    func exportsMatchTheIndependentVectors(size: Int) throws {
        let directory = try TestExports.write(size: size, signer: try NoteVectors.pdxSigner())
        defer { TestExports.remove(directory) }
        let manifest = try NoteVectors.text("tiles/export-\(size).sha256")
        var produced = ""
        for path in try TestExports.files(in: directory) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(path)"))
            produced += "\(SHA256.hash([UInt8](bytes)).hex)  \(path)\n"
        }
        #expect(produced == manifest)
    }

    @Test func finishRefusesACheckpointThatDoesNotSignTheEntriesWritten() throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let other = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let directory = TestExports.temporaryDirectory()
        defer { TestExports.remove(directory) }
        let writer = try TlogTilesWriter(directory: directory)
        var builder = TileBuilder()
        for i in 0..<300 {
            try writer.append(entry: TestExports.entry(i))
            _ = builder.append(entry: TestExports.entry(i))
        }
        let right = Checkpoint(origin: signer.name, size: 300, rootHash: builder.root())
        func refusal(_ note: SignedNote, _ vkey: String) -> String? {
            do {
                try writer.finish(checkpoint: note, verifierKey: vkey)
                return nil
            } catch {
                return error.code.rawValue
            }
        }
        var short = right
        short.size = 299
        #expect(refusal(try short.sign(with: [signer]), signer.verifierKey) == "size_mismatch")
        var wrongRoot = right
        wrongRoot.rootHash = MerkleHash.emptyTree
        #expect(refusal(try wrongRoot.sign(with: [signer]), signer.verifierKey) == "root_mismatch")
        #expect(refusal(try right.sign(with: [other]), signer.verifierKey) == "checkpoint_invalid")
        var elsewhere = right
        elsewhere.origin = "other.example/log"
        #expect(refusal(try elsewhere.sign(with: [signer]), signer.verifierKey) == "checkpoint_invalid")
        #expect(refusal(try right.sign(with: [signer]), "not a key") == "vkey_invalid")
        // Refused checkpoints leave no checkpoint behind, and no partial tiles yet.
        #expect(try TestExports.files(in: directory).filter { !$0.hasPrefix(".tmp-") }
            == ["tile/0/000", "tile/entries/000"])

        try writer.finish(checkpoint: try right.sign(with: [signer]), verifierKey: signer.verifierKey)
        #expect(try TestExports.files(in: directory) == [
            "checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000",
            "tile/entries/001.p/44", "vkey",
        ])
        #expect(try String(contentsOfFile: "\(directory)/vkey", encoding: .utf8) == signer.verifierKey + "\n")
        #expect(throws: ExportError(code: .writerClosed, detail: "")) { try writer.append(entry: TestExports.entry(300)) }
    }

    @Test func entriesOverTheBundleLimitAreRefused() throws {
        let directory = TestExports.temporaryDirectory()
        defer { TestExports.remove(directory) }
        let writer = try TlogTilesWriter(directory: directory)
        try writer.append(entry: [UInt8](repeating: 0x20, count: 65535))
        #expect(throws: ExportError(code: .entryTooLarge, detail: "")) {
            try writer.append(entry: [UInt8](repeating: 0x20, count: 65536))
        }
        #expect(writer.size == 1)
    }

    @Test func anExportGoesIntoAnEmptyDirectory() throws {
        let directory = TestExports.temporaryDirectory()
        defer { TestExports.remove(directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try TlogTilesWriter(directory: directory)
        #expect(FileManager.default.createFile(atPath: "\(directory)/stray", contents: Data()))
        #expect(throws: ExportError(code: .directoryNotEmpty, detail: "")) {
            _ = try TlogTilesWriter(directory: directory)
        }
    }
}
