import AuditLog
import Cryptography
import Foundation
import Testing
@testable import Settlement

/// `Contracts/vectors/settlement/`: the sample report rendered once and kept, so that any change
/// to a rendering, and so to the digests a `settlement.closed` entry holds, fails here first.
/// `PDX_WRITE_SETTLEMENT_VECTORS=1 swift test --filter ReportVectorTests` rewrites them after an
/// intended change of the contract.
@Suite("Golden vectors of the settlement report")
struct ReportVectorTests {
    static let files: [(name: String, render: @Sendable (SettlementReport) -> [UInt8])] = [
        ("report.json", { $0.rendered(as: .json) }),
        ("report.csv", { $0.rendered(as: .csv) }),
        ("parties.csv", { $0.partiesCSV() }),
        ("report.xlsx", { $0.rendered(as: .xlsx) }),
    ]

    /// The vectors of each report format: the current one in `settlement/`, earlier ones, which
    /// closed periods keep for good, in `settlement/format-<n>/`.
    static func directory(formatVersion: Int) -> String {
        formatVersion == SettlementReport.currentFormatVersion ? "settlement" : "settlement/format-\(formatVersion)"
    }

    @Test("the sample report renders to the vectors byte for byte, in every report format",
          arguments: Array(SettlementReport.formatVersions))
    func vectors(formatVersion: Int) throws {
        let report = try SampleReport.report(formatVersion: formatVersion)
        let directory = Self.directory(formatVersion: formatVersion)
        if ProcessInfo.processInfo.environment["PDX_WRITE_SETTLEMENT_VECTORS"] == "1" {
            for (name, render) in Self.files {
                try Data(render(report)).write(to: Vectors.root.appendingPathComponent(directory).appendingPathComponent(name))
            }
        }
        for (name, render) in Self.files {
            #expect(try Vectors.bytes("\(directory)/\(name)") == render(report), "\(directory)/\(name)")
        }
    }

    @Test("the README records each vector's SHA-256, the digest a settlement.closed entry would hold",
          arguments: Array(SettlementReport.formatVersions))
    func digests(formatVersion: Int) throws {
        let readme = String(decoding: try Vectors.bytes("settlement/README.md"), as: UTF8.self)
        let report = try SampleReport.report(formatVersion: formatVersion)
        let prefix = formatVersion == SettlementReport.currentFormatVersion ? "" : "format-\(formatVersion)/"
        for (name, render) in Self.files {
            let digest = SHA256.hash(render(report)).hex
            let listed = readme.contains("\(digest)  \(prefix)\(name)")
            #expect(listed, "the README lists \(digest)  \(prefix)\(name)")
        }
    }

    @Test("the JSON vector of every format reads back to the sample report in that format",
          arguments: Array(SettlementReport.formatVersions))
    func readBack(formatVersion: Int) throws {
        let read = try SettlementReport(json: Vectors.bytes("\(Self.directory(formatVersion: formatVersion))/report.json"))
        #expect(read == (try SampleReport.report(formatVersion: formatVersion)))
        #expect(read.formatVersion == formatVersion)
    }

    @Test("the CSV vector of every format reads back against its close, and renders to the same bytes",
          arguments: Array(SettlementReport.formatVersions))
    func csvReadBack(formatVersion: Int) throws {
        let sample = try SampleReport.report(formatVersion: formatVersion)
        let bytes = try Vectors.bytes("\(Self.directory(formatVersion: formatVersion))/report.csv")
        let read = try SettlementReport(csv: bytes, close: SettlementClose(sample))
        #expect(read == sample)
        #expect(read.rendered(as: .csv) == bytes)
        #expect(read.rendered(as: .xlsx) == (try Vectors.bytes("\(Self.directory(formatVersion: formatVersion))/report.xlsx")))
    }

    @Test("the sample's lines say their sources: mixed, declared, upstream; adjustments and clawbacks none")
    func sources() throws {
        let report = try SampleReport.report()
        #expect(report.lines.map(\.source) == [.mixed, .declared, .upstream, nil, nil, nil])
        #expect(report.lines.map(\.gatewayQuantity) == [10_000, 0, 0, 0, 0, 0])
        #expect(report.lines.map(\.upstreamQuantity) == [0, 0, 5_000, 0, 0, 0])
        #expect(report.lines.map(\.declaredQuantity) == [2_345, 1_001, 0, 0, 0, 0])
        let first = try #require(report.json["lines"]?[0])
        #expect(first["source"] == "mixed")
        #expect(first["declared_quantity"]?.integerValue == 2_345)
        #expect(first["gateway_quantity"]?.integerValue == 10_000)
        #expect(first["upstream_quantity"]?.integerValue == 0)
        // The provider's figure beside the declared line only; null elsewhere.
        #expect(report.lines.map(\.providerQuantity) == [nil, 998, nil, nil, nil, nil])
        #expect(first["provider_quantity"] == .null)
        #expect(report.json["lines"]?[1]?["provider_quantity"]?.integerValue == 998)
        let third = try #require(report.json["lines"]?[2])
        #expect(third["source"] == "upstream")
        #expect(third["upstream_quantity"]?.integerValue == 5_000)
        #expect(report.json["format_version"]?.integerValue == 4)
        #expect(try SampleReport.report(formatVersion: 3).json["format_version"]?.integerValue == 3)
        // Format 2 counted forwarded calls as gateway and has no upstream member.
        let two = try SampleReport.report(formatVersion: 2)
        #expect(two.lines.map(\.source) == [.mixed, .declared, .gateway, nil, nil, nil])
        #expect(two.json["format_version"]?.integerValue == 2)
        #expect(two.json["lines"]?[2]?["upstream_quantity"] == nil)
        #expect(two.json["lines"]?[1]?["provider_quantity"] == nil)
        #expect(two.lines.allSatisfy { $0.providerQuantity == nil })
        // Format 1 says none of it.
        let old = try SampleReport.report(formatVersion: 1)
        #expect(old.json["format_version"] == nil)
        #expect(old.json["lines"]?[0]?["source"] == nil)
    }

    @Test("the XLSX vector's parts are the ones the tests check")
    func xlsxEntries() throws {
        let parts = try zipEntries(try Vectors.bytes("settlement/report.xlsx"))
        #expect(parts.map(\.name) == ReportXLSXTests.partNames)
    }
}
