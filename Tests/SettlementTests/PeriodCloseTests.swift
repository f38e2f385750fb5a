import Cryptography
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

/// A counter of one grant, dataset and unit in 2026-10.
func counter(_ grant: String, operator op: String = "op-1", authority: String = "bj", dataset: String = "bj-a",
             unit: MeteringUnit = .call, quantity: Int64, events: Int64 = 1) -> UsageCounter {
    UsageCounter(key: CounterKey(grantID: grant, datasetID: dataset, unit: unit, period: Period("2026-10")!),
                 operatorID: op, authorityID: authority, quantity: quantity, events: events, firstLogIndex: 5, lastLogIndex: 9)
}

let october = Period("2026-10")!
let closedAt = Date(timeIntervalSince1970: 1_793_000_000)

@Suite("Largest remainder")
struct LargestRemainderTests {
    @Test("vectors: parts sum to the amount, leftover units to the largest remainders, ties to the earlier part", arguments: [
        (28, [3000, 500, 6500], [9, 1, 18]),       // 8.4 / 1.4 / 18.2 → the tie of .4s goes to the authority
        (95, [3000, 500, 6500], [28, 5, 62]),      // 28.5 / 4.75 / 61.75
        (-10, [3000, 500, 6500], [-3, -1, -6]),    // mirrored
        (1, [3000, 500, 6500], [0, 0, 1]),
        (100, [1, 1, 1], [34, 33, 33]),
        (0, [3000, 500, 6500], [0, 0, 0]),
        (7, [0, 0, 0], [7, 0, 0]),
        (10, [10_000, 0, 0], [10, 0, 0]),
    ] as [(Int64, [Int64], [Int64])])
    func vectors(amount: Int64, weights: [Int64], expected: [Int64]) {
        #expect(LargestRemainder.allocate(amount, weights: weights) == expected)
    }

    @Test("random amounts and weights: the parts always sum exactly and never differ from the exact share by a unit or more")
    func property() {
        var random = SplitMix64(seed: 20261122)
        for _ in 0..<5_000 {
            let amount = Int64(random.next() % 2_000_000_001) - 1_000_000_000
            let weights = (0..<Int(1 + random.next() % 5)).map { _ in Int64(random.next() % 10_001) }
            let parts = LargestRemainder.allocate(amount, weights: weights)
            #expect(parts.reduce(0, +) == amount)
            let total = weights.reduce(0, +)
            guard total > 0 else { continue }
            for (part, weight) in zip(parts, weights) {
                let exact = Double(amount) * Double(weight) / Double(total)
                #expect(abs(Double(part) - exact) < 1.0 + 1e-6)
            }
        }
    }
}

@Suite("Closing a period")
struct PeriodCloseTests {
    let price = UnitPrice("0.04")!

    func settle(_ usage: [RatedUsage], fee: Int = 500, adjustments: [Adjustment] = [], caps: [String: Int64] = [:],
                before: [String: Int64] = [:]) throws -> SettlementReport {
        try PeriodClose.settle(PeriodCloseInput(period: october, currency: .cny, platformFeeBPS: fee, usage: usage,
                                                adjustments: adjustments, revenueCaps: caps, incomeBefore: before), closedAt: closedAt)
    }

    @Test("a usage line: quantity × price, split authority / platform / operator, traced to its counter")
    func usageLine() throws {
        let report = try settle([RatedUsage(counter: counter("g-1", quantity: 7, events: 2), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 3000)])
        let line = try #require(report.lines.first)
        #expect(line.id == "2026-10/g-1/bj-a/call")
        #expect(line.amountMinor == 28)
        #expect([line.authorityMinor, line.platformMinor, line.operatorMinor] == [9, 1, 18])
        #expect(line.eventCount == 2 && line.logIndexFirst == 5 && line.logIndexLast == 9)
        #expect(report.totals.grossMinor == 28)
        #expect(report.parties.map(\.party.description) == ["authority:bj", "operator:op-1", "platform"])
    }

    @Test("a public-interest grant is rated at zero but still reported")
    func publicInterest() throws {
        let report = try settle([RatedUsage(counter: counter("g-1", quantity: 1_000), scenario: .publicInterest, pricing: .perUnit(price), revenueShareBPS: 3000)])
        #expect(report.lines.count == 1)
        #expect(report.lines[0].amountMinor == 0)
        #expect(report.lines[0].quantity == 1_000)
        #expect(report.lines[0].unitPrice == .zero)
    }

    @Test("an authority share and a platform fee above the whole: the authority's share comes first")
    func shareAboveWhole() throws {
        let report = try settle([RatedUsage(counter: counter("g-1", quantity: 100), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 9800)], fee: 500)
        let line = report.lines[0]
        #expect(line.authorityBPS == 9800 && line.platformBPS == 200)
        #expect([line.authorityMinor, line.platformMinor, line.operatorMinor] == [392, 8, 0])
    }

    @Test("an adjustment mirrors the split of the line it corrects and points at it")
    func adjustment() throws {
        let corrected = try settle([RatedUsage(counter: counter("g-1", quantity: 7), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 3000)]).lines[0]
        let november = Period("2026-11")!
        let adjustment = Adjustment(id: "adj_1", period: november, corrected: corrected, amountMinor: -10, reason: "billed twice", actor: "fin", at: closedAt)
        let report = try PeriodClose.settle(PeriodCloseInput(period: november, currency: .cny, platformFeeBPS: 500, usage: [], adjustments: [adjustment]), closedAt: closedAt)
        let line = try #require(report.lines.first)
        #expect(line.kind == .adjustment && line.corrects == corrected.id && line.id == "2026-11/adjustment/adj_1")
        #expect([line.amountMinor, line.authorityMinor, line.platformMinor, line.operatorMinor] == [-10, -3, -1, -6])
        #expect(report.totals.grossMinor == -10)
    }

    @Test("income above the annual cap moves to the authorities that earned it, in proportion")
    func clawback() throws {
        let usage = [
            RatedUsage(counter: counter("g-1", authority: "bj", dataset: "bj-a", quantity: 100), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 0),
            RatedUsage(counter: counter("g-1", authority: "tj", dataset: "tj-a", quantity: 300), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 0),
        ]
        // Operator parts: 380 and 1140 (fee 5 %); 1000 already earned this year, cap 1200 → 200 of room, 1320 clawed back.
        let report = try settle(usage, caps: ["op-1": 1_200], before: ["op-1": 1_000])
        let clawbacks = report.lines.filter { $0.kind == .clawback }
        #expect(clawbacks.map(\.authorityID) == ["bj", "tj"])
        #expect(clawbacks.map(\.authorityMinor) == [330, 990])
        #expect(clawbacks.allSatisfy { $0.amountMinor == 0 && $0.operatorMinor == -$0.authorityMinor })
        #expect(report.parties.first { $0.party == .operator("op-1") }?.amountMinor == 200)
        #expect(report.totals.grossMinor == 1_600)
        #expect(report.totals.authorityMinor + report.totals.platformMinor + report.totals.operatorMinor == report.totals.grossMinor)
    }

    @Test("no clawback below the cap, and none for an operator without one")
    func noClawback() throws {
        let usage = [RatedUsage(counter: counter("g-1", quantity: 100), scenario: .industry, pricing: .perUnit(price), revenueShareBPS: 3000)]
        #expect(try settle(usage, caps: ["op-1": 1_000_000]).lines.count == 1)
        #expect(try settle(usage, caps: ["op-2": 0]).lines.count == 1)
        // A cap already used up takes the whole period's operator income.
        let capped = try settle(usage, caps: ["op-1": 50], before: ["op-1": 80])
        #expect(capped.parties.first { $0.party == .operator("op-1") }?.amountMinor == 0)
    }

    @Test("random periods: parts sum to lines, lines to totals, parties to totals")
    func property() throws {
        var random = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let usage = (0..<Int(1 + random.next() % 12)).map { index in
                let tiered = random.next() % 3 == 0
                let pricing: Pricing = tiered
                    ? .graduated([PriceTier(upTo: Int64(1 + random.next() % 1_000), unitPrice: UnitPrice(micros: Int64(random.next() % 100_000))),
                                  PriceTier(upTo: nil, unitPrice: UnitPrice(micros: Int64(random.next() % 100_000)))])
                    : .perUnit(UnitPrice(micros: Int64(random.next() % 10_000_000)))
                return RatedUsage(counter: counter("g-\(index)", operator: "op-\(random.next() % 3)", authority: ["bj", "tj", "hb"][Int(random.next() % 3)],
                                                   quantity: Int64(random.next() % 5_000_000)),
                                  scenario: random.next() % 5 == 0 ? .publicInterest : .industry, pricing: pricing,
                                  revenueShareBPS: Int(random.next() % 10_001))
            }
            let report = try settle(usage, fee: Int(random.next() % 2_000), caps: random.next() % 2 == 0 ? ["op-0": Int64(random.next() % 100_000)] : [:])
            for line in report.lines {
                #expect(line.authorityMinor + line.platformMinor + line.operatorMinor == line.amountMinor)
                if case .graduated = usage.first(where: { "2026-10/\($0.counter.key.grantID)/bj-a/call" == line.id })?.pricing, line.scenario == .industry {
                    #expect(line.tiers.map(\.amountMinor).reduce(0, +) == line.amountMinor)
                }
            }
            let t = report.totals
            #expect(t.authorityMinor + t.platformMinor + t.operatorMinor == t.grossMinor)
            #expect(report.parties.map(\.amountMinor).reduce(0, +) == t.grossMinor)
            #expect(report.lines.map(\.amountMinor).reduce(0, +) == t.grossMinor)
        }
    }
}
