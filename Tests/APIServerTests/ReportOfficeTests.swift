@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import NIOCore
import PDXTesting
import Settlement
import Testing

/// The finance files as their readers open them: the served XLSX in openpyxl and in headless
/// LibreOffice Calc (`Tests/Office/check_xlsx.py`), and the CSV for Excel beside the sealed CSV.
///
/// openpyxl and LibreOffice (`libreoffice-calc-nogui`) are installed by `.ci/run`. Without them the
/// tests that need them are skipped here, unless `PDX_OFFICE_TESTS=required` (CI sets it).
@Suite("Finance files for their readers")
struct ReportOfficeTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Office/check_xlsx.py").path
    static let soffice = ["/usr/bin/soffice", "/usr/bin/libreoffice"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static var required: Bool { ProcessInfo.processInfo.environment["PDX_OFFICE_TESTS"] == "required" }

    static var openpyxl: Bool {
        get async throws { try await Executables.launchTool("/usr/bin/env", ["python3", "-c", "import openpyxl"]).status == 0 }
    }

    /// A marketplace with a closed period: the period and the close's digests.
    static func closedPeriod(_ s: SettlementMarket, _ client: any TestClientProtocol) async throws -> (Period, [String: String]) {
        let calendar = MarketCalendar()
        let period = calendar.period(of: s.start)
        #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, s.start), ("a-2", 40_000, s.start)], client) == ["accepted", "accepted"])
        #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 20, s.start)], client) == ["accepted"])
        try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
        let closed = try await s.close(period, client)
        #expect(closed.status == .ok, "\(closed.text)")
        return (period, try #require(try closed.json()["reports"] as? [String: String]))
    }

    static func bytes(_ response: TestResponse) -> [UInt8] { Array(response.body.readableBytesView) }

    @Test("format=csv-excel is the sealed CSV behind a byte order mark, for the report, a statement and the parties", arguments: Backend.available)
    func excelCSV(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let s = try await SettlementMarket.setUp(market, client)
            let (period, digests) = try await Self.closedPeriod(s, client)
            let strict = try await s.report(period, query: "format=csv", client)
            let excel = try await s.report(period, query: "format=csv-excel", client)
            #expect(excel.status == .ok)
            #expect(excel.headers[.contentType]?.hasPrefix("text/csv") == true)
            // The strict CSV is still the sealed one: no mark, its digest the logged one.
            #expect(Hex.encode(SHA256.hash(Self.bytes(strict)).bytes) == digests["csv"])
            #expect(!Self.bytes(strict).starts(with: [0xEF, 0xBB, 0xBF]))
            #expect(Self.bytes(excel) == [0xEF, 0xBB, 0xBF] + Self.bytes(strict))
            #expect(String(decoding: Self.bytes(excel), as: UTF8.self).contains("\r\n"))
            #expect(digests["csv-excel"] == nil, "the Excel CSV is not sealed")
            let parties = try await s.report(period, query: "format=csv-excel&section=parties", client)
            let strictParties = try await s.report(period, query: "format=csv&section=parties", client)
            #expect(Self.bytes(parties) == [0xEF, 0xBB, 0xBF] + Self.bytes(strictParties))
            // An operator's own statement, in both.
            let own = try await s.report(period, as: "acme", query: "format=csv-excel", client)
            let ownStrict = try await s.report(period, as: "acme", query: "format=csv", client)
            #expect(own.status == .ok)
            #expect(Self.bytes(own) == [0xEF, 0xBB, 0xBF] + Self.bytes(ownStrict))
            #expect(Self.bytes(own) != Self.bytes(excel))
            let unknown = try await s.report(period, query: "format=csv-utf16", client)
            #expect(unknown.status.code / 100 == 4)
        }
    }

    @Test("the served XLSX opens in openpyxl with numbers, formats, dates, filter and panes matching the sealed CSV", arguments: Backend.available)
    func openpyxlReadsIt(backend: Backend) async throws {
        guard try await Self.openpyxl else {
            #expect(!Self.required, "PDX_OFFICE_TESTS=required, but Python's openpyxl is missing")
            return
        }
        try await check(backend, mode: "openpyxl")
    }

    @Test("the served XLSX opens in headless LibreOffice Calc with money as numbers in #,##0.00 and the period a date", arguments: Backend.available)
    func libreOfficeReadsIt(backend: Backend) async throws {
        guard let soffice = Self.soffice, try await Self.openpyxl else {
            #expect(!Self.required, "PDX_OFFICE_TESTS=required, but LibreOffice (libreoffice-calc-nogui) or openpyxl is missing")
            return
        }
        try await check(backend, mode: "libreoffice", soffice: soffice)
    }

    func check(_ backend: Backend, mode: String, soffice: String? = nil) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-office-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try await market.withServer { _, client in
            let s = try await SettlementMarket.setUp(market, client)
            let (period, digests) = try await Self.closedPeriod(s, client)
            var files: [String: String] = [:]
            for format in ["xlsx", "json", "csv"] {
                let response = try await s.report(period, query: "format=\(format)", client)
                #expect(response.status == .ok)
                let bytes = Self.bytes(response)
                #expect(Hex.encode(SHA256.hash(bytes).bytes) == digests[format], "the served \(format) is the sealed one")
                let path = work.appendingPathComponent("report.\(format)").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                files[format] = path
            }
            var arguments = ["python3", Self.script, "--xlsx", files["xlsx"] ?? "", "--json", files["json"] ?? "",
                             "--csv", files["csv"] ?? "", "--mode", mode]
            if let soffice { arguments += ["--soffice", soffice, "--work", work.appendingPathComponent("calc").path] }
            let run = try await Executables.launchTool("/usr/bin/env", arguments)
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            if mode == "openpyxl" {
                #expect(run.output.contains("ok: 2 lines, every cell's value and type agree with the strict CSV and the JSON"), "\(run.output)")
            } else {
                #expect(run.output.contains("ok: re-saved by LibreOffice Calc, money stays numbers and the period a date"), "\(run.output)")
            }
        }
    }
}
