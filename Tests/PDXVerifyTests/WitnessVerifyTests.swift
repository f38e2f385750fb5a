import AuditLog
import Cryptography
import Foundation
import PDXTesting
import Testing

/// `pdx-verify --witness … --min-witnesses K`: an export counts only with K valid cosignatures.
@Suite struct WitnessVerifyTests {
    /// An export of `size` lawful entries whose checkpoint carries cosignatures by `cosigners`
    /// (and `forged` lines by further keys that do not verify).
    final class CosignedExport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-verify-witness-\(UUID().uuidString)").path
        let keyFile: String
        let note: SignedNote

        init(size: Int, cosigners: [CosignatureSigner], forged: [CosignatureSigner] = []) throws {
            let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
            keyFile = directory + ".vkey"
            let writer = try TlogTilesWriter(directory: directory)
            var builder = TileBuilder()
            for i in 0..<size {
                let from = Timestamp.format(Int64(i) * 1000 + 1_767_225_600_000)
                let to = Timestamp.format(Int64(i + 1) * 1000 + 1_767_225_600_000)
                let entry = Array(("{\"action\":\"test_clock.advanced\",\"actor\":\"system\",\"data\":{\"from\":\"\(from)\",\"to\":\"\(to)\"},"
                    + "\"seq\":\(i),\"subjects\":[],\"time\":\"\(from)\"}").utf8)
                try writer.append(entry: entry)
                _ = builder.append(entry: entry)
            }
            let signed = try Checkpoint(origin: signer.name, size: UInt64(size), rootHash: builder.root()).sign(with: [signer])
            var lines = try cosigners.map { try $0.cosign(signed.text, time: 1_790_000_000) }
            for key in forged {
                var line = try key.cosign(signed.text, time: 1_790_000_000)
                line.signature[20] ^= 1
                lines.append(line)
            }
            note = signed.adding(lines)
            try writer.finish(checkpoint: note, verifierKey: signer.verifierKey)
            try (signer.verifierKey + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: keyFile)
        }
    }

    static func witness(_ name: String) throws -> CosignatureSigner {
        try CosignatureSigner(name: "witness.\(name).example/pdx", key: Ed25519PrivateKey())
    }

    @Test func kValidCosignaturesPassFewerFail() async throws {
        let (bj, tj, he) = (try Self.witness("bj"), try Self.witness("tj"), try Self.witness("he"))
        let export = try CosignedExport(size: 20, cosigners: [bj, tj])
        let keys = [bj, tj, he].flatMap { ["--witness", $0.verifierKey] }

        let two = try await Tool.run([export.directory, "--vkey", export.keyFile, "--min-witnesses", "2"] + keys)
        #expect(two.status == 0, "\(two.standardOutput)\(two.standardError)")
        #expect(two.standardOutput.contains("Cosigned by 2 of 3 witnesses (2 needed): witness.bj.example/pdx"))

        let all = try await Tool.run([export.directory, "--vkey", export.keyFile] + keys)
        #expect(all.status == 1)
        #expect(all.standardOutput.contains("FAIL too_few_cosignatures"))
        #expect(all.standardOutput.contains(he.verifier.keyDescription))

        let json = try await Tool.run([export.directory, "--vkey", export.keyFile, "--min-witnesses", "3", "--format", "json"] + keys)
        #expect(json.status == 1)
        #expect(json.standardOutput.contains("\"too_few_cosignatures\""))
        // Without a pinned log key a witnessed export still exits 3, never 0.
        #expect(try await Tool.run([export.directory, "--min-witnesses", "1"] + keys).status == 3)
    }

    @Test func aCosignatureThatDoesNotVerifyIsAFinding() async throws {
        let (bj, tj) = (try Self.witness("bj"), try Self.witness("tj"))
        let export = try CosignedExport(size: 5, cosigners: [bj], forged: [tj])
        let run = try await Tool.run([export.directory, "--vkey", export.keyFile, "--witness", bj.verifierKey,
                                      "--witness", tj.verifierKey, "--min-witnesses", "1"])
        #expect(run.status == 1)
        #expect(run.standardOutput.contains("FAIL cosignature_invalid"))
        // Lines by witnesses the auditor did not name are ignored, forged or not.
        #expect(try await Tool.run([export.directory, "--vkey", export.keyFile, "--witness", bj.verifierKey]).status == 0)
    }

    @Test func badWitnessArgumentsAreUsageErrors() async throws {
        let bj = try Self.witness("bj")
        let export = try CosignedExport(size: 1, cosigners: [bj])
        let logKey = try String(contentsOfFile: export.keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for arguments in [["--witness", "nonsense"], ["--witness", logKey], ["--min-witnesses", "1"],
                          ["--witness", bj.verifierKey, "--min-witnesses", "2"], ["--witness", bj.verifierKey, "--min-witnesses", "0"]] {
            let run = try await Tool.run([export.directory, "--vkey", export.keyFile] + arguments)
            #expect(run.status == 2, "\(arguments): \(run.standardOutput)\(run.standardError)")
        }
    }
}
