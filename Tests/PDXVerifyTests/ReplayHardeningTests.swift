import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
@testable import Replay
import Settlement
import Testing
import Vetting

@Suite("Replay of a hostile log: overflow is a finding, never a trap; the cost stays O(n log n)")
struct ReplayHardeningTests {
    static func replay(_ entries: [AuditEntry]) -> LogReplay {
        var replay = LogReplay()
        for entry in entries { replay.apply(entry) }
        replay.finish()
        return replay
    }

    @Test("the fixture log is lawful")
    func fixtureIsLawful() throws {
        var log = try LogFixture()
        let t = LogFixture.octoberStart.addingTimeInterval(3600)
        log.usage([("e-1", 5, t), ("e-2", 7, t)], at: t)
        let replay = Self.replay(log.entries)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.state.eventCount == 2)
        #expect(replay.state.counters.values.map(\.quantity) == [12])
    }

    @Test("quantities that add up beyond 2^63 − 1 are quantity_overflow, in one entry and across entries")
    func quantityOverflow() throws {
        var log = try LogFixture()
        let t = LogFixture.octoberStart.addingTimeInterval(3600)
        // 1,100 events of 2^53, the largest exact JSON integer: 2^63.1 in all.
        let big = 9_007_199_254_740_992
        log.usage((0..<1100).map { ("e-\($0)", big, t) }, at: t)
        log.usage((1100..<1101).map { ("e-\($0)", big, t) }, at: t)
        let replay = Self.replay(log.entries)
        let overflows = replay.findings.filter { $0.code == .quantityOverflow }
        #expect(overflows.count == 2, "\(replay.findings.prefix(5))")
        #expect(overflows.first?.reason.contains("beyond 9223372036854775807") == true)
        #expect(replay.state.counters.values.first?.quantity == .max)
    }

    @Test("an operator applied under an empty id is operator_step_invalid, not the lifecycle's precondition")
    func emptyOperatorID() throws {
        let log = try LogFixture()
        var entries = log.entries
        let applied = try #require(entries.firstIndex { $0.record.action == "operator.applied" })
        for index in entries.indices where entries[index].record.data["operator_id"]?.stringValue == log.operatorID {
            entries[index].record.data["operator_id"] = ""
        }
        let replay = Self.replay(entries)
        #expect(replay.findings.contains { $0.code == .operatorStepInvalid && $0.location == "entry \(applied)" }, "\(replay.findings)")
    }

    @Test("a grant naming one dataset twice is checked against its first item, not a trap")
    func grantNamingADatasetTwice() throws {
        var log = try LogFixture()
        var entries = log.entries
        let requested = try #require(entries.firstIndex { $0.record.action == "grant.requested" })
        var items = try #require(entries[requested].record.data["datasets"]?.arrayValue)
        items.append(items[0])
        entries[requested].record.data["datasets"] = .array(items)
        let t = LogFixture.octoberStart.addingTimeInterval(3600)
        log.usage([("e-1", 5, t)], at: t)
        entries.append(AuditEntry(seq: UInt64(entries.count), time: t, record: try #require(log.entries.last).record))
        let replay = Self.replay(entries)
        #expect(replay.state.eventCount == 1)
        #expect(!replay.findings.contains { $0.code == .usageWithoutGrant }, "\(replay.findings)")
    }

    @Test("a clawback of amounts that do not fit 64 bits is amount_overflow")
    func clawbackOverflow() throws {
        let period = try #require(Period("2026-10"))
        let line = SettlementLine(
            id: "2026-09/gr_1/ds_1/call", kind: .usage, grantID: "gr_1", operatorID: "op_1", datasetID: "ds_1",
            authorityID: "bj", unit: .call, scenario: .industry, quantity: 1, unitPrice: nil, tiers: [], amountMinor: 1,
            authorityBPS: 0, platformBPS: 0, authorityMinor: 0, platformMinor: 0, operatorMinor: 1, eventCount: 1,
            logIndexFirst: 1, logIndexLast: 1, corrects: nil, reason: nil)
        // 1,100 corrections of 2^53 − 1 each, all the operator's: their sum is beyond 2^63.
        let adjustments = (0..<1100).map {
            Adjustment(id: "adj_\($0)", period: period, corrected: line, amountMinor: MinorUnits.maximum, reason: "forged",
                       actor: "pr_fin", at: LogFixture.octoberStart)
        }
        let input = PeriodCloseInput(period: period, currency: .cny, platformFeeBPS: 0, usage: [], adjustments: adjustments,
                                     revenueCaps: ["op_1": 0])
        #expect(throws: SettlementError(code: .amountOverflow, detail: "")) {
            try PeriodClose.settle(input, closedAt: LogFixture.octoberStart)
        }
    }

    @Test("an operator suspended and reinstated between usage entries 5,000 times: each record replayed once")
    func operatorStepsAlternatingWithUsage() throws {
        var log = try LogFixture()
        var t = LogFixture.octoberStart.addingTimeInterval(60)
        let rounds = 5000
        for round in 0..<rounds {
            log.usage([("ok-\(round)", 1, t)], at: t)
            t.addTimeInterval(1)
            try log.step(log.lifecycle.suspend(log.current, by: log.admin, reason: "Audit finding", at: t), at: t)
            t.addTimeInterval(1)
            log.usage([("late-\(round)", 1, t)], at: t)
            t.addTimeInterval(1)
            try log.step(log.lifecycle.reinstate(log.current, by: log.admin, reason: nil, at: t), at: t)
            t.addTimeInterval(1)
        }
        let entries = log.entries
        #expect(entries.count > 20_000)
        let replay = Self.replay(entries)
        let operatorRecords = entries.filter { $0.record.action.hasPrefix("operator.") }.count
        #expect(replay.operatorRecordsReplayed == operatorRecords)
        // Usage while the operator was suspended, and nothing else.
        #expect(replay.findingCount == rounds)
        #expect(replay.findings.allSatisfy { $0.code == .usageOperatorNotActive }, "\(replay.findings.prefix(3))")
    }

    @Test("a grant suspended and reinstated between usage entries 5,000 times: each event checked against the right span")
    func grantStepsAlternatingWithUsage() throws {
        var log = try LogFixture()
        var t = LogFixture.octoberStart.addingTimeInterval(60)
        let rounds = 5000
        var revision = 1
        for round in 0..<rounds {
            log.usage([("ok-\(round)", 1, t)], at: t)
            t.addTimeInterval(1)
            revision += 1
            log.grantStep("grant.suspended", revision: revision, at: t)
            t.addTimeInterval(1)
            log.usage([("late-\(round)", 1, t)], at: t)
            t.addTimeInterval(1)
            revision += 1
            log.grantStep("grant.reinstated", revision: revision, at: t)
            t.addTimeInterval(1)
        }
        let replay = Self.replay(log.entries)
        #expect(replay.findingCount == rounds)
        #expect(replay.findings.allSatisfy { $0.code == .usageWithoutGrant && $0.reason.hasSuffix("grant_not_active") },
                "\(replay.findings.prefix(3))")
        let grant = try #require(replay.state.grants[log.grantID]?.grant)
        #expect(grant.history.count == 2 + 2 * rounds)
        // The spans kept for the search are the grant's own.
        let timeline = try #require(replay.inForce[log.grantID])
        #expect(timeline.spans + [ActiveSpan(from: try #require(timeline.openedAt), until: grant.endsAt)] == grant.activeSpans)
    }

    @Test("a log rotating its key 2,500 times replays lawfully: the keys announced are kept in place and looked up in a set")
    func manyKeyRotations() throws {
        let origin = "pdx.example/log"
        let keys = try (0...2500).map { index in
            let seed = withUnsafeBytes(of: UInt64(index + 1).littleEndian, Array.init) + [UInt8](repeating: 0, count: 24)
            return try NoteSigner(name: origin, key: Ed25519PrivateKey(seed: seed)).verifier
        }
        var records = [AuditRecord(actor: "system", action: LogKeys.initializedAction, subjects: ["log:\(origin)"],
                                   data: ["origin": .string(origin), "vkeys": [.string(keys[0].verifierKey)]])]
        for index in 1..<keys.count {
            records.append(AuditRecord(actor: "system", action: LogKeys.addedAction, data: LogKeys.data(for: keys[index])))
            records.append(AuditRecord(actor: "system", action: LogKeys.retiredAction, data: LogKeys.data(for: keys[index - 1])))
        }
        // A key announced before is still refused.
        records.append(AuditRecord(actor: "system", action: LogKeys.addedAction, data: LogKeys.data(for: keys[7])))
        let entries = records.enumerated().map { AuditEntry(seq: UInt64($0.offset), time: LogFixture.octoberStart, record: $0.element) }
        let replay = Self.replay(entries)
        #expect(replay.findings.map(\.code) == [.keyInvalid], "\(replay.findings.prefix(3))")
        #expect(replay.findings.first?.location == "entry \(entries.count - 1)")
        #expect(replay.state.keys?.announced.count == keys.count)
        #expect(replay.state.keys?.active == [keys[keys.count - 1]])
    }

    @Test("spans added out of order are merged so the search answers as a scan would")
    func timelineMergesOutOfOrderSpans() {
        let base = LogFixture.octoberStart
        func at(_ seconds: Double) -> Date { base.addingTimeInterval(seconds) }
        var timeline = InForceTimeline()
        let spans = [(10.0, 20.0), (40, 50), (0, 5), (18, 42), (60, 70), (5, 6)].map { ActiveSpan(from: at($0.0), until: at($0.1)) }
        for span in spans { timeline.add(span) }
        #expect(timeline.spans == [ActiveSpan(from: at(0), until: at(6)), ActiveSpan(from: at(10), until: at(50)),
                                   ActiveSpan(from: at(60), until: at(70))])
        for second in stride(from: -1.0, through: 71, by: 0.5) {
            let scan = spans.contains { $0.contains(at(second)) }
            #expect(timeline.contains(at(second), startsAt: at(-100), endsAt: at(100)) == scan, "\(second)")
        }
    }

    @Test("the open periods with usage come out earliest first")
    func minimumHeapOrders() {
        var heap = MinimumHeap<Int>()
        for value in [5, 3, 9, 1, 7, 3] { heap.insert(value) }
        var drained: [Int] = []
        while let minimum = heap.minimum { drained.append(minimum); heap.removeMinimum() }
        #expect(drained == [1, 3, 3, 5, 7, 9])
    }
}
