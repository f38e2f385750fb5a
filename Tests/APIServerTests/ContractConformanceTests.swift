@testable import APIServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PDXTesting
import Testing

/// What the contract check (schemathesis, `ContractCheckTests`) found, each kept fixed here on both stores.
@Suite("HTTP: conformance to the contract")
struct ContractConformanceTests {
    @Test("ContractTables holds every path of the contract with exactly its methods")
    func tablesMatchTheContract() throws {
        let text = try ProblemCatalogTests.read("Contracts/openapi.yaml")
        let paths = try #require(text.components(separatedBy: "\ncomponents:\n").first)
        var contract: [String: [String]] = [:]
        var current: String?
        for line in paths.split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                current = String(line.dropFirst(2).dropLast())
                contract[current!] = []
            } else if let path = current, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let method = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" }) {
                contract[path, default: []].append(method.uppercased())
            }
        }
        #expect(contract.count == ContractTables.methods.count)
        for (path, methods) in ContractTables.methods {
            #expect(contract[path] == methods, "\(path)")
        }
    }

    @Test("a method the contract does not list for a path is 405 with Allow, not 404", arguments: Backend.available)
    func methodNotAllowed(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let trace = try await client.request(.trace, "/healthz", key: key)
            #expect(trace.status == .methodNotAllowed)
            #expect(trace.headers[.allow] == "GET")
            #expect(try trace.problem()["code"] as? String == "method_not_allowed")
            let delete = try await client.request(.delete, "/v1/datasets/bj-traffic", key: key)
            #expect(delete.headers[.allow] == "GET, PATCH")
            #expect(try await client.request(.get, "/v1/nothing-here", key: key).status == .notFound)
        }
    }

    @Test("a query parameter over the contract's maxLength is 400, not a silent empty page", arguments: Backend.available)
    func queryLimits(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let long = try await client.request(.get, "/v1/datasets?theme=" + String(repeating: "a", count: 65), key: key)
            #expect(long.status == .badRequest)
            #expect(try long.problem()["code"] as? String == "invalid_request")
            #expect(try await client.request(.get, "/v1/datasets?theme=" + String(repeating: "a", count: 64), key: key).status == .ok)
            #expect(try await client.request(.get, "/v1/grants?operator_id=" + String(repeating: "0", count: 129), key: key).status == .badRequest)
        }
    }

    @Test("a keyed POST with an empty body is 400, not 500, and leaves its key free", arguments: Backend.available)
    func emptyKeyedBody(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let empty = try await client.request(.post, "/v1/authorities", key: key, body: "",
                                                 headers: [(ContractHeadersTests.idempotencyKey, "empty-1")])
            #expect(empty.status == .badRequest, "\(empty.text)")
            #expect(try empty.problem()["code"] as? String == "invalid_request")
            let real = try await client.request(.post, "/v1/authorities", key: key, body: #"{"id":"gd","name":"Guangdong","region":"Guangdong"}"#,
                                                headers: [(ContractHeadersTests.idempotencyKey, "empty-1")])
            #expect(real.status == .created, "the failed request stored nothing under its key: \(real.text)")
        }
    }
}

@Suite("HTTP: request bodies hold no null")
struct NullMembersTests {
    @Test("a member sent as null is 400 naming it, not read as left out; nothing is created", arguments: Backend.available)
    func nullMember(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let refused = try await client.request(.post, "/v1/principals", key: key,
                                                   body: #"{"name":"Wang Fang","role":"finance","expires_at":null}"#)
            #expect(refused.status == .badRequest)
            let problem = try refused.problem()
            #expect(problem["code"] as? String == "invalid_request")
            #expect((problem["detail"] as? String)?.contains("'expires_at' is null") == true)
            let nested = try await client.request(.post, "/v1/authorities", key: key, body: #"{"id":"sx","name":"Shanxi","region":"Shanxi","x":[1,null]}"#)
            #expect((try nested.problem()["detail"] as? String)?.contains("'x[1]' is null") == true)
            let list = try await client.request(.get, "/v1/principals", key: key).json()
            #expect((list["items"] as? [[String: Any]])?.count == 1, "only the admin: nothing was created")
        }
    }
}
