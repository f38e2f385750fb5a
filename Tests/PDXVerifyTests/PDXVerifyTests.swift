import AuditLog
import Cryptography
import Foundation
import PDXTesting
import Testing

/// The built `pdx-verify`, run as an auditor would run it.
enum Tool {
    static let executable: URL? = Executables.url("pdx-verify")

    struct Run {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    struct NotBuilt: Error {}

    static func run(_ arguments: [String]) async throws -> Run {
        guard let executable else { throw NotBuilt() }
        let run = try await Executables.launchTool(executable.path, arguments)
        return Run(status: run.status, standardOutput: run.output, standardError: run.error)
    }
}

/// A temporary export of `size` canonical entries, and a key file for it.
private final class Export {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-verify-\(UUID().uuidString)").path
    let signer: NoteSigner
    let keyFile: String

    /// `forking` replaces that entry with another, as a rewritten history would; `signer` defaults to a new key.
    init(size: Int, checkpointSize: Int? = nil, signer: NoteSigner? = nil, forking: Int? = nil) throws {
        self.signer = try signer ?? NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        keyFile = directory + ".vkey"
        let writer = try TlogTilesWriter(directory: directory)
        var builder = TileBuilder()
        for i in 0..<size {
            let entry = i == forking ? Array(String(decoding: Self.entry(i), as: UTF8.self)
                .replacingOccurrences(of: "\"system\"", with: "\"forger\"").utf8) : Self.entry(i)
            try writer.append(entry: entry)
            _ = builder.append(entry: entry)
        }
        let checkpoint = Checkpoint(origin: self.signer.name, size: UInt64(size), rootHash: builder.root())
        try writer.finish(checkpoint: try checkpoint.sign(with: [self.signer]), verifierKey: self.signer.verifierKey)
        try (self.signer.verifierKey + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: keyFile)
    }

    /// A lawful entry the replay accepts anywhere: a test clock moving by one second.
    static func entry(_ i: Int) -> [UInt8] {
        let from = Timestamp.format(Int64(i) * 1000 + 1_767_225_600_000)
        let to = Timestamp.format(Int64(i + 1) * 1000 + 1_767_225_600_000)
        return Array(("{\"action\":\"test_clock.advanced\",\"actor\":\"system\",\"data\":{\"from\":\"\(from)\",\"to\":\"\(to)\"},"
            + "\"seq\":\(i),\"subjects\":[],\"time\":\"\(from)\"}").utf8)
    }

    func replaceCheckpoint(size: Int, signer: NoteSigner) throws {
        var builder = TileBuilder()
        for i in 0..<size { _ = builder.append(entry: Self.entry(i)) }
        let note = try Checkpoint(origin: signer.name, size: UInt64(size), rootHash: builder.root()).sign(with: [signer])
        try note.serialized.write(toFile: directory + "/checkpoint", atomically: true, encoding: .utf8)
    }
}

@Suite struct PDXVerifyCommandTests {
    @Test(arguments: [0, 300])
    func aGoodExportWithAPinnedKeyExitsZeroWithASummary(size: Int) async throws {
        let export = try Export(size: size)
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 0, "\(run.standardOutput)\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(run.standardOutput.hasPrefix("pdx-verify: OK."))
        #expect(lines.last?.hasPrefix("pdx-verify: OK. Replayed all \(size) entries") == true, "\(lines)")
        #expect(run.standardOutput.contains("log \"pdx.example/audit\""))
        #expect(run.standardOutput.contains(size == 0 ? "0 entries" : "300 entries"))
        #expect(run.standardOutput.contains(export.signer.verifier.keyDescription + ", pinned with --vkey"))
        let checkpoint = try Checkpoint.parse(try SignedNote.parse(String(contentsOfFile: export.directory + "/checkpoint", encoding: .utf8)).text)
        #expect(run.standardOutput.contains(Base64.encode(checkpoint.rootHash.bytes)))
        // Progress goes to a terminal only; here stderr is a pipe.
        #expect(run.standardError.isEmpty)
    }

    @Test(arguments: [0, 300])
    func withoutVkeyTheOwnKeyIsUsedSaidSoAndTheExitIsThree(size: Int) async throws {
        let export = try Export(size: size)
        for extra in [[], ["--integrity-only"]] {
            let run = try await Tool.run([export.directory] + extra)
            #expect(run.status == 3, "\(extra) \(run.standardOutput)\(run.standardError)")
            #expect(run.standardOutput.contains("using the export's own vkey (not pinned)"))
            #expect(run.standardOutput.contains("the exit status is 3, not 0"))
        }
    }

    @Test func aForgedExportWithItsOwnKeyNeverExitsZero() async throws {
        let export = try Export(size: 20)
        // The forger signs with a key of its own and ships that key as the export's vkey.
        let forger = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        try export.replaceCheckpoint(size: 20, signer: forger)
        try (forger.verifierKey + "\n").write(toFile: export.directory + "/vkey", atomically: true, encoding: .utf8)
        #expect(try await Tool.run([export.directory]).status == 3)
        #expect(try await Tool.run([export.directory, "--vkey", export.keyFile]).status == 1)
    }

    @Test func aTamperedExportExitsOneNamingTheFirstBadEntry() async throws {
        let export = try Export(size: 300)
        let path = export.directory + "/tile/entries/000"
        var bundle = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Swap entries 10 and 11: all entries here have the same length until seq gains a digit.
        let length = Export.entry(10).count + 2
        let start = (0..<10).reduce(0) { $0 + Export.entry($1).count + 2 }
        let first = Array(bundle[start..<(start + length)])
        bundle.replaceSubrange(start..<(start + length), with: bundle[(start + length)..<(start + 2 * length)])
        bundle.replaceSubrange((start + length)..<(start + 2 * length), with: first)
        try Data(bundle).write(to: URL(fileURLWithPath: path))

        let run = try await Tool.run([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 1)
        #expect(run.standardOutput.split(separator: "\n").count == 1)
        #expect(run.standardOutput.hasPrefix("pdx-verify: FAIL entry_sequence_mismatch at entry 10: "))
    }

    @Test func aCheckpointByAnotherKeyFailsAgainstThePinnedKey() async throws {
        let export = try Export(size: 20)
        let impostor = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        try export.replaceCheckpoint(size: 20, signer: impostor)
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 1)
        #expect(run.standardOutput.hasPrefix("pdx-verify: FAIL checkpoint_key_unknown at checkpoint: "))
    }

    @Test func anOlderCheckpointOverANewerExportFails() async throws {
        let export = try Export(size: 300)
        try export.replaceCheckpoint(size: 200, signer: export.signer)
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 1)
        #expect(run.standardOutput.hasPrefix("pdx-verify: FAIL unexpected_file at tile/"))
    }

    @Test(arguments: [(40, 300), (300, 300), (0, 3)])
    func anExportExtendingThePreviousOneSaysSo(previousSize: Int, size: Int) async throws {
        let export = try Export(size: size)
        let previous = try Export(size: previousSize, signer: export.signer)
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile, "--previous", previous.directory])
        #expect(run.status == 0, "\(run.standardOutput)\(run.standardError)")
        // The export's line, then the replay's.
        #expect(run.standardOutput.split(separator: "\n").count == 2)
        #expect(run.standardOutput.hasPrefix("pdx-verify: OK."))
        #expect(run.standardOutput.contains(". It extends the previous export in \(previous.directory) of \(previousSize) entries, "))
        #expect(run.standardOutput.contains(export.signer.verifier.keyDescription + ", pinned with --vkey ("))
        if previousSize == 40 { #expect(run.standardOutput.contains("(consistency proof from 40 to 300 entries verified).\n")) }
        if previousSize == size { #expect(run.standardOutput.contains("(it is the same tree).\n")) }
    }

    @Test func withoutVkeyThePreviousExportsOwnKeyIsUsedAndSaidSo() async throws {
        let export = try Export(size: 300)
        let previous = try Export(size: 256, signer: export.signer)
        let run = try await Tool.run([export.directory, "--previous", previous.directory])
        #expect(run.status == 3, "\(run.standardOutput)\(run.standardError)")
        #expect(run.standardOutput.contains("using that export's own vkey (not pinned) (consistency proof from 256 to 300 entries verified)."))
    }

    @Test func aRewrittenHistoryExitsOneNamingTheEntry() async throws {
        let export = try Export(size: 300)
        let forked = try Export(size: 40, signer: export.signer, forking: 17)
        let alone = try await Tool.run([forked.directory, "--vkey", export.keyFile])
        #expect(alone.status == 0, "the fork verifies on its own")

        let run = try await Tool.run([export.directory, "--vkey", export.keyFile, "--previous", forked.directory])
        #expect(run.status == 1)
        #expect(run.standardOutput.split(separator: "\n").count == 1)
        #expect(run.standardOutput.hasPrefix("pdx-verify: FAIL history_rewritten at entry 17: the previous export's entry 17 "
            + "differs from this export's; the log was rewritten after the previous checkpoint (size 40, root "))
    }

    @Test func aPreviousExportThatIsLargerOrBrokenExitsOne() async throws {
        let export = try Export(size: 30)
        let larger = try Export(size: 31, signer: export.signer)
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile, "--previous", larger.directory])
        #expect(run.status == 1)
        #expect(run.standardOutput.hasPrefix("pdx-verify: FAIL previous_larger at previous: checkpoint: "))

        try FileManager.default.removeItem(atPath: larger.directory + "/tile/entries/000.p/31")
        let broken = try await Tool.run([export.directory, "--vkey", export.keyFile, "--previous", larger.directory])
        #expect(broken.status == 1)
        #expect(broken.standardOutput.hasPrefix("pdx-verify: FAIL bundle_missing at previous: tile/entries/000.p/31: "))
    }

    @Test func usageErrorsExitTwo() async throws {
        let export = try Export(size: 0)
        let garbage = export.directory + "/../pdx-verify-garbage-\(UUID().uuidString)"
        try "not a key\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        for arguments in [
            [], [export.directory + "/missing"], [export.directory, "--vkey", export.directory + "/missing.vkey"],
            [export.directory, "--vkey", garbage], [export.directory, "--unknown"], [export.directory, "--vkey"],
            [export.directory, "--previous", export.directory + "/missing"], [export.directory, "--previous", garbage],
            [export.directory, "--previous"],
        ] {
            let run = try await Tool.run(arguments)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.standardOutput.isEmpty, "\(arguments)")
            #expect(run.standardError.contains("pdx-verify <directory> [--vkey <file>]"), "\(arguments)")
        }
        let help = try await Tool.run(["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("--vkey"))
        #expect(help.standardOutput.contains("--previous <directory>"))
        let words = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("3 when everything verifies but only against the export's own vkey"), "\(words)")
    }
}
