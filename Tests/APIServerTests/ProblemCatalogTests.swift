@testable import APIServer
import Foundation
import Testing

/// The problem codes as the contract and `Docs/problems.md` publish them, checked against the
/// exhaustive Swift code enums (``ProblemCatalog``), so the three cannot drift.
@Suite("Problem codes: the contract's enum, its 4xx answers and Docs/problems.md")
struct ProblemCatalogTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The `enum:` list of the contract's `ProblemCode` schema.
    static func contractCodes() throws -> [String] {
        let text = try read("Contracts/openapi.yaml")
        let block = try #require(text.components(separatedBy: "\n    ProblemCode:\n").dropFirst().first)
        let list = try #require(block.components(separatedBy: "\n      enum:\n").dropFirst().first)
        return list.split(separator: "\n").prefix { $0.hasPrefix("        - ") }.map { String($0.dropFirst(10)) }
    }

    @Test("the contract's ProblemCode enum is exactly the codes the server's code enums hold")
    func enumMatchesTheCodeEnums() throws {
        if let out = ProcessInfo.processInfo.environment["PDX_WRITE_PROBLEM_CODES"] {
            let table = ProblemCatalog.codes.map { code in
                "\(code) " + (ProblemCatalog.statuses[code] ?? []).sorted().map(String.init).joined(separator: ",")
            }
            try (table.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
        let contract = try Self.contractCodes()
        #expect(contract == contract.sorted(), "the enum is sorted")
        #expect(Set(contract).subtracting(ProblemCatalog.codes).sorted() == [], "codes the contract lists but no Swift enum has")
        #expect(Set(ProblemCatalog.codes).subtracting(contract).sorted() == [], "codes the server may answer but the contract lacks")
        #expect(ProblemCatalog.statuses["precondition_failed"] == [412])
    }

    /// Each operation's block of the contract, by `operationId`.
    static func operations() throws -> [String: String] {
        let text = try read("Contracts/openapi.yaml")
        let paths = try #require(text.components(separatedBy: "\ncomponents:\n").first)
        var out: [String: String] = [:]
        for block in paths.components(separatedBy: "operationId: ").dropFirst() {
            let id = String(block.prefix { !$0.isWhitespace })
            var body = block
            for cut in ["\n    get:", "\n    post:", "\n    put:", "\n    patch:", "\n    delete:", "\n  /"] {
                body = body.components(separatedBy: cut)[0]
            }
            out[id] = body
        }
        return out
    }

    @Test("each operation's 4xx answer names only codes the server answers with that status")
    func operationCodesHaveTheirStatus() throws {
        let operations = try Self.operations()
        #expect(operations.count == Operation.allCases.count + 4, "every operation, the three health routes and the problem catalog")
        var checked = 0
        for (id, block) in operations {
            for line in block.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("'4"), let status = Int(trimmed.dropFirst().prefix(3)) else { continue }
                #expect(trimmed.contains("$ref: '#/components/responses/"), "\(id) \(status) refers to a problem response")
                let codes = trimmed.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                #expect(!codes.isEmpty, "\(id) \(status) names the codes it may carry")
                for code in codes {
                    #expect(ProblemCatalog.statuses[code]?.contains(status) == true,
                            "\(id) \(status) names `\(code)`, which the server answers with \(ProblemCatalog.statuses[code] ?? [])")
                    checked += 1
                }
            }
        }
        #expect(checked > 200)
    }

    @Test("every operation under /v1 lists 401 and 429; one a role may be refused lists 403")
    func authenticationAndRoles() throws {
        let operations = try Self.operations()
        for operation in Operation.allCases {
            let block = try #require(operations[operation.rawValue], "\(operation.rawValue) is in the contract")
            #expect(block.contains("'401':"), "\(operation.rawValue) lists 401")
            #expect(block.contains("'429':"), "\(operation.rawValue) lists 429")
            let refusable = Authorization.table[operation] != Authorization.everyone
                || !Authorization.allowedWhileBlocked.contains(operation)
            if refusable { #expect(block.contains("'403':"), "\(operation.rawValue) lists 403") }
        }
    }
}

@Suite("Problem codes: Docs/problems.md")
struct ProblemPageTests {
    @Test("every code of the enum has its section in Docs/problems.md, and the server serves that page")
    func everyCodeHasItsSection() throws {
        let page = try ProblemCatalogTests.read("Docs/problems.md")
        let swiftFile = "Sources/APIServer/Handlers/ProblemCatalogPage.swift"
        if ProcessInfo.processInfo.environment["PDX_WRITE_PROBLEMS_PAGE"] == "1" {
            let text = try ProblemCatalogTests.read(swiftFile)
            let head = try #require(text.components(separatedBy: "static let page = ##\"\"\"\n").first)
            try (head + "static let page = ##\"\"\"\n" + page + "\"\"\"##\n}\n")
                .write(to: ProblemCatalogTests.root.appendingPathComponent(swiftFile), atomically: true, encoding: .utf8)
        }
        let headings = Set(page.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)) })
        for code in try ProblemCatalogTests.contractCodes() {
            #expect(headings.contains(code), "Docs/problems.md has a section '## \(code)'")
        }
        #expect(headings.count == ProblemCatalog.codes.count)
        #expect(ProblemCatalog.page + "\n" == page || ProblemCatalog.page == page,
                "\(swiftFile) is Docs/problems.md (PDX_WRITE_PROBLEMS_PAGE=1 rewrites it)")
    }
}
