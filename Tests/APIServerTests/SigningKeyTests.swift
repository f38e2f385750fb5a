@testable import APIServer
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("HTTP: an instance with another signing key")
struct SigningKeyTests {
    /// What `Docs/operations.md` promises of an instance started on a log with a key of its own
    /// instead of a copy of the others': it answers reads, but `/readyz` says 503 and every write is
    /// refused, so a balancer sends it nothing and it signs nothing.
    @Test(arguments: Backend.available)
    func anotherKeyIsNotReadyAndWritesNothing(backend: Backend) async throws {
        let market = try Marketplace(backend)
        defer { market.removeFiles() }
        let admin = try await market.withServer { runtime, _ in
            _ = try await runtime.log.signCheckpoint()
            return try market.adminToken
        }
        let directory = DataDirectory(path: market.location.dataDirectory)
        try FileManager.default.removeItem(atPath: directory.signingKeyPath)
        try Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32)).pem()
            .write(toFile: directory.signingKeyPath, atomically: true, encoding: .utf8)

        try await market.withServer { runtime, client in
            #expect(runtime.integrity.problems.map(\.code) == [.checkpointSignatureInvalid])
            let size = try await runtime.log.head().size
            let checkpoints = try await runtime.log.checkpoints(limit: 100)
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            let write = try await client.request(.post, "/v1/authorities", key: admin,
                                                 body: #"{"id":"bj","name":"bj data bureau","region":"bj"}"#)
            #expect(write.status == .serviceUnavailable)
            #expect(try write.problem()["code"] as? String == "log_read_only")
            let read = try await client.request(.get, "/v1/audit/checkpoint", key: admin)
            #expect(read.status == .ok)
            #expect(try await runtime.log.head().size == size)
            #expect(try await runtime.log.checkpoints(limit: 100) == checkpoints)
        }
    }
}
