import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The headers that name and version what an answer holds, set on the answer as it leaves the
/// generated server (typed header values would be percent-encoded, quotes and all):
///
/// - `Location` on every 201: the created resource's path, from the request path and the answer's `id`;
/// - `ETag` on every answer holding one dataset or grant: its stored revision (a dataset's `version`,
///   a grant's `revision`), as a strong entity tag `"<n>"`, the value `If-Match` takes;
/// - `Content-Disposition: attachment` on CSV and XLSX report downloads and release files.
///
/// It runs outside ``IdempotencyMiddleware`` and reads the answer's bytes, so a replayed answer of a
/// keyed POST, which stores only status, type and body, gets the same headers as the first.
struct ResourceHeadersMiddleware: ServerMiddleware {
    /// Where the created resource of each creating operation is read, by the answer's members.
    static func location(_ operation: Operation, path: String, body: [String: Any]) -> String? {
        let id = (body["id"] as? String).map(Self.segment)
        switch operation {
        case .createAuthority: return id.map { "/v1/authorities/\($0)" }
        case .createPrincipal: return id.map { "/v1/principals/\($0)" }
        case .applyAsOperator: return id.map { "/v1/operators/\($0)" }
        case .publishDataset: return id.map { "/v1/datasets/\($0)" }
        case .requestGrant: return id.map { "/v1/grants/\($0)" }
        // An adjustment is listed with its period's; an acknowledgement is on its reconciliation line.
        case .addAdjustment, .acknowledgeDiscrepancy, .loadRelease: return path
        default: return nil
        }
    }

    /// The operations whose answer is one dataset (`version`) or grant (`revision`), or a dataset change.
    static func revision(_ operation: Operation, body: [String: Any]) -> Int? {
        switch operation {
        case .publishDataset, .getDataset:
            return body["version"] as? Int
        case .updateDataset:
            return (body["dataset"] as? [String: Any])?["version"] as? Int
        case .requestGrant, .getGrant, .decideGrant, .suspendGrant, .reinstateGrant, .revokeGrant, .amendGrant:
            return body["revision"] as? Int
        default:
            return nil
        }
    }

    /// The entity tag of revision `n`.
    static func entityTag(_ revision: Int) -> String { "\"\(revision)\"" }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let operation = Operation(rawValue: operationID) else { return try await next(request, body, metadata) }
        var (response, responseBody) = try await next(request, body, metadata)
        let path = String(request.path?.split(separator: "?", maxSplits: 1).first ?? "")
        if operation == .getSettlementReport || operation == .downloadReleaseFile, response.status == .ok,
           let name = Self.fileName(operation, path: path, query: request.path, contentType: response.headerFields[.contentType]) {
            response.headerFields[.contentDisposition] = "attachment; filename=\"\(name)\""
        }
        let wantsLocation = response.status == .created && response.headerFields[.location] == nil
        let wantsTag = response.status.kind == .successful && [.publishDataset, .getDataset, .updateDataset, .requestGrant, .getGrant, .decideGrant, .suspendGrant,
                .reinstateGrant, .revokeGrant, .amendGrant].contains(operation)
        guard wantsLocation || wantsTag else { return (response, responseBody) }
        // JSON answers of these operations are small: read them whole and pass the bytes on.
        let bytes = try await responseBody.asyncMap { try await [UInt8](collecting: $0, upTo: 16 << 20) } ?? []
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        if wantsLocation, let location = Self.location(operation, path: path, body: json) {
            response.headerFields[.location] = location
        }
        if wantsTag, let revision = Self.revision(operation, body: json) {
            response.headerFields[.eTag] = Self.entityTag(revision)
        }
        return (response, HTTPBody(bytes))
    }

    /// `pdx-settlement-2026-10[-<party>][-parties].csv|xlsx`, `<dataset>-<version>.csv`; nil for JSON.
    static func fileName(_ operation: Operation, path: String, query: String?, contentType: String?) -> String? {
        let parts = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if operation == .downloadReleaseFile {
            guard parts.count == 6 else { return nil }
            return "\(safe(parts[2]))-\(safe(parts[4])).csv"
        }
        guard parts.count == 4, let contentType else { return nil }
        let ext: String
        if contentType.hasPrefix("text/csv") { ext = "csv" }
        else if contentType.hasPrefix("application/vnd.openxmlformats") { ext = "xlsx" }
        else { return nil }
        let items = URLComponents(string: query ?? "")?.queryItems ?? []
        var name = "pdx-settlement-\(safe(parts[2]))"
        if let party = items.first(where: { $0.name == "party" })?.value { name += "-" + safe(party) }
        if items.first(where: { $0.name == "section" })?.value == "parties" { name += "-parties" }
        if items.first(where: { $0.name == "format" })?.value == "csv-excel" { name += "-excel" }
        return name + "." + ext
    }

    /// Letters, digits, `.`, `_` and `-` as they are; anything else (a quote, a colon, a space) as `-`.
    static func safe(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar -> Character in
            let ok = (scalar.value < 0x80) && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
            return ok ? Character(scalar) : "-"
        })
    }

    /// A path segment for `Location`, percent-encoded where a path segment needs it.
    static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }
}
