import APIServer
import BenchmarkSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Logging
import Marketplace
import NIOCore
import Prometheus

// The server of the request-cost benchmark (`Benchmarks/request-cost.sh`): in one process, on three
// local ports,
//
//   BARE_PORT        a bare Hummingbird application: one route, `GET /bare`, answering "ok" (the
//                    baseline every other figure is a fraction of);
//   PORT             the product, built with `buildApplication` on a fresh marketplace;
//   TEST_CLOCK_PORT  the product again on a second marketplace started with a test clock.
//
// Setup through the API of PORT: an authority, its reviewer, an operator principal and its approved
// operator (so authentication reads what a data-API caller's does). Then it writes to the file named
// by its first argument, as shell variables: BARE_PORT, PORT, TEST_CLOCK_PORT, KEY (the operator's API
// key), DIRECTORIES and SCHEMAS, and serves until killed.
//
// Logs: JSON lines on standard error at info, as `pdx serve` writes them (PDX_BENCH_LOG_LEVEL to change).
//
// Storage: SQLite in temporary directories, or PostgreSQL when PDX_BENCH_DATABASE_URL is set (a schema
// of its own per marketplace); the env file names both (DIRECTORIES, SCHEMAS) for the script to remove.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fatalError("usage: request-cost-server ENV_FILE") }
let environment = ProcessInfo.processInfo.environment
let port = Int.random(in: 20_000...40_000)
let testClockPort = port + 1
let barePort = port + 2
// As `pdx serve` logs by default: JSON lines on standard error at info, one access-log line a request
// (the script sends them to /dev/null); PDX_BENCH_LOG_LEVEL=warning leaves them out.
let level = Logger.Level(rawValue: environment["PDX_BENCH_LOG_LEVEL"] ?? "info") ?? .info
let logger = Logger(label: "pdx", factory: { JSONLogHandler(label: $0, level: level) })

/// A fresh marketplace's application on `port`, its bootstrap admin key, its directory and its
/// PostgreSQL schema.
func product(port: Int, testClock: Bool) async throws
    -> (application: some ApplicationProtocol, admin: String, directory: URL, schema: (name: String, url: String)?) {
    let directory = try temporaryDirectory()
    var schema: (name: String, url: String)?
    var databaseURL: String?
    if let url = environment["PDX_BENCH_DATABASE_URL"], !url.isEmpty {
        let name = BenchmarkPostgres.newSchemaName()
        schema = (name, url)
        databaseURL = BenchmarkPostgres.url(url, schema: name)
    }
    var configuration = ServerConfiguration(store: StoreLocation(dataDirectory: directory.path, databaseURL: databaseURL))
    configuration.port = port
    configuration.rateLimit = 1_000_000
    configuration.rateLimitBurst = 1_000_000
    var options = Runtime.Options()
    options.testClock = testClock
    let runtime = try await Runtime.open(configuration.store, options: options, logger: logger)
    let adminKey = try await runtime.bootstrapAdmin(logger: logger)
    let admin = try adminKey.map { $0.presented }
        ?? String(contentsOf: directory.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    let dependencies = runtime.serverDependencies(metrics: PrometheusCollectorRegistry())
    return (try buildApplication(configuration: configuration, dependencies: dependencies, logger: logger), admin, directory, schema)
}

let (main, admin, mainDirectory, mainSchema) = try await product(port: port, testClock: false)
let (clocked, _, clockedDirectory, clockedSchema) = try await product(port: testClockPort, testClock: true)
let directories = [mainDirectory, clockedDirectory]
let schemas = [mainSchema, clockedSchema].compactMap { $0 }
let bareRouter = Router()
bareRouter.get("bare") { _, _ in "ok" }
let bare = Application(router: bareRouter, configuration: .init(address: .hostname("127.0.0.1", port: barePort)), logger: logger)
let serving = [
    Task { try await main.runService() },
    Task { try await clocked.runService() },
    Task { try await bare.runService() },
]

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
func call(_ method: HTTPRequest.Method, _ path: String, _ key: String, _ body: String) async throws -> [String: Any] {
    var headers = HTTPFields()
    headers[.authorization] = "Bearer \(key)"
    headers[.contentType] = "application/json"
    let response = try await client.execute(.init(path, method: method, headers: headers,
                                                  body: method == .get ? nil : ByteBuffer(string: body)))
    let text = response.body.map { String(buffer: $0) } ?? ""
    guard response.status.code < 300 else { throw Failure(description: "\(path): \(response.status) \(text.prefix(500))") }
    return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}
_ = try await call(.post, "/v1/authorities", admin, #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#)
let reviewer = try await call(.post, "/v1/principals", admin, #"{"name":"r","role":"authority_reviewer","authority_id":"bj"}"#)["api_key"] as? String ?? ""
let operatorKey = try await call(.post, "/v1/principals", admin, #"{"name":"o","role":"operator"}"#)["api_key"] as? String ?? ""
let applied = try await call(.post, "/v1/operators", operatorKey, """
    {"legal_name":"北京数联科技有限公司","uscc":"914403001922038216","mlps_level":3,"tier":"standard",
     "security_officer":{"name":"Li Wei","email":"security@example.com"},"certifications":["ISO27001"],
     "documents":[{"name":"licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
    """)
let operatorID = applied["id"] as? String ?? ""
_ = try await call(.post, "/v1/operators/\(operatorID)/reviews", reviewer, #"{"decision":"approve"}"#)
_ = try await call(.get, "/v1/audit/checkpoint", operatorKey, "")
try await client.shutdown()

try """
    BARE_PORT=\(barePort)
    PORT=\(port)
    TEST_CLOCK_PORT=\(testClockPort)
    KEY=\(operatorKey)
    DIRECTORIES="\(directories.map(\.path).joined(separator: " "))"
    SCHEMAS="\(schemas.map(\.name).joined(separator: " "))"

    """.write(toFile: arguments[1], atomically: true, encoding: .utf8)

// Until killed: the script then removes DIRECTORIES and drops SCHEMAS (a signal handler on the main
// queue would never run, as that queue is never serviced here).
_ = try? await serving[0].value
