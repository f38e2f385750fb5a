import AuditLog
import Cryptography
import Foundation
import PDXTesting
import SampleLog
import Testing

/// `pdx-verify` on the generated year-scale log, and its duplicate finding when the event ids are
/// spilled to the temporary directory in many runs: same answer, nothing left behind.
@Suite struct YearScaleReplayTests {
    /// A fresh directory, removed at the end of the test.
    final class Directory {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-year-\(UUID().uuidString)").path

        init(create: Bool = true) throws {
            if create { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        }

        var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["<unreadable>"] }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func theGeneratedLogReplaysWithoutAFinding() async throws {
        let export = try Directory(create: false)
        let summary = try SampleLog.write(events: 6_000, to: export.path, seed: 7)
        #expect(summary.usageEvents == 6_000)
        #expect(summary.usageEntries >= 6_000 / 900 && summary.usageEntries <= 6_000 / 100)
        #expect(summary.operators == 4 && summary.rejectedOperators == 0)
        #expect(summary.grants >= 4)
        let temporary = try Directory()
        // Runs of 500 ids: the replay spills a dozen and merges them.
        let run = try await Tool.run([export.path, "--vkey", export.path + "/vkey", "--temp-dir", temporary.path,
                                      "--event-id-run-records", "500"])
        #expect(run.status == 0, "\(run.standardOutput)\(run.standardError)")
        #expect(run.standardOutput.contains("pdx-verify: OK. The export in \(export.path) verifies"))
        #expect(run.standardOutput.contains("6,000"), "\(run.standardOutput)")
        #expect(!run.standardOutput.contains("FAIL"))
        #expect(temporary.contents.isEmpty)
    }

    @Test func theSameSeedWritesTheSameLog() throws {
        let first = try Directory(create: false)
        let second = try Directory(create: false)
        let a = try SampleLog.write(events: 1_500, to: first.path, seed: 3)
        let b = try SampleLog.write(events: 1_500, to: second.path, seed: 3)
        #expect(a.verifierKey == b.verifierKey)
        let checkpoint = { (path: String) in try String(contentsOfFile: path + "/checkpoint", encoding: .utf8) }
        #expect(try checkpoint(first.path) == checkpoint(second.path))
    }

    /// An export of `fixture`'s entries, signed by a fresh key.
    static func export(_ fixture: LogFixture, into directory: String) throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let writer = try TlogTilesWriter(directory: directory)
        var builder = TileBuilder()
        for entry in try fixture.encoded() {
            try writer.append(entry: entry)
            _ = builder.append(entry: entry)
        }
        let checkpoint = Checkpoint(origin: signer.name, size: UInt64(fixture.entries.count), rootHash: builder.root())
        try writer.finish(checkpoint: try checkpoint.sign(with: [signer]), verifierKey: signer.verifierKey)
    }

    @Test(arguments: ["text", "json"])
    func aDuplicateAcrossRunsIsRefusedAndNoFileIsLeft(format: String) async throws {
        var fixture = try LogFixture()
        let start = LogFixture.octoberStart.addingTimeInterval(3_600)
        for batch in 0..<6 {
            let at = start.addingTimeInterval(Double(batch))
            fixture.usage((0..<5).map { ("e-\(batch)-\($0)", 1, at) }, at: at)
        }
        let at = start.addingTimeInterval(10)
        fixture.usage([("late", 1, at), ("e-0-3", 1, at)], at: at)
        let duplicateAt = fixture.entries.count - 1
        let export = try Directory(create: false)
        try Self.export(fixture, into: export.path)
        let temporary = try Directory()
        let run = try await Tool.run([export.path, "--vkey", export.path + "/vkey", "--temp-dir", temporary.path,
                                      "--event-id-run-records", "4", "--format", format])
        #expect(run.status == 1, "\(run.standardOutput)\(run.standardError)")
        let reason = "event e-0-3 of gr_1/bj-open/call: operator op_1 already had an event e-0-3 counted"
        if format == "text" {
            #expect(run.standardOutput.contains("pdx-verify: FAIL usage_duplicate at entry \(duplicateAt): \(reason)"), "\(run.standardOutput)")
        } else {
            let document = try JSONValue.parse(Array(run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
            let finding = try #require(document["findings"]?.arrayValue?.first, "\(run.standardOutput)")
            #expect(finding["code"]?.stringValue == "usage_duplicate")
            #expect(finding["entry_index"]?.integerValue == duplicateAt)
            #expect(finding["reason"]?.stringValue == reason)
            #expect(document["findings"]?.arrayValue?.count == 1)
        }
        #expect(temporary.contents.isEmpty)
    }

    @Test func aTemporaryDirectoryThatIsNoDirectoryIsAUsageError() async throws {
        let export = try Directory(create: false)
        _ = try SampleLog.write(events: 200, to: export.path)
        let missing = try Directory(create: false)
        let run = try await Tool.run([export.path, "--vkey", export.path + "/vkey", "--temp-dir", missing.path])
        #expect(run.status == 2)
        #expect(run.standardError.contains("--temp-dir \(missing.path) is not a directory"))
    }
}
