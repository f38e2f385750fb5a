import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("Reading the lines CSV back: the writer's exact inverse, and nothing else")
struct ReportCSVReaderTests {
    static let golden: [UInt8] = (try? Vectors.bytes("settlement/report.csv")) ?? []

    /// The golden CSV as text, with `change` applied.
    static func golden(_ change: (String) -> String) -> [UInt8] {
        Array(change(String(decoding: golden, as: UTF8.self)).utf8)
    }

    func read(_ bytes: [UInt8], party: Party? = nil) throws -> SettlementReport {
        try SettlementReport(csv: bytes, close: SettlementClose(try SampleReport.report()), party: party)
    }

    /// Why the sample's close refuses `bytes`; nil when it reads them.
    func refusal(_ bytes: [UInt8]) throws -> SettlementError? {
        let close = SettlementClose(try SampleReport.report())
        do {
            _ = try SettlementReport(csv: bytes, close: close)
            return nil
        } catch {
            return error
        }
    }

    @Test("the golden CSV reads back as the sample report, and renders to the same bytes")
    func goldenVector() throws {
        let report = try SampleReport.report()
        let read = try self.read(Self.golden)
        #expect(read == report)
        #expect(read.rendered(as: .csv) == Self.golden)
        #expect(read.rendered(as: .json) == (try Vectors.bytes("settlement/report.json")))
    }

    @Test("random reports survive their CSV exactly", arguments: 0..<40)
    func randomRoundTrip(seed: UInt64) throws {
        let report = try randomReport(seed: seed)
        #expect(try SettlementReport(csv: report.rendered(as: .csv), close: SettlementClose(report)) == report)
    }

    @Test("every statement reads back from its CSV, given its party")
    func statements() throws {
        let report = try SampleReport.report()
        for party in report.parties.map(\.party) + [.operator("nobody")] {
            let statement = report.statement(for: party)
            #expect(try read(statement.rendered(as: .csv), party: party) == statement, "\(party)")
        }
        for seed in UInt64(0)..<10 {
            let random = try randomReport(seed: seed)
            for party in random.parties.map(\.party) {
                let statement = random.statement(for: party)
                #expect(try SettlementReport(csv: statement.rendered(as: .csv), close: SettlementClose(random), party: party)
                    == statement, "seed \(seed), \(party)")
            }
        }
        // The full report is not the statement of a party that some lines do not concern.
        #expect(throws: SettlementError(code: .invalidReport, detail: "")) { try read(Self.golden, party: .authority("sh")) }
    }

    @Test("an empty period's header-only CSV reads back")
    func empty() throws {
        let report = SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 1_000,
                                      closedAt: SampleReport.closedAt, lines: [])
        #expect(report.rendered(as: .csv) == Array((SettlementReport.lineColumns.joined(separator: ",") + "\r\n").utf8))
        #expect(try SettlementReport(csv: report.rendered(as: .csv), close: SettlementClose(report)) == report)
    }

    /// A CSV cut anywhere is refused: inside a row by the format, at a row boundary because the lines
    /// that are left no longer add up to the totals the close recorded.
    @Test("every truncated prefix of the golden CSV is refused")
    func truncated() throws {
        let rowEnds = Set(Self.golden.indices.filter { $0 > 0 && Self.golden[$0 - 1] == 0x0A })
        for length in 0..<Self.golden.count {
            let error = try #require(try refusal(Array(Self.golden.prefix(length))), "a prefix of \(length) bytes was read")
            #expect(error.code == .invalidReport)
            if rowEnds.contains(length) {
                #expect(error.detail.contains("do not add up to the close's totals: line_count"), "\(length): \(error.detail)")
            }
        }
    }

    /// Parts that still sum to the line: only the totals the close recorded catch the move.
    @Test("one fen moved between two parties on one row is refused", arguments: [
        ("148.14,14814,1000,49.38,4938,296.28,29628", "148.15,14815,1000,49.38,4938,296.27,29627", "authority_minor"),
        ("148.14,14814,1000,49.38,4938,296.28,29628", "148.14,14814,1000,49.39,4939,296.27,29627", "platform_minor"),
        ("2.85,285,1000,1.14,114,7.42,742", "2.84,284,1000,1.15,115,7.42,742", "authority_minor"),
    ])
    func movedFen(original: String, moved: String, total: String) throws {
        let bytes = Self.golden { $0.replacingOccurrences(of: original, with: moved) }
        #expect(bytes != Self.golden)
        let error = try #require(try refusal(bytes), "the moved fen was not noticed")
        #expect(error.code == .invalidReport)
        #expect(error.detail.contains("do not add up to the close's totals: \(total)"), "\(error.detail)")
    }

    @Test("text guarded against formulas comes back as written", arguments: [
        "=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tindent", "\rx", "=HYPERLINK(\"http://x\",\"y\")", "-", "-.5",
        "-5", "-0.05", "+7", "'-5", "a=b", "'quoted'", "＝1+2", "=cmd|' /C calc'!A0, \"quoted\"\n第1行",
    ])
    func formulas(text: String) throws {
        let line = SettlementLine(
            id: "2026-10/adjustment/\(text)", kind: .adjustment, grantID: text, operatorID: text, datasetID: "ds",
            authorityID: "@bj", unit: .call, scenario: .industry, quantity: 0, unitPrice: nil, tiers: [], amountMinor: -5,
            authorityBPS: 3_000, platformBPS: 1_000, authorityMinor: -2, platformMinor: 0, operatorMinor: -3,
            eventCount: 0, logIndexFirst: nil, logIndexLast: nil, corrects: "-2026-09/\(text)", reason: text)
        let report = SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 1_000,
                                      closedAt: SampleReport.closedAt, lines: [line])
        #expect(try SettlementReport(csv: report.rendered(as: .csv), close: SettlementClose(report)) == report)
    }

    /// The contract's one ambiguity: the writer writes the text `'=x` as it is, the same as the guarded `=x`.
    @Test("a text that itself starts with an apostrophe before a formula character reads back without it")
    func apostropheBeforeAFormula() throws {
        let bytes = Self.golden { $0.replacingOccurrences(of: ",op_a,bj-traffic-flow,bj,", with: ",'=op_a,bj-traffic-flow,bj,") }
        let line = try #require(try SettlementReport(csv: bytes, close: SettlementClose(
            period: SampleReport.period, currency: .cny, platformFeeBPS: 1_000, closedAt: SampleReport.closedAt,
            totals: try SampleReport.report().totals, partyCount: 7)).lines.first)
        #expect(line.operatorID == "=op_a")
    }

    @Test("what the writer could not have written is refused, naming the row and column", arguments: [
        ("a renamed column", "period,currency,line_id,kind,grant", "period,currency,line,kind,grant", "row 1"),
        ("a missing column", ",upstream_quantity,provider_quantity\r\n", ",upstream_quantity\r\n", "row 1"),
        ("a byte order mark", "period,currency,line_id", "\u{FEFF}period,currency,line_id", "row 1"),
        ("LF line ends", "\r\n", "\n", "row 1"),
        ("a needlessly quoted field", ",grt_a1,op_a,", ",\"grt_a1\",op_a,", "row 2, field 5"),
        ("text after a closing quote", "重复计费\"", "重复计费\"x", "row 5"),
        ("a plus sign", ",call,industry,12345,", ",call,industry,+12345,", "row 2, column quantity"),
        ("a leading zero", ",call,industry,12345,", ",call,industry,012345,", "row 2, column quantity"),
        ("minus zero", ",0.00,0,0,101.17", ",0.00,-0,0,101.17", "row 6, column amount_minor"),
        ("an amount beyond 2^53 − 1", "493.80,49380,", "90071992547409.92,9007199254740992,", "row 2, column amount_minor"),
        ("a price in a longer form", ",12345,0.04,,", ",12345,0.040,,", "row 2, column unit_price"),
        ("a decimal that disagrees", ",493.80,49380,", ",493.8,49380,", "row 2, column amount"),
        ("an unguarded formula", "annual revenue cap 10000.00 CNY for 2026,,0,0,0,\r\n2026-10,CNY,2026-10/clawback/op_a/sh",
         "=1+2,,0,0,0,\r\n2026-10,CNY,2026-10/clawback/op_a/sh", "row 6, column reason"),
        ("an unguarded formula in an id", ",op_a,bj-traffic-flow,bj,", ",-op_a,bj-traffic-flow,bj,", "row 2, column operator_id"),
        ("an unguarded tab", ",op_a,bj-traffic-flow,bj,", ",\top_a,bj-traffic-flow,bj,", "row 2, column operator_id"),
        ("steps spaced otherwise", "1-100@0.015=1.50; 101-1000", "1-100@0.015=1.50;101-1000", "row 3, column tiers"),
        ("a step missing", "; 1001-@0.005=0.01", "", "row 3, column tiers"),
        ("steps with a gap", "101-1000@0.011", "102-1000@0.011", "row 3, column tiers"),
        ("another period", "2026-10,CNY,2026-10/grt_b1", "2026-09,CNY,2026-10/grt_b1", "row 4, column period"),
        ("another currency", "2026-10,CNY,2026-10/grt_b1", "2026-10,USD,2026-10/grt_b1", "row 4, column currency"),
        ("an empty operator", ",grt_a1,op_a,bj-traffic-flow,", ",grt_a1,,bj-traffic-flow,", "row 2, column operator_id"),
        ("an unknown kind", ",usage,grt_b1,", ",refund,grt_b1,", "row 4, column kind"),
        ("an extra field", ",mixed,2345,10000,0,\r\n", ",mixed,2345,10000,0,,\r\n", "row 2"),
        ("parts that do not sum", ",49.38,4938,296.28", ",49.39,4939,296.28", "row 2, column amount_minor"),
        ("no final CRLF", "for 2026\r\n2026-10,CNY,2026-10/clawback/op_a/sh", "for 2026\r\n2026-10,CNY,2026-10/clawback/op_a/sh", "row 7"),
    ])
    func refusals(name: String, original: String, replacement: String, location: String) throws {
        var bytes = Self.golden { $0.replacingOccurrences(of: original, with: replacement) }
        if name == "no final CRLF" { bytes.removeLast(2) }
        #expect(bytes != Self.golden, "\(name)")
        let error = try #require(try refusal(bytes), "\(name) was read")
        #expect(error.code == .invalidReport, "\(name)")
        #expect(error.detail.hasPrefix("CSV \(location)"), "\(name): \(error.detail)")
    }

    /// Every amount fits 2^53 − 1, and so must every sum of them: a reader must not build totals no
    /// rendering could hold exactly (nor overflow summing a long file).
    @Test("lines whose totals go beyond 2^53 − 1 are refused, in CSV and JSON alike")
    func totalsBeyondTheLimit() throws {
        let lines = (0..<2).map { index in
            SettlementLine(
                id: "2026-10/adjustment/adj_\(index)", kind: .adjustment, grantID: "grt_1", operatorID: "op_1", datasetID: "ds",
                authorityID: "bj", unit: .call, scenario: .industry, quantity: 0, unitPrice: nil, tiers: [],
                amountMinor: MinorUnits.maximum, authorityBPS: 0, platformBPS: 0, authorityMinor: 0, platformMinor: 0,
                operatorMinor: MinorUnits.maximum, eventCount: 0, logIndexFirst: nil, logIndexLast: nil, corrects: "x", reason: "y")
        }
        let report = SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 0,
                                      closedAt: SampleReport.closedAt, lines: lines)
        do {
            _ = try SettlementReport(csv: report.rendered(as: .csv), close: SettlementClose(report))
            Issue.record("read")
        } catch {
            #expect(error.code == .invalidReport)
            #expect(error.detail.hasPrefix("CSV row 3, column amount_minor: takes one of the report's totals beyond"), "\(error.detail)")
        }
        #expect(throws: SettlementError(code: .invalidReport, detail: "")) { try SettlementReport(json: report.rendered(as: .json)) }
    }

    @Test("a repeated row is refused")
    func repeatedLine() throws {
        let rows = String(decoding: Self.golden, as: UTF8.self).components(separatedBy: "\r\n")
        let bytes = Array((rows.prefix(2) + rows.dropFirst()).joined(separator: "\r\n").utf8)
        #expect(throws: SettlementError(code: .invalidReport, detail: "")) { try read(bytes) }
    }

    @Test("a settlement.closed record gives the close the CSV is read with")
    func closeFromTheLog() throws {
        let report = try SampleReport.report()
        let digests = ["csv": String(repeating: "ab", count: 32), "json": String(repeating: "01", count: 32)]
        let record = report.closedRecord(digests: digests, actor: "principal:fin_1")
        let close = try SettlementClose(record: record)
        #expect(close == SettlementClose(report, digests: digests))
        #expect(try SettlementReport(csv: Self.golden, close: close) == report)

        var other = record
        other.data["parties"] = nil
        #expect(throws: SettlementError(code: .invalidReport, detail: "")) { try SettlementClose(record: other) }
        other = record
        other.action = "settlement.adjusted"
        #expect(throws: SettlementError(code: .invalidReport, detail: "")) { try SettlementClose(record: other) }
    }
}
