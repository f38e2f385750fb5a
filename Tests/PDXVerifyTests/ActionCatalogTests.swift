import AuditLog
import Foundation
@testable import Replay
import Testing

/// The action tables of `Contracts/audit-log.md`, read the way a person reads them: each row's
/// action, and the member names of its data column outside brackets and parentheses, plus the
/// members the paragraph above a table says `data` always holds.
private enum ContractCatalogue {
    static func actions() throws -> [String: Set<String>] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Contracts/audit-log.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var actions: [String: Set<String>] = [:]
        var common: Set<String> = []
        var dataColumn: Int?
        // A paragraph's lines joined into one, so that a sentence may span lines; table rows and
        // headings stay lines of their own.
        var lines: [String] = []
        var paragraph = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let prose = !line.isEmpty && !line.hasPrefix("|") && !line.hasPrefix("#")
            if prose && paragraph { lines[lines.count - 1] += " " + line } else { lines.append(line) }
            paragraph = prose
        }
        for line in lines {
            if line.hasPrefix("#") { common = []; dataColumn = nil; continue }
            if let range = line.range(of: "`data` always holds ") {
                let rest = topLevel(String(line[range.upperBound...]))
                common = Set(names(String(rest.prefix { $0 != "." })))
                continue
            }
            guard line.hasPrefix("|") else { dataColumn = nil; continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if dataColumn == nil {
                dataColumn = cells.firstIndex { $0.contains("data") }
                continue
            }
            guard let column = dataColumn, column < cells.count, cells[0].hasPrefix("`"),
                  let action = names(cells[0]).first, action.contains(".") else { continue }
            actions[action] = common.union(names(topLevel(cells[column])))
        }
        return actions
    }

    /// `text` without what is inside (), {} or [] (nested), backticked spans kept whole.
    static func topLevel(_ text: String) -> String {
        var out = ""
        var depth = 0
        var inCode = false
        for character in text {
            if character == "`" { inCode.toggle() }
            if !inCode && "({[".contains(character) { depth += 1; continue }
            if !inCode && ")}]".contains(character) { depth = max(0, depth - 1); continue }
            if depth == 0 { out.append(character) }
        }
        return out
    }

    /// The backticked names in `text` (a letter, then letters, digits, `_` and `.`, e.g. `sha256`).
    static func names(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
            .filter { $0.first?.isLetter == true && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." } }
    }
}

@Suite("The action catalogue: every entry is checked against Contracts/audit-log.md")
struct ActionCatalogTests {
    @Test("the code's catalogue and the contract's tables list the same actions and members")
    func catalogueMatchesTheContract() throws {
        let contract = try ContractCatalogue.actions()
        let code = ActionCatalog.actions.mapValues { Set($0.map(\.name)) }
        #expect(contract.count >= 30, "the tables were not read: \(contract.keys.sorted())")
        #expect(Set(contract.keys) == Set(code.keys),
                "only in the contract: \(Set(contract.keys).subtracting(code.keys).sorted()); only in code: \(Set(code.keys).subtracting(contract.keys).sorted())")
        for (action, members) in code {
            guard let documented = contract[action] else { continue }
            #expect(members == documented,
                    "\(action): only in code \(members.subtracting(documented).sorted()), only in the contract \(documented.subtracting(members).sorted())")
        }
    }

    /// Replays `records` and returns the findings.
    static func findings(_ records: [AuditRecord]) -> [ReplayFinding] {
        var replay = LogReplay()
        for (seq, record) in records.enumerated() {
            replay.apply(AuditEntry(seq: UInt64(seq), time: Date(timeIntervalSince1970: 1_800_000_000), record: record))
        }
        replay.finish()
        return replay.findings
    }

    @Test("an entry the replay does not need is checked too: a test clock moved to null is malformed")
    func testClockToNullIsMalformed() {
        let lawful = AuditRecord(actor: "system", action: "test_clock.advanced",
                                 data: ["from": .null, "to": "2026-10-01T00:00:00Z"])
        #expect(Self.findings([lawful]).isEmpty)
        for data: [String: JSONValue] in [
            ["from": .null, "to": .null], ["from": .null], ["from": .null, "to": "tomorrow"], ["from": 7, "to": "2026-10-01T00:00:00Z"],
        ] {
            let findings = Self.findings([AuditRecord(actor: "system", action: "test_clock.advanced", data: data)])
            #expect(findings.map(\.code) == [.recordMalformed], "\(data): \(findings)")
            #expect(findings.first?.location == "entry 0")
        }
    }

    @Test("a required member missing, null or of the wrong type is record_malformed; an unknown action unknown_action")
    func membersAreTyped() {
        let authority = AuditRecord(actor: "admin", action: "authority.created", subjects: ["authority:bj"],
                                    data: ["id": "bj", "name": "Beijing", "region": "Beijing"])
        #expect(Self.findings([authority]).isEmpty)
        var noRegion = authority
        noRegion.data["region"] = nil
        var numericRegion = authority
        numericRegion.data["region"] = 110_000
        var nullName = authority
        nullName.data["name"] = .null
        for record in [noRegion, numericRegion, nullName] {
            #expect(Self.findings([record]).map(\.code) == [.recordMalformed], "\(record.data)")
        }
        // Members beyond the catalogue's are allowed: new ones may be added to an action.
        var extended = authority
        extended.data["website"] = "https://bjdata.gov.cn"
        #expect(Self.findings([extended]).isEmpty)
        let unknown = AuditRecord(actor: "admin", action: "authority.deleted", data: ["id": "bj"])
        #expect(Self.findings([unknown]).map(\.code) == [.unknownAction])
    }

    @Test("every catalogue type refuses what it should", arguments: [
        (ActionCatalog.MemberType.string, JSONValue.string("x"), JSONValue.number(1)),
        (.integer, .number(3), .number(3.5)),
        (.boolean, .bool(false), .string("false")),
        (.object, .object([:]), .array([])),
        (.array, .array([]), .object([:])),
        (.strings, .array(["a"]), .array([.number(1)])),
        (.time, .string("2026-10-01T02:00:00.000Z"), .string("2026-10-01T02:00:00Z")),
        (.rfc3339, .string("2026-10-01T10:00:00+08:00"), .string("2026-10-01")),
        (.nullable(.string), .null, .bool(true)),
        (.commitment,
         .object(["personal_data_id": .string("pd_" + String(repeating: "0", count: 32)), "commitment": .string(String(repeating: "ab", count: 32))]),
         .string("王芳")),
    ])
    func types(type: ActionCatalog.MemberType, good: JSONValue, bad: JSONValue) {
        #expect(ActionCatalog.holds(good, type))
        #expect(!ActionCatalog.holds(bad, type))
        #expect(!ActionCatalog.holds(.null, type) || type == .nullable(.string))
    }
}
