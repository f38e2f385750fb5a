import Benchmark
import Cryptography
import Foundation
import Licensing
import Vetting

// The grant check on the usage path: one question per usage event, answered from memory. Each
// iteration is one check, so the percentiles are the latency of a single check. The baseline, in the
// same run, is the bare dictionary lookup the check starts with.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 1_000,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let market = GrantMarket(grants: 10_000)
    let directory = GrantDirectory()
    directory.apply(market.grants, generation: 1)
    let queries = market.queries(4_096)
    let snapshots = Dictionary(uniqueKeysWithValues: market.grants.map { ($0.id, GrantSnapshot($0)) })

    Benchmark("Grant check: GrantDirectory.check, 10,000 grants") { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(directory.check(queries[index & 4095]))
            index &+= 1
        }
    }

    Benchmark("Grant check: dictionary lookup of the snapshot (baseline)") { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(snapshots[queries[index & 4095].grantID])
            index &+= 1
        }
    }
}

/// Grants as a busy marketplace holds them: three datasets each, two units, a quarter of them
/// suspended and reinstated once, a tenth revoked.
struct GrantMarket {
    let grants: [Grant]
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    init(grants count: Int) {
        var grants: [Grant] = []
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        for number in 0..<count {
            let items = (0..<3).map { offset in
                GrantItem(datasetID: "ds-\((number + offset) % 500)", authorityID: "a\(offset)", fields: ["flow"],
                          unitPrices: [.call: UnitPrice(micros: 40_000), .record: UnitPrice(micros: 1_000)],
                          quotas: [.call: 1_000_000, .record: 10_000_000])
            }
            var history = [
                GrantStatusChange(action: .requested, from: nil, to: .pending, at: start, actor: "p", reason: nil),
                GrantStatusChange(action: .activated, from: .pending, to: .active, at: start, actor: "p", reason: nil),
            ]
            if number % 4 == 0 {
                history.append(GrantStatusChange(action: .suspended, from: .active, to: .suspended,
                                                 at: start.addingTimeInterval(86_400 * 10), actor: "p", reason: "r"))
                history.append(GrantStatusChange(action: .reinstated, from: .suspended, to: .active,
                                                 at: start.addingTimeInterval(86_400 * 12), actor: "p", reason: nil))
            }
            if number % 10 == 0 {
                history.append(GrantStatusChange(action: .revoked, from: .active, to: .revoked,
                                                 at: start.addingTimeInterval(86_400 * 100), actor: "p", reason: "r"))
            }
            grants.append(Grant(
                id: "gr_\(number)", operatorID: "op_\(number % 300)", requestedBy: "p", purpose: "p", scenario: .industry,
                startsAt: start, endsAt: start.addingTimeInterval(86_400 * 180),
                agreement: AgreementBinding(id: "standard-data-use", version: "1", sha256: String(repeating: "0", count: 64)),
                items: items, currency: .cny, requestedAt: start, status: history.last!.to, approvals: [], reasons: [],
                suspensionCause: nil, history: history, revision: history.count - 1))
        }
        self.grants = grants
    }

    /// Mostly allowed questions, with every kind of refusal mixed in, in a fixed pseudo-random order.
    func queries(_ count: Int) -> [GrantCheckQuery] {
        var generator = SplitMix64(seed: 42)  // every run asks the same questions
        return (0..<count).map { _ in
            let number = Int(generator.next() % UInt64(grants.count))
            let grant = grants[number]
            let roll = generator.next() % 20
            let day = Double(generator.next() % 200)
            return GrantCheckQuery(
                operatorID: roll == 0 ? "op_other" : grant.operatorID,
                grantID: roll == 1 ? "gr_missing" : grant.id,
                datasetID: roll == 2 ? "ds-none" : grant.items[Int(roll) % 3].datasetID,
                unit: roll == 3 ? .byte : .call,
                time: start.addingTimeInterval(day * 86_400 + 3_600))
        }
    }
}
