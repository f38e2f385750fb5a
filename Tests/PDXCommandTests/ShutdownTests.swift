import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A JSON request to a running `pdx serve`.
private func send(_ server: ServerProcess, _ method: String, _ path: String, key: String?, body: String? = nil,
                  session: URLSession = .shared) async throws -> (Int, [String: Any]) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
    request.httpMethod = method
    request.timeoutInterval = 60
    if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
    if let body {
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
    }
    let (data, response) = try await session.data(for: request)
    let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
}

/// One operator with an active grant of an open dataset, set up through the API as a client would.
private struct UsageClient {
    var operatorKey: String
    var grant: String

    static func setUp(_ server: ServerProcess, admin: String) async throws -> UsageClient {
        let (authority, _) = try await send(server, "POST", "/v1/authorities", key: admin,
                                            body: #"{"id":"bj","name":"bj data bureau","region":"bj"}"#)
        #expect(authority == 201)
        let (_, reviewer) = try await send(server, "POST", "/v1/principals", key: admin,
                                           body: #"{"name":"bj-a","role":"authority_reviewer","authority_id":"bj","email":"a@bj.gov.cn"}"#)
        let (_, acme) = try await send(server, "POST", "/v1/principals", key: admin, body: #"{"name":"acme","role":"operator"}"#)
        let reviewerKey = try #require(reviewer["api_key"] as? String)
        let operatorKey = try #require(acme["api_key"] as? String)
        let (_, application) = try await send(server, "POST", "/v1/operators", key: operatorKey, body: """
            {"legal_name":"华为技术有限公司","uscc":"914403001922038216","mlps_level":3,"tier":"standard",
             "security_officer":{"name":"Li Wei","email":"security@example.com"},"certifications":["ISO27001"],
             "documents":[{"name":"business-licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
            """)
        let operatorID = try #require(application["id"] as? String)
        let (reviewed, _) = try await send(server, "POST", "/v1/operators/\(operatorID)/reviews", key: reviewerKey,
                                           body: #"{"decision":"approve"}"#)
        #expect(reviewed == 200)
        let (published, _) = try await send(server, "POST", "/v1/datasets", key: reviewerKey, body: """
            {"id":"bj-open","title":"Road flow","description":"Hourly flow per road segment","theme":"traffic",
             "openness":"open","grade":"general",
             "fields":[{"name":"road_id","type":"string","sensitive":false},{"name":"flow","type":"integer"}],
             "units":["call","record"],"currency":"CNY","ceiling_prices":{"call":"0.05","record":"0.001"},
             "revenue_share_bps":3000}
            """)
        #expect(published == 201)
        let formatter = ISO8601DateFormatter()
        let (_, grant) = try await send(server, "POST", "/v1/grants", key: operatorKey, body: """
            {"purpose":"Congestion forecasting for logistics routing","scenario":"industry",
             "starts_at":"\(formatter.string(from: Date().addingTimeInterval(-86_400)))",
             "ends_at":"\(formatter.string(from: Date().addingTimeInterval(90 * 86_400)))",
             "agreement":{"id":"standard-data-use","version":"1"},
             "datasets":[{"id":"bj-open","fields":["road_id","flow"],"unit_prices":{"call":"0.04"},"quota_per_period":{"call":1000000}}]}
            """)
        return UsageClient(operatorKey: operatorKey, grant: try #require(grant["id"] as? String, "\(grant)"))
    }

    func batch(_ prefix: String, count: Int, at time: Date) -> String {
        let stamp = ISO8601DateFormatter().string(from: time)
        let events = (0..<count).map {
            #"{"id":"\#(prefix)-\#($0)","grant_id":"\#(grant)","dataset_id":"bj-open","unit":"call","quantity":1,"time":"\#(stamp)"}"#
        }
        return #"{"events":[\#(events.joined(separator: ","))]}"#
    }
}

/// The storage arguments of a fresh marketplace under `root`: SQLite, or a new schema on PostgreSQL.
private func storageArguments(root: URL, databaseURL: String?) -> [String] {
    var storage = ["--data-dir", root.appendingPathComponent("data").path]
    if let databaseURL {
        let schema = "stop_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        storage += ["--database-url", databaseURL + (databaseURL.contains("?") ? "&" : "?") + "schema=\(schema)"]
    }
    return storage
}

@Suite("pdx serve: stopping, and refusing to start", .serialized)
struct ShutdownTests {
    @Test("SIGTERM with usage batches in flight: each is answered 200, exit 0, the final checkpoint covers the whole log",
          arguments: EndToEndTests.backends)
    func gracefulShutdownAnswersInFlightBatches(databaseURL: String?) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-stop-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let storage = storageArguments(root: root, databaseURL: databaseURL)
        // No checkpoint by count or age while the test runs: only the one signed at shutdown can
        // cover the batches.
        let quiet = ["--checkpoint-entries", "1000000", "--checkpoint-seconds", "3600"]
        let server = try ServerProcess(arguments: storage + quiet)
        try await server.waitUntilReady()
        let admin = try String(contentsOfFile: storage[1] + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let client = try await UsageClient.setUp(server, admin: admin)

        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        let session = URLSession(configuration: configuration)
        let batches = 4
        let events = 4000
        // After the grant took effect (usage before it is refused), in whole seconds.
        let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
        let answers = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<batches {
                    let body = client.batch("b\(index)", count: events, at: time)
                    group.addTask {
                        let (status, answer) = try await send(server, "POST", "/v1/usage", key: client.operatorKey, body: body, session: session)
                        if answer["accepted"] as? Int != events {
                            Issue.record("\((answer["results"] as? [[String: Any]])?.first ?? answer)")
                        }
                        return (status, answer["accepted"] as? Int ?? -1)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        // SIGTERM once the server has every batch's request in hand (the gauge counts requests
        // whose head arrived; those are answered before the server stops).
        let deadline = ContinuousClock.now + .seconds(30)
        var inFlight = 0
        while ContinuousClock.now < deadline {
            let (_, metrics) = try await server.get("/metrics")
            inFlight = metrics.split(separator: "\n")
                .first { $0.hasPrefix("pdx_http_active_requests ") }
                .flatMap { $0.split(separator: " ").last.flatMap { Int(Double($0) ?? -1) } } ?? 0
            if inFlight >= batches { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(inFlight >= batches, "the batches were not all in flight together")
        let status = server.stop()
        let results = try await answers.value
        #expect(status == 0)
        #expect(results.map(\.0) == Array(repeating: 200, count: batches), "\(results)")
        #expect(results.map(\.1) == Array(repeating: events, count: batches))

        // Open the data again, with no checkpoint due, and compare the latest checkpoint with the log.
        let again = try ServerProcess(arguments: storage + quiet)
        try await again.waitUntilReady()
        let (checkpointStatus, note) = try await again.get("/v1/audit/checkpoint", key: admin)
        #expect(checkpointStatus == 200)
        let checkpointSize = try #require(Int(note.split(separator: "\n")[1]))
        let (_, metrics) = try await again.get("/metrics")
        let logSize = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("pdx_log_entries ") }
            .flatMap { Int(Double($0.split(separator: " ")[1]) ?? -1) })
        #expect(checkpointSize == logSize, "the final checkpoint covers every acknowledged batch")
        #expect(logSize > batches, "the batches' entries are in the log")
        #expect(again.stop() == 0)
    }

    @Test("an unusable data directory: one line naming the path and the reason, a non-zero exit", arguments: [
        "file", "parent-file", "read-only",
    ])
    func unusableDataDirectory(kind: String) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-unusable-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("a-file").path
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: file))
        let (path, reason) = switch kind {
        case "file": (file, "is not a directory")
        case "parent-file": (file + "/data", "is not a directory")
        // sysfs refuses new directories even to root, who ignores file modes.
        default: ("/sys/pdx-\(UUID().uuidString.prefix(8))", "Operation not permitted")
        }
        let run = try Executables.run("pdx", ["serve", "--port", "0", "--data-dir", path])
        #expect(run.status != 0)
        let lines = run.error.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 1, "\(run.error)")
        #expect(lines.first?.contains(path) == true, "\(run.error)")
        #expect(lines.first?.contains(reason) == true, "\(run.error)")
        #expect(!run.output.contains("Fatal error"))
    }
}
