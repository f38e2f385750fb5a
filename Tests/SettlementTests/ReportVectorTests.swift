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

    @Test("the sample report renders to the vectors byte for byte")
    func vectors() throws {
        let report = try SampleReport.report()
        let directory = Vectors.root.appendingPathComponent("settlement")
        if ProcessInfo.processInfo.environment["PDX_WRITE_SETTLEMENT_VECTORS"] == "1" {
            for (name, render) in Self.files {
                try Data(render(report)).write(to: directory.appendingPathComponent(name))
            }
        }
        for (name, render) in Self.files {
            #expect(try Vectors.bytes("settlement/\(name)") == render(report), "\(name)")
        }
    }

    @Test("the README records each vector's SHA-256, the digest a settlement.closed entry would hold")
    func digests() throws {
        let readme = String(decoding: try Vectors.bytes("settlement/README.md"), as: UTF8.self)
        let report = try SampleReport.report()
        for (name, render) in Self.files {
            let digest = SHA256.hash(render(report)).hex
            let listed = readme.contains("\(digest)  \(name)")
            #expect(listed, "the README lists \(digest)  \(name)")
        }
    }

    @Test("the JSON vector reads back to the sample report")
    func readBack() throws {
        #expect(try SettlementReport(json: Vectors.bytes("settlement/report.json")) == SampleReport.report())
    }

    @Test("the XLSX vector's parts are the ones the tests check")
    func xlsxEntries() throws {
        let parts = try zipEntries(try Vectors.bytes("settlement/report.xlsx"))
        #expect(parts.map(\.name) == ReportXLSXTests.partNames)
    }
}
