import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Licensing
import Marketplace
import NIOCore

/// `GET /v1/data/{dataset_id}/upstream/{path}`: a call forwarded to an upstream dataset's interface,
/// cut to the granted fields and metered at the source before it is answered.
///
/// Served here rather than through the generated handler: `{path}` may hold several segments, which
/// the generated router does not match, and the answer's records are the interface's objects. The
/// generated handler (``API/readUpstream(_:)``) answers the same for what this route passes on:
/// callers of another role, who get its 403.
struct UpstreamRoute<Context: RequestContext>: RouterMiddleware {
    let api: API

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, let (datasetID, path) = UpstreamRequest.target(request.uri.path),
              let caller = try? Authorization.require(.readUpstream)
        else { return try await next(request, context) }
        let parameters = try UpstreamRequest.parameters(request.uri.query ?? "")
        let (answer, eventID) = try await api.readUpstream(
            datasetID: datasetID, path: path, parameters: parameters, caller: caller,
            requestID: RequestRecord.current?.requestID ?? "unknown")
        let body = UpstreamRequest.json(answer, eventID: eventID)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

/// A request's query as the upstream route reads it: PDX's own parameters, and the rest as raw
/// `name=value` text to forward.
struct UpstreamParameters: Sendable {
    var grantID: String?
    var fields: [String]?
    var forwarded: [String]
}

extension API {
    /// The generated form of the route, for what ``UpstreamRoute`` passes on: the role check answers it.
    func readUpstream(_ input: Operations.ReadUpstream.Input) async throws -> Operations.ReadUpstream.Output {
        let caller = try Authorization.require(.readUpstream)
        let parameters = UpstreamParameters(
            grantID: input.query.grantId,
            fields: input.query.fields.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) },
            forwarded: [])
        let (answer, eventID) = try await readUpstream(datasetID: input.path.datasetId, path: input.path.path, parameters: parameters,
                                                       caller: caller, requestID: RequestRecord.current?.requestID ?? "unknown")
        let body = UpstreamRequest.json(answer, eventID: eventID)
        let decoded = try JSONDecoder().decode(Components.Schemas.UpstreamPage.self, from: Data(body.readableBytesView))
        return .ok(.init(body: .json(decoded)))
    }

    /// Checks, forwards, cuts and meters one upstream call; returns the answer once its usage is
    /// durable. A failure of the interface throws before anything is metered.
    func readUpstream(datasetID: String, path: String, parameters: UpstreamParameters, caller: Principal,
                      requestID: String) async throws -> (UpstreamAnswer, String) {
        let service = dataService
        let prepared = try await service.prepareUpstream(datasetID: datasetID, grantID: parameters.grantID, fields: parameters.fields,
                                                         by: caller)
        let url = try DataService.upstreamURL(base: prepared.endpoint.baseURL, path: path, query: parameters.forwarded)
        let body = try await upstream.get(url, credentialHeader: prepared.endpoint.credentialHeader, secret: prepared.secret)
        let answer = try service.answer(prepared, body: body)
        let eventID = try await service.meter(answer, by: caller, requestID: requestID)
        return (answer, eventID)
    }
}

enum UpstreamRequest {
    /// The dataset id and the raw path after `/upstream/` of `/v1/data/{dataset_id}/upstream/{path}`,
    /// or nil for another path.
    static func target(_ path: String) -> (String, String)? {
        let prefix = "/v1/data/"
        guard path.hasPrefix(prefix) else { return nil }
        let rest = path.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let id = rest[..<slash]
        let after = rest[slash...]
        guard !id.isEmpty, after.hasPrefix("/upstream/") || after == "/upstream" else { return nil }
        guard let datasetID = String(id).removingPercentEncoding else { return nil }
        return (datasetID, String(after.dropFirst("/upstream/".count)))
    }

    /// Splits the raw query: `grant_id` and `fields` (each at most once) are PDX's, the rest is
    /// forwarded as received.
    static func parameters(_ query: String) throws -> UpstreamParameters {
        var result = UpstreamParameters(grantID: nil, fields: nil, forwarded: [])
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name = part.prefix { $0 != "=" }
            let value = part.count > name.count ? part.dropFirst(name.count + 1) : ""
            let decodedName = String(name).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(name)
            guard DataService.upstreamReserved.contains(decodedName) else {
                result.forwarded.append(String(part))
                continue
            }
            let decoded = String(value).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(value)
            if decodedName == "grant_id" {
                guard result.grantID == nil else { throw Problem.invalidRequest("'grant_id' is given twice.") }
                result.grantID = decoded
            } else {
                guard result.fields == nil else { throw Problem.invalidRequest("'fields' is given twice.") }
                result.fields = decoded.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
        }
        return result
    }

    /// The `UpstreamPage` JSON: members in the order the generated encoder sorts them.
    static func json(_ answer: UpstreamAnswer, eventID: String) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(answer.records.count + 256)
        out.writeStaticString("{\"dataset_id\":")
        UsageResultWriter.writeString(answer.datasetID, to: &out)
        out.writeStaticString(",\"records\":")
        out.writeBytes(answer.records)
        out.writeStaticString(",\"usage\":{\"event_id\":")
        UsageResultWriter.writeString(eventID, to: &out)
        out.writeStaticString(",\"units\":{")
        for (offset, (unit, quantity)) in answer.units.sorted(by: { $0.key < $1.key }).enumerated() {
            if offset > 0 { out.writeStaticString(",") }
            UsageResultWriter.writeString(unit.rawValue, to: &out)
            out.writeStaticString(":")
            out.writeString(String(quantity))
        }
        out.writeStaticString("}},\"withheld\":")
        out.writeString(String(answer.withheld))
        out.writeStaticString("}")
        return out
    }
}
