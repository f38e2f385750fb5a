import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Licensing
import Logging
import Metering
import NIOCore
import PDXTesting
import Persistence
import Prometheus
import Replay
import Synchronization
import Testing

/// The authority's own interface, served in process on a free port: each path answers one way.
enum LocalUpstream {
    static let secret = "s3cr3t-Upstream-Token-7f9"
    static let header = "X-Api-Key"

    /// What the interface last saw: path, query, and whether the credential came with it.
    final class Seen: Sendable {
        let last = Mutex<(path: String, query: String, credential: String?)?>(nil)
        let calls = Mutex(0)
        /// The authority (Host header) of the last request.
        let host = Mutex<String?>(nil)
    }

    static func records(_ count: Int) -> String {
        "[" + (1...max(1, count)).prefix(count).map { n in
            #"{"road_id":"R\#(n % 3)","hour":"2026-09-27T0\#(n % 10):00:00+08:00","flow":\#(n),"plate":"京A\#(n)","owner_phone":"138\#(n)"}"#
        }.joined(separator: ",") + "]"
    }

    @Sendable static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func router(_ seen: Seen) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(RecordingMiddleware(seen: seen))
        router.get("roads") { _, _ in json(#"{"records":\#(records(5)),"total":5}"#) }
        router.get("roads/array") { _, _ in json(records(3)) }
        router.get("roads/many") { _, _ in json(records(20)) }
        router.get("slow") { _, _ in
            try await Task.sleep(for: .seconds(15))
            return json(#"{"records":[]}"#)
        }
        router.get("fail") { _, _ in json(#"{"error":"boom"}"#, status: .internalServerError) }
        router.get("big") { _, _ in json(records(4000)) }
        router.get("not-json") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "road_id,flow\nR1,3\n"))) }
        router.get("not-records") { _, _ in json(#"{"records":[1,2,3]}"#) }
        router.get("not-a-list") { _, _ in json(#"{"data":{"road_id":"R1"}}"#) }
        router.get("redirect") { _, _ in
            Response(status: .found, headers: [.location: "http://203.0.113.9/steal"], body: .init(byteBuffer: ByteBuffer(string: "")))
        }
        router.get("echo/**") { request, _ in
            json(#"[{"road_id":"\#(request.uri.path)","hour":"\#(request.uri.query ?? "")"}]"#)
        }
        return router
    }

    struct RecordingMiddleware: RouterMiddleware {
        typealias Context = BasicRequestContext
        let seen: Seen
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            seen.last.withLock { $0 = (request.uri.path, request.uri.query ?? "", request.headers[HTTPField.Name(LocalUpstream.header)!]) }
            seen.calls.withLock { $0 += 1 }
            seen.host.withLock { $0 = request.head.authority }
            guard request.headers[HTTPField.Name(LocalUpstream.header)!] == LocalUpstream.secret else {
                return Response(status: .unauthorized)
            }
            return try await next(request, context)
        }
    }

    /// Runs `body` with the interface listening on 127.0.0.1; gives its base URL.
    static func withUpstream<T: Sendable>(_ body: @Sendable (String, Seen) async throws -> T) async throws -> T {
        let seen = Seen()
        let app = Application(router: router(seen), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)", seen)
        }
    }
}

/// An upstream dataset `bj-live` on `base`, and a grant of `acme` for road_id, hour and flow.
struct UpstreamMarket {
    var m: LicensingMarket
    var grant: String

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol, base: String,
                      quotas: String = #"{"call":1000000,"record":1000000}"#) async throws -> UpstreamMarket {
        let m = try await LicensingMarket.setUp(market, client)
        let published = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
            {"id":"bj-live","title":"Live road flow","theme":"traffic","openness":"open","grade":"general",
             "fields":\(DataMarket.fields),"units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},
             "revenue_share_bps":3000,"delivery":"upstream",
             "upstream":{"base_url":"\(base)","credential_header":"\(LocalUpstream.header)","secret":"\(LocalUpstream.secret)"}}
            """)
        #expect(published.status == .created, "\(published.text)")
        #expect(!published.text.contains(LocalUpstream.secret))
        let grant = try #require(try await m.requestGrant("acme", DataMarket.grantBody(dataset: "bj-live", quotas: quotas), client)["id"] as? String)
        return UpstreamMarket(m: m, grant: grant)
    }

    func read(_ path: String, query: String = "", as name: String = "acme", _ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.request(.get, "/v1/data/bj-live/upstream/\(path)?grant_id=\(grant)" + (query.isEmpty ? "" : "&\(query)"),
                                 key: m.actors[name])
    }

    func usage(_ client: any TestClientProtocol) async throws -> [String: [Int]] {
        try await DataMarket(m: m, grant: grant).usage(client)
    }
}

@Suite("HTTP: upstream datasets, forwarded and metered at the source")
struct UpstreamAPITests {
    /// A marketplace whose upstream interfaces may be on this machine (`--upstream-allow-private`)
    /// unless `allowPrivate` is false.
    static func market(_ backend: Backend, allowPrivate: Bool = true) throws -> TestMarketplace {
        var market = try TestMarketplace(backend)
        market.configuration.upstreamAllowPrivate = allowPrivate
        // Long enough for a loaded machine running the whole suite; the slow path sleeps past it.
        market.configuration.upstreamTimeout = .seconds(6)
        market.configuration.upstreamMaxBytes = 64 << 10
        return market
    }

    @Test("a forwarded call keeps only the granted fields, sends the credential, forwards the query but PDX's own, and is metered",
          arguments: Backend.available)
    func forwarded(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            try await market.withServer { runtime, client in
                let u = try await UpstreamMarket.setUp(market, client, base: base + "/")
                let answer = try await u.read("roads", query: "day=2026-09-27&fields=road_id,flow", client)
                #expect(answer.status == .ok, "\(answer.text)")
                let body = try answer.json()
                let records = try #require(body["records"] as? [[String: Any]])
                #expect(records.count == 5)
                #expect(records.allSatisfy { Set($0.keys) == ["road_id", "flow"] }, "ungranted and unasked fields removed")
                #expect(records.map { $0["flow"] as? Int } == [1, 2, 3, 4, 5])
                #expect(!answer.text.contains("owner_phone") && !answer.text.contains("京A"))
                #expect(!answer.text.contains(LocalUpstream.secret))
                let usage = try #require(body["usage"] as? [String: Any])
                #expect(usage["units"] as? [String: Int] == ["call": 1, "record": 5])
                #expect(body["withheld"] as? Int == 0)
                let last = try #require(seen.last.withLock { $0 })
                #expect(last.path == "/roads")
                #expect(last.query == "day=2026-09-27", "grant_id and fields are PDX's, never forwarded")
                #expect(last.credential == LocalUpstream.secret)

                // A top-level array; by default every granted field.
                let array = try await u.read("roads/array", client)
                #expect(array.status == .ok, "\(array.text)")
                let arrayRecords = try #require(try array.json()["records"] as? [[String: Any]])
                #expect(arrayRecords.count == 3)
                #expect(arrayRecords.allSatisfy { Set($0.keys) == ["road_id", "hour", "flow"] })
                #expect(try await u.usage(client) == ["call": [2, 2], "record": [8, 2]])

                // An ungranted field asked for is refused before anything is forwarded.
                let calls = seen.calls.withLock { $0 }
                let refused = try await u.read("roads", query: "fields=plate", client)
                #expect(refused.status == .forbidden)
                #expect(try refused.problem()["code"] as? String == "field_not_granted")
                #expect(seen.calls.withLock { $0 } == calls)

                // The log holds the usage as metered at the source, forwarded to the authority's interface;
                // the counters keep it as the upstream part.
                let entries = try await runtime.log.entries(start: 0, limit: 10_000)
                let usageEntries = entries.map { String(decoding: $0.body, as: UTF8.self) }.filter { $0.contains("usage.recorded") }
                #expect(usageEntries.count == 2)
                #expect(usageEntries.allSatisfy { $0.contains(#""source":"upstream""#) && $0.contains("bj-live") })
                let counters = try await runtime.database.read { reader in
                    try await reader.usageCounters(period: MarketCalendar().period(of: runtime.clock.now()), filter: UsageFilter())
                }
                #expect(counters.count == 2)
                #expect(counters.allSatisfy { $0.upstreamQuantity == $0.quantity && $0.upstreamEvents == 2 && $0.gatewayQuantity == 0 })
            }
        }
    }

    @Test("slow, failing, oversized, malformed and redirecting interfaces: 502/504 with their codes, nothing metered or logged",
          arguments: Backend.available)
    func failures(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            try await market.withServer { runtime, client in
                let u = try await UpstreamMarket.setUp(market, client, base: base)
                let head = try await runtime.log.head()
                let cases: [(String, HTTPResponse.Status, String)] = [
                    ("slow", .gatewayTimeout, "upstream_timeout"),
                    ("fail", .badGateway, "upstream_failed"),
                    ("big", .badGateway, "upstream_too_large"),
                    ("not-json", .badGateway, "upstream_malformed"),
                    ("not-records", .badGateway, "upstream_malformed"),
                    ("not-a-list", .badGateway, "upstream_malformed"),
                    ("redirect", .badGateway, "upstream_redirect"),
                    ("missing", .badGateway, "upstream_failed"),
                ]
                for (path, status, code) in cases {
                    let answer = try await u.read(path, client)
                    #expect(answer.status == status, "\(path): \(answer.text)")
                    #expect(try answer.problem()["code"] as? String == code, "\(path)")
                    #expect(!answer.text.contains(LocalUpstream.secret))
                    #expect(!answer.text.contains("R1"), "\(path): no record")
                }
                #expect(seen.last.withLock { $0 }?.path == "/missing", "the redirect was never followed")
                #expect(try await u.usage(client).isEmpty, "failures cost nothing")
                #expect(try await runtime.log.head() == head, "nothing logged")
            }
        }
    }

    @Test("paths that could leave the base path or change the host are refused before anything is forwarded",
          arguments: Backend.available)
    func badPaths(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            try await market.withServer { _, client in
                let u = try await UpstreamMarket.setUp(market, client, base: base + "/echo/v2")
                let good = try await u.read("roads/R1%20north", query: "a=1&b=%E4%B8%AD", client)
                #expect(good.status == .ok, "\(good.text)")
                let record = try #require(try good.json()["records"] as? [[String: Any]]).first
                #expect(record?["road_id"] as? String == "/echo/v2/roads/R1%20north")
                #expect(record?["hour"] as? String == "a=1&b=%E4%B8%AD")
                let calls = seen.calls.withLock { $0 }
                for path in ["..", "roads/../../admin", "roads/%2e%2e/admin", "roads%2F..%2Fadmin", "roads%2fx", "a//b", "roads/",
                             "roads%5Cadmin", "./roads", "roads/%2E", "r%zz", "r%00x", "roads%40x/%2F%2Fevil", "a\\b"] {
                    let answer = try await u.read(path, client)
                    #expect(answer.status == .badRequest, "\(path): \(answer.text)")
                    #expect(try answer.problem()["code"] as? String == "invalid_upstream_path", "\(path)")
                }
                let badQuery = try await u.read("roads", query: "a=%ZZ", client)
                #expect(badQuery.status == .badRequest)
                #expect(try badQuery.problem()["code"] as? String == "invalid_upstream_query")
                #expect(seen.calls.withLock { $0 } == calls, "nothing refused was forwarded")
            }
        }
    }

    @Test("the quota: calls are refused when used up, records beyond it are withheld, nothing past it is counted",
          arguments: Backend.available)
    func quota(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            try await market.withServer { _, client in
                let u = try await UpstreamMarket.setUp(market, client, base: base, quotas: #"{"call":3,"record":12}"#)
                let first = try await u.read("roads", client)
                #expect(first.status == .ok, "\(first.text)")
                let cut = try await u.read("roads/many", client)
                #expect(cut.status == .ok, "\(cut.text)")
                #expect(try #require(try cut.json()["records"] as? [[String: Any]]).count == 7)
                #expect(try cut.json()["withheld"] as? Int == 13)
                let calls = seen.calls.withLock { $0 }
                let refused = try await u.read("roads", client)
                #expect(refused.status == .forbidden)
                #expect(try refused.problem()["code"] as? String == "quota_exceeded")
                #expect(seen.calls.withLock { $0 } == calls, "a call past the quota is not forwarded")
                #expect(try await u.usage(client) == ["call": [2, 2], "record": [12, 2]])
            }
        }
    }

    @Test("if the usage cannot be committed the caller gets 503 and no record; nothing is counted")
    func commitFails() async throws {
        let market = try Self.market(.sqlite)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, _ in
            try await market.withServer { runtime, client in
                let database = try #require(runtime.database as? SQLiteDatabase)
                let u = try await UpstreamMarket.setUp(market, client, base: base)
                let head = try await runtime.log.head()
                try await database.refuseWrites(true)
                let answer = try await u.read("roads", client)
                #expect(answer.status == .serviceUnavailable)
                #expect(try answer.problem()["code"] as? String == "storage_read_only")
                #expect(!answer.text.contains("R1"), "no record in the answer")
                #expect(try await runtime.log.head() == head)
                try await database.refuseWrites(false)
                #expect(try await u.read("roads", client).status == .ok)
                #expect(try await u.usage(client) == ["call": [1, 1], "record": [5, 1]])
            }
        }
    }

    @Test("the secret is write-only: absent from answers, the log, the export, /metrics and the server's own log; sealed at rest",
          arguments: Backend.available)
    func secretNeverShown(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        let capture = LogCapture()
        let registry = PrometheusCollectorRegistry()
        try await LocalUpstream.withUpstream { base, seen in
            try await market.withServer(registry: registry, logger: capture.logger(level: .trace)) { runtime, client in
                let u = try await UpstreamMarket.setUp(market, client, base: base)
                #expect(try await u.read("roads", client).status == .ok)
                #expect(try await u.read("fail", client).status == .badGateway)
                let shown = try await client.request(.get, "/v1/datasets/bj-live", key: u.m.actors["acme"])
                #expect(shown.status == .ok)
                let dataset = try shown.json()
                #expect((dataset["upstream"] as? [String: Any])?["credential_header"] as? String == LocalUpstream.header)
                #expect(dataset["delivery"] as? String == "upstream")
                #expect(!shown.text.contains(LocalUpstream.secret))
                let listed = try await client.request(.get, "/v1/datasets", key: u.m.actors["bj-a"])
                #expect(!listed.text.contains(LocalUpstream.secret))

                // Rotating the secret: logged as changed, never its value; the new one is sent.
                let rotated = "n3w-Secret-Value-42"
                let patched = try await client.request(.patch, "/v1/datasets/bj-live", key: u.m.actors["bj-a"], body: """
                    {"upstream":{"secret":"\(rotated)"},"reason":"quarterly credential rotation"}
                    """)
                #expect(patched.status == .ok, "\(patched.text)")
                #expect(!patched.text.contains(rotated))
                _ = try await u.read("roads", client)
                #expect(seen.last.withLock { $0 }?.credential == rotated)

                let entries = try await runtime.log.entries(start: 0, limit: 10_000).map { String(decoding: $0.body, as: UTF8.self) }
                let logText = entries.joined(separator: "\n")
                #expect(!logText.contains(LocalUpstream.secret) && !logText.contains(rotated))
                let change = try #require(entries.first { $0.contains("dataset.upstream_changed") })
                #expect(change.contains(#""upstream_secret":"changed""#))
                let publication = try #require(entries.first { $0.contains("dataset.published") && $0.contains("bj-live") })
                #expect(publication.contains(#""credential_header":"X-Api-Key""#))

                let export = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-export-\(UUID().uuidString.prefix(8))").path
                defer { try? FileManager.default.removeItem(atPath: export) }
                _ = try await runtime.exportLog(to: export)
                for file in try FileManager.default.subpathsOfDirectory(atPath: export) {
                    guard let data = FileManager.default.contents(atPath: export + "/" + file) else { continue }
                    let bytes = Array(data)
                    #expect(!bytes.contains(subsequence: Array(LocalUpstream.secret.utf8)), "\(file)")
                    #expect(!bytes.contains(subsequence: Array(rotated.utf8)), "\(file)")
                }
                let metrics = try await client.request(.get, "/metrics")
                #expect(metrics.status == .ok)
                #expect(!metrics.text.contains(LocalUpstream.secret) && !metrics.text.contains(rotated))
                #expect(!capture.text.contains(LocalUpstream.secret) && !capture.text.contains(rotated))

                let sealed = try #require(try await runtime.database.read { try await $0.sealedUpstreamCredential(datasetID: "bj-live") })
                #expect(!sealed.contains(subsequence: Array(rotated.utf8)))
                let key = try #require(runtime.upstreamKey)
                #expect(try key.open(sealed, associatedData: Array("bj-live".utf8)) == Array(rotated.utf8))
                #expect(throws: OpenSSLError.self) { try key.open(sealed, associatedData: Array("bj-roads".utf8)) }
                let attributes = try FileManager.default.attributesOfItem(atPath: runtime.dataDirectory.upstreamKeyPath)
                #expect((attributes[.posixPermissions] as? Int) == 0o600)

                // The log alone rebuilds the dataset's delivery and endpoint, and finds nothing unlawful.
                let replay = ReplayScenario.replay(try await runtime.log.entries(start: 0, limit: 10_000).map { try AuditEntry(decoding: $0.body) })
                #expect(replay.findings.isEmpty, "\(replay.findings)")
                let live = try #require(try await runtime.database.read { try await $0.dataset(id: "bj-live") })
                let replayed = try #require(replay.state.datasets["bj-live"])
                #expect(replayed.delivery == .upstream && replayed.upstream == live.upstream && replayed.version == live.version)
            }
        }
    }

    @Test("bad endpoints are refused with their codes and nothing is written", arguments: Backend.available)
    func badEndpoints(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let head = try await runtime.log.head()
            func publish(_ upstream: String, delivery: String = "upstream") async throws -> (HTTPResponse.Status, String?) {
                let answer = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
                    {"id":"bj-bad","title":"Bad","theme":"traffic","openness":"open","grade":"general",
                     "fields":[{"name":"road_id","type":"string"}],"units":["call"],"ceiling_prices":{"call":"0.05"},
                     "revenue_share_bps":3000,"delivery":"\(delivery)"\(upstream.isEmpty ? "" : ",\"upstream\":\(upstream)")}
                    """)
                return (answer.status, answer.status == .created ? nil : try answer.problem()["code"] as? String)
            }
            func endpoint(_ url: String, header: String = "X-Api-Key", secret: String = "abc") -> String {
                #"{"base_url":"\#(url)","credential_header":"\#(header)","secret":"\#(secret)"}"#
            }
            for url in ["ftp://example.org/x", "https://user:pw@example.org/", "https://example.org/x?token=1", "https://example.org/#f",
                        "https:///path", "example.org/api", "https://exa mple.org/", "https://example.org/a/../b", "https://example.org/a//b",
                        "https://example.org:99999/", "https://example.org\\\\@evil.org/", "https://example.org/%2e%2e/x", "javascript:alert(1)"] {
                #expect(try await publish(endpoint(url)) == (.unprocessableContent, "invalid_upstream_url"), "\(url)")
            }
            #expect(try await publish(endpoint("https://example.org/api", header: "Host")) == (.unprocessableContent, "invalid_upstream_credential"))
            #expect(try await publish(endpoint("https://example.org/api", header: "X Key")) == (.unprocessableContent, "invalid_upstream_credential"))
            #expect(try await publish(endpoint("https://example.org/api", secret: "")) == (.unprocessableContent, "invalid_upstream_credential"))
            #expect(try await publish(endpoint("https://example.org/api", secret: "a\\nb")) == (.unprocessableContent, "invalid_upstream_credential"))
            #expect(try await publish("") == (.unprocessableContent, "upstream_required"))
            #expect(try await publish(#"{"base_url":"https://example.org/api","credential_header":"X-Api-Key"}"#)
                    == (.unprocessableContent, "upstream_required"))
            #expect(try await publish(endpoint("https://example.org/api"), delivery: "gateway") == (.unprocessableContent, "upstream_not_applicable"))
            #expect(try await runtime.log.head() == head, "nothing logged")
            #expect(try await client.request(.get, "/v1/datasets/bj-bad", key: m.actors["bj-a"]).status == .notFound)

            // A gateway dataset becomes upstream, then gateway again: its endpoint and secret go.
            #expect(try await publish("", delivery: "gateway").0 == .created)
            let toUpstream = try await client.request(.patch, "/v1/datasets/bj-bad", key: m.actors["bj-a"], body: """
                {"delivery":"upstream","upstream":\(endpoint("HTTPS://Example.ORG/api/")),"reason":"the authority serves it live"}
                """)
            #expect(toUpstream.status == .ok, "\(toUpstream.text)")
            #expect(((try toUpstream.json()["dataset"] as? [String: Any])?["upstream"] as? [String: Any])?["base_url"] as? String
                    == "https://example.org/api")
            let other = try await client.request(.patch, "/v1/datasets/bj-bad", key: m.actors["tj-a"], body: """
                {"upstream":{"base_url":"https://evil.example/"},"reason":"take it over"}
                """)
            #expect(other.status == .forbidden, "only the dataset's authority changes its endpoint")
            let back = try await client.request(.patch, "/v1/datasets/bj-bad", key: m.actors["bj-a"], body: """
                {"delivery":"gateway","reason":"releases again"}
                """)
            #expect(back.status == .ok, "\(back.text)")
            #expect((try back.json()["dataset"] as? [String: Any])?["upstream"] == nil)
            #expect(try await runtime.database.read { try await $0.sealedUpstreamCredential(datasetID: "bj-bad") } == nil)
            let replay = ReplayScenario.replay(try await runtime.log.entries(start: 0, limit: 10_000).map { try AuditEntry(decoding: $0.body) })
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            #expect(replay.state.datasets["bj-bad"]?.delivery == .gateway)
            #expect(replay.state.datasets["bj-bad"]?.upstream == nil, "changes.upstream.to null clears the endpoint")
        }
    }

    @Test("a base URL naming a non-public address is refused when configured, a name resolving to one when called",
          arguments: Backend.available)
    func nonPublicAddresses(backend: Backend) async throws {
        let market = try Self.market(backend, allowPrivate: false)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            let port = try #require(base.split(separator: ":").last)
            try await market.withServer { runtime, client in
                // A name passes configuration: it is checked when called.
                let u = try await UpstreamMarket.setUp(market, client, base: "http://localhost:\(port)")
                let m = u.m
                let head = try await runtime.log.head()
                func publish(_ url: String, id: String = "bj-near") async throws -> (HTTPResponse.Status, String?) {
                    let answer = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
                        {"id":"\(id)","title":"Near","theme":"traffic","openness":"open","grade":"general",
                         "fields":[{"name":"road_id","type":"string"}],"units":["call"],"ceiling_prices":{"call":"0.05"},
                         "revenue_share_bps":3000,"delivery":"upstream",
                         "upstream":{"base_url":"\(url)","credential_header":"X-Api-Key","secret":"abc"}}
                        """)
                    return (answer.status, answer.status == .created ? nil : try answer.problem()["code"] as? String)
                }
                for url in [base, "http://127.1/", "http://2130706433/", "http://0x7f.0.0.1/", "http://[::1]:8080/api",
                            "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/api", "https://172.20.0.1/", "https://192.168.1.10",
                            "http://169.254.169.254/latest", "http://[fe80::1]/", "http://[fd12:3456::1]/", "http://0.0.0.0/",
                            "http://[::]/", "http://224.0.0.1/", "http://100.64.0.1/"] {
                    #expect(try await publish(url) == (.unprocessableContent, "upstream_address_not_allowed"), "\(url)")
                }
                #expect(try await runtime.log.head() == head, "nothing logged")
                #expect(try await client.request(.get, "/v1/datasets/bj-near", key: m.actors["bj-a"]).status == .notFound)
                // A public literal is an authority's interface like any other.
                #expect(try await publish("https://93.184.216.34/api", id: "bj-far") == (.created, nil))
                let moved = try await client.request(.patch, "/v1/datasets/bj-far", key: m.actors["bj-a"], body: """
                    {"upstream":{"base_url":"http://192.168.0.7/api"},"reason":"moved"}
                    """)
                #expect(moved.status == .unprocessableContent)
                #expect(try moved.problem()["code"] as? String == "upstream_address_not_allowed")

                // Called, localhost resolves to loopback: nothing goes out, is metered or logged.
                let before = try await runtime.log.head()
                let refused = try await u.read("roads", client)
                #expect(refused.status == .badGateway, "\(refused.text)")
                #expect(try refused.problem()["code"] as? String == "upstream_address_not_allowed")
                #expect(!refused.text.contains(LocalUpstream.secret))
                #expect(seen.calls.withLock { $0 } == 0, "the interface was never called")
                #expect(try await runtime.log.head() == before, "nothing logged")
                #expect(try await u.usage(client).isEmpty, "nothing metered")
            }
        }
    }

    @Test("with --upstream-allow-private a name resolving to loopback is called, at the address checked, its Host kept",
          arguments: Backend.available)
    func privateAllowed(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await LocalUpstream.withUpstream { base, seen in
            let port = try #require(base.split(separator: ":").last)
            try await market.withServer { _, client in
                let u = try await UpstreamMarket.setUp(market, client, base: "http://localhost:\(port)")
                let answer = try await u.read("roads", client)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect(try #require(try answer.json()["records"] as? [[String: Any]]).count == 5)
                #expect(seen.host.withLock { $0 } == "localhost:\(port)", "the Host header names the configured host")
                #expect(try await u.usage(client)["call"]?.first == 1)
            }
        }
    }

    @Test("an http call connects to the address resolved and checked; https connects by name; names that do not resolve fail")
    func pinnedRequest() async throws {
        let http = try await UpstreamClient.target("http://localhost:8080/api/roads?day=1", hosts: [:], allowPrivate: true)
        #expect(http.url == "http://127.0.0.1:8080/api/roads?day=1")
        #expect(http.host == "localhost:8080")
        let plain = try await UpstreamClient.target("http://localhost/api", hosts: [:], allowPrivate: true)
        #expect(plain.url == "http://127.0.0.1:80/api")
        #expect(plain.host == "localhost")
        let tls = try await UpstreamClient.target("https://localhost/api", hosts: [:], allowPrivate: true)
        #expect(tls.url == "https://localhost/api", "the certificate check of the name protects https")
        #expect(tls.host == nil)
        let demo = try await UpstreamClient.target("http://signals.example/v1", hosts: ["signals.example": "127.0.0.1:4000"], allowPrivate: true)
        #expect(demo.url == "http://127.0.0.1:4000/v1" && demo.host == "signals.example")
        await #expect(throws: DataAccessError.self) {
            try await UpstreamClient.target("https://localhost/api", hosts: [:], allowPrivate: false)
        }
        do {
            _ = try await UpstreamClient.target("http://[::1]:9/x", hosts: [:], allowPrivate: false)
            Issue.record("a loopback literal was not refused")
        } catch let error as DataAccessError {
            #expect(error.code == .upstreamAddressNotAllowed)
        }
        do {
            _ = try await UpstreamClient.target("http://no-such-host.invalid/x", hosts: [:], allowPrivate: false)
            Issue.record("a name that does not resolve was not refused")
        } catch let error as DataAccessError {
            #expect(error.code == .upstreamFailed)
        }
    }

    @Test("an upstream dataset is metered at the source: declared usage of it is refused, and it has no records route",
          arguments: Backend.available)
    func meteredAtSource(backend: Backend) async throws {
        let market = try Self.market(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let u = try await UpstreamMarket.setUp(market, client, base: "http://127.0.0.1:9")
            let declared = try await client.request(.post, "/v1/usage", key: u.m.actors["acme"], body: """
                {"events":[{"id":"evt-1","grant_id":"\(u.grant)","dataset_id":"bj-live","unit":"call","quantity":1,
                            "time":"\(RFC3339.format(Date()))"}]}
                """)
            #expect(declared.status == .ok, "\(declared.text)")
            #expect(((try declared.json()["results"] as? [[String: Any]])?.first?["code"] as? String) == "metered_at_source")
            let records = try await client.request(.get, "/v1/data/bj-live/records?grant_id=\(u.grant)", key: u.m.actors["acme"])
            #expect(records.status == .conflict)
            #expect(try records.problem()["code"] as? String == "dataset_not_served")
            // Nothing listens on port 9: the connection is refused at once (502 upstream_failed), unless a
            // loaded machine lets the deadline pass first (504 upstream_timeout). Either way nothing is served.
            let unreachable = try await u.read("roads", client)
            let code = try unreachable.problem()["code"] as? String
            #expect((unreachable.status == .badGateway && code == "upstream_failed")
                    || (unreachable.status == .gatewayTimeout && code == "upstream_timeout"), "\(unreachable.status) \(code ?? "")")
            let reviewer = try await u.read("roads", as: "bj-a", client)
            #expect(reviewer.status == .forbidden, "operators only")
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, count >= subsequence.count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
