import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /healthz` answered in place: the same bytes the generated handler writes, without the
/// middleware chain after this one and the generated server's conversions and `JSONEncoder`, which
/// were most of what a health check cost (`Docs/benchmarks.md`, "Cost of a request"). Placed after
/// the access log and the request span, so a probe is logged, counted and traced as before.
///
/// Only a bodiless GET is taken; anything else goes on (a body to the body limit, another method to
/// its 405).
struct HealthRoute<Context: RequestContext>: RouterMiddleware {
    /// `Components.Schemas.Health` with status ok, as the generated handler encodes it.
    static var body: String { #"{"status":"ok"}"# }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, request.uri.path == "/healthz", request.uri.query == nil,
              request.headers[.contentLength] == nil, request.headers[.transferEncoding] == nil
        else { return try await next(request, context) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(Self.body.utf8.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.body)))
    }
}
