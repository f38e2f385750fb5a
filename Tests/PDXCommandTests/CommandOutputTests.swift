import AuditLog
import Cryptography
import Foundation
import PDXTesting
import Testing

/// What `pdx` and `pdx-verify` tell scripts: their versions, one JSON line for what
/// `settlement close` and `audit export` did, `pdx-verify --format json`, and the exit statuses
/// `Docs/operations.md` and `Docs/auditor-guide.md` document.
@Suite("Command lines that tell what they did")
struct CommandOutputTests {
    static let postgresURL = ProcessInfo.processInfo.environment["PDX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var backends: [String?] { postgresURL == nil ? [nil] : [nil, postgresURL] }

    static func object(_ text: String) throws -> [String: Any] {
        let lines = text.split(separator: "\n")
        try #require(lines.count == 1, "one line: \(text)")
        return try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any], "\(text)")
    }

    @Test("--version prints the version and the commit, and exits 0, for both tools")
    func versions() async throws {
        for tool in ["pdx", "pdx-verify"] {
            let run = try await Executables.launch(tool, ["--version"])
            #expect(run.status == 0, "\(run.error)")
            let line = run.output.trimmingCharacters(in: .newlines)
            #expect(line.hasPrefix("\(tool) 0."), "\(line)")
            #expect(line.contains("(commit "), "\(line)")
            #expect(!line.contains("\n"))
        }
        let help = try await Executables.launch("pdx", ["settlement", "close", "--help"])
        #expect(help.output.contains("Exit status: 0"), "the exit statuses are in --help")
        let verifyHelp = try await Executables.launch("pdx-verify", ["--help"])
        #expect(verifyHelp.output.contains("Exit status: 0"))
        #expect(verifyHelp.output.contains("--format"))
    }

    @Test("close, export and verify with --format json: each one document, exit statuses as documented", arguments: backends)
    func jsonOutputs(databaseURL: String?) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-outputs-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        var storage = ["--data-dir", data]
        if let databaseURL {
            let schema = "out_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            storage += ["--database-url", databaseURL + (databaseURL.contains("?") ? "&" : "?") + "schema=\(schema)"]
        }
        let server = try ServerProcess(arguments: storage)
        try await server.waitUntilReady()
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let (created, body) = try await HTTP.send("POST", port: server.port, "/v1/principals", key: admin,
                                                  body: #"{"name":"Finance desk","role":"finance"}"#)
        #expect(created == 201)
        let finance = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["id"] as? String ?? ""
        #expect(await server.stopped() == 0)

        // settlement close: one line of JSON, the same facts the API answers.
        let closing = ["settlement", "close", "--period", "2026-01", "--actor", finance, "--format", "json"] + storage
        let closed = try await Executables.launch("pdx", closing)
        #expect(closed.status == 0, "\(closed.error)")
        let close = try Self.object(closed.output)
        #expect(close["period"] as? String == "2026-01")
        #expect(close["status"] as? String == "closed")
        #expect(close["already_closed"] as? Bool == false)
        #expect(close["format_version"] as? Int == 4)
        let logIndex = try #require(close["log_index"] as? Int)
        let reports = try #require(close["reports"] as? [String: String])
        #expect(Set(reports.keys) == ["json", "csv", "xlsx", "parties.csv"])
        #expect((close["totals"] as? [String: Any])?["gross_minor"] as? Int == 0)
        let again = try Self.object(try await Executables.launch("pdx", closing).output)
        #expect(again["already_closed"] as? Bool == true)
        #expect(again["log_index"] as? Int == logIndex)
        // Refused: exit 1, the code on standard error, nothing on standard output.
        let early = try await Executables.launch("pdx", ["settlement", "close", "--period", "2999-01", "--actor", finance,
                                                         "--format", "json"] + storage)
        #expect(early.status == 1)
        #expect(early.output.isEmpty)
        #expect(early.error.contains("period_not_ended"), "\(early.error)")
        // A usage error: 64.
        let usage = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01", "--actor", finance,
                                                         "--format", "yaml"] + storage)
        #expect(usage.status == 64)

        // settlement export: csv-excel is the sealed CSV behind a byte order mark.
        let csvFile = root.appendingPathComponent("2026-01.csv").path
        let excelFile = root.appendingPathComponent("2026-01-excel.csv").path
        for (format, file) in [("csv", csvFile), ("csv-excel", excelFile)] {
            let run = try await Executables.launch("pdx", ["settlement", "export", "--period", "2026-01", "--format", format,
                                                           "--out", file] + storage)
            #expect(run.status == 0, "\(run.error)")
        }
        let strict = try [UInt8](Data(contentsOf: URL(fileURLWithPath: csvFile)))
        #expect(Hex.encode(SHA256.hash(strict).bytes) == reports["csv"])
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: excelFile))) == [0xEF, 0xBB, 0xBF] + strict)

        // audit export: one line of JSON; no progress when standard error is not a terminal.
        let export = root.appendingPathComponent("export").path
        let exported = try await Executables.launch("pdx", ["audit", "export", "--out", export, "--format", "json"] + storage)
        #expect(exported.status == 0, "\(exported.error)")
        #expect(exported.error.isEmpty, "no progress off a terminal: \(exported.error)")
        let summary = try Self.object(exported.output)
        let size = try #require(summary["size"] as? Int)
        #expect(size > logIndex)
        #expect(summary["out"] as? String == export)
        let root64 = try #require(summary["root_hash"] as? String)
        let vkey = try await Executables.launch("pdx", ["audit", "vkey"] + storage)
        let vkeyFile = root.appendingPathComponent("pdx.vkey").path
        try vkey.output.write(toFile: vkeyFile, atomically: true, encoding: .utf8)

        // pdx-verify --format json: 3 unpinned, 0 pinned, the report confirmed against its logged digest.
        let unpinned = try await Executables.launch("pdx-verify", [export, "--format", "json"])
        #expect(unpinned.status == 3)
        let loose = try Self.object(unpinned.output)
        #expect(loose["result"] as? String == "verified_unpinned")
        #expect(loose["exit_code"] as? Int == 3)
        #expect((loose["log"] as? [String: Any])?["key_pinned"] as? Bool == false)
        let pinned = try await Executables.launch("pdx-verify", [export, "--vkey", vkeyFile, "--settlement", csvFile, "--format", "json"])
        #expect(pinned.status == 0, "\(pinned.output)")
        let verified = try Self.object(pinned.output)
        #expect(verified["result"] as? String == "verified")
        #expect(verified["exit_code"] as? Int == 0)
        #expect(verified["replayed"] as? Bool == true)
        #expect((verified["findings"] as? [Any])?.isEmpty == true)
        let log = try #require(verified["log"] as? [String: Any])
        #expect(log["size"] as? Int == size)
        #expect(log["root_hash"] as? String == root64)
        let confirmed = try #require((verified["reports"] as? [[String: Any]])?.first)
        #expect(confirmed["digest_logged"] as? Bool == true)
        #expect(confirmed["sha256"] as? String == reports["csv"])
        #expect(confirmed["close_index"] as? Int == logIndex)

        // A changed entry: 1, the finding with its code and the entry's index.
        let entries = export + "/tile/entries"
        let bundle = try #require(FileManager.default.subpaths(atPath: entries)?.sorted().first {
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: entries + "/" + $0, isDirectory: &directory) && !directory.boolValue
        })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: entries + "/" + bundle)))
        // Entry 0 claims to be entry 9: still canonical JSON, the wrong index.
        let seq = try #require(bytes.firstRange(of: Array(#""seq":0"#.utf8)))
        bytes[seq.upperBound - 1] = UInt8(ascii: "9")
        try Data(bytes).write(to: URL(fileURLWithPath: entries + "/" + bundle))
        let refused = try await Executables.launch("pdx-verify", [export, "--vkey", vkeyFile, "--format", "json"])
        #expect(refused.status == 1)
        let failed = try Self.object(refused.output)
        #expect(failed["result"] as? String == "failed")
        #expect(failed["exit_code"] as? Int == 1)
        let finding = try #require((failed["findings"] as? [[String: Any]])?.first)
        #expect((finding["code"] as? String)?.isEmpty == false)
        #expect(finding["entry_index"] as? Int == 0, "\(finding)")
        #expect(finding["location"] as? String == "entry 0")

        // A usage error stays text on standard error, with 2.
        let missing = try await Executables.launch("pdx-verify", [root.appendingPathComponent("nowhere").path, "--format", "json"])
        #expect(missing.status == 2)
        #expect(missing.output.isEmpty)
    }

    @Test("pdx audit export shows its progress when standard error is a terminal")
    func progressOnATerminal() async throws {
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script), let pdx = Executables.url("pdx")?.path else { return }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-progress-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        let server = try ServerProcess(arguments: ["--data-dir", data])
        try await server.waitUntilReady()
        #expect(await server.stopped() == 0)
        let export = root.appendingPathComponent("export").path
        // `script` runs the command on a pseudo-terminal: standard error is a TTY there.
        let run = try await Executables.launchTool(script, ["-qec", "'\(pdx)' audit export --data-dir '\(data)' --out '\(export)'", "/dev/null"])
        #expect(run.status == 0, "\(run.output)\(run.error)")
        #expect(run.output.contains("pdx audit export: exported"), "\(run.output)")
        #expect(run.output.contains("(100%)"), "\(run.output)")
        #expect(run.output.contains("exported "))
    }
}
