import Foundation
import PDXTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension ServerProcess {
    /// POSTs a JSON body with the bearer key.
    func post(_ path: String, key: String, body: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Creates an authority, then waits (bounded) for the server's timer to sign a checkpoint
    /// covering it, and returns that note.
    func writeAndAwaitCheckpoint(key: String, authority: String) async throws -> String {
        let (_, before) = try await get("/v1/audit/checkpoint", key: key)
        let size = Int(before.split(separator: "\n")[1]) ?? 0
        let (status, body) = try await post("/v1/authorities", key: key,
                                            body: #"{"id":"\#(authority)","name":"\#(authority)","region":"\#(authority)"}"#)
        #expect(status == 201, "\(body)")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (_, note) = try await get("/v1/audit/checkpoint", key: key)
            if let signed = Int(note.split(separator: "\n")[1]), signed > size { return note }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("no checkpoint covered the write within 30 s")
        throw CancellationError()
    }

    /// Waits (bounded) for the process to exit by itself and returns its status and output.
    func awaitExit(timeout: Duration = .seconds(60)) async throws -> (Int32, String) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!process.isRunning, "pdx serve did not exit")
        if process.isRunning { _ = await stopped() }
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}

/// The signature lines of a serialized note.
private func signatureLines(_ note: String) -> [Substring] {
    note.split(separator: "\n").filter { $0.hasPrefix("\u{2014} ") }
}

@Suite("Rotating the signing key with the real executables", .serialized)
struct KeyRotationCommandTests {
    @Test(arguments: EndToEndTests.backends)
    func rotateWhileServingAndVerifyAcrossTheRotation(databaseURL: String?) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-rotate-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let data = path("data")
        var storage = ["--data-dir", data]
        var schemaURL: String?
        if let databaseURL {
            let schema = "rot_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            schemaURL = databaseURL + (databaseURL.contains("?") ? "&" : "?") + "schema=\(schema)"
            storage += ["--database-url", schemaURL!]
        }
        func pdx(_ arguments: [String]) async throws -> Executables.Run { try await Executables.launch("pdx", arguments + storage) }
        func verify(_ arguments: [String]) async throws -> Executables.Run { try await Executables.launch("pdx-verify", arguments) }

        var server = try ServerProcess(arguments: storage + ["--checkpoint-seconds", "1"])
        try await server.waitUntilReady()
        let token = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await server.writeAndAwaitCheckpoint(key: token, authority: "bj")

        // Before: an export and the one key, as an auditor keeps them.
        #expect(try await pdx(["audit", "export", "--out", path("e0")]).status == 0)
        let oldKey = try await pdx(["audit", "vkey"]).output
        #expect(oldKey.split(separator: "\n").count == 1)
        try oldKey.write(toFile: path("old.vkey"), atomically: true, encoding: .utf8)

        // Begin while the server runs; a second begin and a finish-less start are refused.
        let begun = try await pdx(["audit", "key", "begin"])
        #expect(begun.status == 0, "\(begun.error)")
        #expect(begun.output.contains("log.key_added"))
        let twice = try await pdx(["audit", "key", "begin"])
        #expect(twice.status != 0)
        #expect(twice.error.contains("key_rotation_in_progress"), "\(twice.error)")

        let bothKeys = try await pdx(["audit", "vkey"]).output
        let keyLines = bothKeys.split(separator: "\n")
        #expect(keyLines.count == 2)
        #expect(keyLines.first.map(String.init) == oldKey.split(separator: "\n").first.map(String.init))
        try (String(keyLines[1]) + "\n").write(toFile: path("new.vkey"), atomically: true, encoding: .utf8)

        // The server restarted with both key files signs with both.
        #expect(await server.stopped() == 0)
        server = try ServerProcess(arguments: storage + ["--checkpoint-seconds", "1"])
        try await server.waitUntilReady()
        let during = try await server.writeAndAwaitCheckpoint(key: token, authority: "tj")
        #expect(signatureLines(during).count == 2, "\(during)")

        // During the rollover an export verifies with either key alone.
        #expect(try await pdx(["audit", "export", "--out", path("e1")]).status == 0)
        let e1 = try String(contentsOfFile: path("e1/checkpoint"), encoding: .utf8)
        #expect(signatureLines(e1).count == 2)
        for key in ["old.vkey", "new.vkey"] {
            let run = try await verify([path("e1"), "--vkey", path(key), "--previous", path("e0")])
            #expect(run.status == 0, "\(key): \(run.output)")
        }
        #expect(await server.stopped() == 0)

        let finished = try await pdx(["audit", "key", "finish"])
        #expect(finished.status == 0, "\(finished.error)")
        #expect(finished.output.contains("log.key_retired"))
        #expect(FileManager.default.fileExists(atPath: data + "/signing-key.retired-\(oldKey.split(separator: "+")[1]).pem"))
        let again = try await pdx(["audit", "key", "finish"])
        #expect(again.status != 0)
        #expect(again.error.contains("no_key_rotation"), "\(again.error)")
        #expect(try await pdx(["audit", "vkey"]).output == String(keyLines[1]) + "\n")

        // After: the server signs with the new key alone.
        server = try ServerProcess(arguments: storage + ["--checkpoint-seconds", "1"])
        try await server.waitUntilReady()
        let after = try await server.writeAndAwaitCheckpoint(key: token, authority: "hb")
        #expect(signatureLines(after).count == 1, "\(after)")
        #expect(await server.stopped() == 0)

        #expect(try await pdx(["audit", "export", "--out", path("e2")]).status == 0)
        let withNew = try await verify([path("e2"), "--vkey", path("new.vkey"), "--previous", path("e0")])
        #expect(withNew.status == 0, "\(withNew.output)")
        #expect(withNew.output.contains("found nothing unlawful"), "\(withNew.output)")
        #expect(try await verify([path("e2"), "--vkey", path("new.vkey"), "--previous", path("e1")]).status == 0)
        let withOld = try await verify([path("e2"), "--vkey", path("old.vkey")])
        #expect(withOld.status == 1)
        #expect(withOld.output.hasPrefix("pdx-verify: FAIL checkpoint_key_unknown"), "\(withOld.output)")
        #expect(withOld.output.contains("log.key_added"), "\(withOld.output)")

        // A data directory whose signing key is another one: the server refuses to start.
        let foreign = path("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        if databaseURL == nil {
            try FileManager.default.copyItem(atPath: data + "/pdx.sqlite", toPath: foreign + "/pdx.sqlite")
        }
        var foreignStorage = ["--data-dir", foreign]
        if let schemaURL { foreignStorage += ["--database-url", schemaURL] }
        let refused = try ServerProcess(arguments: foreignStorage)
        let (status, output) = try await refused.awaitExit()
        #expect(status != 0)
        #expect(output.contains("signing_key_unknown"), "\(output)")
    }
}
