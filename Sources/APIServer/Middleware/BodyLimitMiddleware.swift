import Marketplace
import Identity
import HTTPTypes
import Hummingbird

/// Refuses request bodies over a size limit with 413 `payload_too_large` before any handler runs, and
/// hands handlers the body already collected.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The limit for every route not named in `overrides`.
    let defaultLimit: Int
    /// Larger or smaller limits by exact path (e.g. usage batches).
    let overrides: [String: Int]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let limit = overrides[request.uri.path] ?? defaultLimit
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw Self.tooLarge(limit)
        }
        var request = request
        if request.method != .get && request.method != .head {
            do {
                _ = try await request.collectBody(upTo: limit)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw Self.tooLarge(limit)
            }
        }
        return try await next(request, context)
    }

    private static func tooLarge(_ limit: Int) -> Problem {
        Problem(.payloadTooLarge, "The request body is larger than \(limit) bytes.")
    }
}
