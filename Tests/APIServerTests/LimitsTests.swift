import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PDXTesting
import Persistence
import Prometheus
import Synchronization
import Testing

/// A monotonic clock for the rate limiter that tests move by hand. While `running`, every reading
/// is an hour after the previous one, so set-up requests always find full buckets.
final class ManualClock: Sendable {
    private let state = Mutex<(nanoseconds: UInt64, running: Bool)>((1_000_000_000, true))

    func now() -> UInt64 {
        state.withLock { state in
            if state.running { state.nanoseconds += 3_600_000_000_000 }
            return state.nanoseconds
        }
    }

    /// Stops the clock where it is.
    func freeze() { state.withLock { $0.running = false } }

    func advance(seconds: Double) {
        state.withLock { $0.nanoseconds += UInt64(seconds * 1e9) }
    }

    func limiter(rate: Double, burst: Int, capacity: Int = 10_000) -> RateLimiter {
        RateLimiter(rate: rate, burst: burst, capacity: capacity, now: { [self] in now() })
    }
}

@Suite("HTTP: rate limit")
struct RateLimitTests {
    @Test("a key's burst passes, the next request is 429 with Retry-After and writes nothing, other keys and health routes go on, time refills it",
          arguments: Backend.available)
    func perKeyLimit(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        // Half a request a second: one token takes two seconds.
        let limiter = clock.limiter(rate: 0.5, burst: 3)
        let registry = PrometheusCollectorRegistry()
        try await market.withServer(rateLimiter: limiter, registry: registry) { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            clock.freeze()
            clock.advance(seconds: 3600)

            for index in 0..<3 {
                let answer = try await u.report([usageEvent("ok-\(index)", grant: u.grant, time: t)], client)
                #expect(answer.status == .ok, "\(answer.text)")
            }
            let size = try await runtime.log.head().size
            let refused = try await u.report([usageEvent("late", grant: u.grant, time: t)], client)
            #expect(refused.status == .tooManyRequests)
            #expect(try refused.problem()["code"] as? String == "rate_limited")
            #expect(refused.headers[.retryAfter] == "2")
            #expect(try await runtime.log.head().size == size, "a refused batch wrote to the log")

            // Another key has its own bucket; health routes are never limited or counted.
            #expect(try await client.request(.get, "/v1/audit/entries", key: u.m.actors.admin).status == .ok)
            for _ in 0..<10 {
                #expect(try await client.request(.get, "/healthz").status == .ok)
                #expect(try await client.request(.get, "/readyz").status == .ok)
                #expect(try await client.request(.get, "/metrics").status == .ok)
            }

            // One second refills half a token: still refused, now with one second to wait.
            clock.advance(seconds: 1)
            let stillRefused = try await u.report([usageEvent("late", grant: u.grant, time: t)], client)
            #expect(stillRefused.status == .tooManyRequests)
            #expect(stillRefused.headers[.retryAfter] == "1")
            clock.advance(seconds: 1)
            let again = try await u.report([usageEvent("late", grant: u.grant, time: t)], client)
            #expect(again.status == .ok)
            // The refused batches were not half-recorded: the event is new, not a duplicate.
            #expect(try again.usageStatuses() == ["accepted"])

            let metrics = try await client.request(.get, "/metrics").text
            #expect(metrics.contains("\npdx_rate_limited_total 2\n"), "\(metrics)")
        }
    }

    @Test("requests without a valid key are answered 401 and take nothing from any bucket", arguments: Backend.available)
    func unauthenticatedRequestsAreNotCounted(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        let limiter = clock.limiter(rate: 1, burst: 1)
        try await market.withServer(rateLimiter: limiter) { _, client in
            let admin = try market.adminToken
            let keyID = try #require(APIKey(presented: admin)).keyID
            let wrongSecret = "pdx_\(keyID)_" + String(repeating: "A", count: 43)
            for key in [wrongSecret, "not-a-key", "pdx_0123456789abcdef_" + String(repeating: "B", count: 43)] {
                for _ in 0..<3 {
                    #expect(try await client.request(.get, "/v1/audit/checkpoint", key: key).status == .unauthorized)
                }
            }
            #expect(limiter.trackedKeys == 0)
            #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
            #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .tooManyRequests)
        }
    }

    @Test("rate 0 turns the limit off", arguments: Backend.available)
    func zeroDisables(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        try await market.withServer(rateLimiter: clock.limiter(rate: 0, burst: 1)) { _, client in
            let admin = try market.adminToken
            for _ in 0..<25 {
                #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
            }
        }
    }

    @Test("the server's own limiter follows the configuration")
    func configuredLimiter() async throws {
        var configured = try TestMarketplace(.sqlite)
        // A token every 100 s: the test cannot be slow enough to see one come back.
        configured.configuration.rateLimit = 0.01
        configured.configuration.rateLimitBurst = 2
        let market = configured
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let admin = try market.adminToken
            let started = ContinuousClock.now
            #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
            #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
            let refused = try await client.request(.get, "/v1/audit/entries", key: admin)
            let elapsed = Int((ContinuousClock.now - started).components.seconds) + 1
            #expect(refused.status == .tooManyRequests)
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            // The next token is 100 s after the bucket began to refill, which was at most `elapsed` ago
            // however loaded the machine (the default limiter would say 1).
            #expect((max(2, 100 - elapsed)...100).contains(retryAfter), "Retry-After \(retryAfter) after \(elapsed) s")
        }
    }

    @Test("buckets of idle keys are dropped when the table is full; busy ones keep their state")
    func memoryIsBounded() {
        let clock = ManualClock()
        clock.freeze()
        let limiter = clock.limiter(rate: 1, burst: 2, capacity: 8)
        #expect(limiter.acquire("busy") == .allowed)
        #expect(limiter.acquire("busy") == .allowed)
        for index in 0..<1000 {
            #expect(limiter.acquire("key-\(index)") == .allowed)
            // Each key refills before the next arrives; "busy" is refilled then too, so keep it busy.
            clock.advance(seconds: 2)
            #expect(limiter.acquire("busy") == .allowed)
            #expect(limiter.acquire("busy") == .allowed)
            #expect(limiter.trackedKeys <= 8, "the table grew to \(limiter.trackedKeys)")
        }
        // "busy" is empty right now and must still be: a sweep must not have reset it.
        #expect(limiter.acquire("busy") == .refused(retryAfter: 1))
    }
}

@Suite("HTTP: size limits")
struct SizeLimitTests {
    @Test("every list route refuses a page size outside its range with 400 invalid_request", arguments: Backend.available)
    func pageSizes(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let admin = try market.adminToken
            for route in ["/v1/authorities", "/v1/principals", "/v1/operators", "/v1/datasets", "/v1/grants"] {
                for limit in ["0", "201", "-1"] {
                    let response = try await client.request(.get, "\(route)?limit=\(limit)", key: admin)
                    #expect(response.status == .badRequest, "\(route)?limit=\(limit): \(response.text)")
                    #expect(try response.problem()["code"] as? String == "invalid_request", "\(route)?limit=\(limit)")
                }
                let notANumber = try await client.request(.get, "\(route)?limit=many", key: admin)
                #expect(notANumber.status == .badRequest, "\(route)?limit=many")
                #expect(try notANumber.problem()["code"] as? String == "invalid_request")
                #expect(try await client.request(.get, "\(route)?limit=200", key: admin).status == .ok, "\(route)")
                #expect(try await client.request(.get, "\(route)?limit=1", key: admin).status == .ok, "\(route)")
            }
            for limit in ["0", "1001"] {
                let response = try await client.request(.get, "/v1/audit/entries?limit=\(limit)", key: admin)
                #expect(response.status == .badRequest)
                #expect(try response.problem()["code"] as? String == "invalid_request")
            }
            #expect(try await client.request(.get, "/v1/audit/entries?limit=1000", key: admin).status == .ok)
        }
    }

    @Test("a batch over 10,000 events is refused whole with 422 batch_too_large, on both usage routes", arguments: Backend.available)
    func batchSize(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let size = try await runtime.log.head().size
            let body = usageBody((0...10_000).map { usageEvent("m-\($0)", grant: u.grant, time: t) })
            // The direct route takes plain requests; an Idempotency-Key sends the batch to the generated one.
            for idempotencyKey in [nil, "batch-1"] {
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(u.m.actors["acme"])"
                headers[.contentType] = "application/json"
                if let idempotencyKey { headers[IdempotencyMiddleware.header] = idempotencyKey }
                let response = try await client.execute(uri: "/v1/usage", method: .post, headers: headers,
                                                        body: .init(string: body)) { $0 }
                #expect(response.status == .unprocessableContent, "\(response.text.prefix(300))")
                #expect(try response.problem()["code"] as? String == "batch_too_large")
            }
            #expect(try await runtime.log.head().size == size)
        }
    }
}
