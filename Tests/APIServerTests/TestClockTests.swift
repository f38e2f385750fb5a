import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Persistence
import PDXTesting
import Testing

@Suite("HTTP: the test clock")
struct TestClockTests {
    @Test(arguments: Backend.available)
    func withoutTheFlagTheRouteDoesNotExist(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let response = try await client.request(.post, "/v1/test-clock", key: try market.adminToken,
                                                     body: #"{"now":"2030-01-01T00:00:00Z"}"#)
            #expect(response.status == .notFound)
            #expect(try response.problem()["code"] as? String == "not_found")
        }
    }

    @Test(arguments: Backend.available)
    func movesForwardOnlyIsLoggedAndSurvivesRestart(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let key = try market.adminToken
            let forward = try await client.request(.post, "/v1/test-clock", key: key, body: #"{"now":"2030-01-31T16:00:00+08:00"}"#)
            #expect(forward.status == .ok, "\(forward.text)")
            #expect(runtime.clock.now() == RFC3339.parse("2030-01-31T08:00:00Z"))
            let entries = try await runtime.log.entries(start: 0, limit: 10)
            let last = try AuditEntry(decoding: try #require(entries.last).body)
            #expect(last.record.action == "test_clock.advanced")
            #expect(last.record.data["to"] == .string("2030-01-31T08:00:00.000Z"))
            // The move is recorded at the time it was made, before the clock jumped.
            #expect(last.time < RFC3339.parse("2030-01-31T08:00:00Z")!)

            let size = try await runtime.log.head().size
            let refused: [(String, Int, String)] = [
                (#"{"now":"2029-12-31T00:00:00Z"}"#, 422, "clock_backwards"),
                (#"{"now":"not a time"}"#, 400, "invalid_request"),
                (#"{"now":"2031-01-01T00:00:00Z","extra":1}"#, 400, "invalid_request"),
                (#"{"now":"#, 400, "invalid_request"),
                (#"{}"#, 400, "invalid_request"),
            ]
            for (body, status, code) in refused {
                let response = try await client.request(.post, "/v1/test-clock", key: key, body: body)
                #expect(Int(response.status.code) == status, "\(body): \(response.text)")
                #expect(try response.problem()["code"] as? String == code, "\(body)")
            }
            // Nothing was written by the refusals.
            #expect(try await runtime.log.head().size == size)
            #expect(runtime.clock.now() == RFC3339.parse("2030-01-31T08:00:00Z"))
        }
        // A restart resumes from the stored time.
        let reopened = try await market.open()
        #expect(reopened.clock.now() == RFC3339.parse("2030-01-31T08:00:00Z"))
        await reopened.close()
    }
}

@Suite("Start-up integrity")
struct IntegrityTests {
    @Test(arguments: Backend.available)
    func aLogThatFailsItsCheckRefusesWritesAndIsNotReady(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        let first = try await market.open()
        // One changed byte in a stored entry: the entries no longer hash to the signed root.
        try await first.database.transaction { tx in
            var body = try await tx.entries(from: 1, limit: 1)[0].body
            body[body.count / 2] ^= 0x20
            try await tx.context.execute("UPDATE log_entries SET body = $1 WHERE seq = $2", [.blob(body), .integer(1)])
        }
        await first.close()

        try await market.withServer { runtime, client in
            #expect(!runtime.integrity.isIntact)
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.retryAfter] != nil)
            let size = try await runtime.log.head().size
            let write = try await client.request(.post, "/v1/test-clock", key: try market.adminToken,
                                                 body: #"{"now":"2035-01-01T00:00:00Z"}"#)
            #expect(write.status == .serviceUnavailable)
            #expect(try write.problem()["code"] as? String == "log_read_only")
            #expect(try await runtime.log.head().size == size)
            // Reads still work, so the state can be inspected.
            let checkpoint = try await client.request(.get, "/v1/audit/checkpoint", key: try market.adminToken)
            #expect(checkpoint.status == .ok)
        }
    }
}
