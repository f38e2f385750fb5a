import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

/// Report formats 2 and 3: each line says where its usage came from (format 3 tells forwarded calls,
/// `upstream`, from served ones); formats 1 and 2 are still read and rendered.
@Suite("Line sources and report formats")
struct ReportSourceTests {
    static func text(_ report: SettlementReport, _ format: ReportFormat) -> String {
        String(decoding: report.rendered(as: format), as: UTF8.self)
    }

    @Test("a line's source follows from how much of its quantity PDX metered serving and forwarding it",
          arguments: [(10, 0, 0, LineSource.declared), (10, 10, 0, .gateway), (10, 3, 0, .mixed), (1, 1, 0, .gateway),
                      (10, 0, 10, .upstream), (10, 0, 4, .mixed), (10, 6, 4, .mixed), (10, 3, 3, .mixed), (0, 0, 0, .declared)]
            as [(Int64, Int64, Int64, LineSource)])
    func source(quantity: Int64, gateway: Int64, upstream: Int64, expected: LineSource) {
        #expect(LineSource(quantity: quantity, gatewayQuantity: gateway, upstreamQuantity: upstream) == expected)
    }

    @Test("the close turns each counter's gateway part into its line's source and quantities; amounts do not change")
    func close() throws {
        let current = try SampleReport.report()
        let old = try SampleReport.report(formatVersion: 1)
        #expect(current.lines.map(\.amountMinor) == old.lines.map(\.amountMinor))
        #expect(current.totals == old.totals)
        #expect(current.lines.map(\.source) == [.mixed, .declared, .upstream, nil, nil, nil])
        #expect(old.lines.map(\.source) == [.declared, .declared, .declared, nil, nil, nil])
        #expect(current.formatVersion == 4 && old.formatVersion == 1)
        #expect(try SampleReport.report(formatVersion: 2).totals == current.totals)
        // A statement keeps its report's format.
        #expect(current.statement(for: .operator("op_b")).formatVersion == 4)
        #expect(old.statement(for: .operator("op_b")).formatVersion == 1)
    }

    @Test("formats 2 and 3 append their columns after reason; earlier formats keep their headers")
    func columns() throws {
        let header = Self.text(try SampleReport.report(), .csv).split(separator: "\r\n").first.map(String.init)
        #expect(header?.hasSuffix(",corrects,reason,source,declared_quantity,gateway_quantity,upstream_quantity,provider_quantity") == true)
        let twoHeader = Self.text(try SampleReport.report(formatVersion: 2), .csv).split(separator: "\r\n").first.map(String.init)
        #expect(twoHeader?.hasSuffix(",corrects,reason,source,declared_quantity,gateway_quantity") == true)
        let oldHeader = Self.text(try SampleReport.report(formatVersion: 1), .csv).split(separator: "\r\n").first.map(String.init)
        #expect(oldHeader?.hasSuffix(",corrects,reason") == true)
        let rows = try csvRows(try SampleReport.report().rendered(as: .csv))
        #expect(rows.dropFirst().map { Array($0.suffix(5)) } == [
            ["mixed", "2345", "10000", "0", ""], ["declared", "1001", "0", "0", "998"], ["upstream", "0", "0", "5000", ""],
            ["", "0", "0", "0", ""], ["", "0", "0", "0", ""], ["", "0", "0", "0", ""],
        ])
        let twoRows = try csvRows(try SampleReport.report(formatVersion: 2).rendered(as: .csv))
        #expect(twoRows.dropFirst().map { Array($0.suffix(3)) }[2] == ["gateway", "0", "5000"])
    }

    @Test("the JSON reader takes format 1 without format_version and formats 2 to 4 with it, and nothing in between")
    func jsonVersions() throws {
        let current = try SampleReport.report()
        let two = try SampleReport.report(formatVersion: 2)
        let old = try SampleReport.report(formatVersion: 1)
        #expect(try SettlementReport(json: current.rendered(as: .json)) == current)
        #expect(try SettlementReport(json: two.rendered(as: .json)) == two)
        #expect(try SettlementReport(json: old.rendered(as: .json)) == old)
        let currentText = Self.text(current, .json)
        let twoText = Self.text(two, .json)
        let oldText = Self.text(old, .json)
        let threeText = Self.text(try SampleReport.report(formatVersion: 3), .json)
        for (name, bytes) in [
            // Format 3 without its version: line members format 1 does not know.
            ("no version", currentText.replacingOccurrences(of: #""format_version":4,"#, with: "")),
            // Format 1 claiming format 2: line members missing.
            ("claims 2", oldText.replacingOccurrences(of: #"{"closed_at""#, with: #"{"format_version":2,"closed_at""#)),
            // Format 2 claiming format 3: upstream_quantity missing; format 3 claiming 2: one member too many.
            ("2 claims 3", twoText.replacingOccurrences(of: #""format_version":2"#, with: #""format_version":3"#)),
            ("3 claims 2", threeText.replacingOccurrences(of: #""format_version":3"#, with: #""format_version":2"#)),
            ("unknown", currentText.replacingOccurrences(of: #""format_version":4"#, with: #""format_version":5"#)),
            ("explicit 1", currentText.replacingOccurrences(of: #""format_version":4"#, with: #""format_version":1"#)),
            ("not a number", currentText.replacingOccurrences(of: #""format_version":4"#, with: #""format_version":"4""#)),
        ] {
            #expect(throws: SettlementError.self, "\(name)") { try SettlementReport(json: Array(bytes.utf8)) }
        }
    }

    @Test("a line whose source contradicts its quantities, or a usage line without one, is not a report",
          arguments: [
            (#""source":"mixed""#, #""source":"gateway""#),
            (#""source":"mixed""#, #""source":null"#),
            (#""source":"mixed""#, #""source":"upstream""#),
            (#""declared_quantity":2345"#, #""declared_quantity":2344"#),
            (#""source":null"#, #""source":"declared""#),
            (#""source":"upstream""#, #""source":"gateway""#),
            (#""upstream_quantity":5000"#, #""upstream_quantity":4999"#),
            (#""upstream_quantity":5000"#, #""upstream_quantity":-5000"#),
            (#""upstream_quantity":0"#, #""upstream_quantity":1"#),
            // A provider's figure beside a line that is not declared, or not a count.
            (#""provider_quantity":null"#, #""provider_quantity":7"#),
            (#""provider_quantity":998"#, #""provider_quantity":-1"#),
            (#""provider_quantity":998"#, #""provider_quantity":"998""#),
          ])
    func contradictions(from: String, to: String) throws {
        let text = Self.text(try SampleReport.report(), .json)
        #expect(text.contains(from))
        let changed = text.replacingOccurrences(of: from, with: to)
        #expect(throws: SettlementError.self) { try SettlementReport(json: Array(changed.utf8)) }
    }

    @Test("a format-2 report cannot say upstream: the source is refused and there is no quantity to hold it")
    func noUpstreamInFormat2() throws {
        let text = Self.text(try SampleReport.report(formatVersion: 2), .json)
        let from = #""gateway_quantity":5000,"#
        #expect(text.contains(from))
        // The third line's calls as upstream, with the quantities that would otherwise agree.
        let changed = text.replacingOccurrences(of: #""source":"gateway""#, with: #""source":"upstream""#)
        #expect(changed != text)
        #expect(throws: SettlementError.self) { try SettlementReport(json: Array(changed.utf8)) }
        let csv = Self.text(try SampleReport.report(formatVersion: 2), .csv)
        let close = SettlementClose(try SampleReport.report(formatVersion: 2))
        #expect(csv.contains(",gateway,0,5000\r\n"))
        #expect(throws: SettlementError.self) {
            try SettlementReport(csv: Array(csv.replacingOccurrences(of: ",gateway,0,5000\r\n", with: ",upstream,0,5000\r\n").utf8), close: close)
        }
    }

    @Test("the CSV reader reads the format its period was closed in, and only that")
    func csvVersions() throws {
        let current = try SampleReport.report()
        let two = try SampleReport.report(formatVersion: 2)
        let old = try SampleReport.report(formatVersion: 1)
        #expect(try SettlementReport(csv: two.rendered(as: .csv), close: SettlementClose(two)) == two)
        #expect(throws: SettlementError.self) { try SettlementReport(csv: two.rendered(as: .csv), close: SettlementClose(current)) }
        #expect(throws: SettlementError.self) { try SettlementReport(csv: current.rendered(as: .csv), close: SettlementClose(two)) }
        #expect(try SettlementReport(csv: current.rendered(as: .csv), close: SettlementClose(current)) == current)
        #expect(try SettlementReport(csv: old.rendered(as: .csv), close: SettlementClose(old)) == old)
        #expect(throws: SettlementError.self) { try SettlementReport(csv: old.rendered(as: .csv), close: SettlementClose(current)) }
        #expect(throws: SettlementError.self) { try SettlementReport(csv: current.rendered(as: .csv), close: SettlementClose(old)) }
        // A statement of either format.
        let party = Party.operator("op_a")
        #expect(try SettlementReport(csv: current.statement(for: party).rendered(as: .csv), close: SettlementClose(current), party: party)
                == current.statement(for: party))
        #expect(try SettlementReport(csv: old.statement(for: party).rendered(as: .csv), close: SettlementClose(old), party: party)
                == old.statement(for: party))
        // Quantities that do not add up, a source that does not follow from them.
        let text = Self.text(current, .csv)
        for (from, to) in [(",mixed,2345,10000,0,\r\n", ",mixed,2344,10000,0,\r\n"), (",mixed,2345,10000,0,\r\n", ",gateway,2345,10000,0,\r\n"),
                           (",declared,1001,0,0,998\r\n", ",,1001,0,0,998\r\n"), (",upstream,0,0,5000,\r\n", ",upstream,0,0,4999,\r\n"),
                           (",upstream,0,0,5000,\r\n", ",gateway,0,0,5000,\r\n"), (",upstream,0,0,5000,\r\n", ",upstream,0,5000,0,\r\n"),
                           (",upstream,0,0,5000,\r\n", ",upstream,0,0,5000,1\r\n"), (",declared,1001,0,0,998\r\n", ",declared,1001,0,0,-998\r\n")] {
            #expect(text.contains(from))
            #expect(throws: SettlementError.self, "\(to)") {
                try SettlementReport(csv: Array(text.replacingOccurrences(of: from, with: to).utf8), close: SettlementClose(current))
            }
        }
    }

    @Test("the close record says its format from format 2 on, and reads back with it")
    func closeRecord() throws {
        for version in SettlementReport.formatVersions {
            let report = try SampleReport.report(formatVersion: version)
            let record = report.closedRecord(digests: ["json": String(repeating: "0", count: 64)], actor: "pr_fin")
            #expect(record.data.keys.contains("format_version") == (version >= 2))
            if version >= 2 { #expect(record.data["format_version"] == JSONValue(version)) }
            #expect(try SettlementClose(record: record).formatVersion == version)
        }
    }
}
