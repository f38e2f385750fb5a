import AuditLog
import Foundation
import Licensing
import Metering
import PDXTesting
@testable import Replay
@testable import Settlement
import Testing
import Vetting

extension LogFixture {
    /// A finance principal, `pr_fin`.
    mutating func addFinance() {
        append("principal.created", actor: "system", at: Self.octoberStart.addingTimeInterval(-86_400), [
            "id": "pr_fin", "name": PersonalDataCommitment.sample(7).json, "email": .null, "role": "finance", "authority_id": .null, "expires_at": .null,
            "key_id": "key_pr_fin",
        ])
    }

    /// A `usage.provider_reported` of `reports` (id, day, quantity) on the fixture's grant, dataset and `call`.
    mutating func providerReport(_ reports: [(String, String, Int)], actor: String? = nil, authority: String = "bj",
                                 at time: Date) {
        append("usage.provider_reported", actor: actor ?? reviewer.principalID, at: time, [
            "authority_id": .string(authority), "batch_id": "pb_1", "source": "provider",
            "at": .string(Timestamp.format(Timestamp.milliseconds(time))),
            "reports": .array(reports.map { id, day, quantity in
                [
                    "id": .string(id), "grant_id": .string(grantID), "dataset_id": .string(datasetID), "unit": "call",
                    "day": .string(day), "period": .string(String(day.prefix(7))), "quantity": JSONValue(quantity),
                ]
            }),
        ])
    }

    /// A `settlement.discrepancy_acknowledged` of the fixture's October line with these figures.
    mutating func acknowledge(declared: Int, provided: Int, tolerance: Int = 100, actor: String = "pr_fin", at time: Date) {
        let key = CounterKey(grantID: grantID, datasetID: datasetID, unit: .call, period: Self.october)
        let acknowledgement = DiscrepancyAcknowledgement(key: key, declaredQuantity: Int64(declared), providerQuantity: Int64(provided),
                                                         toleranceBPS: tolerance, reason: "Counted retries", actor: actor, at: time)
        append(acknowledgement.record().action, actor: actor, at: time, acknowledgement.record().data)
    }

    /// Closes October as a server would, naming the discrepancies acknowledged (`listing: false` leaves them out).
    mutating func closeOctoberReconciled(listing: Bool = true) throws {
        try closeOctober()
        var replay = LogReplay()
        for entry in entries.dropLast() { replay.apply(entry) }
        let acknowledged = replay.reconciliationLines(of: Self.october).filter { $0.status == .acknowledged }
        var again = LogReplay()
        for entry in entries { again.apply(entry) }
        let closed = try #require(again.state.settlements[Self.october])
        replaceLast(with: closed.report.closedRecord(digests: closed.digests, actor: "pr_admin", acknowledged: listing ? acknowledged : []))
    }
}

@Suite("Replay of provider-reported usage and the reconciliation")
struct ReconciliationReplayTests {
    static let t = LogFixture.octoberStart.addingTimeInterval(3600)
    static let day = "2026-10-01"

    static func replay(_ log: LogFixture) -> LogReplay {
        var replay = LogReplay()
        for entry in log.entries { replay.apply(entry) }
        replay.finish()
        return replay
    }

    static func declaredMarket() throws -> LogFixture {
        var log = try LogFixture(delivery: "declared")
        log.addFinance()
        log.usage([("d-1", 100, t)], at: t)
        return log
    }

    @Test("a provider figure within tolerance: no finding, no notice, and the close names nothing")
    func agrees() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 101)], at: Self.t)
        try log.closeOctoberReconciled()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.notices.isEmpty, "\(replay.notices)")
        #expect(log.entries.last?.record.data["acknowledged_discrepancies"] == nil)
        // The declared line shows the provider's figure, re-derived from the provider reports.
        let line = try #require(replay.state.settlements[LogFixture.october]?.report.lines.first)
        #expect(line.source == .declared && line.quantity == 100 && line.providerQuantity == 101)
    }

    @Test("a declared line with no provider report shows none; a report that claims another figure is report_differs")
    func providerFigureOnTheLine() throws {
        var log = try Self.declaredMarket()
        try log.closeOctober()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let report = try #require(replay.state.settlements[LogFixture.october]?.report)
        #expect(report.lines.first?.providerQuantity == nil)
        let text = String(decoding: report.rendered(as: .json), as: UTF8.self)
        #expect(text.contains(#""provider_quantity":null"#))
        let claimed = text.replacingOccurrences(of: #""provider_quantity":null"#, with: #""provider_quantity":100"#)
        guard case .failure(let finding) = replay.checkReport(Array(claimed.utf8), name: "r.json") else {
            Issue.record("a report claiming a provider figure the log does not hold verified")
            return
        }
        #expect(finding.code == .reportDiffers)
    }

    @Test("a discrepancy finance acknowledged before the close is a notice, not a finding")
    func acknowledged() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 120)], at: Self.t)
        log.acknowledge(declared: 100, provided: 120, at: Self.t.addingTimeInterval(60))
        try log.closeOctoberReconciled()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.notices.map(\.code) == [.discrepancyAcknowledged])
        #expect(replay.notices.first?.location == "entry \(log.entries.count - 1)")
        #expect(replay.notices.first?.isNotice == true)
        let listed = try #require(log.entries.last?.record.data["acknowledged_discrepancies"]?.arrayValue)
        #expect(listed.count == 1)
        #expect(listed.first?["acknowledgement_index"] == JSONValue(log.entries.count - 2))
    }

    @Test("a close that leaves the acknowledged discrepancy out of its record is a settlement_mismatch")
    func acknowledgedNotListed() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 120)], at: Self.t)
        log.acknowledge(declared: 100, provided: 120, at: Self.t.addingTimeInterval(60))
        try log.closeOctoberReconciled(listing: false)
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [.settlementMismatch], "\(replay.findings)")
    }

    @Test("a close over an unacknowledged discrepancy is discrepancy_unresolved; so is one acknowledged for other figures")
    func unresolved() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 120)], at: Self.t)
        try log.closeOctoberReconciled()
        #expect(Self.replay(log).findings.map(\.code) == [.discrepancyUnresolved])

        var stale = try Self.declaredMarket()
        stale.providerReport([("p-1", Self.day, 120)], at: Self.t)
        stale.acknowledge(declared: 100, provided: 120, at: Self.t.addingTimeInterval(60))
        stale.providerReport([("p-2", Self.day, 5)], at: Self.t.addingTimeInterval(120))
        try stale.closeOctoberReconciled()
        #expect(Self.replay(stale).findings.map(\.code) == [.discrepancyUnresolved])
    }

    @Test("a discrepancy of a period still open at the end of the log is a notice")
    func open() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 50)], at: Self.t)
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.notices.map(\.code) == [.discrepancyOpen])
        #expect(replay.notices.first?.location == "period 2026-10")
    }

    @Test("a tolerance raised by dataset.tolerance_changed makes the figures agree; the close needs nothing")
    func tolerance() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 120)], at: Self.t)
        log.append("dataset.tolerance_changed", actor: log.reviewer.principalID, at: Self.t, [
            "dataset_id": .string(log.datasetID), "version": 2, "at": .string(Timestamp.format(Timestamp.milliseconds(Self.t))),
            "authority_id": "bj", "changes": ["reconciliation_tolerance_bps": ["from": 100, "to": 2500]],
            "reason": "Monthly counts", "stricter": false,
        ])
        try log.closeOctoberReconciled()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.state.datasets[log.datasetID]?.reconciliationToleranceBPS == 2500)
    }

    @Test("provider reports the provider path refuses are findings", arguments: [
        ("another authority's principal", ReplayFinding.Code.reviewerIneligible),
        ("a gateway dataset", .providerReportInvalid),
        ("an id reported twice", .providerReportInvalid),
        ("a day not begun", .providerReportInvalid),
        ("after the close", .periodChangedAfterClose),
    ])
    func refused(case name: String, code: ReplayFinding.Code) throws {
        var log = try LogFixture(delivery: name == "a gateway dataset" ? "gateway" : "declared")
        log.addFinance()
        switch name {
        case "another authority's principal":
            log.providerReport([("p-1", Self.day, 1)], actor: "pr_applicant", at: Self.t)
        case "an id reported twice":
            log.providerReport([("p-1", Self.day, 1)], at: Self.t)
            log.providerReport([("p-1", Self.day, 1)], at: Self.t)
        case "a day not begun":
            log.providerReport([("p-1", "2026-10-09", 1)], at: Self.t)
        case "after the close":
            try log.closeOctober()
            log.providerReport([("p-1", Self.day, 1)], at: LogFixture.afterOctober)
        default:
            log.providerReport([("p-1", Self.day, 1)], at: Self.t)
        }
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code).contains(code), "\(replay.findings)")
        #expect(replay.findings.allSatisfy { $0.code == code }, "\(replay.findings)")
    }

    @Test("an acknowledgement by someone not finance, or of other figures, is acknowledgement_invalid")
    func badAcknowledgement() throws {
        var log = try Self.declaredMarket()
        log.providerReport([("p-1", Self.day, 120)], at: Self.t)
        log.acknowledge(declared: 100, provided: 120, actor: "pr_admin", at: Self.t.addingTimeInterval(60))
        log.acknowledge(declared: 100, provided: 125, at: Self.t.addingTimeInterval(60))
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [.acknowledgementInvalid, .acknowledgementInvalid], "\(replay.findings)")
    }
}

@Suite("pdx-verify and discrepancies: an acknowledged one is a notice, an unacknowledged close a failure")
struct ReconciliationVerifyTests {
    static func verify(_ log: LogFixture) throws -> (status: Int32, lines: [String]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-reconcile-\(UUID().uuidString)").path
        let export = try #require(try SignedExport.write(try log.encoded(), to: directory))
        defer { export.remove() }
        return VerifierFuzzTests.verify([export.directory, "--vkey", export.keyFile])
    }

    @Test("an acknowledged discrepancy: exit 0, the notice after the replay's verdict")
    func acknowledged() throws {
        var log = try ReconciliationReplayTests.declaredMarket()
        log.providerReport([("p-1", ReconciliationReplayTests.day, 120)], at: ReconciliationReplayTests.t)
        log.acknowledge(declared: 100, provided: 120, at: ReconciliationReplayTests.t.addingTimeInterval(60))
        try log.closeOctoberReconciled()
        let run = try Self.verify(log)
        #expect(run.status == 0, "\(run.lines)")
        #expect(run.lines.count == 3)
        #expect(run.lines.last?.hasPrefix("pdx-verify: NOTICE discrepancy_acknowledged at entry \(log.entries.count - 1): 2026-10/gr_1/bj-open/call: declared 100, provider 120") == true,
                "\(run.lines)")
    }

    @Test("a close over an unacknowledged discrepancy: exit 1, FAIL discrepancy_unresolved first")
    func unresolved() throws {
        var log = try ReconciliationReplayTests.declaredMarket()
        log.providerReport([("p-1", ReconciliationReplayTests.day, 120)], at: ReconciliationReplayTests.t)
        try log.closeOctoberReconciled()
        let run = try Self.verify(log)
        #expect(run.status == 1, "\(run.lines)")
        #expect(run.lines.first?.hasPrefix("pdx-verify: FAIL discrepancy_unresolved at entry \(log.entries.count - 1): ") == true, "\(run.lines)")
    }
}
