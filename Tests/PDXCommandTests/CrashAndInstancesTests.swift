import AuditLog
import Cryptography
import Foundation
import PDXTesting
import Synchronization
import Testing

/// Real `pdx serve` processes killed with SIGKILL while usage pours in, alone and two on one
/// PostgreSQL behind a round-robin proxy: no acknowledged event is lost, none is counted twice, and
/// the log they leave verifies offline, replay included.
@Suite("Several instances and crashes, with the real executables", .serialized)
struct CrashAndInstancesTests {
    static let postgresURL = ProcessInfo.processInfo.environment["PDX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static var backends: [String?] { postgresURL == nil ? [nil] : [nil, postgresURL] }

    /// `base` with a fresh schema of its own.
    static func schemaURL(_ base: String, prefix: String) -> String {
        let schema = prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    static func temporaryRoot(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pdx-\(name)-\(UUID().uuidString.prefix(8))")
    }

    @Test("two instances on one PostgreSQL, one killed and restarted under load: one log, each event counted once",
          .enabled(if: CrashAndInstancesTests.postgresURL != nil, "needs PDX_TEST_POSTGRES_URL"))
    func twoInstancesOneLog() async throws {
        let root = Self.temporaryRoot("instances")
        defer { try? FileManager.default.removeItem(at: root) }
        let dataA = root.appendingPathComponent("a").path
        let dataB = root.appendingPathComponent("b").path
        // Few entries per checkpoint: both instances sign often, in their usage transactions.
        let shared = ["--database-url", Self.schemaURL(try #require(Self.postgresURL), prefix: "multi_"),
                      "--checkpoint-entries", "8", "--checkpoint-seconds", "1"]

        let (a, b) = try await Self.startTwo(dataA, dataB, shared)
        #expect(!FileManager.default.fileExists(atPath: dataB + "/admin.token"), "the admin exists: only the first start writes a token")
        let admin = try String(contentsOfFile: dataA + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let market = try await LiveMarket.setUp(port: a.port, admin: admin)
        let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
        let batches = market.batches(64, of: 40, prefix: "m", quantity: 3, time: time)
        let ledger = UsageLedger(key: market.operatorKey)
        let proxy = try RoundRobinProxy(backends: [a.port, b.port])
        defer { proxy.stop() }
        let sampler = CheckpointSampler(ports: [a.port, b.port], key: admin)
        let sampling = Task { await sampler.run() }

        // 1. Both up: through the proxy, and batches 0..<4 sent to A and to B at the same moment.
        //    B is killed once a few batches were answered, while others are in flight.
        let killedB = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { await Self.send(Array(batches[8..<28]), via: proxy.port, ledger, workers: 4); return false }
            for batch in batches[0..<4] {
                group.addTask { await ledger.send(batch, to: a.port); return false }
                group.addTask { await ledger.send(batch, to: b.port); return false }
            }
            group.addTask {
                try await Self.waitUntil(timeout: .seconds(20)) { ledger.acknowledged.count >= 10 }
                await b.kill()
                return true
            }
            return try await group.reduce(false) { $0 || $1 }
        }
        #expect(killedB)
        #expect(!b.process.isRunning)

        // 2. B down: the proxy hands every connection to A.
        let handedToB = proxy.connectionsPerBackend[b.port] ?? 0
        await Self.send(Array(batches[28..<44]), via: proxy.port, ledger, workers: 4)
        #expect(proxy.connectionsPerBackend[b.port] ?? 0 == handedToB)

        // 3. B restarted on its port: both again, batches 4..<8 to both at once.
        let restartedB = try b.restarted()
        try await restartedB.waitUntilReady("/readyz")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.send(Array(batches[44..<64]), via: proxy.port, ledger, workers: 4) }
            for batch in batches[4..<8] {
                group.addTask { await ledger.send(batch, to: a.port) }
                group.addTask { await ledger.send(batch, to: restartedB.port) }
            }
        }
        #expect((proxy.connectionsPerBackend[b.port] ?? 0) > handedToB, "the restarted B takes connections again")

        // 4. Every batch not answered 200 is sent again, until answered; some answered ones too.
        try await Self.retryUnacknowledged(batches, via: proxy.port, ledger)
        let again = UsageLedger(key: market.operatorKey)
        for batch in batches where batch.index % 8 == 3 {
            #expect(await again.send(batch, to: batch.index % 16 == 3 ? a.port : restartedB.port))
        }
        #expect(again.acceptedCounts.isEmpty, "a batch sent again is answered duplicate")
        #expect(again.duplicateCounts.count == 8 * 40)

        let silent = ledger.expectEachAcceptedOnce(batches)
        #expect(silent <= ledger.failed.count * 40)
        let events = batches.count * 40
        for port in [a.port, restartedB.port] {
            let counted = try await market.counted(port: port, at: time)
            #expect(counted.events == events)
            #expect(counted.quantity == events * 3)
        }

        sampling.cancel()
        _ = await sampling.value
        let notes = sampler.notes
        #expect(notes[a.port]?.isEmpty == false)
        #expect(notes[b.port]?.isEmpty == false)

        // The log both wrote: exported, verified and replayed offline; every checkpoint either
        // instance served is signed by the shared key and a prefix of the exported tree.
        let storage = ["--data-dir", dataA, "--database-url", shared[1]]
        let first = try await Self.exportAndVerify(storage, into: root.appendingPathComponent("export-1").path, root: root)
        var checked = 0
        for note in Set(notes.values.joined()) {
            try await Self.expectPrefix(note, of: first, port: a.port, admin: admin)
            checked += 1
        }
        #expect(checked >= 2)

        // Both stop at the same moment, each signing its final checkpoint.
        async let stoppedA = a.stopped()
        async let stoppedB = restartedB.stopped()
        let statuses = await (stoppedA, stoppedB)
        #expect(statuses.0 == 0, "\(a.output.suffix(2000))")
        #expect(statuses.1 == 0, "\(restartedB.output.suffix(2000))")
        _ = try await Self.exportAndVerify(storage, into: root.appendingPathComponent("export-2").path, root: root,
                                     previous: first.directory)
    }

    /// Two instances on one database with one signing key: A starts first, B gets a copy of A's
    /// key file before its own first start; both ready.
    static func startTwo(_ dataA: String, _ dataB: String, _ shared: [String]) async throws -> (ServerProcess, ServerProcess) {
        let a = try ServerProcess(arguments: ["--data-dir", dataA] + shared)
        try await a.waitUntilReady("/readyz")
        try FileManager.default.createDirectory(atPath: dataB, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.copyItem(atPath: dataA + "/signing-key.pem", toPath: dataB + "/signing-key.pem")
        let b = try ServerProcess(arguments: ["--data-dir", dataB] + shared)
        try await b.waitUntilReady("/readyz")
        return (a, b)
    }

    @Test("two instances on one PostgreSQL under load, an export, then each stopped and the database gone: every stop ends in its bound, round after round",
          .enabled(if: CrashAndInstancesTests.postgresURL != nil, "needs PDX_TEST_POSTGRES_URL"))
    func stopsAreBounded() async throws {
        let postgresURL = try #require(Self.postgresURL)
        let base = try #require(URLComponents(string: postgresURL))
        let databasePort = base.port ?? 5432
        for round in 0..<4 {
            let root = Self.temporaryRoot("stops-\(round)")
            defer { try? FileManager.default.removeItem(at: root) }
            // The database behind a proxy the test can cut, as a database that stops would go.
            let database = try RoundRobinProxy(backends: [databasePort])
            defer { database.cut() }
            var components = try #require(URLComponents(string: Self.schemaURL(postgresURL, prefix: "stops_")))
            components.host = "127.0.0.1"
            components.port = database.port
            let url = try #require(components.string)
            let dataA = root.appendingPathComponent("a").path
            let dataB = root.appendingPathComponent("b").path
            let shared = ["--database-url", url, "--checkpoint-entries", "8", "--checkpoint-seconds", "1",
                          "--shutdown-timeout", "5", "--database-timeout", "5"]
            let (a, b) = try await Self.startTwo(dataA, dataB, shared)
            let admin = try String(contentsOfFile: dataA + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let market = try await LiveMarket.setUp(port: a.port, admin: admin)
            let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let batches = market.batches(16, of: 40, prefix: "s\(round)", quantity: 1, time: time)
            let ledger = UsageLedger(key: market.operatorKey)
            await withTaskGroup(of: Void.self) { group in
                for batch in batches {
                    group.addTask { await ledger.send(batch, to: batch.index % 2 == 0 ? a.port : b.port) }
                }
            }
            #expect(ledger.acknowledged.count == batches.count)
            let exported = try await Executables.launch("pdx", ["audit", "export", "--out", root.appendingPathComponent("export").path,
                                                                "--data-dir", dataA, "--database-url", url])
            #expect(exported.status == 0, "\(exported.error)")

            // A first, then B with the database gone under it.
            let started = ContinuousClock.now
            let stoppedA = await a.stopped()
            async let stoppedB = b.stopped()
            try await Task.sleep(for: .milliseconds(50 * round))
            database.cut()
            let statusB = await stoppedB
            let took = ContinuousClock.now - started
            #expect(stoppedA == 0, "round \(round): \(a.output.suffix(2000))")
            // Gone in its bound whatever the database did: a clean stop, or the deadline's exit.
            #expect([0, 70].contains(statusB), "round \(round): \(b.output.suffix(2000))")
            #expect(took < .seconds(50), "round \(round): the stops took \(took)")
        }
    }

    @Test("SIGKILL at random moments while usage arrives: after each restart every event counts once, the log verifies",
          arguments: backends)
    func killedWhileIngesting(databaseURL: String?) async throws {
        let root = Self.temporaryRoot("crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        var storage = ["--data-dir", data]
        if let databaseURL { storage += ["--database-url", Self.schemaURL(databaseURL, prefix: "crash_")] }
        let first = try ServerProcess(arguments: storage + ["--checkpoint-entries", "8", "--checkpoint-seconds", "1"])
        try await first.waitUntilReady("/readyz")
        let port = first.port
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let market = try await LiveMarket.setUp(port: port, admin: admin)
        let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
        let batches = market.batches(48, of: 25, prefix: "k", quantity: 2, time: time)
        let ledger = UsageLedger(key: market.operatorKey)

        // Kill when a random number of batches were answered, plus a random few milliseconds: the
        // moment falls anywhere in a request, a commit or a checkpoint.
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        // One kill in each third of the batches.
        let thresholds = (0..<3).map { 3 + $0 * 14 + Int(random.next() % 12) }
        let delays = thresholds.map { _ in Int(random.next() % 40) }
        let current = Locked(first)
        let kills = Locked(0)

        try await withThrowingTaskGroup(of: Void.self) { group in
            let queue = Locked(batches[...])
            for _ in 0..<2 {
                group.addTask {
                    while let batch = queue.withLock({ $0.popFirst() }) {
                        let deadline = ContinuousClock.now + .seconds(25)
                        while !(await ledger.send(batch, to: port)) {
                            try #require(ContinuousClock.now < deadline, "batch \(batch.index) unanswered for 25 s (seed \(seed))")
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            group.addTask {
                for (threshold, delay) in zip(thresholds, delays) {
                    try await Self.waitUntil(timeout: .seconds(25)) { ledger.acknowledged.count >= threshold }
                    try await Task.sleep(for: .milliseconds(delay))
                    let server = current.withLock { $0 }
                    await server.kill()
                    let next = try server.restarted()
                    current.withLock { $0 = next }
                    kills.withLock { $0 += 1 }
                    try await next.waitUntilReady("/readyz")
                }
            }
            try await group.waitForAll()
        }
        let server = current.withLock { $0 }
        #expect(kills.withLock { $0 } == 3, "seed \(seed)")

        // The last restart passed its integrity check and takes writes.
        let (ready, readiness) = try await server.get("/readyz")
        #expect(ready == 200, "\(readiness)")
        let fresh = market.batches(1, of: 5, prefix: "fresh", quantity: 2, time: time)
        let freshLedger = UsageLedger(key: market.operatorKey)
        #expect(await freshLedger.send(fresh[0], to: port))
        #expect(freshLedger.acceptedCounts.count == 5)
        // Batches answered before a crash are still there: sent again, each is a duplicate.
        let again = UsageLedger(key: market.operatorKey)
        for batch in batches where batch.index % 6 == 1 { #expect(await again.send(batch, to: port)) }
        #expect(again.acceptedCounts.isEmpty, "seed \(seed)")
        #expect(again.duplicateCounts.count == 8 * 25)

        let silent = ledger.expectEachAcceptedOnce(batches)
        #expect(silent <= ledger.failed.count * 25)
        let counted = try await market.counted(port: port, at: time)
        #expect(counted.events == batches.count * 25 + 5, "seed \(seed)")
        #expect(counted.quantity == (batches.count * 25 + 5) * 2, "seed \(seed)")

        _ = try await Self.exportAndVerify(storage, into: root.appendingPathComponent("export").path, root: root)
        #expect(await server.stopped() == 0)
    }

    // MARK: Support

    /// Sends each batch once through `port` with `workers` concurrent senders; failures are left in
    /// the ledger for a retry.
    static func send(_ batches: [UsageBatch], via port: Int, _ ledger: UsageLedger, workers: Int) async {
        let queue = Locked(batches[...])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    while let batch = queue.withLock({ $0.popFirst() }) { await ledger.send(batch, to: port) }
                }
            }
        }
    }

    /// Sends every batch not yet answered 200 again, a few rounds at most.
    static func retryUnacknowledged(_ batches: [UsageBatch], via port: Int, _ ledger: UsageLedger) async throws {
        for _ in 0..<5 {
            let pending = batches.filter { !ledger.acknowledged.contains($0.index) }
            if pending.isEmpty { return }
            await send(pending, via: port, ledger, workers: 4)
        }
        Issue.record("batches still unanswered after five rounds: \(ledger.failures)")
    }

    static func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            try #require(ContinuousClock.now < deadline, "condition not met within \(timeout)")
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    struct Export {
        var directory: String
        var checkpoint: Checkpoint
        var verifier: NoteVerifier
    }

    /// `pdx audit export` into `directory`, then `pdx-verify` with the key `pdx audit vkey` printed
    /// (and `--previous` when given): must say OK, replay included.
    static func exportAndVerify(_ storage: [String], into directory: String, root: URL, previous: String? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) async throws -> Export {
        let exported = try await Executables.launch("pdx", ["audit", "export", "--out", directory] + storage)
        try #require(exported.status == 0, "\(exported.error)", sourceLocation: sourceLocation)
        let vkey = try await Executables.launch("pdx", ["audit", "vkey"] + storage)
        try #require(vkey.status == 0, "\(vkey.error)", sourceLocation: sourceLocation)
        let vkeyFile = root.appendingPathComponent("pdx.vkey").path
        try vkey.output.write(toFile: vkeyFile, atomically: true, encoding: .utf8)
        var arguments = [directory, "--vkey", vkeyFile]
        if let previous { arguments += ["--previous", previous] }
        let verified = try await Executables.launch("pdx-verify", arguments)
        #expect(verified.status == 0, "\(verified.output)\(verified.error)", sourceLocation: sourceLocation)
        let lines = verified.output.split(separator: "\n")
        #expect(lines.count >= 2 && lines.allSatisfy { $0.hasPrefix("pdx-verify: OK") }, "\(verified.output)",
                sourceLocation: sourceLocation)
        #expect(verified.output.contains("found nothing unlawful"), "\(verified.output)", sourceLocation: sourceLocation)
        if previous != nil {
            #expect(verified.output.contains("extends the previous export"), "\(verified.output)", sourceLocation: sourceLocation)
        }
        let note = try SignedNote.parse(try String(contentsOfFile: directory + "/checkpoint", encoding: .utf8))
        return Export(directory: directory, checkpoint: try Checkpoint.parse(note.text),
                      verifier: try NoteVerifier(verifierKey: vkey.output.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `served` is signed by the export's key, and the tree it commits to is a prefix of the
    /// exported one (by a consistency proof the server gives and the export's root checks).
    static func expectPrefix(_ served: String, of export: Export, port: Int, admin: String) async throws {
        let note = try SignedNote.parse(served)
        _ = try note.verify(with: [export.verifier])
        let checkpoint = try Checkpoint.parse(note.text)
        #expect(checkpoint.origin == export.checkpoint.origin)
        try #require(checkpoint.size <= export.checkpoint.size)
        if checkpoint.size == export.checkpoint.size {
            #expect(checkpoint.rootHash == export.checkpoint.rootHash)
            return
        }
        let proof = try await HTTP.expect(200, "GET", port: port,
            "/v1/audit/proofs/consistency?old_size=\(checkpoint.size)&new_size=\(export.checkpoint.size)", key: admin)
        let hashes = try (proof["hashes"] as? [String] ?? []).map { try #require(Base64.decode($0).flatMap { SHA256Digest(bytes: $0) }) }
        #expect(MerkleProof.verifyConsistency(oldSize: checkpoint.size, newSize: export.checkpoint.size,
                                              oldRoot: checkpoint.rootHash, newRoot: export.checkpoint.rootHash, proof: hashes),
                "the checkpoint at size \(checkpoint.size) is not a prefix of the export")
    }
}

/// Fetches `/v1/audit/checkpoint` from each port in turn until cancelled, keeping every distinct note.
final class CheckpointSampler: Sendable {
    let ports: [Int]
    let key: String
    private let collected = Mutex<[Int: Set<String>]>([:])

    init(ports: [Int], key: String) {
        self.ports = ports
        self.key = key
    }

    var notes: [Int: Set<String>] { collected.withLock { $0 } }

    func run() async {
        while !Task.isCancelled {
            for port in ports {
                if let (status, data) = try? await HTTP.send("GET", port: port, "/v1/audit/checkpoint", key: key), status == 200 {
                    let note = String(decoding: data, as: UTF8.self)
                    collected.withLock { _ = $0[port, default: []].insert(note) }
                }
            }
            try? await Task.sleep(for: .milliseconds(40))
        }
    }
}

/// A value behind a lock, for tasks to share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
