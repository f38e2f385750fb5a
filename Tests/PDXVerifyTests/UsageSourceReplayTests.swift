import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
@testable import Replay
@testable import Settlement
import Testing
import Vetting

extension LogFixture {
    static let october = Period("2026-10")!
    /// 2026-11-02T00:00:00+08:00: October has ended.
    static let afterOctober = octoberStart.addingTimeInterval(32 * 86_400)

    /// Appends the `settlement.closed` of October as a server would write it in report format
    /// `formatVersion`: the report recomputed from the log so far, its renderings' digests.
    mutating func closeOctober(formatVersion: Int = SettlementReport.currentFormatVersion) throws {
        let at = Timestamp.format(Timestamp.milliseconds(Self.afterOctober))
        var placeholder: [String: JSONValue] = [
            "period": "2026-10", "currency": "CNY", "platform_fee_bps": 1000, "closed_at": .string(at),
            "totals": SettlementTotals().json, "parties": 0, "reports": [:],
        ]
        if formatVersion >= 2 { placeholder["format_version"] = JSONValue(formatVersion) }
        append("settlement.closed", actor: "pr_admin", at: Self.afterOctober, placeholder)
        var replay = LogReplay()
        for entry in entries { replay.apply(entry) }
        let closed = try #require(replay.state.settlements[Self.october])
        replaceLast(with: closed.report.closedRecord(digests: closed.digests, actor: "pr_admin"))
    }

    /// A `dataset.repriced` that changes only the dataset's delivery.
    mutating func changeDelivery(from: String, to: String, version: Int, at time: Date) {
        append("dataset.repriced", actor: reviewer.principalID, at: time, [
            "dataset_id": .string(datasetID), "version": JSONValue(version), "at": .string(Timestamp.format(Timestamp.milliseconds(time))),
            "authority_id": "bj", "changes": ["delivery": ["from": .string(from), "to": .string(to)]],
            "reason": "Served through the data API", "stricter": false,
        ])
    }

    /// A `dataset.release_published` of the fixture's dataset by its reviewer, with `changes` applied to its data.
    mutating func release(_ version: String, at time: Date, actor: String? = nil, subjects: [String]? = nil,
                          _ changes: [String: JSONValue] = [:]) {
        var data: [String: JSONValue] = [
            "dataset_id": .string(datasetID), "authority_id": "bj", "release": .string(version), "media_type": "text/csv",
            "sha256": .string(String(repeating: "0f", count: 32)), "rows": 120, "bytes": 4096, "fields": ["road"],
            "at": .string(Timestamp.format(Timestamp.milliseconds(time))),
        ]
        for (name, value) in changes { data[name] = value }
        append("dataset.release_published", actor: actor ?? reviewer.principalID, at: time, data)
        replaceLast(with: AuditRecord(actor: actor ?? reviewer.principalID, action: "dataset.release_published",
                                      subjects: subjects ?? ["dataset:\(datasetID)"], data: data))
    }
}

@Suite("Replay of usage sources: counters by source, deliveries, report formats")
struct UsageSourceReplayTests {
    static let t = LogFixture.octoberStart.addingTimeInterval(3600)

    static func replay(_ log: LogFixture) -> LogReplay {
        var replay = LogReplay()
        for entry in log.entries { replay.apply(entry) }
        replay.finish()
        return replay
    }

    @Test("usage metered at the source of a gateway dataset is lawful and counted as the gateway's; the close says gateway")
    func gatewayUsage() throws {
        var log = try LogFixture(delivery: "gateway")
        log.usage([("g-1", 5, Self.t), ("g-2", 7, Self.t)], at: Self.t, source: "gateway")
        try log.closeOctober()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let counter = try #require(replay.state.counters.values.first)
        #expect([counter.quantity, counter.events, counter.gatewayQuantity, counter.gatewayEvents] == [12, 2, 12, 2])
        let line = try #require(replay.state.settlements[LogFixture.october]?.report.lines.first)
        #expect(line.source == .gateway)
        #expect(line.gatewayQuantity == 12 && line.declaredQuantity == 0)
        #expect(replay.state.datasets[log.datasetID]?.delivery == .gateway)
    }

    @Test("declared usage of a gateway dataset is declared_usage_on_gateway_dataset")
    func declaredOnGateway() throws {
        var log = try LogFixture(delivery: "gateway")
        log.usage([("d-1", 5, Self.t), ("d-2", 1, Self.t)], at: Self.t)
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [.declaredUsageOnGatewayDataset], "\(replay.findings)")
        #expect(replay.findings.first?.location == "entry \(log.entries.count - 1)")
        #expect(replay.state.counters.values.first?.gatewayQuantity == 0)
    }

    @Test("usage metered at the source of a declared dataset is gateway_usage_on_declared_dataset, also when the record has no delivery",
          arguments: [nil, "declared"])
    func gatewayOnDeclared(delivery: String?) throws {
        var log = try LogFixture(delivery: delivery)
        log.usage([("g-1", 5, Self.t)], at: Self.t, source: "gateway")
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [.gatewayUsageOnDeclaredDataset], "\(replay.findings)")
        #expect(replay.state.datasets[log.datasetID]?.delivery == .declared)
    }

    @Test("a source other than \"gateway\" or \"upstream\" is record_malformed; an unknown delivery too",
          arguments: [JSONValue.string("declared"), .string("Gateway"), .string("provider"), .string("Upstream"), .null, 1, ["gateway"]])
    func malformedSource(source: JSONValue) throws {
        var log = try LogFixture(delivery: "gateway")
        log.usage([("g-1", 5, Self.t)], at: Self.t, source: source)
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [.recordMalformed], "\(replay.findings)")
        #expect(replay.state.eventCount == 0)
    }

    @Test("a dataset record with a delivery that is not gateway or declared is record_malformed")
    func malformedDelivery() throws {
        let log = try LogFixture(delivery: "somewhere")
        let published = try #require(log.entries.firstIndex { $0.record.action == "dataset.published" })
        let replay = Self.replay(log)
        #expect(replay.findings.contains { $0.code == .recordMalformed && $0.location == "entry \(published)" }, "\(replay.findings)")
        #expect(replay.state.datasets.isEmpty)
    }

    @Test("a delivery changed within the period: declared usage before, metered after, lawful, one mixed line showing both")
    func mixed() throws {
        var log = try LogFixture()
        log.usage([("d-1", 5, Self.t)], at: Self.t)
        let later = Self.t.addingTimeInterval(86_400)
        log.changeDelivery(from: "declared", to: "gateway", version: 2, at: later)
        log.usage([("g-1", 7, later), ("g-2", 1, later)], at: later, source: "gateway")
        // And back: declared again, then metered usage is a finding.
        let last = later.addingTimeInterval(86_400)
        log.changeDelivery(from: "gateway", to: "declared", version: 3, at: last)
        log.usage([("d-2", 2, last)], at: last)
        try log.closeOctober()
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let report = try #require(replay.state.settlements[LogFixture.october]?.report)
        let line = try #require(report.lines.first)
        #expect(line.source == .mixed)
        #expect([line.quantity, line.declaredQuantity, line.gatewayQuantity, line.eventCount] == [15, 7, 8, 4])
        let json = report.json["lines"]?[0]
        #expect(json?["source"] == "mixed")
        #expect(json?["declared_quantity"]?.integerValue == 7)
        #expect(json?["gateway_quantity"]?.integerValue == 8)

        // The report check compares the line's source and quantities, member by member.
        #expect(try replay.checkReport(report.rendered(as: .json), name: "r.json").get().lineCount == 1)
        #expect(try replay.checkReport(report.rendered(as: .csv), name: "r.csv").get().lineCount == 1)
        var text = String(decoding: report.rendered(as: .json), as: UTF8.self)
        text = text.replacingOccurrences(of: #""declared_quantity":7"#, with: #""declared_quantity":15"#)
            .replacingOccurrences(of: #""gateway_quantity":8"#, with: #""gateway_quantity":0"#)
            .replacingOccurrences(of: #""source":"mixed""#, with: #""source":"declared""#)
        guard case .failure(let finding) = replay.checkReport(Array(text.utf8), name: "r.json") else {
            Issue.record("a report that says the line was all declared verified")
            return
        }
        #expect(finding.code == .reportDiffers)
        #expect(finding.location == "r.json line \(line.id)")
        // A line whose source does not follow from its quantities is not a report at all.
        let inconsistent = String(decoding: report.rendered(as: .json), as: UTF8.self)
            .replacingOccurrences(of: #""source":"mixed""#, with: #""source":"gateway""#)
        guard case .failure(let invalid) = replay.checkReport(Array(inconsistent.utf8), name: "r.json") else {
            Issue.record("a line whose source contradicts its quantities was read")
            return
        }
        #expect(invalid.code == .reportInvalid)

        var metered = log
        metered.usage([("g-3", 1, last)], at: last, source: "gateway")
        #expect(Self.replay(metered).findings.map(\.code).contains(.gatewayUsageOnDeclaredDataset))
    }

    @Test("a close in report format 1, as servers wrote before sources, still verifies, and so do its reports")
    func formatOneClose() throws {
        var log = try LogFixture()
        log.usage([("d-1", 5, Self.t)], at: Self.t)
        try log.closeOctober(formatVersion: 1)
        let close = try #require(log.entries.last)
        #expect(close.record.data["format_version"] == nil)
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let report = try #require(replay.state.settlements[LogFixture.october]?.report)
        #expect(report.formatVersion == 1)
        #expect(report.json["format_version"] == nil)
        #expect(try replay.checkReport(report.rendered(as: .json), name: "old.json").get().digestLogged)
        #expect(try replay.checkReport(report.rendered(as: .csv), name: "old.csv").get().digestLogged)
        #expect(try replay.checkReport(report.rendered(as: .xlsx), name: "old.xlsx").get().digestLogged)
        // The same period rendered in format 2 is not the report that close recorded.
        let newer = SettlementReport(period: report.period, currency: report.currency, platformFeeBPS: report.platformFeeBPS,
                                     closedAt: report.closedAt, lines: report.lines, formatVersion: 2)
        #expect(throws: Never.self) { try SettlementReport(json: newer.rendered(as: .json)) }
        guard case .failure = replay.checkReport(newer.rendered(as: .json), name: "new.json") else {
            Issue.record("a format-2 report of a format-1 close verified")
            return
        }
        // The close entry reads back with its format.
        #expect(try SettlementClose(record: close.record).formatVersion == 1)
    }

    @Test("a format-1 close of metered usage, or a close in a format this verifier does not know, is settlement_mismatch")
    func formatOneCannotSaySources() throws {
        var log = try LogFixture(delivery: "gateway")
        log.usage([("g-1", 5, Self.t)], at: Self.t, source: "gateway")
        var old = log
        try old.closeOctober(formatVersion: 1)
        let replay = Self.replay(old)
        #expect(replay.findings.map(\.code) == [.settlementMismatch], "\(replay.findings)")

        var future = log
        try future.closeOctober()
        var record = try #require(future.entries.last).record
        record.data["format_version"] = 5
        future.replaceLast(with: record)
        let newer = Self.replay(future)
        #expect(newer.findings.map(\.code) == [.settlementMismatch], "\(newer.findings)")
        #expect(newer.findings.first?.reason.contains("format 5") == true)
    }
}

@Suite("Replay of the upstream source: forwarded calls say so, older logs that called them gateway still verify")
struct UpstreamSourceReplayTests {
    static let t = UsageSourceReplayTests.t

    @Test("usage metered upstream of an upstream dataset is lawful, counted as upstream, and closed into an upstream line")
    func upstreamUsage() throws {
        var log = try LogFixture(delivery: "upstream")
        log.usage([("u-1", 5, Self.t), ("u-2", 7, Self.t)], at: Self.t, source: "upstream")
        try log.closeOctober()
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let counter = try #require(replay.state.counters.values.first)
        #expect([counter.quantity, counter.events, counter.gatewayQuantity, counter.upstreamQuantity, counter.upstreamEvents]
                == [12, 2, 0, 12, 2])
        let report = try #require(replay.state.settlements[LogFixture.october]?.report)
        #expect(report.formatVersion == SettlementReport.currentFormatVersion)
        let line = try #require(report.lines.first)
        #expect(line.source == .upstream)
        #expect([line.declaredQuantity, line.gatewayQuantity, line.upstreamQuantity] == [0, 0, 12])
        #expect(try replay.checkReport(report.rendered(as: .json), name: "r.json").get().digestLogged)
        #expect(try replay.checkReport(report.rendered(as: .csv), name: "r.csv").get().digestLogged)
        // A report that calls those calls gateway is not the one the log gives.
        let text = String(decoding: report.rendered(as: .json), as: UTF8.self)
            .replacingOccurrences(of: #""gateway_quantity":0"#, with: #""gateway_quantity":12"#)
            .replacingOccurrences(of: #""upstream_quantity":12"#, with: #""upstream_quantity":0"#)
            .replacingOccurrences(of: #""source":"upstream""#, with: #""source":"gateway""#)
        guard case .failure(let finding) = replay.checkReport(Array(text.utf8), name: "r.json") else {
            Issue.record("a report that says forwarded calls were served verified")
            return
        }
        #expect(finding.code == .reportDiffers)
    }

    @Test("a log written before the upstream source, forwarded calls named gateway and closed in format 2, verifies unchanged")
    func olderLog() throws {
        var log = try LogFixture(delivery: "upstream")
        log.usage([("gw-1", 5, Self.t)], at: Self.t, source: "gateway")
        try log.closeOctober(formatVersion: 2)
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let line = try #require(replay.state.settlements[LogFixture.october]?.report.lines.first)
        #expect(line.source == .gateway && line.gatewayQuantity == 5 && line.upstreamQuantity == 0)
    }

    @Test("once the log names upstream, gateway usage of an upstream dataset is usage_source_mismatch",
          arguments: ["an upstream entry", "a format-3 close"])
    func gatewayAfterUpstream(marker: String) throws {
        var log = try LogFixture(delivery: "upstream")
        // Before the marker: an older server's name for forwarded calls, lawful.
        log.usage([("gw-1", 5, Self.t)], at: Self.t, source: "gateway")
        let later = Self.t.addingTimeInterval(86_400)
        var nextPeriod = later
        if marker == "an upstream entry" {
            log.usage([("u-1", 1, later)], at: later, source: "upstream")
        } else {
            try log.closeOctober()
            nextPeriod = LogFixture.afterOctober.addingTimeInterval(3_600)
        }
        #expect(UsageSourceReplayTests.replay(log).findings.isEmpty, "\(UsageSourceReplayTests.replay(log).findings)")
        log.usage([("gw-2", 2, nextPeriod)], at: nextPeriod, source: "gateway",
                  period: marker == "a format-3 close" ? "2026-11" : "2026-10")
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.usageSourceMismatch], "\(replay.findings)")
        #expect(replay.findings.first?.location == "entry \(log.entries.count - 1)")
    }

    @Test("metered usage whose source is not the dataset's delivery is a finding",
          arguments: [
            ("gateway", "upstream", ReplayFinding.Code.usageSourceMismatch),
            ("declared", "upstream", .gatewayUsageOnDeclaredDataset),
            ("upstream", nil, .declaredUsageOnGatewayDataset),
          ] as [(String, String?, ReplayFinding.Code)])
    func wrongSide(delivery: String, source: String?, code: ReplayFinding.Code) throws {
        var log = try LogFixture(delivery: delivery)
        if let source {
            log.usage([("e-1", 5, Self.t)], at: Self.t, source: .string(source))
        } else {
            log.usage([("e-1", 5, Self.t)], at: Self.t)
        }
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [code], "\(replay.findings)")
    }

    @Test("a close in format 2 of usage metered upstream is settlement_mismatch: format 2 cannot say so")
    func formatTwoCannotSayUpstream() throws {
        var log = try LogFixture(delivery: "upstream")
        log.usage([("u-1", 5, Self.t)], at: Self.t, source: "upstream")
        try log.closeOctober(formatVersion: 2)
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.settlementMismatch], "\(replay.findings)")
        #expect(replay.findings.first?.reason.contains("upstream") == true)
    }
}

@Suite("Replay of dataset.release_published")
struct ReleaseReplayTests {
    static let t = LogFixture.octoberStart.addingTimeInterval(3600)

    @Test("releases of a dataset by its authority's reviewer, with its fields, each version once: lawful")
    func lawful() throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t)
        log.release("2026.11", at: Self.t, ["media_type": "application/x-ndjson", "rows": 1, "bytes": 1])
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.state.releases[log.datasetID] == ["2026.10", "2026.11"])
    }

    @Test("a release that does not fit its dataset is a finding",
          arguments: [
            // The reviewer does not review for tj either.
            ("another authority", ["authority_id": JSONValue.string("tj")], [ReplayFinding.Code.releaseInvalid, .reviewerIneligible]),
            ("other fields", ["fields": ["road", "flow"]], [.releaseInvalid]),
            ("no fields", ["fields": []], [.releaseInvalid]),
            ("a dataset never published", ["dataset_id": "bj-nothing"], [.unknownSubject]),
          ] as [(String, [String: JSONValue], [ReplayFinding.Code])])
    func unfit(_ why: String, changes: [String: JSONValue], codes: [ReplayFinding.Code]) throws {
        var log = try LogFixture(delivery: "gateway")
        let datasetID = changes["dataset_id"]?.stringValue ?? log.datasetID
        log.release("2026.10", at: Self.t, subjects: ["dataset:\(datasetID)"], changes)
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code.rawValue).sorted() == codes.map(\.rawValue).sorted(), "\(why): \(replay.findings)")
        #expect(replay.findings.allSatisfy { $0.location == "entry \(log.entries.count - 1)" })
    }

    @Test("a version published twice is release_invalid")
    func republished() throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t)
        log.release("2026.10", at: Self.t.addingTimeInterval(60), ["sha256": .string(String(repeating: "ab", count: 32))])
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.releaseInvalid], "\(replay.findings)")
        #expect(replay.findings.first?.location == "entry \(log.entries.count - 1)")
    }

    @Test("a release published by an admin is lawful")
    func byAdmin() throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t, actor: "pr_admin")
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
    }

    @Test("a release published by someone other than a live reviewer of the authority or an admin is reviewer_ineligible",
          arguments: ["pr_applicant", "pr_nobody"])
    func ineligible(actor: String) throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t, actor: actor)
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.reviewerIneligible], "\(replay.findings)")
    }

    @Test("a release with a wrong member or subjects is record_malformed",
          arguments: [
            ["media_type": JSONValue.string("text/plain")], ["sha256": "ABCDEF"], ["sha256": .string(String(repeating: "0F", count: 32))],
            ["rows": 0], ["bytes": -1], ["rows": "12"], ["fields": [1]], ["release": 2026], ["at": "yesterday"],
          ] as [[String: JSONValue]])
    func malformed(changes: [String: JSONValue]) throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t, changes)
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.recordMalformed], "\(changes): \(replay.findings)")
        #expect(replay.state.releases.isEmpty)
    }

    @Test("a release whose subjects are not its dataset is record_malformed")
    func wrongSubjects() throws {
        var log = try LogFixture(delivery: "gateway")
        log.release("2026.10", at: Self.t, subjects: ["dataset:\(log.datasetID)", "authority:bj"])
        let replay = UsageSourceReplayTests.replay(log)
        #expect(replay.findings.map(\.code) == [.recordMalformed], "\(replay.findings)")
    }
}
