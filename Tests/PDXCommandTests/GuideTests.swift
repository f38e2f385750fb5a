import Foundation
import PDXTesting
import Testing

/// The guides, run as a reader would run them (see ``Guide`` for the conventions).
@Suite("Guides that run as written")
struct GuideTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// A first page per role: short, and run like the guides.
    static let quickStarts = ["Docs/quick-start/operator.md", "Docs/quick-start/reviewer.md", "Docs/quick-start/finance.md",
                              "Docs/quick-start/auditor.md", "Docs/quick-start/operations.md"]
    static let guides = ["README.md", "Docs/operator-guide.md", "Docs/reviewer-guide.md", "Docs/finance-guide.md",
                         "Docs/auditor-guide.md", "Docs/operations.md"] + quickStarts

    /// One guide on one store.
    struct Case: Sendable, CustomTestStringConvertible {
        var path: String
        var backend: Backend
        var testDescription: String { "\(path) on \(backend.rawValue)" }
    }

    /// Every guide on SQLite; on PostgreSQL too, when the tests have one, each guide that does not
    /// build `pdx demo`'s marketplace (an SQLite directory of its own).
    static var cases: [Case] {
        guides.flatMap { path in
            Backend.available.compactMap { backend in
                if backend == .postgres, (try? guide(path))?.usesDemo != false { return nil }
                return Case(path: path, backend: backend)
            }
        }
    }

    static func guide(_ path: String) throws -> Guide {
        Guide(path: path, text: try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8))
    }

    static func run(_ guide: Guide, on backend: Backend = .sqlite) async throws -> GuideRun {
        try await GuideRunner.run(guide, postgresURL: backend == .postgres ? Backend.postgresURL : nil)
    }

    @Test("every shell block of the guide runs, in order, and prints what the guide shows", arguments: cases)
    func guideRuns(_ guideCase: Case) async throws {
        let path = guideCase.path
        let guide = try Self.guide(path)
        #expect(guide.blocks.count >= 2, "\(path) has shell blocks to run")
        let run = try await Self.run(guide, on: guideCase.backend)
        #expect(run.failure == nil, "\(run.failure ?? "")")
        if run.failure == nil {
            #expect(run.mismatch(in: guide) == nil, "\(run.mismatch(in: guide) ?? "")")
        }
    }

    @Test("on PostgreSQL a guide gets a database of its own; one built on the demo's marketplace stays on SQLite")
    func postgresCases() throws {
        let demo = Guide(path: "demo.md", text: "```sh\nswift run pdx demo > /dev/null\n```\n")
        let plain = Guide(path: "plain.md", text: "```sh\nswift run pdx audit vkey\n```\n")
        #expect(demo.usesDemo)
        #expect(!plain.usesDemo)
        let onPostgres = GuideRunner.script(for: plain, port: 1, bin: "/bin", outputs: "/tmp",
                                            databaseURL: "postgres://u@h/db?schema=guide_1")
        #expect(onPostgres.contains("export PDX_DATABASE_URL='postgres://u@h/db?schema=guide_1'\n"))
        #expect(GuideRunner.script(for: plain, port: 1, bin: "/bin", outputs: "/tmp").contains("unset PDX_DATABASE_URL\n"))
        #expect(try Self.guide("Docs/finance-guide.md").usesDemo)
        #expect(try Self.guide("Docs/quick-start/operations.md").usesDemo == false)
        let postgres = Self.cases.filter { $0.backend == .postgres }.map(\.path)
        #expect(!postgres.contains("Docs/finance-guide.md"))
        if Backend.postgresURL != nil {
            #expect(postgres.contains("Docs/quick-start/operations.md"))
            #expect(postgres.contains("Docs/quick-start/operator.md"))
        }
        #expect(Self.cases.filter { $0.backend == .sqlite }.map(\.path) == Self.guides)
    }

    @Test("a shell block is run, run in the background, or marked skip: no other kind")
    func everyShellBlockIsKnown() throws {
        for path in Self.guides {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
            for line in text.components(separatedBy: "\n") where line.hasPrefix("```sh") {
                #expect(["```sh", "```sh background", "```sh skip"].contains(line), "\(path): \(line)")
            }
        }
    }

    @Test("the harness itself: variables carry over, a failing command fails its block, a changed output is found")
    func harness() async throws {
        let passing = Guide(path: "passing.md", text: """
            ```sh
            GREETING=hello
            ```
            ```sh skip
            false
            ```
            ```sh
            echo "$GREETING world, $(swift run pdx-verify --version 2>/dev/null || echo tools)"
            ```
            ```output
            hello world, …
            ```
            """)
        #expect(passing.blocks.count == 2)
        let passed = try await Self.run(passing)
        #expect(passed.failure == nil, "\(passed.failure ?? "")")
        #expect(passed.mismatch(in: passing) == nil)

        let broken = Guide(path: "broken.md", text: """
            ```sh
            echo one
            ```
            ```sh
            echo two
            ls /no/such/directory | cat
            echo three
            ```
            """)
        let failed = try await Self.run(broken)
        #expect(failed.failure?.contains("guide failed: block 2 (line 5)") == true, "\(failed.failure ?? "passed")")
        #expect(failed.outputs[1]?.contains("three") == false, "the block stops at its first failing command")

        let changed = Guide(path: "changed.md", text: """
            ```sh
            echo '{"status":"approved"}'
            ```
            ```output
            {"status":"submitted"}
            ```
            """)
        let ran = try await Self.run(changed)
        #expect(ran.failure == nil)
        #expect(ran.mismatch(in: changed)?.contains("changed.md:2: the block no longer prints") == true)
    }
}
