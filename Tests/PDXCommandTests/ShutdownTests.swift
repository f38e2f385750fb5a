import Foundation
import PDXTesting
import Testing

/// The storage arguments of a fresh marketplace under `root`: SQLite, or a new schema on PostgreSQL.
private func storageArguments(root: URL, databaseURL: String?) -> [String] {
    var storage = ["--data-dir", root.appendingPathComponent("data").path]
    if let databaseURL {
        let schema = "stop_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        storage += ["--database-url", databaseURL + (databaseURL.contains("?") ? "&" : "?") + "schema=\(schema)"]
    }
    return storage
}

@Suite("pdx serve: stopping, and refusing to start", .serialized)
struct ShutdownTests {
    @Test("SIGTERM with usage batches in flight: each is answered 200, exit 0, the final checkpoint covers the whole log",
          arguments: EndToEndTests.backends)
    func gracefulShutdownAnswersInFlightBatches(databaseURL: String?) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-stop-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let storage = storageArguments(root: root, databaseURL: databaseURL)
        // No checkpoint by count or age while the test runs: only the one signed at shutdown can
        // cover the batches.
        let quiet = ["--checkpoint-entries", "1000000", "--checkpoint-seconds", "3600"]
        let server = try ServerProcess(arguments: storage + quiet)
        try await server.waitUntilReady()
        let admin = try String(contentsOfFile: storage[1] + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let market = try await LiveMarket.setUp(port: server.port, admin: admin)

        let batches = 4
        let events = 4000
        // After the grant took effect (usage before it is refused), in whole seconds.
        let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
        let bodies = market.batches(batches, of: events, prefix: "b", quantity: 1, time: time).map(\.body)
        let answers = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for body in bodies {
                    group.addTask {
                        let (status, data) = try await HTTP.send("POST", port: server.port, "/v1/usage",
                                                                 key: market.operatorKey, body: body)
                        let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
                        if answer["accepted"] as? Int != events {
                            Issue.record("\((answer["results"] as? [[String: Any]])?.first ?? answer)")
                        }
                        return (status, answer["accepted"] as? Int ?? -1)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        // SIGTERM once the server has every batch's request in hand (the gauge counts requests
        // whose head arrived; those are answered before the server stops).
        let deadline = ContinuousClock.now + .seconds(30)
        var inFlight = 0
        while ContinuousClock.now < deadline {
            let (_, metrics) = try await server.get("/metrics")
            inFlight = metrics.split(separator: "\n")
                .first { $0.hasPrefix("pdx_http_active_requests ") }
                .flatMap { $0.split(separator: " ").last.flatMap { Int(Double($0) ?? -1) } } ?? 0
            if inFlight >= batches { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(inFlight >= batches, "the batches were not all in flight together")
        let status = await server.stopped()
        let results = try await answers.value
        #expect(status == 0)
        #expect(results.map(\.0) == Array(repeating: 200, count: batches), "\(results)")
        #expect(results.map(\.1) == Array(repeating: events, count: batches))

        // Open the data again, with no checkpoint due, and compare the latest checkpoint with the log.
        let again = try ServerProcess(arguments: storage + quiet)
        try await again.waitUntilReady()
        let (checkpointStatus, note) = try await again.get("/v1/audit/checkpoint", key: admin)
        #expect(checkpointStatus == 200)
        let checkpointSize = try #require(Int(note.split(separator: "\n")[1]))
        let (_, metrics) = try await again.get("/metrics")
        let logSize = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("pdx_log_entries ") }
            .flatMap { Int(Double($0.split(separator: " ")[1]) ?? -1) })
        #expect(checkpointSize == logSize, "the final checkpoint covers every acknowledged batch")
        #expect(logSize > batches, "the batches' entries are in the log")
        #expect(await again.stopped() == 0)
    }

    @Test("an unusable data directory: one line naming the path and the reason, a non-zero exit", arguments: [
        "file", "parent-file", "read-only",
    ])
    func unusableDataDirectory(kind: String) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-unusable-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("a-file").path
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: file))
        let (path, reason) = switch kind {
        case "file": (file, "is not a directory")
        case "parent-file": (file + "/data", "is not a directory")
        // sysfs refuses new directories even to root, who ignores file modes.
        default: ("/sys/pdx-\(UUID().uuidString.prefix(8))", "Operation not permitted")
        }
        let run = try await Executables.launch("pdx", ["serve", "--port", "0", "--data-dir", path])
        #expect(run.status != 0)
        let lines = run.error.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 1, "\(run.error)")
        #expect(lines.first?.contains(path) == true, "\(run.error)")
        #expect(lines.first?.contains(reason) == true, "\(run.error)")
        #expect(!run.output.contains("Fatal error"))
    }

    @Test("a stop that cannot finish ends at --shutdown-timeout with status 70, naming what it still waited for")
    func stopIsBounded() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-stuck-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let storage = storageArguments(root: root, databaseURL: nil)
        let settings = ["--checkpoint-entries", "1000000", "--checkpoint-seconds", "3600",
                        "--shutdown-timeout", "2", "--database-timeout", "120"]
        let server = try ServerProcess(arguments: storage + settings)
        try await server.waitUntilReady("/readyz")
        let admin = try String(contentsOfFile: storage[1] + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // An entry no checkpoint covers yet: the stop must sign one.
        let (created, _) = try await HTTP.send("POST", port: server.port, "/v1/authorities", key: admin,
                                               body: #"{"id":"bj","name":"Beijing","region":"Beijing"}"#)
        #expect(created == 201)

        // Another process holds SQLite's write lock, so the final checkpoint waits for it (up to the
        // 120 s database timeout), as a stop waits on anything that never answers.
        let holder = SpawnedProcess()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            time.sleep(60)
            """, storage[1] + "/pdx.sqlite"]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        // Read on a thread of its own: a blocking read must not hold one of the few shared threads.
        let said = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: pipe.fileHandleForReading.availableData) }
        }
        #expect(String(decoding: said, as: UTF8.self).hasPrefix("locked"))

        let started = ContinuousClock.now
        let status = await server.stopped()
        let took = ContinuousClock.now - started
        #expect(status == 70, "\(server.output)")
        #expect(took < .seconds(45), "the stop took \(took)")  // Unbounded, it would wait the 60 s the lock is held.
        let line = server.output.split(separator: "\n").first { $0.contains("still_waiting_for") }
        #expect(line?.contains("checkpoints") == true, "\(server.output)")
    }

    @Test("--tls-cert and --tls-key serve HTTPS; plain HTTP on that port gets no answer")
    func servesTLS() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let certificate = root.appendingPathComponent("chain.pem").path
        let key = root.appendingPathComponent("key.pem").path
        let made = try await Executables.launchTool("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", certificate,
        ])
        #expect(made.status == 0, "\(made.error)")

        let half = try await Executables.launch("pdx", ["serve", "--port", "0", "--data-dir", root.appendingPathComponent("data").path,
                                                "--tls-cert", certificate])
        #expect(half.status != 0)
        #expect(half.error.contains("--tls-key"), "\(half.error)")

        let server = try ServerProcess(arguments: ["--data-dir", root.appendingPathComponent("data").path,
                                                   "--tls-cert", certificate, "--tls-key", key])
        defer { server.process.terminate() }
        var answer = Executables.Run(status: -1, output: "", error: "")
        for _ in 0..<200 {
            answer = try await Executables.launchTool("/usr/bin/curl", ["-sS", "--max-time", "5", "--cacert", certificate,
                                                              "https://localhost:\(server.port)/healthz"])
            if answer.status == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answer.status == 0, "\(answer.error) \(server.output)")
        #expect(answer.output.contains("ok"), "\(answer.output)")
        let plain = try await Executables.launchTool("/usr/bin/curl", ["-sS", "--max-time", "5", "http://localhost:\(server.port)/healthz"])
        #expect(plain.status != 0 || !plain.output.contains("ok"), "plain HTTP was answered: \(plain.output)")
        #expect(server.output.contains("https://"), "\(server.output)")
    }
}
