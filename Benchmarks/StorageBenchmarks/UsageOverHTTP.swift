import Benchmark
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

// POST /v1/usage against the real `pdx serve` (release build, SQLite, synchronous=FULL), started as
// a separate process on this machine, with the load generated here: two connections, each sending a
// batch of 1,000 new events and waiting for its answer, so the server always has the next batch
// while it answers one. One iteration is one batch on each connection, 2,000 events: the reported
// time is per iteration, and events per second = 2,000 / time.
//
// The server binary is `PDX_BINARY`, or the root package's `.build/release/pdx`
// (`swift build -c release --product pdx` in the repository root first).

/// A marketplace served by a `pdx serve` child process, set up through its API with one active grant.
final class UsageServer: @unchecked Sendable {
    let process: Process
    let directory: URL
    let port: Int
    let operatorKey: String
    let grantID: String
    let clients: [TestClient]
    var batch = 0

    static let clientCount = Int(ProcessInfo.processInfo.environment["PDX_BENCH_CONNECTIONS"] ?? "") ?? 2
    static let batchSize = 1_000

    init() async throws {
        directory = try temporaryDirectory()
        port = Int.random(in: 20_000...40_000)
        let binary = ProcessInfo.processInfo.environment["PDX_BINARY"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/release/pdx").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--data-dir", directory.path, "--port", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        let admin = try await Self.waitForToken(directory.appendingPathComponent("admin.token"))
        try await Self.waitUntilReady(port: port)
        var clients: [TestClient] = []
        for _ in 0..<Self.clientCount {
            let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(60)), eventLoopGroupProvider: .createNew)
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
             "fields":[{"name":"flow","type":"integer"}],"units":["call"],"ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000}
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
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
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
    let server = Shared<UsageServer>()
    Benchmark(
        "Usage: POST /v1/usage over HTTP, \(UsageServer.clientCount) connections × 1,000 events per iteration (pdx serve, SQLite)",
        configuration: .init(metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 5,
                             maxDuration: .seconds(15), maxIterations: 2_000)
    ) { _ in
        try await server.value?.sendBatches()
    } setup: {
        server.value = try await UsageServer()
    } teardown: {
        await server.value?.stop()
        server.value = nil
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
