/// How a line is split: the dataset's authority takes its revenue-return share, the platform its
/// fee, the operator the rest, all in basis points of the line.
public struct ShareSplit: Sendable, Hashable {
    public let authorityBPS: Int
    public let platformBPS: Int

    /// The split of a line of a dataset returning `revenueShareBPS` under a platform fee of
    /// `platformFeeBPS`. The authority's share comes first: when both together exceed the whole,
    /// the platform takes what is left.
    public init(revenueShareBPS: Int, platformFeeBPS: Int) {
        authorityBPS = min(max(revenueShareBPS, 0), 10_000)
        platformBPS = min(max(platformFeeBPS, 0), 10_000 - authorityBPS)
    }

    public var operatorBPS: Int { 10_000 - authorityBPS - platformBPS }

    /// `amount` split into authority, platform and operator parts that sum to it exactly.
    public func split(_ amount: Int64) -> (authority: Int64, platform: Int64, operator: Int64) {
        let parts = LargestRemainder.allocate(amount, weights: [Int64(authorityBPS), Int64(platformBPS), Int64(operatorBPS)])
        return (parts[0], parts[1], parts[2])
    }
}

/// Allocation by largest remainder (Hamilton's method): each part gets the whole minor units of
/// its exact share, and the units left over go one each to the largest fractional remainders,
/// earlier parts first on a tie. The parts always sum to the amount; a negative amount is
/// allocated as its magnitude and negated, so a correction mirrors the line it corrects.
public enum LargestRemainder {
    /// `amount` in proportion to `weights` (non-negative, not all zero; all-zero weights give the
    /// whole amount to the first part).
    public static func allocate(_ amount: Int64, weights: [Int64]) -> [Int64] {
        guard !weights.isEmpty else { return [] }
        let total = weights.reduce(Int128(0)) { $0 + Int128(max($1, 0)) }
        guard total > 0 else { return [amount] + Array(repeating: 0, count: weights.count - 1) }
        let magnitude = Int128(amount.magnitude)
        var parts = weights.map { magnitude * Int128(max($0, 0)) / total }
        let remainders = weights.map { magnitude * Int128(max($0, 0)) % total }
        var left = magnitude - parts.reduce(0, +)
        let order = remainders.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        for index in order where left > 0 {
            parts[index] += 1
            left -= 1
        }
        return parts.map { amount < 0 ? -Int64($0) : Int64($0) }
    }
}
