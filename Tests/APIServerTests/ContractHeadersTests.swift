@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PDXTesting
import Testing

extension TestClientProtocol {
    /// A request with the bearer key and extra header fields.
    func request(_ method: HTTPRequest.Method, _ uri: String, key: String, body: String? = nil,
                 headers extra: [(HTTPField.Name, String)]) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        if body != nil { headers[.contentType] = "application/json" }
        for (name, value) in extra { headers[name] = value }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { $0 }
    }
}

/// `Location`, `ETag`, `If-Match` and `Content-Disposition` as the contract declares them
/// (`Docs/design/0023-contract-conventions.md`), and the problem catalog every `type` points into.
@Suite("HTTP: the contract's headers")
struct ContractHeadersTests {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    @Test("every 201 names its resource in Location, also on a replay of the same keyed POST; the path reads it",
          arguments: Backend.available)
    func location(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let admin = try market.adminToken
            let body = #"{"id":"sd","name":"Shandong data bureau","region":"Shandong"}"#
            let first = try await client.request(.post, "/v1/authorities", key: admin, body: body,
                                                 headers: [(Self.idempotencyKey, "auth-sd-1")])
            #expect(first.status == .created, "\(first.text)")
            #expect(first.headers[.location] == "/v1/authorities/sd")
            let replay = try await client.request(.post, "/v1/authorities", key: admin, body: body,
                                                  headers: [(Self.idempotencyKey, "auth-sd-1")])
            #expect(replay.status == .created)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replay.headers[.location] == "/v1/authorities/sd")
            let read = try await client.request(.get, "/v1/authorities/sd", key: admin)
            #expect(read.status == .ok)
            #expect(try read.json()["name"] as? String == "Shandong data bureau")
            #expect(try await client.request(.get, "/v1/authorities/nowhere", key: admin).problem()["code"] as? String == "not_found")

            let principal = try await client.request(.post, "/v1/principals", key: admin,
                                                     body: #"{"name":"fin-1","role":"finance"}"#)
            let id = try #require(try principal.json()["id"] as? String)
            #expect(principal.headers[.location] == "/v1/principals/\(id)")
            let readPrincipal = try await client.request(.get, "/v1/principals/\(id)", key: admin)
            #expect(readPrincipal.status == .ok)
            #expect(try readPrincipal.json()["api_key"] == nil, "the key is never shown again")
            let finKey = try #require(try principal.json()["api_key"] as? String)
            #expect(try await client.request(.get, "/v1/principals/\(id)", key: finKey).status == .forbidden)
        }
    }

    @Test("a dataset carries its version as ETag; PATCH with a stale If-Match is 412 and changes nothing", arguments: Backend.available)
    func datasetRevisions(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let published = try await m.publish("bj-flow", by: "bj-a", client)
            #expect(published.status == .created)
            #expect(published.headers[.location] == "/v1/datasets/bj-flow")
            #expect(published.headers[.eTag] == "\"1\"")
            let read = try await client.request(.get, "/v1/datasets/bj-flow", key: m.actors["acme"])
            #expect(read.headers[.eTag] == "\"1\"")

            let reprice = #"{"ceiling_prices":{"call":"0.06","record":"0.001"},"reason":"Annual review"}"#
            let changed = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"], body: reprice,
                                                   headers: [(.ifMatch, "\"1\"")])
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.headers[.eTag] == "\"2\"")

            let size = try await runtime.log.head().size
            let stale = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"],
                                                 body: #"{"openness":"conditional","reason":"Reclassified"}"#,
                                                 headers: [(.ifMatch, "\"1\"")])
            #expect(stale.status == .preconditionFailed)
            #expect(try stale.problem()["code"] as? String == "precondition_failed")
            #expect(try await runtime.log.head().size == size, "a refused change writes nothing")
            let weak = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"],
                                                body: #"{"openness":"conditional","reason":"Reclassified"}"#,
                                                headers: [(.ifMatch, "W/\"2\"")])
            #expect(weak.status == .preconditionFailed, "If-Match compares strongly")
            let list = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"],
                                                body: #"{"openness":"conditional","reason":"Reclassified"}"#,
                                                headers: [(.ifMatch, "\"1\", \"2\"")])
            #expect(try list.problem()["code"] as? String == "invalid_request")
            let any = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"],
                                               body: #"{"openness":"conditional","reason":"Reclassified"}"#,
                                               headers: [(.ifMatch, "*")])
            #expect(any.status == .ok)
            #expect(any.headers[.eTag] == "\"3\"")
            let without = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-a"],
                                                   body: #"{"ceiling_prices":{"call":"0.05","record":"0.001"},"reason":"Back"}"#)
            #expect(without.status == .ok, "without If-Match the change applies as before")
            #expect(without.headers[.eTag] == "\"4\"")
        }
    }

    @Test("a grant carries its revision as ETag on every read and step, and its request names it in Location", arguments: Backend.available)
    func grantRevisions(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client).status == .created)
            let body = LicensingMarket.grantBody([("bj-cond", "0.04")])
            let requested = try await client.request(.post, "/v1/grants", key: m.actors["acme"], body: body,
                                                     headers: [(Self.idempotencyKey, "grant-1")])
            #expect(requested.status == .created, "\(requested.text)")
            let grant = try requested.json()
            let id = try #require(grant["id"] as? String)
            let revision = try #require(grant["revision"] as? Int)
            #expect(requested.headers[.location] == "/v1/grants/\(id)")
            #expect(requested.headers[.eTag] == "\"\(revision)\"")
            let replay = try await client.request(.post, "/v1/grants", key: m.actors["acme"], body: body,
                                                  headers: [(Self.idempotencyKey, "grant-1")])
            #expect(replay.headers[.location] == "/v1/grants/\(id)")
            #expect(replay.headers[.eTag] == "\"\(revision)\"")

            let decided = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"],
                                                   body: #"{"decision":"approve"}"#)
            #expect(decided.status == .ok, "\(decided.text)")
            let now = try #require(try decided.json()["revision"] as? Int)
            #expect(now > revision)
            #expect(decided.headers[.eTag] == "\"\(now)\"")
            #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors["acme"]).headers[.eTag] == "\"\(now)\"")
        }
    }

    @Test("a release file downloads as an attachment with its file name", arguments: Backend.available)
    func releaseFile(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let d = try await DataMarket.setUp(market, client, rows: 3)
            let file = try await client.request(.get, "/v1/data/bj-roads/releases/2026-09/file?grant_id=\(d.grant)", key: d.m.actors["acme"])
            #expect(file.status == .ok, "\(file.text)")
            #expect(file.headers[.contentDisposition] == "attachment; filename=\"bj-roads-2026-09.csv\"")
        }
    }

    @Test("report file names: CSV, csv-excel and XLSX are attachments named by period, party and section; JSON is not")
    func reportFileNames() {
        func name(_ query: String, _ type: String) -> String? {
            ResourceHeadersMiddleware.fileName(.getSettlementReport, path: "/v1/settlements/2026-10/report",
                                              query: "/v1/settlements/2026-10/report?" + query, contentType: type)
        }
        #expect(name("format=csv", "text/csv") == "pdx-settlement-2026-10.csv")
        #expect(name("format=csv&party=operator:op_1&section=parties", "text/csv; charset=utf-8")
            == "pdx-settlement-2026-10-operator-op_1-parties.csv")
        #expect(name("format=csv-excel", "text/csv") == "pdx-settlement-2026-10-excel.csv")
        #expect(name("format=xlsx&party=a%22b", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            == "pdx-settlement-2026-10-a-b.xlsx", "a quote never reaches the header")
        #expect(name("format=json", "application/json") == nil)
    }

    @Test("a problem's type resolves: GET /problems serves the catalog with a section for its code")
    func problemTypeResolves() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let refused = try await client.request(.get, "/v1/datasets/none", key: try market.adminToken)
            let type = try #require(try refused.problem()["type"] as? String)
            #expect(type == "/problems#not_found")
            let page = try await client.request(.get, String(type.prefix { $0 != "#" }))
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/markdown") == true)
            #expect(page.text.contains("\n## not_found\n"))
        }
    }
}
