internal import COpenSSL

/// A SHA-256 digest: 32 bytes held inline, so hashing a tree allocates nothing per node.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32

    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Reads exactly 32 bytes; returns nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        // Called from other modules this runs unspecialized: one copy of contiguous storage, not a
        // generic loop of 32 element reads.
        let copied: Bool? = bytes.withContiguousStorageIfAvailable { buffer in
            Swift.withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(buffer)) }
            return true
        }
        if copied == nil {
            Swift.withUnsafeMutableBytes(of: &words) { raw in
                for (offset, byte) in bytes.enumerated() { raw[offset] = byte }
            }
        }
    }

    /// Copies 32 bytes starting at `pointer`.
    public init(copying pointer: UnsafeRawPointer) {
        withUnsafeMutableBytes(of: &words) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Self.byteCount))
        }
    }

    /// Parses 64 hex digits (either case).
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), let digest = SHA256Digest(bytes: bytes) else { return nil }
        self = digest
    }

    /// Calls `body` with the 32 bytes of the digest.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    /// The digest as a byte array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hex, as `sha256sum` prints it.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// Incremental SHA-256 through OpenSSL's EVP interface.
///
/// One hasher can be reused for many digests: `finalize()` resets it. Not thread-safe; give each
/// task its own.
public final class SHA256 {
    /// OpenSSL 3 fetches algorithm implementations by name; fetching once avoids a lookup per digest.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("OpenSSL has no SHA256 implementation: \(OpenSSLError.drain("EVP_MD_fetch"))")
        }
        return md
    }()

    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        reset()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Starts a new digest, discarding anything hashed so far.
    public func reset() {
        if EVP_DigestInit_ex2(context, Self.algorithm, nil) != 1 {
            fatalError("EVP_DigestInit_ex2: \(OpenSSLError.drain("EVP_DigestInit_ex2"))")
        }
    }

    /// Feeds raw bytes.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        EVP_DigestUpdate(context, buffer.baseAddress, buffer.count)
    }

    /// Feeds bytes from any contiguous collection.
    public func update(_ bytes: some ContiguousBytesCollection) {
        bytes.withContiguousBytes { update($0) }
    }

    /// Feeds one byte, e.g. an RFC 9162 domain-separation prefix.
    public func update(byte: UInt8) {
        var byte = byte
        EVP_DigestUpdate(context, &byte, 1)
    }

    /// Finishes the digest and resets the hasher for the next one.
    public func finalize() -> SHA256Digest {
        var output = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        Swift.withUnsafeMutableBytes(of: &output) { raw in
            _ = EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
        }
        reset()
        return Swift.withUnsafeBytes(of: output) { SHA256Digest(copying: $0.baseAddress!) }
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: some ContiguousBytesCollection) -> SHA256Digest {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// Byte collections that can lend their storage contiguously: `[UInt8]`, `ArraySlice<UInt8>`,
/// `String.UTF8View` through `Array`, `UnsafeRawBufferPointer`.
public protocol ContiguousBytesCollection {
    func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytesCollection where Element == UInt8 {
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension ArraySlice: ContiguousBytesCollection where Element == UInt8 {
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension UnsafeRawBufferPointer: ContiguousBytesCollection {
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}

extension String: ContiguousBytesCollection {
    /// The UTF-8 bytes of the string.
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}
