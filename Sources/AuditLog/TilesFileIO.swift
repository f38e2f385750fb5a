#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
internal import Cryptography
internal import Foundation

/// A failed file-system call: the operation, the path and the system's reason.
struct FileSystemError: CodedError {
    enum Code: String, Sendable, CaseIterable {
        /// A system call on a file or folder failed; the detail says which, where and why.
        case ioFailed = "io_failed"
    }

    var code: Code { .ioFailed }
    var operation: String
    var path: String
    var errorNumber: Int32

    init(_ operation: String, _ path: String, errorNumber: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
    }

    var detail: String { "\(operation) \(path): \(String(cString: strerror(errorNumber)))" }
    /// The detail alone, as export findings and errors have always quoted it.
    var description: String { detail }
}

/// Reads a file front to back through a fixed buffer, so a log of any size is read in flat memory.
final class BufferedFileReader {
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0

    /// Opens `path` for reading; nil when nothing is there.
    init?(path: String, bufferSize: Int = 1 << 16) throws(FileSystemError) {
        // Non-blocking so that a FIFO put where a file belongs cannot hang the reader.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw FileSystemError("open", path)
        }
        self.path = path
        self.descriptor = descriptor
        self.buffer = [UInt8](repeating: 0, count: bufferSize)
    }

    deinit { close(descriptor) }

    /// The file's size in bytes, as the file system reports it now.
    func size() throws(FileSystemError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileSystemError("fstat", path) }
        return Int64(status.st_size)
    }

    /// Copies up to `count` bytes into `destination[0..<count]` (which must be large enough); returns
    /// how many bytes there were, fewer than `count` only at the end of the file.
    func read(into destination: inout [UInt8], count: Int) throws(FileSystemError) -> Int {
        var copied = 0
        while copied < count {
            if start == end, try !fill() { break }
            let chunk = min(count - copied, end - start)
            let (from, to) = (start, copied)
            destination.withUnsafeMutableBytes { out in
                buffer.withUnsafeBytes { source in
                    (out.baseAddress! + to).copyMemory(from: source.baseAddress! + from, byteCount: chunk)
                }
            }
            start += chunk
            copied += chunk
        }
        return copied
    }

    /// True when every byte has been read.
    func isAtEnd() throws(FileSystemError) -> Bool {
        if start < end { return false }
        return try !fill()
    }

    /// Refills the empty buffer; false at the end of the file.
    private func fill() throws(FileSystemError) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glue.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("read", path)
            }
            start = 0
            end = count
            return count > 0
        }
    }
}

/// Writes a file under a temporary name and renames it into place only once it is complete and on
/// disk, so a crash never leaves a file at its final path that looks whole but is not.
final class AtomicFileWriter {
    let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 16

    init(temporaryPath: String) throws(FileSystemError) {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileSystemError("create", temporaryPath) }
        self.temporaryPath = temporaryPath
        self.descriptor = descriptor
        buffer.reserveCapacity(Self.bufferLimit)
    }

    deinit {
        // Not committed: the partial file must not survive under any name that looks final.
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: some ContiguousBytesCollection) throws(FileSystemError) {
        let result: Result<Void, FileSystemError> = bytes.withContiguousBytes { raw in
            if buffer.count + raw.count > Self.bufferLimit {
                do throws(FileSystemError) { try flush() } catch { return .failure(error) }
            }
            if raw.count >= Self.bufferLimit {
                do throws(FileSystemError) { try writeAll(raw) } catch { return .failure(error) }
            } else {
                buffer.append(contentsOf: raw)
            }
            return .success(())
        }
        try result.get()
    }

    /// Flushes, syncs and closes the file, then renames it to `finalPath`.
    func commit(to finalPath: String) throws(FileSystemError) {
        try flush()
        guard fsync(descriptor) == 0 else { throw FileSystemError("fsync", temporaryPath) }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw FileSystemError("close", temporaryPath) }
        guard rename(temporaryPath, finalPath) == 0 else {
            let error = FileSystemError("rename to \(finalPath)", temporaryPath)
            unlink(temporaryPath)
            throw error
        }
    }

    private func flush() throws(FileSystemError) {
        guard !buffer.isEmpty else { return }
        let result: Result<Void, FileSystemError> = buffer.withUnsafeBytes { raw in
            do throws(FileSystemError) { try writeAll(raw) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws(FileSystemError) {
        var offset = 0
        while offset < raw.count {
            let written = Glue.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", temporaryPath)
            }
            offset += written
        }
    }
}

/// What is at a path, without following a final symbolic link.
enum FileKind {
    case missing, directory, regularFile, other
}

enum FileSystem {
    static func kind(of path: String, followingLinks: Bool = false) -> FileKind {
        var status = stat()
        guard (followingLinks ? stat(path, &status) : lstat(path, &status)) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        default: return .other
        }
    }

    /// Names in the directory, sorted so that reports name the same first problem every time.
    static func contents(ofDirectory path: String) throws(FileSystemError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw FileSystemError("list", path, errorNumber: EIO)
        }
    }

    static func createDirectories(_ path: String) throws(FileSystemError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FileSystemError("mkdir", path, errorNumber: EIO)
        }
    }

    /// Makes renames into `path` durable.
    static func syncDirectory(_ path: String) throws(FileSystemError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystemError("open", path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileSystemError("fsync", path) }
    }

    /// Reads a whole small file; nil when nothing is there. `limit + 1` bytes at most are read, so a
    /// caller can tell a file over the limit without reading all of it.
    static func readSmallFile(_ path: String, limit: Int) throws(FileSystemError) -> [UInt8]? {
        guard let reader = try BufferedFileReader(path: path, bufferSize: min(limit + 1, 1 << 16)) else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        let count = try reader.read(into: &bytes, count: limit + 1)
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}

/// The C calls under names that do not collide with the methods calling them.
private enum Glue {
    static func read(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Darwin)
        Darwin.read(descriptor, buffer, count)
        #elseif canImport(Musl)
        Musl.read(descriptor, buffer, count)
        #else
        Glibc.read(descriptor, buffer, count)
        #endif
    }

    static func write(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Darwin)
        Darwin.write(descriptor, buffer, count)
        #elseif canImport(Musl)
        Musl.write(descriptor, buffer, count)
        #else
        Glibc.write(descriptor, buffer, count)
        #endif
    }
}
