import HTTPTypes
import Hummingbird
import Tracing

/// A server span for each request: a child of the caller's `traceparent` when the bootstrapped
/// tracer reads it, named by method and route template (`POST /v1/usage`), with the transactions and
/// commits the request opens as its children. A no-op until a tracer is bootstrapped.
///
/// Hummingbird's `TracingMiddleware` records the raw path and query string, the user agent and the
/// peer's address; a forwarded upstream call's query can carry a person's data, and a span leaves
/// for a collector the audit log knows nothing of. So this one records only what the access log
/// does: the method, the route template and the status.
struct RequestSpanMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = InstrumentationContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let span = startSpan(request.method.rawValue, context: parent, ofKind: .server)
        span.attributes["http.request.method"] = request.method.rawValue
        do {
            var response = try await InstrumentationContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            let route = context.endpointPath ?? "NotFound"
            span.operationName = "\(request.method.rawValue) \(route)"
            span.attributes["http.route"] = route
            span.attributes["http.response.status_code"] = Int(response.status.code)
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            if span.isRecording {
                // Ended once the body is written: a streamed export or report is part of the request.
                let body = response.body
                response.body = ResponseBody(contentLength: body.contentLength) { writer in
                    defer { span.end() }
                    try await body.write(writer)
                }
            } else {
                span.end()
            }
            return response
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            span.end()
            throw error
        }
    }
}

/// Reads propagation headers (`traceparent`, `tracestate`) for the bootstrapped instrument.
struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
