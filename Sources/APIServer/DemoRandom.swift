import Cryptography
import Synchronization

/// A seeded pseudo-random generator (SplitMix64) for `pdx demo`: the same seed gives the same
/// signing key, ids, API keys and usage on every run, so two demos of one seed are byte-identical.
///
/// Predictable by design, and so for demos only: anyone who knows the seed knows every key it made.
/// `pdx serve` and every other command take ``SecureRandom``.
final class DemoRandom: RandomSource {
    private let state: Mutex<UInt64>

    init(seed: UInt64) {
        state = Mutex(seed)
    }

    /// The next 64 bits (SplitMix64, Steele, Lea and Flood 2014).
    func next() -> UInt64 {
        state.withLock { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 7)
        while out.count < count {
            var word = next()
            for _ in 0..<8 {
                out.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return Array(out.prefix(count))
    }

    /// A number in `range`, uniformly (multiply-shift; the bias is below 2⁻³² for demo ranges).
    func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next().multipliedFullWidth(by: span).high)
    }

    /// True with probability `p`.
    func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }

    /// A number in 0..<1.
    func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
