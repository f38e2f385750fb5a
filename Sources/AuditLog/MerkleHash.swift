public import Cryptography

/// RFC 9162 §2.1.1 hashing: SHA-256 with domain separation between leaves and interior nodes.
public enum MerkleHash {
    /// The hash of an empty tree: SHA-256 of the empty string.
    public static let emptyTree = SHA256.hash([UInt8]())

    /// `SHA-256(0x00 || data)`.
    public static func leaf(_ data: some ContiguousBytesCollection, using hasher: SHA256 = SHA256()) -> SHA256Digest {
        hasher.update(byte: 0x00)
        hasher.update(data)
        return hasher.finalize()
    }

    /// `SHA-256(0x01 || left || right)`.
    public static func node(_ left: SHA256Digest, _ right: SHA256Digest, using hasher: SHA256 = SHA256()) -> SHA256Digest {
        hasher.update(byte: 0x01)
        left.withUnsafeBytes { hasher.update($0) }
        right.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}
