import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

@Suite("HTTP: an instance with another signing key")
struct SigningKeyTests {
    /// What `Docs/operations.md` promises of an instance started on a log with a key of its own
    /// instead of a copy of the others': it refuses to start (`signing_key_unknown`), so it signs
    /// and writes nothing; the log is unchanged when the right key is back.
    @Test(arguments: Backend.available)
    func anotherKeyIsRefusedAndWritesNothing(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let (size, checkpoints) = try await market.withServer { runtime, _ in
            _ = try await runtime.log.signCheckpoint()
            return (try await runtime.log.head().size, try await runtime.log.checkpoints(limit: 100))
        }
        let directory = DataDirectory(path: market.location.dataDirectory)
        let original = try String(contentsOfFile: directory.signingKeyPath, encoding: .utf8)
        try FileManager.default.removeItem(atPath: directory.signingKeyPath)
        try Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32)).pem()
            .write(toFile: directory.signingKeyPath, atomically: true, encoding: .utf8)

        let error = await #expect(throws: KeyFileError.self) {
            try await market.withServer { _, _ in }
        }
        #expect(error?.code == .signingKeyUnknown)

        try FileManager.default.removeItem(atPath: directory.signingKeyPath)
        try original.write(toFile: directory.signingKeyPath, atomically: true, encoding: .utf8)
        let (sizeAfter, checkpointsAfter, ready) = try await market.withServer { runtime, client in
            (try await runtime.log.head().size, try await runtime.log.checkpoints(limit: 100),
             try await client.request(.get, "/readyz").status)
        }
        #expect(sizeAfter == size)
        #expect(checkpointsAfter == checkpoints)
        #expect(ready == .ok)
    }
}
