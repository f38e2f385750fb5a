import Marketplace
import Identity
import HTTPTypes
import Hummingbird
import NIOCore
import Settlement

/// `GET /v1/settlements/{period}/report` as JSON, served as the report's canonical bytes: the
/// generated handler would decode and encode them again, and the bytes served would no longer be
/// those whose SHA-256 the `settlement.closed` entry holds (`Contracts/settlement-report.md`).
///
/// It takes only plain JSON requests (no `format` or `format=json`, at most `party`, no repeated or
/// unknown parameter, an `Accept` of JSON or anything); every other request goes on to the generated
/// handler unchanged, which answers CSV, XLSX and every malformed query. Both share
/// ``API/reportBytes(period:format:party:section:caller:)``.
struct SettlementReportRoute<Context: RequestContext>: RouterMiddleware {
    let api: API

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, let period = Self.period(in: request.uri.path) else { return try await next(request, context) }
        let query = request.uri.queryParameters
        let names = query.map { String($0.key) }
        guard Set(names).count == names.count, names.allSatisfy({ $0 == "format" || $0 == "party" }),
              query["format"].map({ $0 == "json" }) ?? true,
              request.headers[values: .accept].allSatisfy({ $0 == "application/json" || $0 == "*/*" }),
              let caller = try? Authorization.require(.getSettlementReport)
        else { return try await next(request, context) }
        let bytes = try await api.reportBytes(period: period, format: .json, party: query["party"].map(String.init),
                                              section: nil, caller: caller)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(bytes.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The `{period}` of `/v1/settlements/{period}/report`, undecoded; nil for any other path.
    static func period(in path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "settlements", parts[4] == "report" else { return nil }
        return String(parts[3])
    }
}
