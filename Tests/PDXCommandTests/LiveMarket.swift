import Foundation
import PDXTesting
import Synchronization
import Testing

/// The smallest marketplace that takes usage, made through the HTTP API with the admin token: one
/// authority and its reviewer, an approved operator with its key, an open dataset, and an active
/// grant of it with a quota no test reaches.
struct LiveMarket: Sendable {
    var operatorKey: String
    var grant: String
    let dataset = "bj-open"

    static func setUp(port: Int, admin: String) async throws -> LiveMarket {
        try await HTTP.expect(201, "POST", port: port, "/v1/authorities", key: admin,
                              body: #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#)
        let reviewer = try await HTTP.expect(201, "POST", port: port, "/v1/principals", key: admin,
            body: #"{"name":"Zhang Min","role":"authority_reviewer","authority_id":"bj","email":"zhang@bj.gov.cn"}"#)["api_key"] as? String
        let operatorKey = try #require(try await HTTP.expect(201, "POST", port: port, "/v1/principals", key: admin,
            body: #"{"name":"Acme","role":"operator","email":"security@example.com"}"#)["api_key"] as? String)
        let applied = try await HTTP.expect(201, "POST", port: port, "/v1/operators", key: operatorKey, body: """
            {"legal_name":"华为技术有限公司","uscc":"914403001922038216","mlps_level":3,"tier":"standard",
             "security_officer":{"name":"Li Wei","email":"security@example.com"},"certifications":["ISO27001"],
             "documents":[{"name":"business-licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
            """)
        let operatorID = try #require(applied["id"] as? String)
        let reviewed = try await HTTP.expect(200, "POST", port: port, "/v1/operators/\(operatorID)/reviews", key: reviewer,
                                             body: #"{"decision":"approve"}"#)
        try #require(reviewed["status"] as? String == "approved")
        try await HTTP.expect(201, "POST", port: port, "/v1/datasets", key: reviewer, body: """
            {"id":"bj-open","title":"Road flow","description":"Hourly flow per road segment","theme":"traffic",
             "openness":"open","grade":"general","fields":[{"name":"road_id","type":"string","sensitive":false},
             {"name":"flow","type":"integer"}],"units":["call"],"currency":"CNY","ceiling_prices":{"call":"0.05"},
             "revenue_share_bps":3000,"delivery":"declared"}
            """)
        let grant = try await HTTP.expect(201, "POST", port: port, "/v1/grants", key: operatorKey, body: """
            {"purpose":"Congestion forecasting for logistics routing","scenario":"industry",
             "starts_at":"\(Self.format(Date().addingTimeInterval(-86_400)))","ends_at":"\(Self.format(Date().addingTimeInterval(90 * 86_400)))",
             "agreement":{"id":"standard-data-use","version":"1"},
             "datasets":[{"id":"bj-open","fields":["road_id","flow"],"unit_prices":{"call":"0.04"},
                          "quota_per_period":{"call":1000000000}}]}
            """)
        try #require(grant["status"] as? String == "active", "\(grant)")
        return LiveMarket(operatorKey: operatorKey, grant: try #require(grant["id"] as? String))
    }

    /// `count` batches of `size` events each, ids `<prefix>-<batch>-<n>`, every event of
    /// `quantity` at `time`: the same bytes whenever a batch is sent again.
    func batches(_ count: Int, of size: Int, prefix: String, quantity: Int, time: Date) -> [UsageBatch] {
        let time = Self.format(time)
        return (0..<count).map { index in
            let ids = (0..<size).map { "\(prefix)-\(index)-\($0)" }
            let events = ids.map {
                #"{"id":"\#($0)","grant_id":"\#(grant)","dataset_id":"\#(dataset)","unit":"call","quantity":\#(quantity),"time":"\#(time)"}"#
            }
            return UsageBatch(index: index, ids: ids, body: #"{"events":[\#(events.joined(separator: ","))]}"#)
        }
    }

    /// The usage summary's (events, quantity) of the grant in the period of `time`, read as the
    /// operator through `port`.
    func counted(port: Int, at time: Date) async throws -> (events: Int, quantity: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month], from: time)
        let period = String(format: "%04d-%02d", parts.year!, parts.month!)
        let summary = try await HTTP.expect(200, "GET", port: port, "/v1/usage/summary?period=\(period)&grant_id=\(grant)",
                                            key: operatorKey)
        let items = try #require(summary["items"] as? [[String: Any]])
        try #require(items.count == 1, "\(summary)")
        return (try #require(items[0]["events"] as? Int), try #require(items[0]["quantity"] as? Int))
    }

    /// RFC 3339 in UTC, whole seconds.
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// One usage batch as sent, with stable ids.
struct UsageBatch: Sendable {
    var index: Int
    var ids: [String]
    var body: String
}

/// Every answer a client got, per event id; and which batches ever failed to get one.
final class UsageLedger: Sendable {
    private struct State {
        var accepted: [String: Int] = [:]
        var duplicate: [String: Int] = [:]
        var other: [String: [String]] = [:]
        var acknowledged: Set<Int> = []
        var failed: Set<Int> = []
        var failures: [String] = []
    }

    private let state = Mutex(State())
    let key: String

    init(key: String) {
        self.key = key
    }

    /// Sends `batch` to `port` once and records what came back. Returns true when it was answered
    /// 200, which means every event in it is durable.
    @discardableResult
    func send(_ batch: UsageBatch, to port: Int) async -> Bool {
        do {
            let (status, data) = try await HTTP.send("POST", port: port, "/v1/usage", key: key, body: batch.body)
            guard status == 200,
                  let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let results = object["results"] as? [[String: Any]]
            else {
                fail(batch, "\(status) \(String(decoding: data.prefix(300), as: UTF8.self))")
                return false
            }
            state.withLock { state in
                for result in results {
                    let id = result["id"] as? String ?? "?"
                    switch result["status"] as? String {
                    case "accepted": state.accepted[id, default: 0] += 1
                    case "duplicate": state.duplicate[id, default: 0] += 1
                    default: state.other[id, default: []].append("\(result)")
                    }
                }
                state.acknowledged.insert(batch.index)
            }
            return true
        } catch {
            fail(batch, "\(error)")
            return false
        }
    }

    private func fail(_ batch: UsageBatch, _ why: String) {
        state.withLock { state in
            state.failed.insert(batch.index)
            if state.failures.count < 20 { state.failures.append("batch \(batch.index): \(why)") }
        }
    }

    var acknowledged: Set<Int> { state.withLock { $0.acknowledged } }
    var failed: Set<Int> { state.withLock { $0.failed } }
    var failures: [String] { state.withLock { $0.failures } }
    var acceptedCounts: [String: Int] { state.withLock { $0.accepted } }
    var duplicateCounts: [String: Int] { state.withLock { $0.duplicate } }
    var otherOutcomes: [String: [String]] { state.withLock { $0.other } }

    /// Checks the answers for `batches`, all acknowledged by now: no event was answered accepted
    /// twice; every event of a batch that was answered at its first attempt was answered accepted
    /// exactly once; an event never answered accepted belongs to a batch one of whose attempts got
    /// no answer (it was stored before the connection died, so every retry said `duplicate`).
    /// Returns how many events were never answered accepted.
    func expectEachAcceptedOnce(_ batches: [UsageBatch], sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let state = state.withLock { $0 }
        #expect(state.other.isEmpty, "not accepted nor duplicate: \(state.other.prefix(3))", sourceLocation: sourceLocation)
        var silent = 0
        for batch in batches {
            #expect(state.acknowledged.contains(batch.index), "batch \(batch.index) never answered 200",
                    sourceLocation: sourceLocation)
            for id in batch.ids {
                let accepted = state.accepted[id] ?? 0
                #expect(accepted <= 1, "\(id) answered accepted \(accepted) times", sourceLocation: sourceLocation)
                if accepted == 0 {
                    silent += 1
                    #expect(state.failed.contains(batch.index),
                            "\(id) was never answered accepted, though its batch never lost an answer",
                            sourceLocation: sourceLocation)
                    #expect((state.duplicate[id] ?? 0) > 0, "\(id) was never answered", sourceLocation: sourceLocation)
                }
            }
        }
        return silent
    }
}
