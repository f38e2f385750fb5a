import AuditLog
import Cryptography
import Foundation
import PDXTesting
import Testing

/// `pdx witness` and `pdx serve --witness` as separate processes, as an authority and the platform
/// run them: the server gets its checkpoints cosigned, the witness killed and restarted keeps its
/// state, and the server catches it up meanwhile without stopping.
@Suite("Witness processes", .serialized)
struct WitnessProcessTests {
    /// A `pdx witness` process on a free port, its output in a file.
    final class WitnessProcess: @unchecked Sendable {
        let child = ChildProcess()
        let port: Int
        let log: URL

        init(state: String, logKey: String, port: Int? = nil) throws {
            self.port = try port ?? ServerProcess.freePort()
            log = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-witness-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            child.process.executableURL = try #require(Executables.url("pdx"), "pdx is not built")
            child.process.arguments = ["witness", "--state", state, "--name", "witness.tj.example/pdx", "--log", logKey,
                                       "--port", String(self.port)]
            let handle = try FileHandle(forWritingTo: log)
            child.process.standardOutput = handle
            child.process.standardError = handle
            try child.run()
        }

        func waitUntilReady() async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if let (status, _) = try? await HTTP.send("GET", port: port, "/healthz", key: nil), status == 200 { return }
                guard child.process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("pdx witness did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            throw CancellationError()
        }

        deinit {
            child.kill()
            try? FileManager.default.removeItem(at: log)
        }
    }

    /// Polls the server's public checkpoint until it is of at least `size` entries and cosigned by
    /// `witness`; returns its size.
    static func cosignedCheckpoint(_ server: ServerProcess, by witness: CosignatureVerifier, atLeast size: UInt64) async throws -> UInt64 {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let (status, text) = try? await server.get("/tlog/checkpoint"), status == 200, let note = try? SignedNote.parse(text),
               let checkpoint = try? Checkpoint.parse(note.text), checkpoint.size >= size, !note.cosignatures(by: [witness]).valid.isEmpty {
                return checkpoint.size
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("no checkpoint of \(size) entries or more was cosigned: \(server.output)")
        throw CancellationError()
    }

    @Test func aServerGetsItsCheckpointsCosignedAndARestartedWitnessCatchesUp() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-witnessing-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        let state = root.appendingPathComponent("witness").path

        let vkey = try await Executables.launch("pdx", ["witness", "--state", state, "--name", "witness.tj.example/pdx", "--print-vkey"])
        #expect(vkey.status == 0, "\(vkey.error)")
        let witnessKey = try CosignatureVerifier(verifierKey: vkey.output.trimmingCharacters(in: .whitespacesAndNewlines))
        let keyMode = try FileManager.default.attributesOfItem(atPath: state + "/signing-key.pem")[.posixPermissions] as? Int
        #expect(keyMode.map { $0 & 0o777 } == 0o600)

        // The log's key exists once the server has started.
        let first = try ServerProcess(arguments: ["--data-dir", data])
        try await first.waitUntilReady()
        #expect(await first.stopped() == 0)
        let logKey = try await Executables.launch("pdx", ["audit", "vkey", "--data-dir", data]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let witness = try WitnessProcess(state: state, logKey: logKey)
        try await witness.waitUntilReady()
        let server = try ServerProcess(arguments: ["--data-dir", data, "--checkpoint-seconds", "1",
                                                   "--witness", "http://127.0.0.1:\(witness.port),\(witnessKey.verifierKey)"])
        try await server.waitUntilReady("/readyz")
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let cosigned = try await Self.cosignedCheckpoint(server, by: witnessKey, atLeast: 1)

        // The witness goes down; the marketplace goes on.
        witness.child.kill()
        _ = await witness.child.exit()
        for n in 0..<3 {
            let (status, _) = try await HTTP.send("POST", port: server.port, "/v1/authorities", key: admin,
                                                  body: #"{"id": "w\#(n)", "name": "Authority \#(n)", "region": "Region \#(n)"}"#)
            #expect(status == 201)
        }
        // Back on the same state and port: it remembers what it cosigned, and is caught up.
        let restarted = try WitnessProcess(state: state, logKey: logKey, port: witness.port)
        try await restarted.waitUntilReady()
        let caughtUp = try await Self.cosignedCheckpoint(server, by: witnessKey, atLeast: cosigned + 3)
        let stored = try JSONDecoder().decode([String: WitnessedCheckpoint].self,
                                              from: Data(contentsOf: URL(fileURLWithPath: state + "/" + WitnessStateFile.fileName)))
        #expect(stored.values.first?.size ?? 0 >= caughtUp)
        #expect(await server.stopped() == 0)

        // The cosigned export verifies with the witness's key.
        let export = root.appendingPathComponent("export").path
        let exported = try await Executables.launch("pdx", ["audit", "export", "--cosigned", "--data-dir", data, "--out", export])
        #expect(exported.status == 0, "\(exported.error)")
        let verified = try await Executables.launch("pdx-verify", [export, "--witness", witnessKey.verifierKey, "--integrity-only"])
        #expect(verified.status == 3, "\(verified.output)")
        #expect(verified.output.contains("Cosigned by 1 of 1 witnesses"))
    }
}
