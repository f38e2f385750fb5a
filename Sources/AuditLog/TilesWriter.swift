internal import Cryptography

/// Names of the files an export directory holds beside its tiles.
public enum ExportLayout {
    /// The signed checkpoint note; written last, so an export without it is known to be incomplete.
    public static let checkpoint = "checkpoint"
    /// The log's verifier key and a newline.
    public static let verifierKey = "vkey"
    /// The directory of hash tiles and entry bundles.
    public static let tiles = "tile"
    /// Largest entry a bundle can hold: its length is a big-endian uint16.
    public static let maximumEntrySize = Int(UInt16.max)
}

/// A failure to write an export.
public typealias ExportError = ModuleError<ExportErrorCode>

/// The stable codes of ``ExportError``: the raw value is what a problem+json `code` says.
public enum ExportErrorCode: String, Sendable, CaseIterable {
    case directoryNotEmpty = "directory_not_empty"
    case ioFailed = "io_failed"
    case entryTooLarge = "entry_too_large"
    case writerClosed = "writer_closed"
    case checkpointInvalid = "checkpoint_invalid"
    case vkeyInvalid = "vkey_invalid"
    case sizeMismatch = "size_mismatch"
    case rootMismatch = "root_mismatch"
}

extension ExportError {
    static func io(_ error: FileSystemError) -> Self { Self(code: .ioFailed, detail: error.description) }
}

/// Writes a log as a C2SP tlog-tiles directory, streaming: entries go in one at a time, in order,
/// and each entry bundle and hash tile is written as soon as it is complete.
///
/// Every file is written under a temporary name (`.tmp-*` at the top of the directory) and renamed
/// into place once synced; the `checkpoint` comes last, after the writer has checked that it signs
/// exactly the tree that was written.
public final class TlogTilesWriter {
    /// The export directory.
    public let directory: String
    private var builder = TileBuilder()
    private var bundle: AtomicFileWriter?
    private var bundleEntries = 0
    private var closed = false
    private var temporaryCounter = 0
    private var directoriesToSync: Set<String> = []

    /// Entries written so far.
    public var size: UInt64 { builder.size }

    /// Starts an export in `directory`, which is created if missing and must otherwise be empty.
    public init(directory: String) throws(ExportError) {
        self.directory = directory
        switch FileSystem.kind(of: directory) {
        case .missing:
            do { try FileSystem.createDirectories(directory) } catch { throw .io(error) }
        case .directory:
            let names: [String]
            do { names = try FileSystem.contents(ofDirectory: directory) } catch { throw .io(error) }
            guard names.isEmpty else {
                throw ExportError(code: .directoryNotEmpty, detail: "\(directory) already holds files; an export goes into an empty directory")
            }
        case .regularFile, .other:
            throw ExportError(code: .ioFailed, detail: "\(directory) exists and is not a directory")
        }
    }

    /// Appends the next entry (at most 65,535 bytes).
    public func append(entry: [UInt8]) throws(ExportError) {
        guard !closed else { throw ExportError(code: .writerClosed, detail: "the export is finished or failed") }
        guard entry.count <= ExportLayout.maximumEntrySize else {
            throw ExportError(code: .entryTooLarge,
                              detail: "entry \(size) is \(entry.count) bytes; a bundle holds entries of at most 65,535")
        }
        do {
            try appendUnchecked(entry)
        } catch {
            closed = true
            throw .io(error)
        }
    }

    /// Writes the right-edge partial tiles, `vkey` (`verifierKey` and a newline) and finally
    /// `checkpoint`, after checking that `checkpoint` is signed by `verifierKey`, names its origin and
    /// covers exactly the entries written with the root recomputed from them.
    public func finish(checkpoint: SignedNote, verifierKey: String) throws(ExportError) {
        try finish(checkpoint: checkpoint, verifierKeys: [verifierKey])
    }

    /// As ``finish(checkpoint:verifierKey:)`` with every key in force (two during a key rollover),
    /// one per line in `vkey`; the checkpoint must carry a valid signature by at least one of them.
    public func finish(checkpoint: SignedNote, verifierKeys: [String]) throws(ExportError) {
        guard !closed else { throw ExportError(code: .writerClosed, detail: "the export is finished or failed") }
        var verifiers: [NoteVerifier] = []
        do {
            for key in verifierKeys { verifiers.append(try NoteVerifier(verifierKey: key)) }
        } catch {
            throw ExportError(code: .vkeyInvalid, detail: error.description)
        }
        guard !verifiers.isEmpty else { throw ExportError(code: .vkeyInvalid, detail: "no verifier key") }
        let signed: Checkpoint
        do {
            signed = try checkpoint.verifiedCheckpoint(with: verifiers).checkpoint
        } catch {
            throw ExportError(code: .checkpointInvalid, detail: error.description)
        }
        guard signed.size == size else {
            throw ExportError(code: .sizeMismatch, detail: "the checkpoint covers \(signed.size) entries, the export holds \(size)")
        }
        let root = builder.root()
        guard signed.rootHash == root else {
            throw ExportError(code: .rootMismatch, detail: "the checkpoint's root \(signed.rootHash) is not the root \(root) of the entries written")
        }
        do {
            if let bundle {
                let address = TileAddress(kind: .entries, index: size >> 8, width: bundleEntries)
                try place(bundle, at: address.path)
                self.bundle = nil
            }
            for tile in builder.partialTiles() {
                try write(tile.bytes, to: tile.address.path)
            }
            for path in directoriesToSync.sorted() {
                try FileSystem.syncDirectory(path)
            }
            try write(Array(verifiers.map { $0.verifierKey + "\n" }.joined().utf8), to: ExportLayout.verifierKey)
            try write(Array(checkpoint.serialized.utf8), to: ExportLayout.checkpoint)
            try FileSystem.syncDirectory(directory)
            closed = true
        } catch {
            closed = true
            throw .io(error)
        }
    }

    private func appendUnchecked(_ entry: [UInt8]) throws(FileSystemError) {
        let bundle: AtomicFileWriter
        if let open = self.bundle {
            bundle = open
        } else {
            bundle = try temporaryFile()
            self.bundle = bundle
        }
        try bundle.write([UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)])
        try bundle.write(entry)
        bundleEntries += 1
        for tile in builder.append(entry: entry) {
            try write(tile.bytes, to: tile.address.path)
        }
        if bundleEntries == TileAddress.fullWidth {
            let address = TileAddress(kind: .entries, index: (size - 1) >> 8, width: TileAddress.fullWidth)
            try place(bundle, at: address.path)
            self.bundle = nil
            bundleEntries = 0
        }
    }

    private func temporaryFile() throws(FileSystemError) -> AtomicFileWriter {
        temporaryCounter += 1
        return try AtomicFileWriter(temporaryPath: "\(directory)/.tmp-\(temporaryCounter)")
    }

    private func write(_ bytes: [UInt8], to relativePath: String) throws(FileSystemError) {
        let file = try temporaryFile()
        try file.write(bytes)
        try place(file, at: relativePath)
    }

    /// Commits `file` to `relativePath`, creating its directories on first use.
    private func place(_ file: AtomicFileWriter, at relativePath: String) throws(FileSystemError) {
        let path = "\(directory)/\(relativePath)"
        let parent = String(path[..<path.lastIndex(of: "/")!])
        if !directoriesToSync.contains(parent) {
            try FileSystem.createDirectories(parent)
            // New directories are entries of their parents: those need syncing too.
            var ancestor = parent
            while ancestor.count > directory.count, directoriesToSync.insert(ancestor).inserted {
                ancestor = String(ancestor[..<ancestor.lastIndex(of: "/")!])
            }
        }
        try file.commit(to: path)
    }
}
