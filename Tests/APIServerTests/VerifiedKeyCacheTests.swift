import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PDXTesting
@testable import Persistence
import Prometheus
import Testing

/// Authentication keeps verified keys in memory; these prove that a change to a principal or its
/// operator, made on this server or on another one sharing the database, holds from the very next
/// request, and that failed keys never enter the cache.
@Suite("Authentication: the verified-key cache")
struct VerifiedKeyCacheTests {
    /// `body` with two servers on `market`'s one data directory or PostgreSQL schema, as two
    /// `pdx serve` processes behind a load balancer: each its own runtime, router and cache.
    static func withTwoServers(_ market: TestMarketplace,
                               _ body: @Sendable (any TestClientProtocol, any TestClientProtocol) async throws -> Void) async throws {
        try await market.withServer { _, first in
            let runtime = try await market.open()
            do {
                let router = try buildRouter(configuration: market.configuration,
                                             dependencies: runtime.serverDependencies(metrics: PrometheusCollectorRegistry()))
                let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      logger: TestMarketplace.logger)
                try await app.test(.router) { second in try await body(first, second) }
                await runtime.close()
            } catch {
                await runtime.close()
                throw error
            }
        }
    }

    static func status(_ client: any TestClientProtocol, _ key: String, _ path: String = "/v1/audit/checkpoint") async throws -> HTTPResponse.Status {
        try await client.request(.get, path, key: key).status
    }

    @Test("a key revoked on another server is refused by this one on the very next request", arguments: Backend.available)
    func revocationOnAnotherInstance(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await Self.withTwoServers(market) { a, b in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, a)
            // Twice on B: the second answer comes from B's cache.
            #expect(try await Self.status(b, actors["auditor"]) == .ok)
            #expect(try await Self.status(b, actors["auditor"]) == .ok)
            let revoked = try await a.request(.post, "/v1/principals/\(actors.ids["auditor"]!)/revoke", key: actors.admin,
                                              body: #"{"reason":"left the office"}"#)
            #expect(revoked.status == .ok, "\(revoked.text)")
            let refused = try await b.request(.get, "/v1/audit/checkpoint", key: actors["auditor"])
            #expect(refused.status == .unauthorized)
            #expect(try refused.problem()["detail"] as? String == "The API key has been revoked.")
            #expect(try await Self.status(a, actors["auditor"]) == .unauthorized)
            // Other keys are read again, and still work.
            #expect(try await Self.status(b, actors.admin) == .ok)
        }
    }

    @Test("suspending and revoking an operator on another server blocks its key on this one at once", arguments: Backend.available)
    func operatorSuspensionOnAnotherInstance(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await Self.withTwoServers(market) { a, b in
            var actors = Actors(admin: try market.adminToken)
            try await Actors.authority("bj", a, admin: actors.admin)
            try await actors.principal("reviewer", role: .authorityReviewer, authority: "bj", a)
            try await actors.principal("acme", role: .operator, a)
            let applied = try await a.request(.post, "/v1/operators", key: actors["acme"], body: application())
            let acme = try #require(try applied.json()["id"] as? String)
            #expect(try await a.request(.post, "/v1/operators/\(acme)/reviews", key: actors["reviewer"],
                                        body: #"{"decision":"approve"}"#).status == .ok)
            #expect(try await Self.status(b, actors["acme"], "/v1/grants") == .ok)
            #expect(try await Self.status(b, actors["acme"], "/v1/grants") == .ok)

            let suspended = try await a.request(.post, "/v1/operators/\(acme)/suspend", key: actors["reviewer"],
                                                body: #"{"reason":"security incident under investigation"}"#)
            #expect(try suspended.json()["status"] as? String == "suspended")
            // Listing grants is allowed while suspended, applying again is not.
            #expect(try await Self.status(b, actors["acme"], "/v1/grants") == .ok)
            let blocked = try await b.request(.post, "/v1/operators", key: actors["acme"], body: application())
            #expect(try blocked.problem()["code"] as? String == "operator_suspended")

            #expect(try await b.request(.post, "/v1/operators/\(acme)/reinstate", key: actors.admin, body: "{}").status == .ok)
            #expect(try await Self.status(a, actors["acme"], "/v1/grants") == .ok)

            let revoked = try await b.request(.post, "/v1/operators/\(acme)/revoke", key: actors.admin,
                                              body: #"{"reason":"licence withdrawn"}"#)
            #expect(try revoked.json()["status"] as? String == "revoked")
            #expect(try await Self.status(a, actors["acme"], "/v1/grants") == .unauthorized)
        }
    }

    @Test("a key expires by the clock, also when another server moves the test clock past its expiry", arguments: Backend.available)
    func expiryByTheClock(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await Self.withTwoServers(market) { a, b in
            let admin = try market.adminToken
            let now = try #require(try await a.request(.get, "/v1/test-clock", key: admin).json()["now"] as? String)
            let start = try #require(RFC3339.parse(now))
            let created = try await a.request(.post, "/v1/principals", key: admin, body: """
                {"name":"temp","role":"auditor","expires_at":"\(RFC3339.format(start.addingTimeInterval(3600)))"}
                """)
            let key = try #require(try created.json()["api_key"] as? String)
            #expect(try await Self.status(b, key) == .ok)
            #expect(try await Self.status(b, key) == .ok)
            // Moving the clock changes no principal: the cached key stays, and its expiry is what refuses it.
            let moved = try await a.request(.post, "/v1/test-clock", key: admin,
                                            body: #"{"now":"\#(RFC3339.format(start.addingTimeInterval(3600)))"}"#)
            #expect(moved.status == .ok, "\(moved.text)")
            let refused = try await b.request(.get, "/v1/audit/checkpoint", key: key)
            #expect(refused.status == .unauthorized)
            #expect(try refused.problem()["detail"] as? String == "The API key has expired.")
            #expect(try await Self.status(a, key) == .unauthorized)
        }
    }

    @Test("a role changed in the database by any statement holds from the next request", arguments: Backend.available)
    func anyChangeToPrincipalsInvalidates(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, client)
            #expect(try await Self.status(client, actors["auditor"], "/v1/audit/entries") == .ok)
            #expect(try await Self.status(client, actors["auditor"], "/v1/audit/entries") == .ok)
            // No route changes a role; a statement of any future one does, and the triggers see it.
            let before = try await runtime.database.read { try await $0.principalGeneration() }
            try await runtime.database.transaction { tx in
                try await tx.context.execute("UPDATE principals SET role = 'finance' WHERE id = $1", [.text(actors.ids["auditor"]!)])
            }
            #expect(try await runtime.database.read { try await $0.principalGeneration() } > before)
            #expect(try await Self.status(client, actors["auditor"], "/v1/audit/entries") == .forbidden)
        }
    }

    @Test("unknown keys and wrong secrets never enter the cache; a verified key does, once", arguments: Backend.available)
    func failuresDoNotFillTheCache(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let runtime = try await market.open()
        do {
            let authenticator = Authenticator(store: DatabaseCredentialLookup(database: runtime.database),
                                              cache: VerifiedKeyCache(capacity: 4), now: { Date() })
            let admin = try #require(APIKey(presented: try market.adminToken))
            for _ in 0..<50 {
                let guess = try APIKey.generate(using: SecureRandom())
                await #expect(throws: Problem.self) { try await authenticator.authenticate(guess) }
                // The admin's key id with a guessed secret.
                let wrong = try #require(APIKey(presented: "pdx_\(admin.keyID)_\(guess.secret)"))
                await #expect(throws: Problem.self) { try await authenticator.authenticate(wrong) }
            }
            #expect(authenticator.cache.count == 0)
            #expect(try await authenticator.authenticate(admin).role == .admin)
            #expect(authenticator.cache.count == 1)
            // Cached: a wrong secret for it is still refused.
            let wrong = try #require(APIKey(presented: "pdx_\(admin.keyID)_\(try APIKey.generate(using: SecureRandom()).secret)"))
            await #expect(throws: Problem.self) { try await authenticator.authenticate(wrong) }
            #expect(try await authenticator.authenticate(admin).role == .admin)
            #expect(authenticator.cache.count == 1)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test("the cache holds at most its capacity, and a newer generation empties it")
    func bounded() throws {
        let cache = VerifiedKeyCache(capacity: 3)
        let principal = Principal(id: "pr_1", name: "p", role: .auditor, keyID: "k", keyHash: SHA256.hash([1]), createdAt: Date())
        let credential = PrincipalCredential(principal: principal, secretHash: SHA256.hash([1]), expiresAt: nil, revokedAt: nil)
        for n in 0..<10 { cache.insert(credential, keyID: "k\(n)", at: 1) }
        #expect(cache.count == 3)
        #expect(cache.credential(keyID: "k9", at: 1) != nil)
        // A read that began before the change (generation 1) finds nothing once 2 is seen, and cannot refill.
        #expect(cache.credential(keyID: "k9", at: 2) == nil)
        #expect(cache.count == 0)
        cache.insert(credential, keyID: "k9", at: 1)
        #expect(cache.count == 0)
        #expect(cache.credential(keyID: "k9", at: 1) == nil)
    }

    @Test("GET /healthz answered in place is the generated handler's answer, byte for byte", arguments: Backend.available)
    func healthRouteAnswersAsTheGeneratedHandler(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let runtime = try await market.open()
        do {
            let dependencies = runtime.serverDependencies(metrics: PrometheusCollectorRegistry())
            var answers: [(String?, String)] = []
            for direct in [true, false] {
                let app = Application(router: try buildRouter(configuration: market.configuration, dependencies: dependencies,
                                                              directUsageRoute: direct),
                                      logger: TestMarketplace.logger)
                let answer = try await app.test(.router) { client in
                    let response = try await client.request(.get, "/healthz")
                    #expect(response.status == .ok)
                    #expect(response.headers[AccessLogMiddleware<PDXRequestContext>.requestIDHeader] != nil)
                    return (response.headers[.contentType], response.text)
                }
                answers.append(answer)
            }
            #expect(answers[0].0 == answers[1].0)
            #expect(answers[0].1 == answers[1].1)
            #expect(answers[0].1 == HealthRoute<PDXRequestContext>.body)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }
}
