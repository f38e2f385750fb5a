import Benchmark
import BenchmarkSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

// POST /v1/usage against the real `pdx serve` (release build), started as a separate process on this
// machine, with the load generated here: two connections, each sending a batch of 1,000 new events
// and waiting for its answer, so the server always has the next batch while it answers one. One
// iteration is one batch on each connection, 2,000 events: the reported time is per iteration, and
// events per second = 2,000 / time.
//
// Three deployments: one server on SQLite (synchronous=FULL); one on PostgreSQL; and two servers on
// one PostgreSQL sharing the signing key, one connection to each (these need PDX_TEST_POSTGRES_URL;
// the servers keep their tables in a schema of their own, dropped afterwards).
//
// The server binary is `PDX_BINARY`, or the root package's `.build/release/pdx`
// (`swift build -c release --product pdx` in the repository root first). The servers run as
// `pdx serve` does by default (access log at info, JSON), except that the per-key rate limit is
// raised out of the way (`--rate-limit 1000000`: checked on every request, never refusing); a
// one-key load of 100 batches a second would otherwise be held at the default 100 requests a
// second. `PDX_BENCH_SERVE_ARGS` replaces those extra arguments (empty for a binary that predates
// the flag).

/// How the servers under load are deployed.
enum UsageDeployment: Sendable {
    case sqlite
    case postgres(url: String)
    case twoInstances(url: String)

    var label: String {
        switch self {
        case .sqlite: "pdx serve, SQLite"
        case .postgres: "pdx serve, PostgreSQL"
        case .twoInstances: "two pdx serve on one PostgreSQL, a connection to each"
        }
    }
}

/// A marketplace served by `pdx serve` child processes, set up through the API of the first with
/// one active grant.
final class UsageServer: @unchecked Sendable {
    let processes: [Process]
    let directories: [URL]
    let schema: (name: String, url: String)?
    let operatorKey: String
    let grantID: String
    let clients: [TestClient]
    var batch = 0

    static let clientCount = Int(ProcessInfo.processInfo.environment["PDX_BENCH_CONNECTIONS"] ?? "") ?? 2
    static let batchSize = 1_000
    static let extraArguments = (ProcessInfo.processInfo.environment["PDX_BENCH_SERVE_ARGS"] ?? "--rate-limit 1000000")
        .split(separator: " ").map(String.init)

    init(_ deployment: UsageDeployment) async throws {
        var storage: [String] = []
        switch deployment {
        case .sqlite:
            schema = nil
        case .postgres(let url), .twoInstances(let url):
            let name = BenchmarkPostgres.newSchemaName()
            schema = (name, url)
            storage = ["--database-url", BenchmarkPostgres.url(url, schema: name)]
        }
        let instances = if case .twoInstances = deployment { 2 } else { 1 }
        var directories: [URL] = []
        var processes: [Process] = []
        var ports: [Int] = []
        var admin = ""
        for instance in 0..<instances {
            let directory = try temporaryDirectory()
            if instance > 0 {
                // The second instance signs with the first one's key: one log, one key.
                try FileManager.default.copyItem(at: directories[0].appendingPathComponent("signing-key.pem"),
                                                 to: directory.appendingPathComponent("signing-key.pem"))
            }
            let port = Int.random(in: 20_000...40_000)
            let process = try Self.start(["serve", "--data-dir", directory.path, "--port", String(port)] + storage)
            directories.append(directory)
            processes.append(process)
            ports.append(port)
            if instance == 0 {
                admin = try await Self.waitForToken(directory.appendingPathComponent("admin.token"))
            }
            try await Self.waitUntilReady(port: port)
        }
        self.directories = directories
        self.processes = processes
        var clients: [TestClient] = []
        for index in 0..<Self.clientCount {
            let client = TestClient(host: "127.0.0.1", port: ports[index % ports.count], configuration: .init(timeout: .seconds(60)),
                                    eventLoopGroupProvider: .createNew)
            client.connect()
            clients.append(client)
        }
        self.clients = clients
        let api = clients[0]
        func post(_ path: String, _ key: String, _ body: String) async throws -> [String: Any] {
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(key)"
            headers[.contentType] = "application/json"
            let response = try await api.post(path, headers: headers, body: ByteBuffer(string: body))
            let text = response.body.map { String(buffer: $0) } ?? ""
            guard response.status.code < 300 else { throw SQLiteFailure(description: "\(path): \(response.status) \(text)") }
            return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }
        _ = try await post("/v1/authorities", admin, #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#)
        let reviewer = try await post("/v1/principals", admin, #"{"name":"r","role":"authority_reviewer","authority_id":"bj"}"#)["api_key"] as? String ?? ""
        operatorKey = try await post("/v1/principals", admin, #"{"name":"o","role":"operator"}"#)["api_key"] as? String ?? ""
        let applied = try await post("/v1/operators", operatorKey, """
            {"legal_name":"北京数联科技有限公司","uscc":"914403001922038216","mlps_level":3,"tier":"standard",
             "security_officer":{"name":"Li Wei","email":"security@example.com"},"certifications":["ISO27001"],
             "documents":[{"name":"licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
            """)
        _ = try await post("/v1/operators/\(applied["id"] as? String ?? "")/reviews", reviewer, #"{"decision":"approve"}"#)
        _ = try await post("/v1/datasets", reviewer, """
            {"id":"bj-traffic-flow","title":"Traffic","theme":"traffic","openness":"open","grade":"general",
             "fields":[{"name":"flow","type":"integer"}],"units":["call"],"ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000,"delivery":"declared"}
            """)
        let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400))
        let end = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300 * 86_400))
        grantID = try await post("/v1/grants", operatorKey, """
            {"purpose":"benchmark","scenario":"industry","starts_at":"\(start)","ends_at":"\(end)",
             "agreement":{"id":"standard-data-use","version":"1"},
             "datasets":[{"id":"bj-traffic-flow","fields":["flow"],"unit_prices":{"call":"0.04"},"quota_per_period":{"call":1000000000000000}}]}
            """)["id"] as? String ?? ""
    }

    /// One batch of new events per connection, at once; throws unless every event is accepted.
    ///
    /// The client shares the two cores with the server, so it does as little as it can: bodies are
    /// written as bytes, and an answer is checked by its first bytes only (the server writes
    /// `accepted` first: sorted keys).
    func sendBatches() async throws {
        let time = RFC3339Now.string()
        let first = batch
        batch += clients.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (offset, client) in clients.enumerated() {
                let body = Self.body(batch: first + offset, grantID: grantID, time: time)
                let headers = self.headers
                group.addTask {
                    let response = try await client.post("/v1/usage", headers: headers, body: body)
                    guard response.status == .ok, let answer = response.body,
                          answer.readableBytesView.starts(with: Self.allAccepted) else {
                        let text = response.body.map { String(buffer: $0) } ?? ""
                        throw SQLiteFailure(description: "usage batch: \(response.status) \(text.prefix(300))")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private var headers: HTTPFields {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(operatorKey)"
        headers[.contentType] = "application/json"
        return headers
    }

    static let allAccepted = Array(#"{"accepted":\#(batchSize),"#.utf8)

    /// `{"events":[…]}` with `batchSize` new events, ids `b<batch>-<index>`.
    static func body(batch: Int, grantID: String, time: String) -> ByteBuffer {
        let prefix = Array(#"{"id":"b\#(batch)-"#.utf8)
        let suffix = Array(#"","grant_id":"\#(grantID)","dataset_id":"bj-traffic-flow","unit":"call","quantity":1,"time":"\#(time)"}"#.utf8)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(16 + batchSize * (prefix.count + suffix.count + 6))
        buffer.writeStaticString(#"{"events":["#)
        for index in 0..<batchSize {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeBytes(prefix)
            buffer.writeString(String(index))
            buffer.writeBytes(suffix)
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    func stop() async {
        for client in clients { try? await client.shutdown() }
        for process in processes {
            process.terminate()
            process.waitUntilExit()
        }
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
        if let schema { BenchmarkPostgres.dropSchema(schema.name, url: schema.url) }
    }

    /// `pdx serve` with `arguments` and the extra arguments, its output discarded.
    static func start(_ arguments: [String]) throws -> Process {
        let binary = ProcessInfo.processInfo.environment["PDX_BINARY"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/release/pdx").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitForToken(_ file: URL) async throws -> String {
        for _ in 0..<600 {
            if let text = try? String(contentsOf: file, encoding: .utf8), !text.isEmpty {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SQLiteFailure(description: "pdx serve wrote no admin.token")
    }

    /// Polls `/readyz` on a fresh connection each time: a connection refused before the server
    /// listens stays failed.
    static func waitUntilReady(port: Int) async throws {
        for _ in 0..<200 {
            let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(2)), eventLoopGroupProvider: .createNew)
            client.connect()
            let response = try? await client.get("/readyz")
            try? await client.shutdown()
            if response?.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SQLiteFailure(description: "pdx serve did not become ready")
    }
}

func usageOverHTTPBenchmarks() {
    var deployments: [UsageDeployment] = [.sqlite]
    if let url = BenchmarkPostgres.url {
        deployments += [.postgres(url: url), .twoInstances(url: url)]
    }
    for deployment in deployments {
        let server = Shared<UsageServer>()
        Benchmark(
            "Usage: POST /v1/usage over HTTP, \(UsageServer.clientCount) connections × 1,000 events per iteration (\(deployment.label))",
            configuration: .init(metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 5,
                                 maxDuration: .seconds(15), maxIterations: 2_000)
        ) { _ in
            try await server.value?.sendBatches()
        } setup: {
            server.value = try await UsageServer(deployment)
        } teardown: {
            await server.value?.stop()
            server.value = nil
        }
    }
}

/// Now, with milliseconds: events must not predate the grant's activation a moment earlier.
enum RFC3339Now {
    static func string() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
