import Cryptography
import Foundation
import PDXClient
import PDXTesting
import Testing

@Suite("The README's flow, with the real executables", .serialized)
struct EndToEndTests {
    static var backends: [String?] {
        let url = ProcessInfo.processInfo.environment["PDX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        return url == nil ? [nil] : [nil, url]
    }

    @Test(arguments: backends)
    func serveExportVerifyAndRefuseTampering(databaseURL: String?) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-e2e-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        let export = root.appendingPathComponent("export").path
        var storage = ["--data-dir", data]
        if let databaseURL {
            let schema = "e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            storage += ["--database-url", databaseURL + (databaseURL.contains("?") ? "&" : "?") + "schema=\(schema)"]
        }

        let server = try ServerProcess(arguments: storage + ["--checkpoint-seconds", "1"])
        try await server.waitUntilReady()
        let token = try String(contentsOfFile: data + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        // The signed note's raw bytes, as a witness or script reads them.
        let (unauthorized, _) = try await server.get("/v1/audit/checkpoint")
        #expect(unauthorized == 401)
        let (status, note) = try await server.get("/v1/audit/checkpoint", key: token)
        #expect(status == 200)
        #expect(note.contains("\n\n\u{2014} "))

        // Export while the server runs, then verify with the key printed by `pdx audit vkey`.
        let exported = try await Executables.launch("pdx", ["audit", "export", "--out", export] + storage)
        #expect(exported.status == 0, "\(exported.error)")
        let vkey = try await Executables.launch("pdx", ["audit", "vkey"] + storage)
        #expect(vkey.status == 0)
        let vkeyFile = root.appendingPathComponent("pdx.vkey").path
        try vkey.output.write(toFile: vkeyFile, atomically: true, encoding: .utf8)
        #expect(vkey.output.hasPrefix(note.split(separator: "\n")[0] + "+"))

        let verified = try await Executables.launch("pdx-verify", [export, "--vkey", vkeyFile])
        #expect(verified.status == 0, "\(verified.output)\(verified.error)")
        #expect(verified.output.hasPrefix("pdx-verify: OK"))

        // One changed byte in an entry is refused, and the report says where.
        let bundle = export + "/tile/entries/000.p/2"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle)))
        let index = try #require(bytes.firstIndex(of: UInt8(ascii: "s")))
        bytes[index] = UInt8(ascii: "S")
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        let refused = try await Executables.launch("pdx-verify", [export, "--vkey", vkeyFile])
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("pdx-verify: FAIL "))
        #expect(refused.output.contains("entry "))

        // SIGTERM shuts down gracefully.
        #expect(await server.stopped() == 0)

        // The server's log: JSON lines only, an access line per request, never the key.
        let lines = try String(contentsOf: server.log, encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        #expect(objects.contains { $0["message"] as? String == "serving" && $0["level"] as? String == "notice" })
        let checkpointStatuses = objects.filter { $0["message"] as? String == "request" && $0["route"] as? String == "/v1/audit/checkpoint" }
            .compactMap { $0["status"] as? Int }
        #expect(checkpointStatuses == [401, 200])
        let logText = lines.joined(separator: "\n")
        #expect(!logText.contains(token))
        #expect(!logText.contains(String(token.suffix(43))), "the admin key's secret reached the log")

        // Exporting into a directory that is not empty is refused.
        let again = try await Executables.launch("pdx", ["audit", "export", "--out", export] + storage)
        #expect(again.status != 0)
    }

    @Test("serve refuses limit and log settings it cannot use")
    func serveValidatesItsSettings() async throws {
        for (arguments, flag) in [(["--rate-limit", "-1"], "--rate-limit"), (["--rate-limit-burst", "0"], "--rate-limit-burst"),
                                  (["--log-format", "xml"], "--log-format"), (["--log-level", "loud"], "--log-level")] {
            let result = try await Executables.launch("pdx", ["serve", "--data-dir", "/nonexistent/pdx"] + arguments)
            #expect(result.status != 0)
            #expect(result.error.contains(flag), "\(result.error)")
        }
    }

    @Test func settlementCloseAndExportOnTheDataDirectory() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-settle-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let storage = ["--data-dir", root.appendingPathComponent("data").path]
        let server = try ServerProcess(arguments: storage)
        try await server.waitUntilReady()
        let admin = try String(contentsOfFile: root.appendingPathComponent("data/admin.token").path, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let pdx = PDXClient(serverURL: URL(string: "http://127.0.0.1:\(server.port)")!, apiKey: admin)
        let finance: String = try await pdx.api.createPrincipal(body: .json(.init(name: "Finance desk", role: .finance))).created.body.json.value1.id
        #expect(await server.stopped() == 0)

        // The person closing is named and must exist; the old fee flag points to the API.
        let unnamed = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01"] + storage)
        #expect(unnamed.status == 64)
        #expect(unnamed.error.contains("--actor"))
        let nobody = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01", "--actor", "pr_nobody"] + storage)
        #expect(nobody.status != 0)
        #expect(nobody.error.contains("actor_not_found"), "\(nobody.error)")
        let oldFlag = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01", "--actor", finance,
                                                           "--platform-fee-bps", "300"] + storage)
        #expect(oldFlag.status != 0)
        #expect(oldFlag.error.contains("/v1/marketplace/platform-fee"), "\(oldFlag.error)")
        let closing = storage + ["--actor", finance]

        let early = try await Executables.launch("pdx", ["settlement", "close", "--period", "2999-01"] + closing)
        #expect(early.status != 0)
        #expect(early.error.contains("period_not_ended"))
        let notClosed = try await Executables.launch("pdx", ["settlement", "export", "--period", "2026-01", "--format", "csv", "--out", "-"] + storage)
        #expect(notClosed.status != 0)
        #expect(notClosed.error.contains("period_not_closed"))

        let closed = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01"] + closing)
        #expect(closed.status == 0, "\(closed.error)")
        #expect(closed.output.hasPrefix("closed 2026-01"))
        let again = try await Executables.launch("pdx", ["settlement", "close", "--period", "2026-01"] + closing)
        #expect(again.output.contains("already closed"))

        // The exported bytes are those whose SHA-256 the close printed (and logged).
        for format in ["json", "csv", "xlsx"] {
            let file = root.appendingPathComponent("2026-01.\(format)").path
            let export = try await Executables.launch("pdx", ["settlement", "export", "--period", "2026-01", "--format", format, "--out", file] + storage)
            #expect(export.status == 0, "\(export.error)")
            let digest = Hex.encode(SHA256.hash([UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))).bytes)
            #expect(closed.output.contains("sha256 \(format) \(digest)"))
        }
        let bad = try await Executables.launch("pdx", ["settlement", "export", "--period", "2026-01", "--format", "pdf", "--out", "-"] + storage)
        #expect(bad.status != 0)
    }

    @Test func auditCommandsRefuseAMissingDataDirectory() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-missing-\(UUID().uuidString)").path
        let run = try await Executables.launch("pdx", ["audit", "vkey", "--data-dir", missing])
        #expect(run.status != 0)
        #expect(run.error.contains("no PDX data directory"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}

@Suite("pdx demo, the executable")
struct DemoCommandTests {
    @Test("runs, says the same twice for a seed, and its export verifies with pdx-verify")
    func demoTwiceThenVerify() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-demo-cli-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let arguments = ["demo", "--out", root, "--seed", "3", "--events", "300"]
        let first = try await Executables.launch("pdx", arguments)
        #expect(first.status == 0, "\(first.error)")
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: root + "/audit/checkpoint"))
        let report = try Data(contentsOf: URL(fileURLWithPath: root + "/reports/2026-10.xlsx"))

        // A second process replaces the first demo: hashing and ordering do not vary between runs.
        let second = try await Executables.launch("pdx", arguments)
        #expect(second.status == 0, "\(second.error)")
        #expect(second.output == first.output)
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/audit/checkpoint")) == checkpoint)
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/reports/2026-10.xlsx")) == report)
        #expect(first.output.contains("swift run pdx-verify \(root)/audit --vkey \(root)/vkey --settlement \(root)/reports/2026-10.json"))

        // Its keys follow from the seed: served on loopback only.
        let exposed = try await Executables.launch("pdx", ["serve", "--data-dir", root + "/data", "--host", "0.0.0.0", "--port", "0"])
        #expect(exposed.status != 0)
        #expect(exposed.error.contains("made by `pdx demo`") && exposed.error.contains("loopback"), "\(exposed.error)")

        // The command the demo prints, run as printed.
        let printed = try #require(first.output.split(separator: "\n").first { $0.contains("swift run pdx-verify ") })
        let verifyArguments = printed.components(separatedBy: "swift run pdx-verify ")[1].split(separator: " ").map(String.init)
        #expect(verifyArguments.contains("--previous"))
        let verified = try await Executables.launch("pdx-verify", verifyArguments)
        #expect(verified.status == 0, "\(verified.output)\(verified.error)")
        let lines = verified.output.split(separator: "\n")
        #expect(lines.count == 5, "\(verified.output)")
        // The demo's acknowledged discrepancy is listed after the replay's verdict, and fails nothing.
        #expect(lines.enumerated().allSatisfy { $0.element.hasPrefix($0.offset == 2 ? "pdx-verify: NOTICE discrepancy_acknowledged at entry " : "pdx-verify: OK.") })
        #expect(lines[0].contains("consistency proof from"))
        #expect(lines[1].contains("found nothing unlawful"))
        #expect(lines[2].contains("/he-industrial-emissions/record: declared "))
        #expect(lines[3].contains("2026-10.json is the whole report of 2026-10"))

        // One fen moved from an authority to the platform on the first line of the CSV report.
        let csvPath = root + "/reports/2026-10.csv"
        var rows = try String(contentsOfFile: csvPath, encoding: .utf8).components(separatedBy: "\r\n")
        let header = rows[0].split(separator: ",", omittingEmptySubsequences: false)
        var cells = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let authority = try #require(header.firstIndex(of: "authority_minor"))
        let platform = try #require(header.firstIndex(of: "platform_minor"))
        cells[authority] = String(try #require(Int(cells[authority])) - 1)
        cells[platform] = String(try #require(Int(cells[platform])) + 1)
        rows[1] = cells.joined(separator: ",")
        let edited = root + "/edited.csv"
        try rows.joined(separator: "\r\n").write(toFile: edited, atomically: true, encoding: .utf8)
        let refusedReport = try await Executables.launch("pdx-verify", [root + "/audit", "--vkey", root + "/vkey", "--settlement", edited])
        #expect(refusedReport.status == 1)
        #expect(refusedReport.output.hasPrefix("pdx-verify: FAIL report_invalid at \(edited): "), "\(refusedReport.output)")
        #expect(refusedReport.output.contains("row 2"), "\(refusedReport.output)")

        // One byte of the log changed: the export no longer verifies, and the entry is named.
        let bundle = root + "/audit/tile/entries/000"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let at = try #require(bytes.firstRange(of: Data("\"action\":\"grant.requested\"".utf8))).lowerBound + 11
        bytes[at] = UInt8(ascii: "G")
        try bytes.write(to: URL(fileURLWithPath: bundle))
        let refusedLog = try await Executables.launch("pdx-verify", [root + "/audit", "--vkey", root + "/vkey"])
        #expect(refusedLog.status == 1)
        #expect(refusedLog.output.hasPrefix("pdx-verify: FAIL tile_mismatch at tile/0/000: hash "), "\(refusedLog.output)")

        let refused = try await Executables.launch("pdx", ["demo", "--out", root + "/vkey"])
        #expect(refused.status != 0)
        #expect(refused.error.contains("not a directory"))
        let small = try await Executables.launch("pdx", ["demo", "--out", root, "--events", "5"])
        #expect(small.status != 0)
        #expect(small.error.contains("--events"))
    }
}

@Suite("pdx disclosure, the executable")
struct DisclosureCommandTests {
    @Test("the demo's year is announced from its log, pdx-verify re-derives it, and one changed figure is refused")
    func announceThenVerify() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-disclosure-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let demo = try await Executables.launch("pdx", ["demo", "--out", root, "--seed", "5", "--events", "300"])
        #expect(demo.status == 0, "\(demo.error)")
        let storage = ["--data-dir", root + "/data"]
        let announcement = root + "/disclosure-2026"

        let written = try await Executables.launch("pdx", ["disclosure", "--year", "2026", "--out", announcement] + storage)
        #expect(written.status == 0, "\(written.error)")
        #expect(written.output.contains("2 closed months"), "\(written.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: announcement).sorted()
        #expect(files == ["datasets.csv", "disclosure.json", "grants.csv", "index.html", "operators.csv", "revenue.csv"])

        let verified = try await Executables.launch("pdx-verify", [root + "/audit", "--vkey", root + "/vkey", "--disclosure-report", announcement])
        #expect(verified.status == 0, "\(verified.output)\(verified.error)")
        #expect(verified.output.contains("pdx-verify: OK. \(announcement) is the 2026 disclosure the log's first "), "\(verified.output)")

        // A second writing, as JSON, says the same size; it refuses a directory that is not empty.
        let json = try await Executables.launch("pdx", ["disclosure", "--year", "2026", "--out", root + "/again", "--format", "json"] + storage)
        #expect(json.status == 0, "\(json.error)")
        let line = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(line["year"] as? Int == 2026)
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/again/revenue.csv"))
                == (try Data(contentsOf: URL(fileURLWithPath: announcement + "/revenue.csv"))))
        let occupied = try await Executables.launch("pdx", ["disclosure", "--year", "2026", "--out", announcement] + storage)
        #expect(occupied.status == 1)
        #expect(occupied.error.contains("not an empty directory"), "\(occupied.error)")
        let badYear = try await Executables.launch("pdx", ["disclosure", "--year", "1800", "--out", root + "/old"] + storage)
        #expect(badYear.status == 64)

        // One fen moved between two authorities' months in revenue.csv: refused, the file and line named.
        let revenuePath = announcement + "/revenue.csv"
        var rows = try String(contentsOfFile: revenuePath, encoding: .utf8).components(separatedBy: "\r\n")
        var cells = rows[1].components(separatedBy: ",")
        cells[3] = String(try #require(Int(cells[3])) + 1)
        rows[1] = cells.joined(separator: ",")
        try rows.joined(separator: "\r\n").write(toFile: revenuePath, atomically: true, encoding: .utf8)
        let refused = try await Executables.launch("pdx-verify", [root + "/audit", "--vkey", root + "/vkey", "--disclosure-report", announcement])
        #expect(refused.status == 1)
        #expect(refused.output.contains("pdx-verify: FAIL disclosure_report_differs at \(revenuePath): line 2 "), "\(refused.output)")

        let integrityOnly = try await Executables.launch("pdx-verify", [root + "/audit", "--integrity-only", "--disclosure-report", announcement])
        #expect(integrityOnly.status == 2)
        let notOne = try await Executables.launch("pdx-verify", [root + "/audit", "--disclosure-report", root + "/data"])
        #expect(notOne.status == 2)
    }
}
