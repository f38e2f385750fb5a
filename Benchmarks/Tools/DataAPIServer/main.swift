import APIServer
import BenchmarkSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Cryptography
import Identity
import Licensing
import Logging
import Marketplace
import NIOCore
import Prometheus

// The server of the data API benchmark (`Benchmarks/data-api.sh`): the product's application, built
// with `buildApplication` on a fresh marketplace, served in this process on a local port, with one
// route more that the product does not have:
//
//   GET /bench/unmetered/v1/data/{dataset_id}/records?…   the same page, checked and read by
//   `DataService.prepare` and written as the product writes it, but never metered.
//
// Every other request goes to the product's router unchanged (access log, problems, body limits,
// authentication and rate limit, the data route). The baseline route skips the middleware: its caller
// is the benchmark's operator, resolved once at setup, not authenticated per call.
//
// Setup through the API: an authority, its reviewer, an approved operator, a gateway dataset of five
// fields (one filterable) with a release of `PDX_BENCH_ROWS` rows (10,000), and a grant of every field
// with quotas no run exhausts. Then it pages through the release once, and writes to the file named
// by its first argument, as shell variables: PORT, KEY, GRANT, DATASET, and CURSORS (a file of one
// cursor a line, every page's). It serves until killed.
//
// For `Benchmarks/upstream-api.sh` it also serves, on a second port, an authority's interface that
// answers `GET /records` with 100 records of five fields (checking an `Authorization` credential),
// publishes `bj-road-live` as an upstream dataset on it and grants it; the env file then also holds
// UPSTREAM_PORT, UPSTREAM_SECRET, UPSTREAM_GRANT and UPSTREAM_DATASET.
//
// Storage: SQLite in a temporary directory, or PostgreSQL when PDX_BENCH_DATABASE_URL is set (in a
// schema of its own, dropped when the process is stopped with SIGTERM/SIGINT).

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fatalError("usage: data-api-server ENV_FILE") }
let environment = ProcessInfo.processInfo.environment
let rows = Int(environment["PDX_BENCH_ROWS"] ?? "") ?? 10_000
let port = Int.random(in: 20_000...40_000)
let directory = try temporaryDirectory()
var schema: (name: String, url: String)?
var databaseURL: String?
if let url = environment["PDX_BENCH_DATABASE_URL"], !url.isEmpty {
    let name = BenchmarkPostgres.newSchemaName()
    schema = (name, url)
    databaseURL = BenchmarkPostgres.url(url, schema: name)
}

var logger = Logger(label: "pdx-bench")
logger.logLevel = .warning
var configuration = ServerConfiguration(store: StoreLocation(dataDirectory: directory.path, databaseURL: databaseURL))
configuration.port = port
configuration.rateLimit = 1_000_000
configuration.rateLimitBurst = 1_000_000
configuration.maxReleaseBytes = 64 << 20
configuration.bodyLimitOverrides["/v1/datasets"] = 64 << 20
let runtime = try await Runtime.open(configuration.store, logger: logger)
let adminKey = try await runtime.bootstrapAdmin(logger: logger)
let admin = try adminKey.map { $0.presented } ?? String(contentsOf: directory.appendingPathComponent("admin.token"), encoding: .utf8)
    .trimmingCharacters(in: .whitespacesAndNewlines)
let dependencies = runtime.serverDependencies(metrics: PrometheusCollectorRegistry())
let product = try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger).responder
let context = ServiceContext(database: runtime.database, log: runtime.log, clock: runtime.clock, random: runtime.random)
let data = DataService(context, directory: dependencies.grantDirectory)

/// The product's responder, and the baseline route in front of it.
struct BenchResponder<Product: HTTPResponder>: HTTPResponder {
    typealias Context = Product.Context
    let product: Product
    let data: DataService
    let caller: Shared<Principal>
    static var prefix: String { "/bench/unmetered" }

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix(Self.prefix), let principal = caller.value else {
            return try await product.respond(to: request, context: context)
        }
        let datasetID = String(path.dropFirst(Self.prefix.count + "/v1/data/".count).dropLast("/records".count))
        var fields: [String]?, grantID: String?, cursor: String?, limit = 100
        for (name, value) in request.uri.queryParameters {
            switch name {
            case "grant_id": grantID = String(value)
            case "fields": fields = value.split(separator: ",").map(String.init)
            case "cursor": cursor = String(value)
            case "limit": limit = Int(value) ?? 100
            default: break
            }
        }
        let query = DataQuery(datasetID: datasetID, grantID: grantID, fields: fields, limit: limit, cursor: cursor,
                              release: nil, filters: [])
        let page = try await data.prepare(query, by: principal)
        // As `DataRequest.json` writes a metered page, with the usage member the product adds.
        var out = ByteBuffer()
        out.reserveCapacity(page.records.count + 256)
        out.writeString(#"{"dataset_id":"\#(page.datasetID)""#)
        if let next = page.nextCursor { out.writeString(#","next_cursor":"\#(next)""#) }
        out.writeStaticString(",\"records\":")
        out.writeBytes(page.records)
        out.writeString(#","release":"\#(page.release)","usage":{"event_id":"unmetered","units":{"#)
        for (offset, (unit, quantity)) in page.units.sorted(by: { $0.key < $1.key }).enumerated() {
            out.writeString((offset > 0 ? "," : "") + #""\#(unit.rawValue)":\#(quantity)"#)
        }
        out.writeStaticString("}}}")
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(out.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: out))
    }
}

// The authority's interface: 100 records, the same bytes every call.
let upstreamPort = port + 1
let upstreamSecret = "upstream-bench-secret"
let upstreamBody = ByteBuffer(string: #"{"records":["# + (1...100).map { n in
    #"{"road_id":"R\#(n % 50)","hour":"2026-09-27T\#(n % 24 < 10 ? "0" : "")\#(n % 24):00:00+08:00","flow":\#(n),"speed":\#(Double(n % 1000) / 10),"lane":"L\#(n % 4)","operator_note":"x"}"#
}.joined(separator: ",") + "]}")
let upstreamRouter = Router()
upstreamRouter.get("records") { request, _ -> Response in
    guard request.headers[.authorization] == "Bearer \(upstreamSecret)" else { return Response(status: .unauthorized) }
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: upstreamBody))
}
let upstreamApp = Application(router: upstreamRouter, configuration: .init(address: .hostname("127.0.0.1", port: upstreamPort)),
                              logger: logger)
let upstreamServing = Task { try await upstreamApp.runService() }

let caller = Shared<Principal>()
let app = Application(responder: BenchResponder(product: product, data: data, caller: caller),
                      configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "pdx"),
                      logger: logger)
let serving = Task { try await app.runService() }

// Setup through the API, once the server answers (a fresh connection each try: one refused before
// the server listens stays failed).
for attempt in 0... {
    let probe = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(2)), eventLoopGroupProvider: .createNew)
    probe.connect()
    let response = try? await probe.get("/readyz")
    try? await probe.shutdown()
    if response?.status == .ok { break }
    if attempt > 300 { fatalError("the server did not become ready") }
    try await Task.sleep(for: .milliseconds(100))
}
let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120)), eventLoopGroupProvider: .createNew)
client.connect()
struct Failure: Error, CustomStringConvertible { let description: String }
func call(_ method: HTTPRequest.Method, _ path: String, _ key: String, _ body: String, type: String = "application/json") async throws -> [String: Any] {
    var headers = HTTPFields()
    headers[.authorization] = "Bearer \(key)"
    headers[.contentType] = type
    let response = try await client.execute(.init(path, method: method, headers: headers,
                                                  body: method == .get ? nil : ByteBuffer(string: body)))
    let text = response.body.map { String(buffer: $0) } ?? ""
    guard response.status.code < 300 else { throw Failure(description: "\(path): \(response.status) \(text.prefix(500))") }
    return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}
_ = try await call(.post, "/v1/authorities", admin, #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#)
let reviewer = try await call(.post, "/v1/principals", admin, #"{"name":"r","role":"authority_reviewer","authority_id":"bj"}"#)["api_key"] as? String ?? ""
let operatorPrincipal = try await call(.post, "/v1/principals", admin, #"{"name":"o","role":"operator"}"#)
let operatorKey = operatorPrincipal["api_key"] as? String ?? ""
let applied = try await call(.post, "/v1/operators", operatorKey, """
    {"legal_name":"北京数联科技有限公司","uscc":"914403001922038216","mlps_level":3,"tier":"standard",
     "security_officer":{"name":"Li Wei","email":"security@example.com"},"certifications":["ISO27001"],
     "documents":[{"name":"licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
    """)
let operatorID = applied["id"] as? String ?? ""
_ = try await call(.post, "/v1/operators/\(operatorID)/reviews", reviewer, #"{"decision":"approve"}"#)
let dataset = "bj-road-flow"
_ = try await call(.post, "/v1/datasets", reviewer, """
    {"id":"\(dataset)","title":"Road flow","theme":"traffic","openness":"open","grade":"general",
     "fields":[{"name":"road_id","type":"string","filterable":true},{"name":"hour","type":"datetime"},
               {"name":"flow","type":"integer"},{"name":"speed","type":"decimal"},{"name":"lane","type":"string"}],
     "units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},"revenue_share_bps":3000}
    """)
var csv = "road_id,hour,flow,speed,lane\n"
for n in 1...rows {
    csv += "R\(n % 50),2026-09-27T\(n % 24 < 10 ? "0" : "")\(n % 24):00:00+08:00,\(n),\(Double(n % 1000) / 10),L\(n % 4)\n"
}
_ = try await call(.put, "/v1/datasets/\(dataset)/releases/2026-09", reviewer, csv, type: "text/csv")
let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400))
let end = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300 * 86_400))
let grant = try await call(.post, "/v1/grants", operatorKey, """
    {"purpose":"benchmark","scenario":"industry","starts_at":"\(start)","ends_at":"\(end)",
     "agreement":{"id":"standard-data-use","version":"1"},
     "datasets":[{"id":"\(dataset)","fields":["road_id","hour","flow","speed","lane"],"unit_prices":{"call":"0.04","record":"0.0005"},
                  "quota_per_period":{"call":1000000000,"record":100000000000}}]}
    """)
let grantID = grant["id"] as? String ?? ""
guard grant["status"] as? String == "active" else { fatalError("the grant is not active: \(grant)") }

// The upstream dataset on the interface above, and a grant of every field.
let upstreamDataset = "bj-road-live"
_ = try await call(.post, "/v1/datasets", reviewer, """
    {"id":"\(upstreamDataset)","title":"Road flow, live","theme":"traffic","openness":"open","grade":"general",
     "fields":[{"name":"road_id","type":"string"},{"name":"hour","type":"datetime"},
               {"name":"flow","type":"integer"},{"name":"speed","type":"decimal"},{"name":"lane","type":"string"}],
     "units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},"revenue_share_bps":3000,
     "delivery":"upstream","upstream":{"base_url":"http://127.0.0.1:\(upstreamPort)","credential_header":"Authorization",
                                       "secret":"Bearer \(upstreamSecret)"}}
    """)
let upstreamGrant = try await call(.post, "/v1/grants", operatorKey, """
    {"purpose":"benchmark","scenario":"industry","starts_at":"\(start)","ends_at":"\(end)",
     "agreement":{"id":"standard-data-use","version":"1"},
     "datasets":[{"id":"\(upstreamDataset)","fields":["road_id","hour","flow","speed","lane"],"unit_prices":{"call":"0.04","record":"0.0005"},
                  "quota_per_period":{"call":1000000000,"record":100000000000}}]}
    """)
let upstreamGrantID = upstreamGrant["id"] as? String ?? ""
let forwarded = try await call(.get, "/v1/data/\(upstreamDataset)/upstream/records?grant_id=\(upstreamGrantID)", operatorKey, "")
guard (forwarded["records"] as? [Any])?.count == 100 else { fatalError("the upstream route did not answer 100 records: \(forwarded)") }

// The caller the baseline route reads as: the operator's principal, as authentication makes it.
let principalID = operatorPrincipal["id"] as? String ?? ""
let keyID = APIKey(presented: operatorKey)?.keyID ?? ""
caller.value = Principal(id: principalID, name: "o", role: .operator, keyID: keyID, keyHash: SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))!,
                         createdAt: Date(), operatorID: operatorID)

// Every page's cursor, by paging through the release once (metered, like any call).
var cursors: [String] = []
var cursor: String?
repeat {
    let page = try await call(.get, "/v1/data/\(dataset)/records?grant_id=\(grantID)&fields=road_id,hour,flow,speed,lane&limit=100"
                                  + (cursor.map { "&cursor=\($0)" } ?? ""), operatorKey, "")
    cursor = page["next_cursor"] as? String
    if let cursor { cursors.append(cursor) }
} while cursor != nil
// The baseline answers too.
_ = try await call(.get, "/bench/unmetered/v1/data/\(dataset)/records?grant_id=\(grantID)&fields=road_id,hour,flow,speed,lane&limit=100", operatorKey, "")
try await client.shutdown()

let cursorFile = directory.appendingPathComponent("cursors.txt")
try cursors.joined(separator: "\n").appending("\n").write(to: cursorFile, atomically: true, encoding: .utf8)
try """
    PORT=\(port)
    KEY=\(operatorKey)
    GRANT=\(grantID)
    DATASET=\(dataset)
    CURSORS=\(cursorFile.path)
    PAGES=\(cursors.count + 1)
    UPSTREAM_PORT=\(upstreamPort)
    UPSTREAM_SECRET=\(upstreamSecret)
    UPSTREAM_GRANT=\(upstreamGrantID)
    UPSTREAM_DATASET=\(upstreamDataset)

    """.write(toFile: arguments[1], atomically: true, encoding: .utf8)

// Until SIGTERM or SIGINT: then drop the PostgreSQL schema and the directory.
for sig in [SIGTERM, SIGINT] { signal(sig, SIG_IGN) }
let stops = [SIGTERM, SIGINT].map { sig in
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
    source.setEventHandler {
        serving.cancel()
        upstreamServing.cancel()
        if let schema { BenchmarkPostgres.dropSchema(schema.name, url: schema.url) }
        try? FileManager.default.removeItem(at: directory)
        exit(0)
    }
    source.resume()
    return source
}
_ = stops
_ = try? await serving.value
