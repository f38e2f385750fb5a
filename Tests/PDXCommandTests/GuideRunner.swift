import Foundation
import PDXTesting
import Testing

/// A guide of `README.md` or `Docs/`, as the harness reads it: its shell blocks in order.
///
/// The conventions, which the guides follow:
/// - a ```` ```sh ```` block runs, in one shell for the whole guide, so that variables carry from
///   one block to the next as they do for a reader; the first command that fails (non-zero
///   status, also inside a pipeline) fails the guide, naming the block and its line;
/// - ```` ```sh background ```` runs in the background (a server "in a terminal of its own"); the next
///   block starts once `http://127.0.0.1:8080/healthz` answers (within five minutes: a loaded machine);
/// - ```` ```sh skip ```` is shown, never run (what a reader would not run here, e.g. `swift test`);
/// - an ```` ```output ```` block right after a run block is what that block prints: each of its
///   non-empty lines must match, in order, a line of the output, `…` standing for any text;
/// - other blocks (plain ```` ``` ````, `json`, `ini`) are examples and never run.
///
/// The harness runs each guide in a new empty directory, with `swift run TOOL` meaning the tools
/// this build made, and port 8080 replaced by a free port (`PDX_PORT`). On PostgreSQL it also exports
/// `PDX_DATABASE_URL` naming a schema of the guide's own, so that every `pdx` command of the guide
/// (`serve`, `audit export`, `settlement close`, …) uses that database as a reader's would; a guide
/// that builds `pdx demo`'s marketplace (always SQLite) runs on SQLite only (``usesDemo``).
struct Guide {
    struct Block {
        enum Kind: Equatable { case run, background }
        var kind: Kind
        var text: String
        /// The line of the guide the block's first command is on.
        var line: Int
        var expected: [String]
    }

    let path: String
    var blocks: [Block] = []

    /// True when a block runs `pdx demo`, whose marketplace is an SQLite data directory of its own:
    /// with `PDX_DATABASE_URL` set, the guide's `pdx serve --data-dir pdx-demo/data` would serve
    /// another database than the demo's.
    var usesDemo: Bool {
        blocks.contains { $0.text.range(of: #"swift run pdx demo\b"#, options: .regularExpression) != nil }
    }

    init(path: String, text: String) {
        self.path = path
        var lines = text.components(separatedBy: "\n")[...]
        var number = 0
        func next() -> String? {
            guard let line = lines.popFirst() else { return nil }
            number += 1
            return line
        }
        while let line = next() {
            guard line.hasPrefix("```") else { continue }
            let info = line.dropFirst(3).split(separator: " ").map(String.init)
            let start = number + 1
            var body: [String] = []
            while let inner = next(), !inner.hasPrefix("```") { body.append(inner) }
            switch info {
            case ["sh"]: blocks.append(Block(kind: .run, text: body.joined(separator: "\n"), line: start, expected: []))
            case ["sh", "background"]:
                blocks.append(Block(kind: .background, text: body.joined(separator: "\n"), line: start, expected: []))
            case ["output"]:
                if !blocks.isEmpty, blocks[blocks.count - 1].expected.isEmpty {
                    blocks[blocks.count - 1].expected = body.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                }
            default: break
            }
        }
    }
}

/// What running a guide gave: per block its output, and the failure if one stopped it.
struct GuideRun {
    var outputs: [Int: String]
    var failure: String?
    var status: Int32

    /// The first expected line of `guide` that the output of its block does not show, described.
    func mismatch(in guide: Guide) -> String? {
        for (index, block) in guide.blocks.enumerated() where !block.expected.isEmpty {
            let lines = (outputs[index] ?? "").components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            var position = 0
            for expected in block.expected {
                let pattern = Self.pattern(expected.trimmingCharacters(in: .whitespaces))
                guard let found = lines[position...].firstIndex(where: { $0.range(of: pattern, options: .regularExpression) != nil }) else {
                    return "\(guide.path):\(block.line): the block no longer prints \"\(expected)\"; it printed:\n\(outputs[index] ?? "")"
                }
                position = found + 1
            }
        }
        return nil
    }

    /// A whole-line regular expression for an expected line, `…` matching anything.
    static func pattern(_ expected: String) -> String {
        "^" + expected.components(separatedBy: "…").map(NSRegularExpression.escapedPattern(for:)).joined(separator: ".*") + "$"
    }
}

enum GuideRunner {
    /// The script that runs `guide`'s blocks in one bash, each block's output in `outputs/N`.
    static func script(for guide: Guide, port: Int, bin: String, outputs: String, databaseURL: String? = nil) -> String {
        let database = databaseURL.map { "export PDX_DATABASE_URL='\($0)'\n" } ?? "unset PDX_DATABASE_URL\n"
        var script = """
            set -o pipefail
            export PDX_PORT=\(port)
            \(database)
            __bin='\(bin)'
            # `swift run TOOL …` is what this build made; `swift` itself is not run by a guide.
            swift() {
              if [ "$1" = run ]; then shift; local tool="$1"; shift; "$__bin/$tool" "$@"
              else echo "the guide harness does not run 'swift $*'" >&2; return 1; fi
            }
            __jobs=()
            trap 'trap - ERR; set +e; for j in "${__jobs[@]}"; do pkill -TERM -P "$j" 2>/dev/null; kill "$j" 2>/dev/null; wait "$j" 2>/dev/null; done' EXIT
            trap 'echo "guide failed: block $__block (line $__line), status $?: $BASH_COMMAND" >&3; exit 1' ERR
            set -eE

            """
        for (index, block) in guide.blocks.enumerated() {
            let text = block.text.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(port)")
            script += "__block=\(index + 1); __line=\(block.line)\nexec >'\(outputs)/\(index)' 2>&1\n"
            switch block.kind {
            case .run:
                script += text + "\n"
            case .background:
                script += "{ \(text)\n} 3>&- &\n__jobs+=($!)\n"
                script += """
                    for __i in $(seq 1 3000); do curl -sf -o /dev/null http://127.0.0.1:\(port)/healthz && break; sleep 0.1; done
                    curl -sf -o /dev/null http://127.0.0.1:\(port)/healthz

                    """
            }
        }
        return script + "exec >&3 2>&3\necho 'guide passed'\n"
    }

    /// Runs `guide` in a new directory under the temporary directory, on a free port; on PostgreSQL
    /// when `postgresURL` is given, in a new schema of that database.
    static func run(_ guide: Guide, postgresURL: String? = nil) async throws -> GuideRun {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-guide-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("outputs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let bin = try #require(Executables.url("pdx"), "pdx is not built").deletingLastPathComponent().path
        let scriptPath = work.appendingPathComponent("guide.sh").path
        let outputs = work.appendingPathComponent("outputs").path
        let databaseURL = postgresURL.map { base in
            let schema = "guide_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        }
        let text = script(for: guide, port: try ServerProcess.freePort(), bin: bin, outputs: outputs, databaseURL: databaseURL)
        try text.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let home = work.appendingPathComponent("reader")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // Descriptor 3 is where the script reports; 1 and 2 go to each block's output file.
        let ran = try await Executables.launchTool("/bin/bash", ["-c", "exec 3>&1; bash \(scriptPath)"], in: home)
        let report = ran.output + ran.error
        var printed: [Int: String] = [:]
        for index in guide.blocks.indices {
            printed[index] = try? String(contentsOfFile: outputs + "/\(index)", encoding: .utf8)
        }
        let failed = ran.status != 0 || !report.contains("guide passed")
        var failure: String?
        if failed {
            let last = printed.keys.max().flatMap { printed[$0] } ?? ""
            failure = "\(guide.path): \(report.trimmingCharacters(in: .whitespacesAndNewlines))\nthe block printed:\n\(last.suffix(3000))"
        }
        return GuideRun(outputs: printed, failure: failure, status: ran.status)
    }
}
