import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PDXTesting
import Persistence
import Logging
import Prometheus
import Synchronization
import Testing

/// Collects what a ``JSONLogHandler`` writes, line by line.
final class LogCapture: Sendable {
    private let written = Mutex<[[UInt8]]>([])

    var sink: LogSink { LogSink { [self] line in written.withLock { $0.append(line) } } }

    func logger(level: Logger.Level = .info) -> Logger {
        Logger(label: "pdx") { [sink = sink] label in JSONLogHandler(label: label, level: level, sink: sink) }
    }

    var text: String { written.withLock { String(decoding: $0.joined(), as: UTF8.self) } }

    /// Each write as a JSON object; records an issue for a write that is not one line of one object.
    func objects() throws -> [[String: Any]] {
        try written.withLock { $0 }.map { line in
            #expect(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
            return try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }
}

@Suite("Logs: JSON lines")
struct JSONLogHandlerTests {
    @Test("tricky metadata stays one parseable line with every value intact")
    func trickyMetadata() throws {
        let capture = LogCapture()
        let logger = capture.logger()
        let tricky = "quote \" backslash \\ newline \n return \r tab \t nul \u{0} bell \u{7} del \u{7F} 中文 🔑"
        logger.info("message with \"quotes\"\nand a second line", metadata: [
            "text": .string(tricky),
            "count": .stringConvertible(42),
            "ratio": .stringConvertible(0.25),
            "nested": .dictionary(["list": .array([.string("a\u{0}"), .dictionary(["deep": .string("🌏")])]),
                                   "flag": .stringConvertible(true)]),
            "level": .string("forged"),
        ])
        let objects = try capture.objects()
        try #require(objects.count == 1)
        let line = objects[0]
        #expect(line["message"] as? String == "message with \"quotes\"\nand a second line")
        #expect(line["text"] as? String == tricky)
        #expect(line["count"] as? Int == 42)
        #expect(line["ratio"] as? Double == 0.25)
        let nested = try #require(line["nested"] as? [String: Any])
        #expect(nested["flag"] as? String == "true")
        let list = try #require(nested["list"] as? [Any])
        #expect(list.first as? String == "a\u{0}")
        #expect((list.last as? [String: Any])?["deep"] as? String == "🌏")
        // A metadata key may not overwrite a fixed member.
        #expect(line["level"] as? String == "info")
        #expect(line["meta.level"] as? String == "forged")
        #expect(line["label"] as? String == "pdx")
        #expect((line["source"] as? String)?.isEmpty == false)
        // Fixed members first, `source` last.
        let text = capture.text
        #expect(text.hasPrefix(#"{"ts":""#))
        #expect(text.contains(#"","level":"info","label":"pdx","message":"#))
        #expect(text.hasSuffix("}\n"))
        #expect(text.range(of: #","source":"#)!.lowerBound > text.range(of: #""text":"#)!.lowerBound)
    }

    @Test("ts is RFC 3339 in UTC with milliseconds")
    func timestamp() throws {
        var out: [UInt8] = []
        JSONLogHandler.writeTimestamp((seconds: 951_782_400 + 86_399, milliseconds: 7), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "2000-02-29T23:59:59.007Z")
        let capture = LogCapture()
        capture.logger().notice("now")
        let ts = try #require(try capture.objects().first?["ts"] as? String)
        #expect(ts.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(ts)")
        let parsed = try #require(ISO8601DateFormatter.withFractionalSeconds.date(from: ts))
        #expect(abs(parsed.timeIntervalSinceNow) < 60)
    }

    @Test("levels below the handler's are not written")
    func levels() throws {
        let capture = LogCapture()
        let logger = capture.logger(level: .warning)
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        #expect(try capture.objects().map { $0["message"] as? String } == ["w", "e"])
        #expect(try capture.objects().map { $0["level"] as? String } == ["warning", "error"])
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

@Suite("Logs: access lines")
struct AccessLogTests {
    @Test("one line per request with route template, status, principal and request id; never a key, a secret or a body",
          arguments: Backend.available)
    func accessLines(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let capture = LogCapture()
        let admin = try await market.withServer(logger: capture.logger()) { runtime, client in
            let admin = try market.adminToken
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(admin)"
            headers[AccessLogMiddleware<PDXRequestContext>.requestIDHeader] = "req-42.a_b"
            let missing = try await client.execute(uri: "/v1/grants/gr_doesnotexist", method: .get, headers: headers) { $0 }
            #expect(missing.status == .notFound)
            #expect(missing.headers[AccessLogMiddleware<PDXRequestContext>.requestIDHeader] == "req-42.a_b")

            // An id that is not a short token is replaced, not echoed.
            headers[AccessLogMiddleware<PDXRequestContext>.requestIDHeader] = "two words"
            let created = try await client.execute(
                uri: "/v1/authorities", method: .post, headers: headers.with(.contentType, "application/json"),
                body: .init(string: #"{"id":"sh","name":"BODY-MARKER bureau","region":"sh"}"#)) { $0 }
            #expect(created.status == .created)
            let generated = try #require(created.headers[AccessLogMiddleware<PDXRequestContext>.requestIDHeader])
            #expect(generated.wholeMatch(of: /[0-9a-f]{16}/) != nil, "\(generated)")

            // A server error after the database is gone: logged without the body.
            await runtime.database.close()
            let failed = try await client.request(.post, "/v1/authorities", key: admin,
                                                  body: #"{"id":"gz","name":"BODY-MARKER two","region":"gz"}"#)
            #expect(failed.status.kind == .serverError)
            return admin
        }
        let key = try #require(APIKey(presented: admin))
        let principal = try #require(try capture.objects().compactMap { $0["principal"] as? String }.first)
        let lines = try capture.objects().filter { $0["message"] as? String == "request" }
        try #require(lines.count == 3, "\(capture.text)")

        #expect(lines[0]["method"] as? String == "GET")
        #expect(lines[0]["route"] as? String == "/v1/grants/{id}")
        #expect(lines[0]["status"] as? Int == 404)
        #expect(lines[0]["hb.request.id"] as? String == "req-42.a_b")
        #expect(lines[0]["principal"] as? String == principal)
        #expect(principal.hasPrefix("pr_"))
        #expect((lines[0]["duration_ms"] as? Double).map { $0 >= 0 } == true)
        #expect(lines[0]["level"] as? String == "info")

        #expect(lines[1]["route"] as? String == "/v1/authorities")
        #expect(lines[1]["status"] as? Int == 201)
        #expect((lines[1]["hb.request.id"] as? String)?.count == 16)
        #expect(lines[2]["status"] as? Int == 503)
        let refusal = try #require(try capture.objects().first { $0["message"] as? String == "request refused" })
        #expect(refusal["code"] as? String == "database_unavailable")
        #expect(refusal["level"] as? String == "warning")
        #expect(refusal["hb.request.id"] as? String == lines[2]["hb.request.id"] as? String)

        let text = capture.text
        #expect(!text.contains(key.secret), "a key's secret reached the log")
        #expect(!text.contains(admin))
        #expect(!text.contains("Bearer"))
        #expect(!text.contains("BODY-MARKER"), "a request body reached the log")
        #expect(!text.contains("gr_doesnotexist"), "a raw path reached the log")
    }

    @Test("above info nothing is written for a request")
    func quietAboveInfo() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        let capture = LogCapture()
        try await market.withServer(logger: capture.logger(level: .notice)) { _, client in
            let admin = try market.adminToken
            #expect(try await client.request(.get, "/healthz").status == .ok)
            #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
        }
        #expect(capture.text.isEmpty, "\(capture.text)")
    }
}

extension HTTPFields {
    func with(_ name: HTTPField.Name, _ value: String) -> HTTPFields {
        var copy = self
        copy[name] = value
        return copy
    }
}

@Suite("Metrics and readiness")
struct MetricsTests {
    @Test("a scrape shows requests by route template, usage outcomes by code and the log's gauges", arguments: Backend.available)
    func scrape(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let registry = PrometheusCollectorRegistry()
        try await market.withServer(registry: registry) { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            var accepted = 0
            for batch in 0..<3 {
                let answer = try await u.report([
                    usageEvent("e-\(batch)-a", grant: u.grant, time: t),
                    usageEvent("e-\(batch)-b", grant: u.grant, time: t),
                    usageEvent("e-\(batch)-x", grant: u.grant, unit: "furlong", time: t),
                ], client)
                #expect(answer.status == .ok)
                accepted += try #require(try answer.json()["accepted"] as? Int)
            }
            #expect(accepted == 6)
            #expect(try await client.request(.get, "/v1/grants/\(u.grant)", key: u.m.actors["acme"]).status == .ok)

            let size = try await runtime.log.head().size
            let scrape = try await client.request(.get, "/metrics")
            #expect(scrape.status == .ok)
            let lines = Set(scrape.text.split(separator: "\n").map(String.init))
            let has = { (line: String) in lines.contains(line) }
            #expect(has(#"pdx_http_requests_total{route="/v1/usage",method="POST",status="200"} 3"#))
            #expect(has(#"pdx_http_request_duration_seconds_count{route="/v1/usage",method="POST",status="200"} 3"#))
            #expect(lines.contains { $0.hasPrefix(#"pdx_http_request_duration_seconds_bucket{route="/v1/usage",method="POST",status="200",le="+Inf"} 3"#) })
            #expect(has(#"pdx_http_requests_total{route="/v1/grants/{id}",method="GET",status="200"} 1"#))
            #expect(!scrape.text.contains(u.grant), "a raw path became a label")
            #expect(has(#"pdx_usage_events_total{outcome="accepted"} \#(accepted)"#))
            #expect(has(#"pdx_usage_events_total{outcome="rejected",code="unknown_unit"} 3"#))
            #expect(has("pdx_log_entries \(size).0"))
            #expect(lines.contains { $0.hasPrefix("pdx_log_checkpoint_age_seconds ") })
            #expect(has("pdx_rate_limited_total 0"))
        }
    }

    @Test("several servers on one registry share its metrics instead of trapping")
    func sharedRegistry() async throws {
        let registry = PrometheusCollectorRegistry()
        for _ in 0..<2 {
            let market = try TestMarketplace(.sqlite)
            defer { market.removeFiles() }
            try await market.withServer(registry: registry) { _, client in
                let admin = try market.adminToken
                #expect(try await client.request(.get, "/v1/audit/entries", key: admin).status == .ok)
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self)
            .contains(#"pdx_http_requests_total{route="/v1/audit/entries",method="GET",status="200"} 2"#))
    }

    @Test("with the database closed /readyz is 503 naming the database; /healthz stays 200", arguments: Backend.available)
    func readinessFollowsTheDatabase(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            #expect(try await client.request(.get, "/readyz").status == .ok)
            await runtime.database.close()
            // The answer is kept for a second: probes cost the database one query a second at most.
            var ready = try await client.request(.get, "/readyz")
            for _ in 0..<40 where ready.status == .ok {
                try await Task.sleep(for: .milliseconds(100))
                ready = try await client.request(.get, "/readyz")
            }
            #expect(ready.status == .serviceUnavailable)
            let body = try ready.json()
            #expect(body["status"] as? String == "not_ready")
            let checks = try #require(body["checks"] as? [String: String])
            #expect(checks["database"] == "unavailable")
            #expect(checks["audit_log"] == "ok")
            #expect(try await client.request(.get, "/healthz").status == .ok)
        }
    }

    @Test("/readyz and /metrics ask the database at most once a second, however often they are called", arguments: Backend.available)
    func probesAreKeptForASecond(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        try await market.withServer(probeNow: clock.now) { runtime, client in
            let admin = try market.adminToken
            func entries() async throws -> String? {
                let text = try await client.request(.get, "/metrics").text
                return text.split(separator: "\n").first { $0.hasPrefix("pdx_log_entries ") }.map(String.init)
            }
            let before = try #require(try await entries())
            // A new entry is not seen before the second is over: the gauges were read once.
            let created = try await client.request(.post, "/v1/authorities", key: admin,
                                                   body: #"{"id":"gz","name":"广州市数据局","region":"440100"}"#)
            #expect(created.status == .created)
            #expect(try await entries() == before)
            clock.advance(seconds: 1.001)
            #expect(try await entries() != before)

            #expect(try await client.request(.get, "/readyz").status == .ok)
            await runtime.database.close()
            // Within the second the kept answer stands; after it, the database is asked again.
            #expect(try await client.request(.get, "/readyz").status == .ok)
            clock.advance(seconds: 1.001)
            #expect(try await client.request(.get, "/readyz").status == .serviceUnavailable)
        }
    }

    @Test("a throttled probe asks once an interval, however often it is called")
    func throttle() async {
        let clock = ManualClock()
        clock.freeze()
        let throttle = Throttle<Int>(interval: .seconds(1), now: clock.now)
        let calls = Mutex(0)
        let ask: () async -> Int = { calls.withLock { $0 += 1; return $0 } }
        #expect(await throttle.value(ask) == 1)
        clock.advance(seconds: 0.999)
        #expect(await throttle.value(ask) == 1)
        #expect(await throttle.value(ask) == 1)
        clock.advance(seconds: 0.002)
        #expect(await throttle.value(ask) == 2)
        #expect(calls.withLock { $0 } == 2)
    }
}
