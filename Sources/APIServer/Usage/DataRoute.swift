import Marketplace
import Identity
import Foundation
import HTTPTypes
import Hummingbird
import Licensing
import Metering
import NIOCore

/// `GET /v1/data/{dataset_id}/records`: a page of a release's records, metered at the source.
///
/// Served here rather than through the generated handler: records are objects whose members are the
/// dataset's fields, which the generated types would hold as untyped containers and encode member by
/// member; the stored rows already hold each value's JSON text, so the page is written by joining
/// them (``DataService``). The generated handler (``API/readRecords(_:)``) answers the same through
/// the same service for whatever this route passes on: callers of another role, who get its 403.
struct DataRoute<Context: RequestContext>: RouterMiddleware {
    let api: API

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get, let (datasetID, version) = DataRequest.file(request.uri.path) {
            // The generated server would percent-encode the header's quotes and spaces.
            var response = try await next(request, context)
            if response.status == .ok {
                response.headers[.contentDisposition] = "attachment; filename=\"\(datasetID)-\(version).csv\""
            }
            return response
        }
        guard request.method == .get, let datasetID = DataRequest.datasetID(request.uri.path),
              let caller = try? Authorization.require(.readRecords)
        else { return try await next(request, context) }
        let requestID = RequestRecord.current?.requestID ?? "unknown"
        let query = try DataRequest.query(datasetID: datasetID, request.uri.queryParameters.map { ($0.key, $0.value) })
        let page = try await api.readRecords(query, caller: caller, requestID: requestID)
        let body = DataRequest.json(page)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

/// Reading a data API request and writing its answer, for both routes.
enum DataRequest {
    /// The query parameters the data API itself reads; every other one is an equality filter.
    static let reserved: Set<Substring> = ["grant_id", "fields", "limit", "cursor", "release"]

    /// The dataset id of `/v1/data/{dataset_id}/records`, or nil for another path.
    static func datasetID(_ path: String) -> String? {
        let prefix = "/v1/data/", suffix = "/records"
        guard path.hasPrefix(prefix), path.hasSuffix(suffix), path.utf8.count > prefix.utf8.count + suffix.utf8.count else { return nil }
        let id = path.dropFirst(prefix.count).dropLast(suffix.count)
        guard !id.contains("/") else { return nil }
        return String(id).removingPercentEncoding
    }

    /// The dataset id and version of `/v1/data/{dataset_id}/releases/{version}/file` when both are
    /// plain (what a file name may hold), or nil.
    static func file(_ path: String) -> (String, String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0].isEmpty, parts[1] == "v1", parts[2] == "data", parts[4] == "releases", parts[6] == "file",
              parts[3].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
              parts[5].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) })
        else { return nil }
        return (String(parts[3]), String(parts[5]))
    }

    /// The query as the service reads it; a reserved parameter given twice or a bad limit is 400.
    static func query(datasetID: String, _ parameters: [(Substring, Substring)]) throws -> DataQuery {
        var seen: Set<Substring> = []
        var filters: [(field: String, value: String)] = []
        for (name, value) in parameters {
            if reserved.contains(name) {
                guard seen.insert(name).inserted else {
                    throw Problem.invalidRequest("'\(name)' is given twice.")
                }
            } else {
                filters.append((String(name), String(value)))
            }
        }
        func value(_ name: Substring) -> Substring? { parameters.first { $0.0 == name }?.1 }
        var limit = 100
        if let text = value("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw Problem.invalidRequest("'limit' must be 1…1000.")
            }
            limit = value
        }
        let fields = value("fields").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return DataQuery(datasetID: datasetID, grantID: value("grant_id").map(String.init), fields: fields, limit: limit,
                         cursor: value("cursor").map(String.init), release: value("release").map(String.init),
                         filters: filters)
    }

    /// The `DataPage` JSON: members in the order the generated encoder sorts them.
    static func json(_ page: DataPage) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(page.records.count + 256)
        out.writeStaticString("{\"dataset_id\":")
        UsageResultWriter.writeString(page.datasetID, to: &out)
        if let next = page.nextCursor {
            out.writeStaticString(",\"next_cursor\":")
            UsageResultWriter.writeString(next, to: &out)
        }
        out.writeStaticString(",\"records\":")
        out.writeBytes(page.records)
        out.writeStaticString(",\"release\":")
        UsageResultWriter.writeString(page.release, to: &out)
        out.writeStaticString(",\"usage\":{\"event_id\":")
        UsageResultWriter.writeString(page.eventID, to: &out)
        out.writeStaticString(",\"units\":{")
        for (offset, (unit, quantity)) in page.units.sorted(by: { $0.key < $1.key }).enumerated() {
            if offset > 0 { out.writeStaticString(",") }
            UsageResultWriter.writeString(unit.rawValue, to: &out)
            out.writeStaticString(":")
            out.writeString(String(quantity))
        }
        out.writeStaticString("}}}")
        return out
    }
}
