import Foundation
import Licensing
import Testing
import Vetting

/// What the README and the guides show that the code decides: the lifecycle diagrams' states, and the
/// company details of their examples.
@Suite("The documentation agrees with the code")
struct DocumentationTests {
    /// README.md and every Markdown file under Docs/, by path from the repository's root.
    static var documents: [String] {
        let docs = GuideTests.repository.appendingPathComponent("Docs")
        var paths = ["README.md"]
        if let walker = FileManager.default.enumerator(atPath: docs.path) {
            for case let path as String in walker where path.hasSuffix(".md") { paths.append("Docs/" + path) }
        }
        return paths.sorted()
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: GuideTests.repository.appendingPathComponent(path), encoding: .utf8)
    }

    // MARK: Lifecycle diagrams

    /// A ```` ```mermaid ```` state diagram of a document, tagged by a line `%% states: NAME`.
    struct Diagram {
        var path: String
        var line: Int
        var name: String?
        var states: Set<String>
        var transitions: [(from: String, to: String)]
    }

    /// Every mermaid block of `text`, with the states its transitions and declarations name
    /// (`[*]`, the start and end, is not a state).
    static func diagrams(in text: String, path: String) -> [Diagram] {
        var diagrams: [Diagram] = []
        let lines = text.components(separatedBy: "\n")
        var index = 0
        while index < lines.count {
            defer { index += 1 }
            guard lines[index] == "```mermaid" else { continue }
            var diagram = Diagram(path: path, line: index + 1, name: nil, states: [], transitions: [])
            var inNote = false
            index += 1
            while index < lines.count, !lines[index].hasPrefix("```") {
                defer { index += 1 }
                let line = lines[index].trimmingCharacters(in: .whitespaces)
                if inNote {
                    if line == "end note" { inNote = false }
                    continue
                }
                if line.hasPrefix("%% states:") {
                    diagram.name = line.dropFirst("%% states:".count).trimmingCharacters(in: .whitespaces)
                    continue
                }
                if line.isEmpty || line.hasPrefix("%%") || line.hasPrefix("stateDiagram") || line.hasPrefix("direction") {
                    continue
                }
                if line.hasPrefix("note ") {
                    // `note right of STATE : text` on one line, or a block up to `end note`.
                    if !line.contains(":") { inNote = true }
                    continue
                }
                if let arrow = line.range(of: "-->") {
                    let from = line[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces)
                    let rest = line[arrow.upperBound...]
                    let to = (rest.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
                    diagram.transitions.append((from, to))
                    for state in [from, to] where state != "[*]" { diagram.states.insert(state) }
                    continue
                }
                if line.hasPrefix("state "), let alias = line.range(of: " as ") {
                    diagram.states.insert(line[alias.upperBound...].trimmingCharacters(in: .whitespaces))
                    continue
                }
                if let colon = line.firstIndex(of: ":") {
                    // `STATE : description`
                    diagram.states.insert(line[..<colon].trimmingCharacters(in: .whitespaces))
                }
            }
            diagrams.append(diagram)
        }
        return diagrams
    }

    static func allDiagrams() throws -> [Diagram] {
        try documents.flatMap { try diagrams(in: text($0), path: $0) }
    }

    /// The period's statuses, as the contract (which the server is generated from) enumerates them in
    /// schema `Settlement`.
    static func periodStatuses() throws -> Set<String> {
        let contract = try text("Sources/APIServer/openapi.yaml").components(separatedBy: "\n")
        let start = try #require(contract.firstIndex(of: "    Settlement:"), "the contract has a schema Settlement")
        let line = try #require(contract[start...].first { $0.hasPrefix("        status: {type: string, enum: [") },
                                "schema Settlement has an enumerated status")
        let list = try #require(line.split(separator: "[").last?.split(separator: "]").first)
        return Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// The enums the diagrams draw, by the name their `%% states:` line gives.
    static func expectedStates() throws -> [String: Set<String>] {
        [
            "OperatorStatus": Set(OperatorStatus.allCases.map(\.rawValue)),
            "GrantStatus": Set(GrantStatus.allCases.map(\.rawValue)),
            "Settlement.status": try periodStatuses(),
        ]
    }

    @Test("the operator, grant and period diagrams draw exactly their enum's states")
    func diagramsMatchTheEnums() throws {
        let diagrams = try Self.allDiagrams()
        let expected = try Self.expectedStates()
        for (name, states) in expected {
            let drawn = diagrams.filter { $0.name == name }
            #expect(!drawn.isEmpty, "no mermaid diagram in README.md or Docs/ is tagged '%% states: \(name)'")
            for diagram in drawn {
                #expect(diagram.states == states,
                        "\(diagram.path):\(diagram.line): the diagram of \(name) draws \(diagram.states.sorted()), the code has \(states.sorted())")
                #expect(diagram.transitions.contains { $0.from == "[*]" }, "\(diagram.path):\(diagram.line): no start")
            }
        }
        for diagram in diagrams {
            #expect(diagram.name.map { expected[$0] != nil } == true,
                    "\(diagram.path):\(diagram.line): a mermaid block without a known '%% states:' line (\(expected.keys.sorted()))")
        }
    }

    @Test("a final status is never left in the grant's diagram")
    func grantFinalStatesAreFinal() throws {
        for diagram in try Self.allDiagrams() where diagram.name == "GrantStatus" {
            for (from, to) in diagram.transitions {
                guard let status = GrantStatus(rawValue: from) else { continue }
                #expect(!status.isFinal || to == "[*]", "\(diagram.path):\(diagram.line): \(from) --> \(to)")
            }
        }
    }

    @Test("the diagram parser reads states, notes and descriptions, and a changed enum would be found")
    func parser() {
        let text = """
            ```mermaid
            stateDiagram-v2
                %% states: Example
                [*] --> one: begins
                one --> two
                note right of two
                    not a --> state
                end note
                note left of one : also not --> one
                three : described only
                two --> [*]
            ```
            """
        let parsed = Self.diagrams(in: text, path: "example.md")
        #expect(parsed.count == 1)
        #expect(parsed.first?.name == "Example")
        #expect(parsed.first?.states == ["one", "two", "three"])
        #expect(parsed.first?.transitions.count == 3)
        #expect(parsed.first?.states != Set(OperatorStatus.allCases.map(\.rawValue)))
    }

    // MARK: Invented company details

    /// The unified social credit codes the documentation may show: invented, each with a valid check
    /// character, none a real company's.
    static let inventedCodes: Set<String> = [
        "91110108MA01B2C3D0",  // 北京数联示例科技有限公司, the guides' applicant
        "91120116MA05QT7K25",  // 津门示例数据服务有限公司, the quick starts
    ]

    /// Strings shaped like a USCC: 18 characters of its alphabet, characters 3–8 digits.
    static func usccShaped(in text: String) -> [String] {
        let pattern = #"(?<![0-9A-Z])[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}(?![0-9A-Z])"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    @Test("every credit code in README.md and Docs/ is an invented one, and passes the check")
    func creditCodesAreInvented() throws {
        var seen: Set<String> = []
        for path in Self.documents {
            for code in Self.usccShaped(in: try Self.text(path)) {
                seen.insert(code)
                #expect(Self.inventedCodes.contains(code), "\(path): \(code) is not one of the invented codes")
            }
        }
        #expect(!seen.isEmpty, "the guides show an application with a credit code")
        for code in Self.inventedCodes {
            #expect((try? USCC(validating: code)) != nil, "\(code) fails the GB 32100-2015 check")
        }
        #expect(Self.usccShaped(in: "uscc 91110108MA01B2C3D0, not 9111010OMA01B2C3D0 or X91110108MA01B2C3D0") == ["91110108MA01B2C3D0"])
    }

    /// Names of real companies an example might borrow; the guides invent theirs.
    static let realNames = ["阿里巴巴", "腾讯", "百度", "华为", "京东", "字节跳动", "美团", "小米", "Alibaba", "Tencent", "Baidu",
                            "Huawei", "ByteDance", "Meituan", "Xiaomi"]

    @Test("no example names a well-known real company")
    func noRealCompanyNames() throws {
        for path in Self.documents {
            let text = try Self.text(path)
            for name in Self.realNames {
                #expect(!text.contains(name), "\(path) names \(name): use an invented company")
            }
        }
    }
}
