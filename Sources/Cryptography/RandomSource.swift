/// Where identifiers, API keys and signing keys get their randomness.
///
/// Injected rather than called directly, so that the composition root decides: ``SecureRandom`` for
/// every marketplace that serves, a seeded generator for a demo that must come out the same on every
/// run. Conformers must be safe to call from concurrent requests.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) throws -> [UInt8]

    /// A new Ed25519 signing key.
    func signingKey() throws -> Ed25519PrivateKey
}

extension RandomSource {
    /// A key built from 32 bytes of this source (RFC 8032 seed): as good as the source's bytes,
    /// and the same key whenever the source repeats them.
    public func signingKey() throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(seed: bytes(32))
    }
}

extension RandomSource where Self == SecureRandom {
    /// OpenSSL's CSPRNG.
    public static var secure: SecureRandom { SecureRandom() }
}
