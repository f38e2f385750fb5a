import Identity
import Marketplace
import Cryptography
import Synchronization

/// A seeded pseudo-random generator (SplitMix64) for `pdx demo`: the same seed gives the same
/// signing key, ids, API keys and usage on every run, so two demos of one seed are byte-identical.
///
/// Predictable by design, and so for demos only: anyone who knows the seed knows every key it made.
/// `pdx serve` and every other command take ``SecureRandom``.
final class DemoRandom: RandomSource {
    private let generator: Mutex<SplitMix64>

    init(seed: UInt64) {
        generator = Mutex(SplitMix64(seed: seed))
    }

    /// The next 64 bits.
    func next() -> UInt64 {
        generator.withLock { $0.next() }
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
