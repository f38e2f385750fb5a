import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

@Suite("HTTP: health, authentication, problems")
struct ServerTests {
    @Test(arguments: Backend.available)
    func healthReadinessAndMetricsNeedNoKey(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let health = try await client.request(.get, "/healthz")
            #expect(health.status == .ok)
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(try ready.json()["status"] as? String == "ready")
            let metrics = try await client.request(.get, "/metrics")
            #expect(metrics.status == .ok)
            // Entry 0 announces the key, entry 1 creates the bootstrap admin.
            #expect(metrics.text.contains("pdx_log_entries 2"))
        }
    }

    @Test(arguments: Backend.available)
    func v1RoutesRefuseMissingOrInvalidKeys(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let routes = ["/v1/audit/checkpoint", "/v1/audit/entries", "/v1/audit/proofs/inclusion?index=0",
                          "/v1/audit/proofs/consistency?old_size=1", "/v1/no-such-route"]
            let unknownButWellFormed = "pdx_0123456789abcdef_" + String(repeating: "A", count: 43)
            for route in routes {
                for header in [nil, "Basic YWJj", "Bearer ", "Bearer not-a-key", "Bearer \(unknownButWellFormed)"] {
                    var fields = HTTPFields()
                    if let header { fields[.authorization] = header }
                    let response = try await client.execute(uri: route, method: .get, headers: fields) { $0 }
                    #expect(response.status == .unauthorized, "\(route) with \(header ?? "no header")")
                    #expect(try response.problem()["code"] as? String == "unauthenticated")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                }
            }
        }
    }

    @Test(arguments: Backend.available)
    func expiredAndRevokedKeysAreRefused(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let expired = try APIKey.generate()
            let revoked = try APIKey.generate()
            let now = runtime.clock.now()
            try await runtime.database.transaction { tx in
                try await tx.insertPrincipal(Principal(
                    id: "pr_expired", name: "expired", role: .auditor, keyID: expired.keyID,
                    keyHash: expired.secretHash, createdAt: now, expiresAt: now.addingTimeInterval(-1)))
                try await tx.insertPrincipal(Principal(
                    id: "pr_revoked", name: "revoked", role: .auditor, keyID: revoked.keyID,
                    keyHash: revoked.secretHash, createdAt: now, revokedAt: now.addingTimeInterval(-1)))
            }
            for key in [expired, revoked] {
                let response = try await client.request(.get, "/v1/audit/checkpoint", key: key.presented)
                #expect(response.status == .unauthorized)
                #expect(try response.problem()["code"] as? String == "unauthenticated")
            }
            // Right key id, wrong secret.
            let wrongSecret = APIKey(keyID: expired.keyID, secret: revoked.secret)
            let response = try await client.request(.get, "/v1/audit/checkpoint", key: wrongSecret.presented)
            #expect(response.status == .unauthorized)
        }
    }

    @Test(arguments: Backend.available)
    func unknownRoutesAndMethodsAreProblems(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let missing = try await client.request(.get, "/v1/nothing-here", key: key)
            #expect(missing.status == .notFound)
            #expect(try missing.problem()["code"] as? String == "not_found")
            let wrongMethod = try await client.request(.delete, "/v1/audit/checkpoint", key: key)
            #expect(wrongMethod.status.code >= 400 && wrongMethod.status.code < 500)
            _ = try wrongMethod.problem()
        }
    }

    @Test(arguments: Backend.available)
    func firstStartCreatesOwnerOnlyKeyAndTokenOnce(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let directory = DataDirectory(path: market.location.dataDirectory)
        let first = try await market.open()
        let token = try market.adminToken
        #expect(APIKey(presented: token) != nil)
        let tokenFile = try String(contentsOfFile: directory.adminTokenPath, encoding: .utf8)
        #expect(tokenFile == token + "\n")
        for path in [directory.signingKeyPath, directory.adminTokenPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
        let dirMode = try FileManager.default.attributesOfItem(atPath: directory.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        let vkey = first.log.verifiers[0].verifierKey
        await first.close()

        // A second start keeps the key, the token and the single admin.
        let second = try await market.open()
        #expect(second.log.verifiers[0].verifierKey == vkey)
        #expect(try market.adminToken == token)
        let admins = try await second.database.read { try await $0.principals() }.filter { $0.role == .admin }
        #expect(admins.count == 1)
        let head = try await second.log.head()
        #expect(head.size == 2)
        await second.close()
    }

    @Test(arguments: Backend.available)
    func oversizedBodiesAreRefusedBeforeAnyHandler(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true, maxBodyBytes: 256)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let key = try market.adminToken
            let before = try await runtime.log.head().size
            let big = "{\"now\":\"2030-01-01T00:00:00Z\",\"pad\":\"" + String(repeating: "x", count: 1000) + "\"}"
            let response = try await client.request(.post, "/v1/test-clock", key: key, body: big)
            #expect(response.status == .contentTooLarge)
            #expect(try response.problem()["code"] as? String == "payload_too_large")
            #expect(try await runtime.log.head().size == before)
        }
    }
}
