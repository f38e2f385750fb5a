import Marketplace
import Identity
import Dispatch
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import Synchronization

/// What inner middleware learns about a request that the access log reports after it: the
/// authenticated principal; and the request's id, which names a metered call's usage events. Bound as
/// a task local for the request's task.
final class RequestRecord: Sendable {
    @TaskLocal static var current: RequestRecord?

    let requestID: String

    init(requestID: String) {
        self.requestID = requestID
    }

    private let principal = Mutex<String?>(nil)

    var principalID: String? {
        get { principal.withLock { $0 } }
        set { principal.withLock { $0 = newValue } }
    }
}

/// The outermost middleware: gives each request an id (`X-Request-ID`, echoed in the answer), then
/// counts it in the request metrics and writes one access-log line at info level: method, route
/// template, status, duration, principal, request id, and the caller's W3C trace id when the request
/// carries a valid `traceparent` (every log line of the request carries it too).
///
/// The line never carries headers, query strings or bodies, so the `Authorization` header, API keys
/// and request payloads cannot reach the log through it. Routes are templates (`/v1/grants/{id}`), as
/// Hummingbird resolves them before the middleware runs; a path no route matches reads `NotFound`.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-ID")! }
    static var traceParentHeader: HTTPField.Name { HTTPField.Name("traceparent")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let requestID = Self.requestID(from: request.headers[Self.requestIDHeader])
        var context = context
        context.logger[metadataKey: "hb.request.id"] = .string(requestID)
        // The caller's trace, so its own traces find this server's log lines.
        if let header = request.headers[Self.traceParentHeader], let parent = TraceParent(header: header) {
            context.logger[metadataKey: "trace_id"] = .string(parent.traceID)
        }
        let record = RequestRecord(requestID: requestID)
        metrics.activeRequests.increment(by: 1)
        defer { metrics.activeRequests.decrement(by: 1) }
        var response: Response
        do {
            response = try await RequestRecord.$current.withValue(record) { try await next(request, context) }
        } catch {
            // ProblemMiddleware answers every error; this is only reached if it is not installed.
            finish(request, context: context, status: 500, start: start, record: record)
            throw error
        }
        response.headers[Self.requestIDHeader] = requestID
        finish(request, context: context, status: response.status.code, start: start, record: record)
        return response
    }

    private func finish(_ request: Request, context: Context, status: Int, start: UInt64, record: RequestRecord) {
        let nanoseconds = DispatchTime.now().uptimeNanoseconds - start
        let route = context.endpointPath ?? "NotFound"
        metrics.recordRequest(route: route, method: request.method, status: status,
                              duration: .nanoseconds(Int64(clamping: nanoseconds)))
        // Nothing is formatted when info lines are filtered out.
        guard context.logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "status": .stringConvertible(status),
            "duration_ms": .stringConvertible(Double(nanoseconds / 1000) / 1000),
        ]
        if let principal = record.principalID { metadata["principal"] = .string(principal) }
        context.logger.info("request", metadata: metadata)
    }

    /// The caller's id when it is a short token (1–64 letters, digits, `.`, `_`, `-`), else a new one:
    /// anything else could be used to smuggle text into the log.
    static func requestID(from header: String?) -> String {
        if let header, (1...64).contains(header.utf8.count), header.utf8.allSatisfy(isTokenByte) {
            return header
        }
        var random = SystemRandomNumberGenerator()
        let value = random.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }
}
