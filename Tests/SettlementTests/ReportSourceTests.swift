import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

/// Report format 2: each line says where its usage came from; format 1 is still read and rendered.
@Suite("Line sources and report formats")
struct ReportSourceTests {
    static func text(_ report: SettlementReport, _ format: ReportFormat) -> String {
        String(decoding: report.rendered(as: format), as: UTF8.self)
    }

    @Test("a line's source follows from how much of its quantity the gateway metered",
          arguments: [(10, 0, LineSource.declared), (10, 10, .gateway), (10, 3, .mixed), (1, 1, .gateway)] as [(Int64, Int64, LineSource)])
    func source(quantity: Int64, gateway: Int64, expected: LineSource) {
        #expect(LineSource(quantity: quantity, gatewayQuantity: gateway) == expected)
    }

    @Test("the close turns each counter's gateway part into its line's source and quantities; amounts do not change")
    func close() throws {
        let current = try SampleReport.report()
        let old = try SampleReport.report(formatVersion: 1)
        #expect(current.lines.map(\.amountMinor) == old.lines.map(\.amountMinor))
        #expect(current.totals == old.totals)
        #expect(current.lines.map(\.source) == [.mixed, .declared, .gateway, nil, nil, nil])
        #expect(old.lines.map(\.source) == [.declared, .declared, .declared, nil, nil, nil])
        #expect(current.formatVersion == 2 && old.formatVersion == 1)
        // A statement keeps its report's format.
        #expect(current.statement(for: .operator("op_b")).formatVersion == 2)
        #expect(old.statement(for: .operator("op_b")).formatVersion == 1)
    }

    @Test("format 2 appends its columns after reason; format 1 keeps its header")
    func columns() throws {
        let header = Self.text(try SampleReport.report(), .csv).split(separator: "\r\n").first.map(String.init)
        #expect(header?.hasSuffix(",corrects,reason,source,declared_quantity,gateway_quantity") == true)
        let oldHeader = Self.text(try SampleReport.report(formatVersion: 1), .csv).split(separator: "\r\n").first.map(String.init)
        #expect(oldHeader?.hasSuffix(",corrects,reason") == true)
        let rows = try csvRows(try SampleReport.report().rendered(as: .csv))
        #expect(rows.dropFirst().map { Array($0.suffix(3)) } == [
            ["mixed", "2345", "10000"], ["declared", "1001", "0"], ["gateway", "0", "5000"], ["", "0", "0"], ["", "0", "0"], ["", "0", "0"],
        ])
    }

    @Test("the JSON reader takes format 1 without format_version and format 2 with it, and nothing in between")
    func jsonVersions() throws {
        let current = try SampleReport.report()
        let old = try SampleReport.report(formatVersion: 1)
        #expect(try SettlementReport(json: current.rendered(as: .json)) == current)
        #expect(try SettlementReport(json: old.rendered(as: .json)) == old)
        let currentText = Self.text(current, .json)
        let oldText = Self.text(old, .json)
        for (name, bytes) in [
            // Format 2 without its version: line members format 1 does not know.
            ("no version", currentText.replacingOccurrences(of: #""format_version":2,"#, with: "")),
            // Format 1 claiming format 2: line members missing.
            ("claims 2", oldText.replacingOccurrences(of: #"{"closed_at""#, with: #"{"format_version":2,"closed_at""#)),
            ("unknown", currentText.replacingOccurrences(of: #""format_version":2"#, with: #""format_version":3"#)),
            ("explicit 1", currentText.replacingOccurrences(of: #""format_version":2"#, with: #""format_version":1"#)),
            ("not a number", currentText.replacingOccurrences(of: #""format_version":2"#, with: #""format_version":"2""#)),
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
          ])
    func contradictions(from: String, to: String) throws {
        let text = Self.text(try SampleReport.report(), .json)
        #expect(text.contains(from))
        let changed = text.replacingOccurrences(of: from, with: to)
        #expect(throws: SettlementError.self) { try SettlementReport(json: Array(changed.utf8)) }
    }

    @Test("the CSV reader reads the format its period was closed in, and only that")
    func csvVersions() throws {
        let current = try SampleReport.report()
        let old = try SampleReport.report(formatVersion: 1)
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
        for (from, to) in [(",mixed,2345,10000\r\n", ",mixed,2344,10000\r\n"), (",mixed,2345,10000\r\n", ",gateway,2345,10000\r\n"),
                           (",declared,1001,0\r\n", ",,1001,0\r\n")] {
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
