@testable import APIServer
import BuildInfo
import Foundation
import HTTPTypes
import HummingbirdTesting
import InMemoryTracing
import NIOCore
import PDXTesting
import Prometheus
import Testing
import Tracing

/// A tracer that takes a request's W3C `traceparent` as the parent of its spans, and keeps the spans
/// of those traces only (a span with no caller's trace is dropped at once, so the rest of the suite,
/// which runs under it once it is bootstrapped, does not pile up spans).
struct TraceParentTracer: Tracer {
    let traced = InMemoryTracer()
    let untraced = InMemoryTracer()

    /// Bootstrapped once for the test process: the instrumentation system takes one tracer.
    static let shared: TraceParentTracer = {
        let tracer = TraceParentTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        let parent = context()
        guard parent.inMemorySpanContext != nil else {
            untraced.clearAll()
            return untraced.startSpan(operationName, context: parent, ofKind: kind, at: instant(),
                                      function: function, file: fileID, line: line)
        }
        return traced.startSpan(operationName, context: parent, ofKind: kind, at: instant(),
                                function: function, file: fileID, line: line)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier),
              let parent = TraceParent(header: header) else { return }
        context.inMemorySpanContext = InMemorySpanContext(traceID: parent.traceID, spanID: parent.parentID, parentSpanID: nil)
    }

    func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {}

    func forceFlush() {}

    /// The finished spans of one trace.
    func spans(ofTrace traceID: String) -> [FinishedInMemorySpan] {
        traced.finishedSpans.filter { $0.spanContext.traceID == traceID }
    }
}

@Suite("Trace context: traceparent")
struct TraceParentTests {
    @Test("a version-00 traceparent is read; anything malformed is ignored")
    func parse() throws {
        let parent = try #require(TraceParent(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(parent.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parent.parentID == "00f067aa0ba902b7")
        #expect(parent.isSampled)
        #expect(parent.header == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        // A later version is read by its first four fields.
        #expect(TraceParent(header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra")?.isSampled == false)
        for bad in [
            "", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 is 55 long
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",                   // upper case
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",                   // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",                   // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",                   // forbidden version
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",                   // dash misplaced
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",                   // flags not hex
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00x",                  // later version, no dash
            "00-4bf92f3577b34da6a3ce929d0e0e47中-00f067aa0ba902b-01",
        ] {
            #expect(TraceParent(header: bad) == nil, "\(bad)")
        }
    }
}

@Suite("Tracing: spans of a request, its transaction and its commit")
struct RequestTracingTests {
    private static func traceparent() -> (header: String, traceID: String, parentID: String) {
        var random = SystemRandomNumberGenerator()
        func hex(_ bytes: Int) -> String {
            (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255, using: &random)) }.joined()
        }
        let (trace, parent) = (hex(16), hex(8))
        return ("00-\(trace)-\(parent)-01", trace, parent)
    }

    @Test("a usage batch with a traceparent: the server span is the caller's child, the usage commit, transaction and commit are its descendants",
          arguments: Backend.available)
    func usageBatch(backend: Backend) async throws {
        let tracer = TraceParentTracer.shared
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let capture = LogCapture()
        let trace = Self.traceparent()
        try await market.withServer(logger: capture.logger()) { _, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(try #require(u.m.actors["acme"]))"
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("traceparent")!] = trace.header
            let body = usageBody((1...3).map { usageEvent("trace-\($0)", grant: u.grant, time: t) })
            let answer = try await client.execute(uri: "/v1/usage", method: .post, headers: headers,
                                                  body: ByteBuffer(string: body)) { $0 }
            #expect(answer.status == .ok)
        }
        let spans = tracer.spans(ofTrace: trace.traceID)
        let server = try #require(spans.first { $0.operationName == "POST /v1/usage" }, "\(spans.map(\.operationName))")
        #expect(server.kind == .server)
        #expect(server.spanContext.parentSpanID == trace.parentID, "the caller's span is the parent")
        #expect(server.attributes["http.route"]?.toSpanAttribute() == .string("/v1/usage"))
        #expect(server.attributes["http.response.status_code"]?.toSpanAttribute() == .int64(200))
        #expect(server.attributes["url.query"] == nil && server.attributes["url.path"] == nil, "no raw path or query")

        // Descendants: follow parents up to the server span.
        let byID = Dictionary(spans.map { ($0.spanContext.spanID, $0) }, uniquingKeysWith: { first, _ in first })
        func descends(_ span: FinishedInMemorySpan) -> Bool {
            var current = span.spanContext.parentSpanID
            while let id = current {
                if id == server.spanContext.spanID { return true }
                current = byID[id]?.spanContext.parentSpanID
            }
            return false
        }
        let commitGroup = try #require(spans.first { $0.operationName == "usage.commit" })
        #expect(descends(commitGroup))
        #expect(commitGroup.attributes["pdx.usage.events"]?.toSpanAttribute() == .int64(3))
        let transaction = try #require(spans.first { $0.operationName == "db.transaction" && $0.spanContext.parentSpanID == commitGroup.spanContext.spanID })
        #expect(transaction.attributes["db.system"]?.toSpanAttribute() == .string(backend == .postgres ? "postgresql" : "sqlite"))
        let commit = try #require(spans.first { $0.operationName == "db.commit" && $0.spanContext.parentSpanID == transaction.spanContext.spanID })
        #expect(commit.kind == .client)
        // Authentication and the grant check read under the request too.
        #expect(spans.contains { $0.operationName == "db.read" && descends($0) })

        // Every log line of the request names the caller's trace.
        let lines = try capture.objects().filter { $0["trace_id"] != nil }
        #expect(lines.contains { $0["route"] as? String == "/v1/usage" && $0["trace_id"] as? String == trace.traceID })
        #expect(lines.allSatisfy { $0["trace_id"] as? String == trace.traceID })
    }

    @Test("a malformed traceparent starts a trace of its own and names none in the log")
    func malformed() async throws {
        let tracer = TraceParentTracer.shared
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        let capture = LogCapture()
        let trace = Self.traceparent()
        let forged = trace.header.uppercased()
        try await market.withServer(logger: capture.logger()) { _, client in
            var headers = HTTPFields()
            headers[HTTPField.Name("traceparent")!] = forged
            let answer = try await client.execute(uri: "/healthz", method: .get, headers: headers) { $0 }
            #expect(answer.status == .ok)
        }
        #expect(tracer.spans(ofTrace: trace.traceID).isEmpty)
        #expect(tracer.spans(ofTrace: trace.traceID.uppercased()).isEmpty)
        #expect(try capture.objects().allSatisfy { $0["trace_id"] == nil })
    }
}

@Suite("Metrics: the build and the process")
struct BuildAndProcessMetricsTests {
    @Test("/metrics carries pdx_build_info with the version, and the process's CPU, memory, descriptors and start time")
    func buildAndProcess() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        let text = try await market.withServer { _, client in
            try await client.request(.get, "/metrics").text
        }
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("pdx_build_info{") }, "\(text.prefix(400))")
        #expect(line.contains(#"version="\#(BuildInfo.version)""#))
        #expect(line.contains(#"commit=""#))
        #expect(line.hasSuffix(" 1") || line.hasSuffix(" 1.0"))
        func value(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
        #expect((value("process_cpu_seconds_total") ?? 0) > 0)
        #if os(Linux)
        let resident = try #require(value("process_resident_memory_bytes"))
        #expect(resident > 1_000_000, "a Swift server takes more than a megabyte")
        #expect((value("process_virtual_memory_bytes") ?? 0) >= resident)
        #expect((value("process_open_fds") ?? 0) >= 3)
        #expect((value("process_threads") ?? 0) >= 1)
        let started = try #require(value("process_start_time_seconds"))
        #expect(started <= Date().timeIntervalSince1970 + 1 && started > Date().timeIntervalSince1970 - 86_400 * 30)
        #endif
    }
}
