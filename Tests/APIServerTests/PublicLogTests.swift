import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PDXTesting
import Persistence
import Synchronization
import Testing

@Suite("HTTP: the public log (C2SP tlog-tiles) and witnesses")
struct PublicLogTests {
    static func witness(_ seed: UInt8, _ name: String, log: TransparencyLog, directory: String) throws -> LogWitness {
        try LogWitness(signer: try CosignatureSigner(name: name, key: try Ed25519PrivateKey(seed: [UInt8](repeating: seed, count: 32))),
                       logKeys: log.verifiers, state: try WitnessStateFile(directory: directory))
    }

    @Test(arguments: Backend.available)
    func aMonitorFollowingTheTilesRebuildsTheCheckpointRoot(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            try await AuditRoutesTests.append(300, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            // Entries after the checkpoint are not served until a checkpoint covers them.
            try await AuditRoutesTests.append(5, to: runtime)

            let answer = try await client.request(.get, "/tlog/checkpoint")
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(answer.headers[.cacheControl] == "no-cache")
            let (checkpoint, _) = try SignedNote.parse(answer.text).verifiedCheckpoint(with: runtime.log.verifiers)
            #expect(checkpoint.size == 302)

            // The monitor: every entry bundle, each entry hashed into its own tree.
            var builder = TileBuilder()
            var expectedTiles: [String: [UInt8]] = [:]
            for address in TileAddress.tiles(.entries, treeSize: checkpoint.size) {
                let bundle = try await client.request(.get, "/tlog/\(address.path)")
                #expect(bundle.status == .ok, "\(address.path)")
                #expect(bundle.headers[.cacheControl] == (address.isPartial ? "public, max-age=60" : "public, max-age=31536000, immutable"))
                var bytes = Array(bundle.body.readableBytesView)[...]
                var count = 0
                while bytes.count >= 2 {
                    let length = Int(bytes[bytes.startIndex]) << 8 | Int(bytes[bytes.startIndex + 1])
                    let entry = Array(bytes.dropFirst(2).prefix(length))
                    #expect(entry.count == length)
                    for tile in builder.append(entry: entry) { expectedTiles[tile.address.path] = tile.bytes }
                    bytes = bytes.dropFirst(2 + length)
                    count += 1
                }
                #expect(bytes.isEmpty && count == address.width)
            }
            #expect(builder.size == checkpoint.size)
            #expect(builder.root() == checkpoint.rootHash)
            for tile in builder.partialTiles() { expectedTiles[tile.address.path] = tile.bytes }
            // The hash tiles served are the tiles of that tree.
            for level in 0..<2 {
                for address in TileAddress.tiles(.hashes(level: level), treeSize: checkpoint.size) {
                    let tile = try await client.request(.get, "/tlog/\(address.path)")
                    #expect(tile.status == .ok, "\(address.path)")
                    #expect(tile.headers[.contentType] == "application/octet-stream")
                    #expect(Array(tile.body.readableBytesView) == expectedTiles[address.path], "\(address.path)")
                }
            }
            // A full tile twice: the second answer comes from memory, the same bytes.
            let again = try await client.request(.get, "/tlog/tile/0/000")
            #expect(Array(again.body.readableBytesView) == expectedTiles["tile/0/000"])
        }
    }

    @Test(arguments: Backend.available)
    func tilesOutsideTheCheckpointAndOtherPathsAreRefused(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            try await AuditRoutesTests.append(10, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            try await AuditRoutesTests.append(300, to: runtime)
            for path in ["tile/0/000", "tile/entries/000", "tile/0/000.p/13", "tile/1/000.p/1", "tile/0/001.p/1",
                         "tile/0/0", "tile/0/x000/000", "tile/64/000", "tile/0/000.p/256", "tile/0/000.p/0", "tiles", "checkpoint/x",
                         "tile/0/x999/x999/x999/x999/x999/x999/999", "tile/entries/000.p/13"] {
                let answer = try await client.request(.get, "/tlog/\(path)")
                #expect(answer.status == .notFound, "\(path)")
                #expect(try answer.problem()["code"] as? String == "not_found")
            }
            // Within the checkpoint of 12, a partial tile of a smaller tree is the same bytes.
            #expect(try await client.request(.get, "/tlog/tile/0/000.p/12").status == .ok)
            #expect(try await client.request(.get, "/tlog/tile/entries/000.p/5").status == .ok)
            let post = try await client.request(.post, "/tlog/checkpoint", body: "{}")
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET, HEAD")
        }
    }

    @Test(arguments: Backend.available)
    func anEmptyLogHasNoCheckpointAndTheSwitchTurnsTheRoutesOff(backend: Backend) async throws {
        var configured = try TestMarketplace(backend)
        configured.configuration.publicLog = false
        let market = configured
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            _ = try await runtime.log.signCheckpoint()
            #expect(try await client.request(.get, "/tlog/checkpoint").status == .notFound)
            #expect(try await client.request(.get, "/tlog/tile/entries/000.p/1").status == .notFound)
            // The authenticated route still answers.
            #expect(try await client.request(.get, "/v1/audit/checkpoint", key: try market.adminToken).status == .ok)
        }
    }

    @Test(arguments: Backend.available)
    func entriesServedPubliclyHoldNoPersonalDataNorKeys(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let created = try await client.request(.post, "/v1/principals", key: admin, body: """
                {"name": "Wang Xiaoming 王小明", "email": "wang.xiaoming@bj-data.example", "role": "operator"}
                """)
            #expect(created.status == .created)
            let apiKey = try #require(try created.json()["api_key"] as? String)
            let applied = try await client.request(.post, "/v1/operators", key: apiKey, body: """
                {"legal_name": "京津冀数据有限公司", "uscc": "91440300708461136T", "mlps_level": 3, "tier": "standard",
                 "security_officer": {"name": "Li Officer 李安全", "email": "li.officer@jjj.example"},
                 "certifications": ["ISO27001"], "documents": [{"name": "licence.pdf", "sha256": "\(String(repeating: "cd", count: 32))"}]}
                """)
            #expect(applied.status == .created, "\(applied.text)")
            _ = try await runtime.log.signCheckpoint()
            let checkpoint = try Checkpoint.parse(try SignedNote.parse(try await client.request(.get, "/tlog/checkpoint").text).text)
            var served: [UInt8] = []
            for address in TileAddress.tiles(.entries, treeSize: checkpoint.size) {
                served += Array(try await client.request(.get, "/tlog/\(address.path)").body.readableBytesView)
            }
            let text = String(decoding: served, as: UTF8.self)
            #expect(text.contains("principal.created") && text.contains("\"operator."))
            for secret in ["Wang Xiaoming", "王小明", "wang.xiaoming@bj-data.example", "Li Officer", "李安全", "li.officer@jjj.example",
                           apiKey, admin] {
                #expect(!text.contains(secret), "the public log shows \(secret)")
            }
        }
    }

    @Test(arguments: Backend.available)
    func theCheckpointServedCarriesTheCollectedCosignatures(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let directory = market.location.dataDirectory + "-witnesses"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await market.withServer { runtime, client in
            let witnesses = try [("bj", UInt8(61)), ("tj", 62), ("he", 63)].map { name, seed in
                try Self.witness(seed, "witness.\(name).example/pdx", log: runtime.log, directory: "\(directory)/\(name)")
            }
            let collector = CosignatureCollector(log: runtime.log, witnesses: witnesses.map(InProcessWitness.init))
            try await AuditRoutesTests.append(4, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            let round = try await collector.collect()
            #expect(round.cosigned == 3 && round.failures.isEmpty)
            let note = try SignedNote.parse(try await client.request(.get, "/tlog/checkpoint").text)
            _ = try note.verifiedCheckpoint(with: runtime.log.verifiers)
            let found = note.cosignatures(by: witnesses.map(\.signer.verifier))
            #expect(found.valid.count == 3 && found.invalid.isEmpty)
            // A newer checkpoint is served at once, without the older cosignatures.
            try await AuditRoutesTests.append(2, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            let newer = try SignedNote.parse(try await client.request(.get, "/tlog/checkpoint").text)
            #expect(newer.cosignatures(by: witnesses.map(\.signer.verifier)).valid.isEmpty)
            #expect(try Checkpoint.parse(newer.text).size == 8)
        }
    }

    @Test(arguments: Backend.available)
    func aWitnessThatWasDownCatchesUpWithoutStoppingTheMarketplace(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let directory = market.location.dataDirectory + "-witnesses"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await market.withServer { runtime, client in
            let bj = try Self.witness(71, "witness.bj.example/pdx", log: runtime.log, directory: "\(directory)/bj")
            let tj = try Self.witness(72, "witness.tj.example/pdx", log: runtime.log, directory: "\(directory)/tj")
            let flaky = FlakyWitness(InProcessWitness(tj))
            let collector = CosignatureCollector(log: runtime.log, witnesses: [InProcessWitness(bj), flaky])
            try await AuditRoutesTests.append(3, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            #expect(try await collector.collect().cosigned == 2)

            flaky.down.withLock { $0 = true }
            for _ in 0..<3 {
                try await AuditRoutesTests.append(50, to: runtime)
                _ = try await runtime.log.signCheckpoint()
                let round = try await collector.collect()
                #expect(round.cosigned == 1 && round.failures.count == 1)
                // The marketplace goes on meanwhile.
                #expect(try await client.request(.get, "/v1/audit/checkpoint", key: try market.adminToken).status == .ok)
            }
            flaky.down.withLock { $0 = false }
            #expect(try await collector.collect().cosigned == 2)
            // One consistency proof from the size it cosigned last took it over the three it missed.
            #expect(await tj.latest(origin: runtime.log.origin)?.size == 155)
            let served = try SignedNote.parse(try await client.request(.get, "/tlog/checkpoint").text)
            #expect(served.cosignatures(by: [bj.signer.verifier, tj.signer.verifier]).valid.count == 2)
            // A collector that restarted knows nothing: the witness's 409 tells it where to start.
            try await AuditRoutesTests.append(1, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            let fresh = CosignatureCollector(log: runtime.log, witnesses: [InProcessWitness(bj), InProcessWitness(tj)])
            #expect(try await fresh.collect().cosigned == 2)
        }
    }

    @Test("the witness server speaks tlog-witness over HTTP, and HTTPWitness understands it")
    func witnessOverHTTP() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        let directory = market.location.dataDirectory + "-witness"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runtime = try await market.open()
        do {
            let witness = try Self.witness(81, "witness.he.example/pdx", log: runtime.log, directory: directory)
            try await AuditRoutesTests.append(5, to: runtime)
            let note = try await runtime.log.signCheckpoint()
            let app = Application(router: buildWitnessRouter(witness: witness, logger: TestMarketplace.logger),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let remote = try HTTPWitness(argument: "http://127.0.0.1:\(port)/,\(witness.signer.verifierKey)")
                #expect(try await remote.addCheckpoint(AddCheckpointRequest(oldSize: 3, proof: [], note: note)) == .staleOldSize(latest: 0))
                guard case .cosignatures(let lines) = try await remote.addCheckpoint(AddCheckpointRequest(oldSize: 0, proof: [], note: note)) else {
                    Issue.record("not cosigned over HTTP")
                    return
                }
                #expect(lines.count == 1 && witness.signer.verifier.verify(lines[0], text: note.text) != nil)
                let stale = try await client.request(.post, "/add-checkpoint", body: AddCheckpointRequest(oldSize: 0, proof: [], note: note).body,
                                                     contentType: "text/plain")
                #expect(stale.status == .conflict)
                #expect(stale.headers[.contentType] == "text/x.tlog.size")
                #expect(stale.text == "7\n")
                let malformed = try await client.request(.post, "/add-checkpoint", body: "old x\n", contentType: "text/plain")
                #expect(malformed.status == .badRequest && malformed.text.hasPrefix("malformed_request: "))
                var unknown = try Checkpoint.parse(note.text)
                unknown.origin = "elsewhere.example/log"
                let foreign = try unknown.sign(with: [try NoteSigner(name: unknown.origin, key: Ed25519PrivateKey())])
                let notFound = try await client.request(.post, "/add-checkpoint", body: AddCheckpointRequest(oldSize: 0, proof: [], note: foreign).body,
                                                        contentType: "text/plain")
                #expect(notFound.status == .notFound)
                guard case .refused(404, _) = try await remote.addCheckpoint(AddCheckpointRequest(oldSize: 0, proof: [], note: foreign)) else {
                    Issue.record("an unknown origin was not refused with 404")
                    return
                }
                let tooLarge = try await client.request(.post, "/add-checkpoint", body: String(repeating: "a", count: 70_000), contentType: "text/plain")
                #expect(tooLarge.status == .contentTooLarge)
                #expect(try await client.request(.get, "/healthz").status == .ok)
            }
            // A witness that cannot be reached is an error to retry, not an answer.
            let closed = try HTTPWitness(argument: "http://127.0.0.1:1,\(witness.signer.verifierKey)", timeout: .seconds(5))
            await #expect(throws: (any Error).self) { try await closed.addCheckpoint(AddCheckpointRequest(oldSize: 7, proof: [], note: note)) }
            for bad in ["no-comma", "ftp://x,\(witness.signer.verifierKey)", "http://127.0.0.1:1,\(runtime.log.verifiers[0].verifierKey)"] {
                #expect(throws: (any Error).self) { try HTTPWitness(argument: bad) }
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}

/// A witness that can be taken down: while `down`, every request fails as an unreachable one does.
final class FlakyWitness: WitnessConnection {
    let wrapped: InProcessWitness
    let down = Mutex(false)

    init(_ wrapped: InProcessWitness) { self.wrapped = wrapped }

    var verifier: CosignatureVerifier { wrapped.verifier }

    func addCheckpoint(_ request: AddCheckpointRequest) async throws -> WitnessAnswer {
        if down.withLock({ $0 }) { throw CancellationError() }
        return try await wrapped.addCheckpoint(request)
    }
}
