import Foundation
import Testing

/// The guides, run as a reader would run them (see ``Guide`` for the conventions).
@Suite("Guides that run as written")
struct GuideTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let guides = ["README.md", "Docs/operator-guide.md", "Docs/reviewer-guide.md", "Docs/finance-guide.md",
                         "Docs/auditor-guide.md", "Docs/operations.md"]

    static func guide(_ path: String) throws -> Guide {
        Guide(path: path, text: try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8))
    }

    static func run(_ guide: Guide) async throws -> GuideRun {
        try await GuideRunner.run(guide)
    }

    @Test("every shell block of the guide runs, in order, and prints what the guide shows", arguments: guides)
    func guideRuns(path: String) async throws {
        let guide = try Self.guide(path)
        #expect(guide.blocks.count >= 2, "\(path) has shell blocks to run")
        let run = try await Self.run(guide)
        #expect(run.failure == nil, "\(run.failure ?? "")")
        if run.failure == nil {
            #expect(run.mismatch(in: guide) == nil, "\(run.mismatch(in: guide) ?? "")")
        }
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
