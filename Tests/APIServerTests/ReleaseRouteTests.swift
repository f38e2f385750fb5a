import AuditLog
@testable import APIServer
@testable import Marketplace
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import PDXTesting
import Persistence
import Testing

/// `PUT /v1/datasets/{id}/releases/{version}` and the listing, through the real router, on both
/// stores: each refusal a problem with a stable code and nothing stored.
@Suite("Dataset releases over HTTP")
struct ReleaseRouteTests {
    /// Publishes the dataset the release tests load into, through the API.
    ///
    /// Its fields are not marked `filterable` because the API cannot say so yet; once it can, add
    /// `"filterable":true` to `station` and `hour` here and the filter checks below apply.
    static func publishReleaseDataset(_ client: any TestClientProtocol, reviewer: String) async throws {
        let body = """
        {"id":"bj-flow","title":"Road flow","description":"Hourly flow per station","theme":"traffic",
         "openness":"open","grade":"general",
         "fields":[{"name":"station","type":"string","sensitive":false},{"name":"hour","type":"integer","sensitive":false},
                   {"name":"flow","type":"decimal","sensitive":false},{"name":"day","type":"date","sensitive":false}],
         "units":["call","record"],"currency":"CNY","ceiling_prices":{"call":"0.05","record":"0.001"},
         "revenue_share_bps":3000}
        """
        let response = try await client.request(.post, "/v1/datasets", key: reviewer, body: body)
        #expect(response.status == .created, "\(response.text)")
    }

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> Actors {
        var actors = Actors(admin: try market.adminToken)
        for id in ["bj", "tj"] { try await Actors.authority(id, client, admin: actors.admin) }
        try await actors.principal("bj-a", role: .authorityReviewer, authority: "bj", client)
        try await actors.principal("tj-a", role: .authorityReviewer, authority: "tj", client)
        try await actors.principal("acme", role: .operator, client)
        try await publishReleaseDataset(client, reviewer: actors["bj-a"])
        return actors
    }

    static let csv = "\u{FEFF}station,hour,flow,day\r\n\"Xizhimen, N\",7,120.5,2026-12-01\r\nDongzhimen,08,98,2026-12-01\r\n"

    static func put(_ client: any TestClientProtocol, _ path: String = "/v1/datasets/bj-flow/releases/2026-12", key: String,
                    body: String, contentType: String = "text/csv") async throws -> TestResponse {
        try await client.request(.put, path, key: key, body: body, contentType: contentType)
    }

    /// The rows stored for the dataset, loading or published, and its listed releases.
    static func stored(_ runtime: Runtime) async throws -> (rows: Int, listed: Int) {
        let rows = try await runtime.database.read { reader in
            try await reader.releaseRows(datasetID: "bj-flow", version: "2026-12", after: 0, limit: 1000)
        }
        let listed = try await runtime.database.read { try await $0.releases(datasetID: "bj-flow") }
        return (rows.count, listed.count)
    }

    @Test("a CSV release is answered 201 with its digest and logged as dataset.release_published", arguments: Backend.available)
    func loadCSV(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            let before = try await runtime.log.head().size
            let response = try await Self.put(client, key: actors["bj-a"], body: Self.csv)
            #expect(response.status == .created, "\(response.text)")
            #expect(response.headers[.location] == "/v1/datasets/bj-flow/releases/2026-12")
            let body = try response.json()
            let digest = SHA256.hash(Array(Self.csv.utf8)).hex
            #expect(body["sha256"] as? String == digest)
            #expect(body["rows"] as? Int == 2 && body["bytes"] as? Int == Self.csv.utf8.count)
            #expect(body["fields"] as? [String] == ["station", "hour", "flow", "day"])
            #expect(body["media_type"] as? String == "text/csv" && body["version"] as? String == "2026-12")
            #expect(body["published_by"] as? String == actors.ids["bj-a"])

            let entries = try await runtime.log.entries(start: before, limit: 10)
            #expect(entries.count == 1)
            let record = try JSONValue.parse(try #require(entries.first).body)
            #expect(record["action"] == "dataset.release_published")
            let data = try #require(record["data"])
            #expect(data["sha256"] == .string(digest) && data["rows"] == 2 && data["release"] == "2026-12")
            #expect(data["dataset_id"] == "bj-flow" && data["authority_id"] == "bj")

            // Listed for every role, an operator too.
            let listed = try await client.request(.get, "/v1/datasets/bj-flow/releases", key: actors["acme"])
            #expect(listed.status == .ok, "\(listed.text)")
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(items.map { $0["version"] as? String } == ["2026-12"])
            // The stored rows read back as JSON values in field order.
            let rows = try await runtime.database.read { reader in
                try await reader.releaseRows(datasetID: "bj-flow", version: "2026-12", after: 0, limit: 10)
            }
            #expect(rows.map(\.document) == ["\"Xizhimen, N\"\u{1F}7\u{1F}120.5\u{1F}\"2026-12-01\"",
                                             "\"Dongzhimen\"\u{1F}8\u{1F}98\u{1F}\"2026-12-01\""])

            // The same version again: 409, nothing changed.
            let again = try await Self.put(client, key: actors["bj-a"], body: Self.csv)
            #expect(again.status == .conflict)
            #expect(try again.problem()["code"] as? String == "release_exists")
            #expect(try await runtime.log.head().size == before + 1)
        }
    }

    @Test("an NDJSON release loads like a CSV one", arguments: Backend.available)
    func loadNDJSON(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            let body = #"""
            {"station":"Xizhimen","hour":7,"flow":120.5,"day":"2026-12-01"}
            {"day":null,"flow":null,"hour":null,"station":"Dongzhimen"}

            """#
            let response = try await Self.put(client, key: actors["bj-a"], body: body, contentType: "application/x-ndjson")
            #expect(response.status == .created, "\(response.text)")
            #expect(try response.json()["media_type"] as? String == "application/x-ndjson")
            #expect(try await Self.stored(runtime) == (2, 1))
        }
    }

    @Test("bad input is a problem with a stable code, and nothing is stored", arguments: Backend.available)
    func refusals(backend: Backend) async throws {
        var configured = try TestMarketplace(backend)
        configured.configuration.maxReleaseBytes = 4096
        let market = configured
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            let before = try await runtime.log.head().size
            func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
                #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
                let problem = try response.problem()
                #expect(problem["code"] as? String == code, sourceLocation: sourceLocation)
                return problem["detail"] as? String ?? ""
            }
            // 422 naming the row and column.
            let badValue = "station,hour,flow,day\nA,1,1.5,2026-12-01\nB,2,1.5,2026-12-32\n"
            let detail = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: badValue), .unprocessableContent, "invalid_value")
            #expect(detail.contains("row 2, column 'day'"), "\(detail)")
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: "station,hour,flow,day,x\n"),
                                  .unprocessableContent, "unknown_column")
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: "station,hour,flow\nA,1,1\n"),
                                  .unprocessableContent, "missing_column")
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: "station,hour,flow,day\n\"A,1,1,2026-12-01\n"),
                                  .unprocessableContent, "invalid_csv")
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: "{\"station\":1}\n", contentType: "application/x-ndjson"),
                                  .unprocessableContent, "missing_column")
            _ = try expectProblem(try await Self.put(client, "/v1/datasets/bj-flow/releases/-bad", key: actors["bj-a"], body: Self.csv),
                                  .unprocessableContent, "invalid_release_version")
            // 415 for any other body type.
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: "{}", contentType: "application/json"),
                                  .unsupportedMediaType, "unsupported_media_type")
            // 413 past --max-release-bytes, whatever the JSON body limit.
            let big = "station,hour,flow,day\n" + String(repeating: "Xizhimen,7,120.5,2026-12-01\n", count: 200)
            _ = try expectProblem(try await Self.put(client, key: actors["bj-a"], body: big), .contentTooLarge, "release_too_large")
            // 403: another authority's reviewer, an operator.
            _ = try expectProblem(try await Self.put(client, key: actors["tj-a"], body: Self.csv), .forbidden, "authority_not_party")
            _ = try expectProblem(try await Self.put(client, key: actors["acme"], body: Self.csv), .forbidden, "forbidden")
            // 404: no such dataset, for loading and for listing.
            _ = try expectProblem(try await Self.put(client, "/v1/datasets/nope/releases/v1", key: actors["bj-a"], body: Self.csv),
                                  .notFound, "not_found")
            _ = try expectProblem(try await client.request(.get, "/v1/datasets/nope/releases", key: actors["acme"]), .notFound, "not_found")

            #expect(try await Self.stored(runtime) == (0, 0))
            let loading = try await runtime.database.read { try await $0.releases(datasetID: "bj-flow") }
            #expect(loading.isEmpty)
            #expect(try await runtime.log.head().size == before)
        }
    }

    @Test("a release larger than the JSON body limit is streamed, not refused", arguments: Backend.available)
    func largerThanTheJSONLimit(backend: Backend) async throws {
        let market = try TestMarketplace(backend, maxBodyBytes: 1024)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            var body = "station,hour,flow,day\n"
            for n in 0..<2000 { body += "S\(n),\(n % 24),\(n).5,2026-12-01\n" }
            let response = try await Self.put(client, key: actors["bj-a"], body: body)
            #expect(response.status == .created, "\(response.text)")
            #expect(try response.json()["rows"] as? Int == 2000)
        }
    }
}
