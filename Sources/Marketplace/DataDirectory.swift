public import AuditLog
public import Cryptography
package import Foundation

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
    /// The next signing key during a key rollover, PKCS #8 PEM, mode 0600: present from
    /// `pdx audit key begin` until `pdx audit key finish` makes it `signing-key.pem`.
    public var nextSigningKeyPath: String { "\(path)/signing-key.next.pem" }
    /// The latest checkpoint note this data directory signed or verified, kept outside the
    /// database so that a restored old backup is noticed at start.
    public var witnessPath: String { "\(path)/checkpoint.witness" }

    /// Where `pdx audit key finish` leaves a retired key for the operator to move offline.
    public func retiredSigningKeyPath(keyID: String) -> String { "\(path)/signing-key.retired-\(keyID).pem" }

    public init(path: String) {
        self.path = path
    }

    /// Creates the directory (mode 0700) and missing parents if it does not exist; an existing one
    /// that group or others may enter is made owner-only. Returns what it tightened, for the log.
    ///
    /// Throws `data_directory_unusable` naming the path that failed and the system's reason (a
    /// parent that is a file, a read-only file system, a refused permission), so that a server
    /// that cannot start says why in one line.
    @discardableResult
    public func create() throws -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw DataDirectoryError("\(path) exists and is not a directory") }
            return try tighten()
        }
        if let reason = Self.makeDirectory(path) {
            throw DataDirectoryError("cannot create the data directory \(path): \(reason)")
        }
        return nil
    }

    /// Removes group and other access from the directory: it holds the signing key, the admin key
    /// and (on SQLite) the whole marketplace. Nil when it was owner-only already.
    func tighten() throws -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw DataDirectoryError("cannot read the permissions of \(path): \(String(cString: strerror(errno)))")
        }
        let mode = status.st_mode & 0o7777
        guard mode & 0o077 != 0 else { return nil }
        guard chmod(path, mode & ~0o077) == 0 else {
            throw DataDirectoryError("""
                \(path) is open to group or others (mode \(String(mode, radix: 8))) and cannot be made owner-only: \
                \(String(cString: strerror(errno))); run `chmod 700 \(path)`
                """)
        }
        return "the data directory \(path) was open to group or others (mode \(String(mode, radix: 8))); made it \(String(mode & ~0o077, radix: 8))"
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

    /// The key that seals the credentials of upstream datasets at rest (AES-256-GCM), 64 hex digits
    /// and a line feed, mode 0600. Losing it makes every stored credential unreadable: it is backed up
    /// with the directory.
    public var upstreamKeyPath: String { "\(path)/upstream-key" }

    /// Loads the upstream credential key, or creates one from `random` if there is none; exclusive
    /// like the signing key's creation, so instances sharing a directory share the key.
    public func loadOrCreateUpstreamKey(using random: any RandomSource = SecureRandom()) throws -> AESGCMKey {
        func parse(_ text: String) throws -> AESGCMKey {
            guard let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), let key = AESGCMKey(bytes: bytes) else {
                throw DataDirectoryError("\(upstreamKeyPath) does not hold 64 hex digits")
            }
            return key
        }
        if let text = try readIfPresent(upstreamKeyPath) { return try parse(text) }
        let bytes = try random.bytes(AESGCMKey.keyLength)
        if try writeExclusively(upstreamKeyPath, contents: Hex.encode(bytes) + "\n"), let key = AESGCMKey(bytes: bytes) {
            return key
        }
        guard let text = try readIfPresent(upstreamKeyPath) else {
            throw DataDirectoryError("\(upstreamKeyPath) vanished while starting")
        }
        return try parse(text)
    }

    /// Loads the upstream credential key if the directory has one.
    public func loadUpstreamKey() throws -> AESGCMKey? {
        guard let text = try readIfPresent(upstreamKeyPath) else { return nil }
        guard let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), let key = AESGCMKey(bytes: bytes) else {
            throw DataDirectoryError("\(upstreamKeyPath) does not hold 64 hex digits")
        }
        return key
    }

    /// Loads the signing key if the directory has one.
    public func loadSigningKey() throws -> Ed25519PrivateKey? {
        try readIfPresent(signingKeyPath).map { try Ed25519PrivateKey(pem: $0) }
    }

    /// Loads the next signing key if a rollover put one here.
    public func loadNextSigningKey() throws -> Ed25519PrivateKey? {
        try readIfPresent(nextSigningKeyPath).map { try Ed25519PrivateKey(pem: $0) }
    }

    /// Creates `signing-key.next.pem` from `random`, exclusively: returns nil if the file exists.
    public func createNextSigningKey(using random: any RandomSource = SecureRandom()) throws -> Ed25519PrivateKey? {
        let key = try random.signingKey()
        return try writeExclusively(nextSigningKeyPath, contents: try key.pem()) ? key : nil
    }

    /// Makes the next key the only one: the current `signing-key.pem` is first copied to
    /// `signing-key.retired-<keyID>.pem` (0600), then `signing-key.next.pem` is renamed over it, so
    /// a crash at any point leaves every key on disk. Returns the retired key's path.
    public func promoteNextSigningKey(retiredKeyID: String) throws -> String {
        guard let next = try readIfPresent(nextSigningKeyPath) else {
            throw DataDirectoryError("\(nextSigningKeyPath) is missing")
        }
        _ = try Ed25519PrivateKey(pem: next)
        let retiredPath = retiredSigningKeyPath(keyID: retiredKeyID)
        if let current = try readIfPresent(signingKeyPath), current != next {
            if !(try writeExclusively(retiredPath, contents: current)), try readIfPresent(retiredPath) != current {
                throw DataDirectoryError("\(retiredPath) exists and holds another key")
            }
        }
        guard rename(nextSigningKeyPath, signingKeyPath) == 0 else {
            throw DataDirectoryError("cannot rename \(nextSigningKeyPath): \(String(cString: strerror(errno)))")
        }
        try syncDirectory()
        return retiredPath
    }

    /// The checkpoint note of `checkpoint.witness`, or nil when there is none.
    public func witness() throws -> String? {
        try readIfPresent(witnessPath)
    }

    /// Replaces `checkpoint.witness` atomically: a temporary file, fsync, rename, fsync of the
    /// directory, so a crash leaves the old witness or the new one, never half of one.
    public func writeWitness(_ note: String) throws {
        let temporary = "\(path)/.checkpoint.witness.\(getpid()).tmp"
        unlink(temporary)
        guard try writeExclusively(temporary, contents: note) else {
            throw DataDirectoryError("cannot create \(temporary)")
        }
        guard rename(temporary, witnessPath) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw DataDirectoryError("cannot rename \(temporary) to \(witnessPath): \(reason)")
        }
        try syncDirectory()
    }

    private func syncDirectory() throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw DataDirectoryError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DataDirectoryError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Writes the bootstrap admin key, one line, mode 0600. Returns false if the file already exists.
    public func writeAdminToken(_ key: String) throws -> Bool {
        try writeExclusively(adminTokenPath, contents: key + "\n")
    }

    /// The bootstrap admin key between the commit of its principal and its rename to `admin.token`.
    public var pendingAdminTokenPath: String { "\(path)/admin.token.pending" }

    /// Replaces `admin.token.pending` by `key`: created exclusively with mode 0600, synced.
    public func writePendingAdminToken(_ key: String) throws {
        try Self.replaceOwnerOnly(pendingAdminTokenPath, contents: key + "\n")
    }

    /// The key in `admin.token.pending`, if the file exists.
    public func pendingAdminToken() throws -> String? {
        try readIfPresent(pendingAdminTokenPath)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Renames `admin.token.pending` to `admin.token` and syncs the directory.
    public func promotePendingAdminToken() throws {
        guard rename(pendingAdminTokenPath, adminTokenPath) == 0 else {
            throw DataDirectoryError("cannot rename \(pendingAdminTokenPath) to \(adminTokenPath): \(String(cString: strerror(errno)))")
        }
        try syncDirectory()
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

    /// Replaces `file` by a new one created with mode 0600 (`O_CREAT | O_EXCL`, never a chmod
    /// after), holding `contents`.
    public static func replaceOwnerOnly(_ file: String, contents: String) throws {
        if unlink(file) != 0, errno != ENOENT {
            throw DataDirectoryError("cannot remove \(file): \(String(cString: strerror(errno)))")
        }
        guard try DataDirectory(path: (file as NSString).deletingLastPathComponent).writeExclusively(file, contents: contents) else {
            throw DataDirectoryError("\(file) appeared while it was being written")
        }
    }

    /// Creates `file` with mode 0600 and writes it; throws when it exists (nothing is replaced).
    public static func createOwnerOnly(_ file: String, contents: String) throws {
        guard try DataDirectory(path: (file as NSString).deletingLastPathComponent).writeExclusively(file, contents: contents) else {
            throw DataDirectoryError("\(file) exists; choose a new file")
        }
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
public typealias DataDirectoryError = PlainCodedError<DataDirectoryErrorCode>

/// The code of ``DataDirectoryError``.
public enum DataDirectoryErrorCode: String, Sendable, CaseIterable {
    /// A file or folder of the data directory cannot be created, read, written or synced.
    case dataDirectoryUnusable = "data_directory_unusable"
}

extension DataDirectoryError {
    /// An error with `detail`, printed as it is.
    init(_ detail: String) { self.init(.dataDirectoryUnusable, detail) }
}
