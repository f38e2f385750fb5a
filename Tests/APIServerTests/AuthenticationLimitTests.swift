import Identity
@testable import APIServer
@testable import Marketplace
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

/// Guessing keys is slow and costs the database nothing.
@Suite("HTTP: failed authentication")
struct AuthenticationLimitTests {
    @Test("after 20 failed guesses of a key an address waits, even with a good key; the wait is said", arguments: Backend.available)
    func failuresAreLimitedPerAddress(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        let limiter = RateLimiter(rate: 1, burst: 20, now: clock.now)
        try await market.withServer(failedAuthentications: limiter) { _, client in
            let admin = try market.adminToken
            let wrong = APIKey(keyID: "0123456789abcdef", secret: String(repeating: "x", count: 43)).presented
            for _ in 0..<20 {
                #expect(try await client.request(.get, "/v1/authorities", key: wrong).status == .unauthorized)
            }
            let limited = try await client.request(.get, "/v1/authorities", key: admin)
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.problem()["code"] as? String == "authentication_rate_limited")
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { $0 >= 1 } == true)
            // Unauthenticated routes are not held back, and a malformed key is not a guess.
            #expect(try await client.request(.get, "/healthz").status == .ok)
            // A second later the address may try once more.
            clock.advance(seconds: 1)
            #expect(try await client.request(.get, "/v1/authorities", key: admin).status == .ok)
        }
    }

    @Test("one address's failed guesses hold back that address only", arguments: Backend.available)
    func anotherAddressIsNotHeldBack(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        let limiter = RateLimiter(rate: 1, burst: 20, now: clock.now)
        try await market.withServer(live: true, failedAuthentications: limiter) { _, client in
            let port = try #require(client.port)
            let admin = try market.adminToken
            let wrong = APIKey(keyID: "0123456789abcdef", secret: String(repeating: "x", count: 43)).presented
            for _ in 0..<20 {
                #expect(try await HTTP.send("GET", port: port, "/v1/authorities", key: wrong, from: "127.0.0.3").0 == 401)
            }
            #expect(try await HTTP.send("GET", port: port, "/v1/authorities", key: admin, from: "127.0.0.3").0 == 429)
            // Another client, on another address, is not held back by the first one's guesses.
            #expect(try await HTTP.send("GET", port: port, "/v1/authorities", key: admin, from: "127.0.0.4").0 == 200)
            // Nor are its own well-formed failures counted against the first.
            #expect(try await HTTP.send("GET", port: port, "/v1/authorities", key: wrong, from: "127.0.0.4").0 == 401)
        }
    }

    @Test("a key that is not shaped like one is refused without the database", arguments: Backend.available)
    func malformedKeysNeedNoDatabase(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            await runtime.database.close()
            let answer = try await client.request(.get, "/v1/authorities", key: "not-a-pdx-key")
            #expect(answer.status == .unauthorized)
            #expect(try answer.problem()["code"] as? String == "unauthenticated")
        }
    }
}
