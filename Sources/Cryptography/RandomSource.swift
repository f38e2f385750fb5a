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

/// SplitMix64 (Steele, Lea and Flood 2014): a seeded pseudo-random generator, the same sequence for
/// the same seed.
///
/// Predictable by design: for `pdx demo`, whose runs must come out byte-identical, and for tests whose
/// failures must be replayable from their seed. Never for a key that protects anything: anyone who
/// knows the seed knows every number it gives.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
