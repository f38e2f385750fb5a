import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("The JSON report: canonical, fixed shape, read back exactly")
struct ReportJSONTests {
    @Test("the rendering is RFC 8785 canonical JSON")
    func canonical() throws {
        let bytes = try SampleReport.report().rendered(as: .json)
        #expect(throws: Never.self) { try CanonicalJSON.validate(bytes) }
    }

    @Test("every line has every member, absent values as null, prices as strings, amounts as integers")
    func fixedShape() throws {
        let value = try JSONValue.parse(try SampleReport.report().rendered(as: .json))
        let lines = try #require(value["lines"]?.arrayValue)
        #expect(lines.count == 6)
        let memberSets = Set(lines.map { Set(($0.objectValue ?? [:]).keys) })
        #expect(memberSets.count == 1)
        let usage = try #require(lines.first)
        #expect(usage["unit_price"] == .string("0.04"))
        #expect(usage["amount_minor"] == .number(49_380))
        #expect(usage["amount"] == .string("493.80"))
        #expect(usage["tiers"] == .array([]))
        #expect(usage["corrects"] == .null)
        let graduated = try #require(lines[1]["tiers"]?.arrayValue)
        #expect(graduated.map { $0["unit_price"] } == [.string("0.015"), .string("0.011"), .string("0.005")])
        #expect(graduated.last?["up_to"] == .null)
        #expect(lines[1]["unit_price"] == .null)
        let clawback = try #require(lines.last)
        #expect(clawback["kind"] == .string("clawback"))
        #expect(clawback["grant_id"] == .null && clawback["log_index_first"] == .null)
        #expect(value["status"] == .string("closed"))
        #expect(value["closed_at"] == .string("2026-11-03T02:00:00.000Z"))
    }

    @Test("the totals object is the one the settlement.closed entry records")
    func totalsMatchTheLog() throws {
        let report = try SampleReport.report()
        let value = try JSONValue.parse(report.rendered(as: .json))
        let record = report.closedRecord(digests: [:], actor: "principal:fin_1")
        #expect(value["totals"] == record.data["totals"])
    }

    @Test("a report and every statement of it survive their JSON exactly")
    func roundTrip() throws {
        let report = try SampleReport.report()
        #expect(try SettlementReport(json: report.rendered(as: .json)) == report)
        for party in report.parties.map(\.party) + [.operator("nobody")] {
            let statement = report.statement(for: party)
            let read = try SettlementReport(json: statement.rendered(as: .json))
            #expect(read == statement)
            #expect(read.rendered(as: .json) == statement.rendered(as: .json))
        }
    }

    @Test("a report closed between two milliseconds keeps the millisecond it is written with")
    func closeTime() throws {
        let report = try PeriodClose.settle(SampleReport.input, closedAt: Date(timeIntervalSince1970: 1_793_671_200.123_456))
        #expect(report.closedAt == Timestamp.date(milliseconds: 1_793_671_200_123))
        #expect(try SettlementReport(json: report.rendered(as: .json)) == report)
    }

    @Test("random reports survive their JSON exactly", arguments: 0..<40)
    func randomRoundTrip(seed: UInt64) throws {
        let report = try randomReport(seed: seed)
        #expect(try SettlementReport(json: report.rendered(as: .json)) == report)
    }

    /// The sample's JSON with one change made to its members.
    func tampered(_ change: (inout [String: JSONValue]) -> Void) throws -> [UInt8] {
        guard case .object(var members) = try JSONValue.parse(try SampleReport.report().rendered(as: .json)) else {
            Issue.record("not an object")
            return []
        }
        change(&members)
        return try JSONValue.object(members).canonicalBytes()
    }

    func changingLine(_ index: Int, _ change: @escaping (inout [String: JSONValue]) -> Void) -> (inout [String: JSONValue]) -> Void {
        { members in
            guard case .array(var lines) = members["lines"], case .object(var line) = lines[index] else { return }
            change(&line)
            lines[index] = .object(line)
            members["lines"] = .array(lines)
        }
    }

    @Test("malformed or inconsistent reports are refused with invalid_report")
    func refusals() throws {
        let cases: [(String, [UInt8])] = [
            ("not JSON", Array("{\"period\":".utf8)),
            ("an array", Array("[]".utf8)),
            ("a missing member", try tampered { $0["currency"] = nil }),
            ("an unknown member", try tampered { $0["extra"] = .null }),
            ("a bad period", try tampered { $0["period"] = .string("2026-13") }),
            ("an unsupported currency", try tampered { $0["currency"] = .string("XXX") }),
            ("an open status", try tampered { $0["status"] = .string("open") }),
            ("a time in another form", try tampered { $0["closed_at"] = .string("2026-11-03T10:00:00+08:00") }),
            ("totals that are off", try tampered { $0["totals"] = .object(["gross_minor": 1, "authority_minor": 0,
                "platform_minor": 0, "operator_minor": 0, "line_count": 6, "event_count": 177]) }),
            ("a party that is off", try tampered { $0["parties"] = .array([["party": "platform", "amount_minor": 1, "amount": "0.01"]]) }),
            ("parties out of order", try tampered { members in
                if case .array(let parties) = members["parties"] { members["parties"] = .array(parties.reversed()) }
            }),
            ("a party without lines", try tampered { $0["parties"] = .array([["party": "operator:zz", "amount_minor": 0, "amount": "0.00"]]) }),
            ("parts that do not sum to the line", try tampered(changingLine(0) { $0["platform_minor"] = 4_939; $0["platform_amount"] = "49.39" })),
            ("a decimal that disagrees", try tampered(changingLine(0) { $0["amount"] = "493.8" })),
            ("a fractional amount", try tampered(changingLine(0) { $0["amount_minor"] = .number(49_380.5) })),
            ("an amount above 2^53 − 1", try tampered(changingLine(0) { $0["amount_minor"] = .number(9_007_199_254_740_992) })),
            ("a bad kind", try tampered(changingLine(0) { $0["kind"] = "refund" })),
            ("a bad price", try tampered(changingLine(0) { $0["unit_price"] = "-0.04" })),
            ("a price as a number", try tampered(changingLine(0) { $0["unit_price"] = 0.04 })),
            ("an empty id", try tampered(changingLine(0) { $0["operator_id"] = "" })),
            ("tiers that do not sum", try tampered(changingLine(1) { line in
                if case .array(var tiers) = line["tiers"] { tiers.removeLast(); line["tiers"] = .array(tiers) }
            })),
            ("a repeated line", try tampered { members in
                if case .array(let lines) = members["lines"] { members["lines"] = .array(lines + [lines[0]]) }
            }),
        ]
        for (name, bytes) in cases {
            #expect(throws: SettlementError(code: .invalidReport, detail: ""), "\(name)") { try SettlementReport(json: bytes) }
        }
    }

    @Test("an empty period has a report too")
    func empty() throws {
        let report = SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 1_000,
                                      closedAt: SampleReport.closedAt, lines: [])
        #expect(try SettlementReport(json: report.rendered(as: .json)) == report)
        #expect(report.rendered(as: .json) == Array((#"{"closed_at":"2026-11-03T02:00:00.000Z","currency":"CNY","format_version":4,"lines":[],"#
            + #""parties":[],"period":"2026-10","platform_fee_bps":1000,"status":"closed","totals":{"authority_minor":0,"#
            + #""event_count":0,"gross_minor":0,"line_count":0,"operator_minor":0,"platform_minor":0}}"#).utf8))
    }
}
