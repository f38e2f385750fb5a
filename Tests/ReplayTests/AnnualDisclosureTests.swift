import AuditLog
import Foundation
import Licensing
import Metering
import Replay
import Settlement
import Testing

@Suite("The annual disclosure, derived from the golden log")
struct AnnualDisclosureTests {
    static func derived(year: Int = 2026, entries: Int? = nil) throws -> AnnualDisclosure {
        let all = try GoldenLog.entries()
        let count = entries ?? all.count
        var replay = LogReplay()
        for (seq, bytes) in all.prefix(count).enumerated() { replay.apply(bytes: bytes, seq: UInt64(seq)) }
        replay.finish()
        return AnnualDisclosure(year: year, replay: &replay, logSize: UInt64(count))
    }

    static func files(_ disclosure: AnnualDisclosure) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: disclosure.files().map { ($0.name, $0.bytes) })
    }

    @Test("it lists the operators of the grants in force in the year, by company name and credit code, and every closed month's authority shares")
    func contents() throws {
        let disclosure = try Self.derived()
        let replay = try GoldenLog.replayed()
        let state = replay.state

        // Every grant in force at some moment of 2026, and only those.
        let inForce = Set(state.grants.values.map(\.grant).filter { !$0.activeSpans.isEmpty }.map(\.id))
        #expect(Set(disclosure.grants.map(\.grantID)) == inForce)
        #expect(!inForce.isEmpty)
        // Their operators, named as they applied; the refused and rejected requests' operators only if they hold another grant.
        let operators = Set(disclosure.grants.map(\.operatorID))
        #expect(Set(disclosure.operators.map(\.id)) == operators)
        #expect(disclosure.operators.allSatisfy { $0.uscc.count == 18 && !$0.legalName.isEmpty })

        // The revenue is each closed month's authority parts, to the fen.
        #expect(disclosure.closedPeriods.map(\.description) == ["2026-10", "2026-11"])
        for period in disclosure.closedPeriods {
            let report = try #require(state.settlements[period]).report
            let expected = report.parties.compactMap { part -> (String, Int64)? in
                if case .authority(let id) = part.party { (id, part.amountMinor) } else { nil }
            }
            let listed = disclosure.revenue.filter { $0.period == period }.map { ($0.authorityID, $0.authorityMinor) }
            #expect(listed.map(\.0) == expected.map(\.0))
            #expect(listed.map(\.1) == expected.map(\.1))
        }
        // Every dataset published by the year's end, classified as the catalogue says.
        #expect(disclosure.datasets.count == state.datasets.count)
        for row in disclosure.datasets {
            #expect(state.datasets[row.id]?.grade == row.grade)
            #expect(state.datasets[row.id]?.openness == row.openness)
        }
    }

    @Test("no file names a person: no security officer, no principal's name or e-mail address")
    func noPersonalData() throws {
        let disclosure = try Self.derived()
        let text = disclosure.files().map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: "\n")
        // No e-mail address anywhere (the page's one `@` is its print style).
        #expect(!text.replacing("@media print", with: "").contains("@"))
        // The JSON has no member for a person: only companies, datasets, grants and money.
        let json = try JSONValue.parse(try #require(Self.files(disclosure)["disclosure.json"]))
        let operatorKeys = Set((json["operators"]?.arrayValue ?? []).flatMap { $0.objectValue?.keys.map { $0 } ?? [] })
        #expect(operatorKeys == ["id", "legal_name", "uscc", "tier"])
        #expect(String(decoding: Self.files(disclosure)["index.html"] ?? [], as: UTF8.self).contains("年度公共数据授权运营情况公示"))
    }

    @Test("the same log derives the same bytes; a year without activity lists nothing and no month")
    func deterministic() throws {
        let first = Self.files(try Self.derived())
        let second = Self.files(try Self.derived())
        #expect(first == second)
        #expect(Set(first.keys) == Set(AnnualDisclosure.fileNames))
        let empty = try Self.derived(year: 2031)
        #expect(empty.grants.isEmpty && empty.operators.isEmpty && empty.revenue.isEmpty && empty.closedPeriods.isEmpty)
        #expect(empty.differences(from: Self.files(empty), directory: "d").isEmpty)
    }

    @Test("one changed figure, a missing file or an added one is found, naming the file and the line")
    func changesAreFound() throws {
        let disclosure = try Self.derived()
        let files = Self.files(disclosure)
        #expect(disclosure.differences(from: files, directory: "d").isEmpty)

        // One fen more for the first authority in revenue.csv.
        var revenue = String(decoding: try #require(files["revenue.csv"]), as: UTF8.self).components(separatedBy: "\r\n")
        var cells = revenue[1].components(separatedBy: ",")
        cells[3] = String(try #require(Int(cells[3])) + 1)
        revenue[1] = cells.joined(separator: ",")
        var changed = files
        changed["revenue.csv"] = Array(revenue.joined(separator: "\r\n").utf8)
        let found = disclosure.differences(from: changed, directory: "d")
        #expect(found.count == 1)
        #expect(found.first?.code == .disclosureReportDiffers)
        #expect(found.first?.location == "d/revenue.csv")
        #expect(found.first?.reason.hasPrefix("line 2 ") == true, "\(found)")

        var missing = files
        missing["grants.csv"] = nil
        missing["notes.txt"] = Array("x".utf8)
        let both = disclosure.differences(from: missing, directory: "d")
        #expect(both.map(\.location).sorted() == ["d", "d/grants.csv"])

        // The JSON's own log size is part of what is derived: a disclosure of fewer entries differs.
        let shorter = try Self.derived(entries: try GoldenLog.entries().count - 1)
        #expect(!shorter.differences(from: files, directory: "d").isEmpty)
        #expect(AnnualDisclosure.header(of: try #require(files["disclosure.json"]))?.logSize == disclosure.logSize)
        #expect(AnnualDisclosure.header(of: Array("{}".utf8)) == nil)
    }
}
