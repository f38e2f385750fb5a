@testable import APIServer
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Persistence
import Testing

@Suite("HTTP: Idempotency-Key")
struct IdempotencyTests {
    static func post(_ client: any TestClientProtocol, _ path: String, key: String, idempotencyKey: String,
                     body: String) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
    }

    @Test(arguments: Backend.available)
    func retriesReplayTheFirstAnswerAndCreateNothing(backend: Backend) async throws {
        let market = try Marketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let body = #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#
            let first = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1", body: body)
            #expect(first.status == .created)
            let size = try await runtime.log.head().size
            let retry = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1", body: body)
            #expect(retry.status == .created)
            #expect(retry.text == first.text)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await runtime.log.head().size == size, "a replay wrote to the log")

            let other = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1",
                                            body: #"{"id":"tj","name":"x","region":"y"}"#)
            #expect(other.status == .unprocessableContent)
            #expect(try other.problem()["code"] as? String == "idempotency_key_reused")

            let badKey = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "has space", body: body)
            #expect(try badKey.problem()["code"] as? String == "invalid_request")

            // A failed request does not use up its key: the corrected one goes through.
            let failed = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-tj",
                                             body: #"{"id":"TJ!","name":"x","region":"y"}"#)
            #expect(failed.status == .unprocessableContent)
            let corrected = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-tj",
                                                body: #"{"id":"tj","name":"天津市数据局","region":"Tianjin"}"#)
            #expect(corrected.status == .created, "\(corrected.text)")
        }
    }

    @Test(arguments: Backend.available)
    func aReplayedPrincipalNeverShowsTheKeyAgain(backend: Backend) async throws {
        let market = try Marketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let body = #"{"name":"Audit Office","role":"auditor"}"#
            let first = try await Self.post(client, "/v1/principals", key: admin, idempotencyKey: "auditor-1", body: body)
            let key = try #require(try first.json()["api_key"] as? String)
            #expect(APIKey(presented: key) != nil)
            let retry = try await Self.post(client, "/v1/principals", key: admin, idempotencyKey: "auditor-1", body: body)
            #expect(retry.status == .created)
            #expect(try retry.json()["id"] as? String == (try first.json()["id"] as? String))
            #expect(!retry.text.contains(key))
            let principals = try await runtime.database.read { try await $0.principals() }
            #expect(principals.filter { $0.role == "auditor" }.count == 1)
        }
    }
}
