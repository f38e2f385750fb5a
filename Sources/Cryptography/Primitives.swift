internal import COpenSSL
internal import Foundation

/// Secure random bytes from OpenSSL's CSPRNG: the ``RandomSource`` of every real marketplace.
public struct SecureRandom: RandomSource {
    public init() {}

    /// `count` bytes; fails only if the CSPRNG cannot be seeded.
    public static func bytes(_ count: Int) throws(OpenSSLError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        try check(RAND_bytes(&output, Int32(count)), "RAND_bytes")
        return output
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public func bytes(_ count: Int) throws -> [UInt8] {
        try Self.bytes(count)
    }

    /// A fresh key from OpenSSL's key generation.
    public func signingKey() throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey()
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when both byte strings are equal. Lengths are not secret: differing lengths return early.
    public static func equals(_ lhs: some ContiguousBytesCollection, _ rhs: some ContiguousBytesCollection) -> Bool {
        lhs.withContiguousBytes { a in
            rhs.withContiguousBytes { b in
                guard a.count == b.count else { return false }
                guard a.count > 0 else { return true }
                return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
            }
        }
    }
}

/// Hex encoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of either case; nil for odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), as signed notes and checkpoints use.
public enum Base64 {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Decodes strict standard base64; nil on any other character or bad padding.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard let data = Data(base64Encoded: String(text)) else { return nil }
        let bytes = [UInt8](data)
        // Foundation accepts some non-canonical encodings; insist on the one canonical form.
        guard encode(bytes) == String(text) else { return nil }
        return bytes
    }
}
