public import Cryptography
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's data directory: the SQLite database (unless PostgreSQL is used), the log's signing key and
/// the bootstrap admin key. Created on first start with owner-only permissions.
public struct DataDirectory: Sendable {
    /// The directory path as given (relative paths are relative to the working directory).
    public let path: String

    /// The SQLite database file.
    public var databasePath: String { "\(path)/pdx.sqlite" }
    /// The Ed25519 signing key of the log, PKCS #8 PEM, mode 0600.
    public var signingKeyPath: String { "\(path)/signing-key.pem" }
    /// The bootstrap admin API key, one line, mode 0600.
    public var adminTokenPath: String { "\(path)/admin.token" }

    public init(path: String) {
        self.path = path
    }

    /// Creates the directory (mode 0700) and missing parents if it does not exist.
    ///
    /// Throws `data_directory_unusable` naming the path that failed and the system's reason (a
    /// parent that is a file, a read-only file system, a refused permission), so that a server
    /// that cannot start says why in one line.
    public func create() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw DataDirectoryError("\(path) exists and is not a directory") }
            return
        }
        if let reason = Self.makeDirectory(path) {
            throw DataDirectoryError("cannot create the data directory \(path): \(reason)")
        }
    }

    /// `mkdir -p` with owner-only modes, parents first; nil when done, else why not.
    private static func makeDirectory(_ directory: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            return isDirectory.boolValue ? nil : "\(directory) is not a directory"
        }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != directory, let reason = makeDirectory(parent) {
            return reason
        }
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            return "\(directory): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Loads the signing key, or creates one from `random` if there is none. Creation is exclusive
    /// (`O_EXCL`), so two instances starting at once on a shared directory end up with the same key.
    public func loadOrCreateSigningKey(using random: any RandomSource = SecureRandom()) throws -> Ed25519PrivateKey {
        if let pem = try readIfPresent(signingKeyPath) {
            return try Ed25519PrivateKey(pem: pem)
        }
        let key = try random.signingKey()
        if try writeExclusively(signingKeyPath, contents: try key.pem()) {
            return key
        }
        // Another process created it between our read and our write: use theirs.
        guard let pem = try readIfPresent(signingKeyPath) else {
            throw DataDirectoryError("\(signingKeyPath) vanished while starting")
        }
        return try Ed25519PrivateKey(pem: pem)
    }

    /// Loads the signing key if the directory has one.
    public func loadSigningKey() throws -> Ed25519PrivateKey? {
        try readIfPresent(signingKeyPath).map { try Ed25519PrivateKey(pem: $0) }
    }

    /// Writes the bootstrap admin key, one line, mode 0600. Returns false if the file already exists.
    public func writeAdminToken(_ key: String) throws -> Bool {
        try writeExclusively(adminTokenPath, contents: key + "\n")
    }

    /// The bootstrap admin key, if the file exists.
    public func adminToken() throws -> String? {
        try readIfPresent(adminTokenPath)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func readIfPresent(_ file: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataDirectoryError("cannot read \(file)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Creates `file` with mode 0600 only if it does not exist; writes and syncs it.
    private func writeExclusively(_ file: String, contents: String) throws -> Bool {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw DataDirectoryError("cannot create \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DataDirectoryError("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            throw DataDirectoryError("cannot sync \(file): \(String(cString: strerror(errno)))")
        }
        return true
    }
}

/// A data directory that cannot be created, read or written.
public struct DataDirectoryError: Error, CustomStringConvertible, Sendable {
    public var code: String { "data_directory_unusable" }
    public let description: String
    init(_ description: String) { self.description = description }
}
