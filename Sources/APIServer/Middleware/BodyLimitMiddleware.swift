import Marketplace
import Identity
import HTTPTypes
import Hummingbird
import Delivery

/// Refuses request bodies over a size limit with 413 `payload_too_large` before any handler runs, and
/// hands handlers the body already collected.
///
/// The console's paths (`/console/…`) are left to the console, which has a smaller limit of its own.
/// Release uploads (`PUT /v1/datasets/{id}/releases/{version}`) are the other exception: their handler reads
/// the body as a stream, up to the release limit, so they are only refused here when their declared
/// length is over that limit (413 `release_too_large`).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The limit for every route not named in `overrides`.
    let defaultLimit: Int
    /// Larger or smaller limits by exact path (e.g. usage batches).
    let overrides: [String: Int]
    /// The limit of a release upload, which is streamed, not collected.
    var releaseLimit: Int64 = ReleasePolicy.defaultMaxBytes

    /// True for a release upload: `PUT /v1/datasets/{id}/releases/{version}`.
    static func isReleaseUpload(_ request: Request) -> Bool {
        guard request.method == .put else { return false }
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0].isEmpty && parts[1] == "v1" && parts[2] == "datasets" && parts[4] == "releases"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isReleaseUpload(request) {
            if let declared = request.headers[.contentLength].flatMap(Int64.init), declared > releaseLimit {
                throw ReleaseError(.releaseTooLarge, "The release is larger than \(releaseLimit) bytes.")
            }
            return try await next(request, context)
        }
        // The console limits its forms itself, and refuses a larger one with a page in the person's
        // language rather than problem+json.
        let path = request.uri.path
        if path == "/console" || path.hasPrefix("/console/") { return try await next(request, context) }
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
