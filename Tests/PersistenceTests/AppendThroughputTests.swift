import AuditLog
import Foundation
import Persistence
import Testing

/// Append throughput, durable (each batch commits with a synced WAL). Runs when `PDX_BENCHMARK`
/// is set, ideally in a release build: `PDX_BENCHMARK=1 swift test -c release --filter AppendThroughput`.
@Suite("Append throughput", .enabled(if: ProcessInfo.processInfo.environment["PDX_BENCHMARK"] != nil))
struct AppendThroughputTests {
    /// The product's target is 50,000 entries per second on SQLite in batches of 1,000.
    static let targetPerSecond = Double(ProcessInfo.processInfo.environment["PDX_BENCHMARK_TARGET"] ?? "") ?? 50_000

    @Test("appends batches of 1,000 at the target rate", arguments: Backend.available)
    func batches(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let log = try makeLog(database, maxEntries: 10_000)
            let batch = records(1000)
            _ = try await database.transaction { try await log.append(batch, in: $0) }  // warm up caches

            let batches = 50
            let start = ContinuousClock.now
            for _ in 0..<batches {
                _ = try await database.transaction { try await log.append(batch, in: $0) }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Double(batches * batch.count) / seconds
            print("\(backend.rawValue): \(Int(rate)) entries/s (\(batches) batches of \(batch.count) in \(elapsed))")
            #expect(try await log.head().size == UInt64((batches + 1) * batch.count))
            if backend == .sqlite {
                #expect(rate >= Self.targetPerSecond, "\(Int(rate)) entries/s")
            }
        }
    }
}
