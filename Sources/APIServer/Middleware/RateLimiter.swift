import Marketplace
import Identity
import Dispatch
import Synchronization

/// Per-key token buckets: each API key may send `rate` requests a second on average and `burst` at
/// once. Checked right after authentication, before any handler or database write.
///
/// The table lives in this process only: with N instances behind a balancer a key gets up to N times
/// the rate. It stays bounded: when it reaches `capacity` keys, buckets that have refilled completely
/// (idle keys, which a fresh bucket would equal) are dropped, so a stream of distinct keys costs memory
/// only while they are busy.
final class RateLimiter: Sendable {
    /// Tokens a second; 0 or less refuses nothing.
    let rate: Double
    /// Largest number of tokens a bucket holds: the requests a key may send at once.
    let burst: Double
    /// Monotonic time in nanoseconds; tests pass a clock they move by hand.
    private let now: @Sendable () -> UInt64
    private let table: Mutex<Table>

    /// What the check decided.
    enum Decision: Equatable {
        case allowed
        /// Whole seconds until one token is available again (at least 1).
        case refused(retryAfter: Int)
    }

    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private struct Table {
        var buckets: [String: Bucket] = [:]
        /// Size at which idle buckets are swept next; grows when a sweep frees too little, so sweeps
        /// stay amortised O(1) per new key.
        var sweepAt: Int
    }

    /// - Parameter capacity: keys kept before idle buckets are swept.
    init(rate: Double, burst: Int, capacity: Int = 10_000,
         now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        self.now = now
        self.table = Mutex(Table(sweepAt: max(1, capacity)))
        self.capacity = max(1, capacity)
    }

    private let capacity: Int

    /// True when the limiter refuses anything.
    var isEnabled: Bool { rate > 0 }

    /// Takes one token from `key`'s bucket, or says how long until there is one.
    func acquire(_ key: String) -> Decision {
        guard rate > 0 else { return .allowed }
        let now = self.now()
        return table.withLock { table in
            if table.buckets[key] == nil, table.buckets.count >= table.sweepAt {
                sweep(&table, now: now)
            }
            var bucket = table.buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = refilled(bucket, at: now)
            bucket.updated = max(now, bucket.updated)
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                let wait = ((1 - bucket.tokens) / rate).rounded(.up)
                decision = .refused(retryAfter: max(1, Int(min(wait, Double(Int32.max)))))
            }
            table.buckets[key] = bucket
            return decision
        }
    }

    /// Whether `key`'s bucket has a token, without taking it: refused while it is empty.
    func peek(_ key: String) -> Decision {
        guard rate > 0 else { return .allowed }
        let now = self.now()
        return table.withLock { table in
            guard let bucket = table.buckets[key] else { return .allowed }
            let tokens = refilled(bucket, at: now)
            guard tokens < 1 else { return .allowed }
            let wait = ((1 - tokens) / rate).rounded(.up)
            return .refused(retryAfter: max(1, Int(min(wait, Double(Int32.max)))))
        }
    }

    /// Keys currently tracked (for tests of the bound).
    var trackedKeys: Int { table.withLock { $0.buckets.count } }

    private func refilled(_ bucket: Bucket, at now: UInt64) -> Double {
        let elapsed = now > bucket.updated ? Double(now - bucket.updated) / 1e9 : 0
        return min(burst, bucket.tokens + elapsed * rate)
    }

    private func sweep(_ table: inout Table, now: UInt64) {
        table.buckets = table.buckets.filter { _, bucket in
            refilled(bucket, at: now) < burst
        }
        // Everything left is busy: let the table grow, and sweep again when it has doubled.
        table.sweepAt = max(capacity, table.buckets.count * 2)
    }
}
