// The tables are generated from Contracts/openapi.yaml; ContractTablesTests keeps them equal to it.

import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime

/// What the router needs of the contract beyond the generated handlers.
enum ContractTables {
    /// Every path template and the methods the contract lists for it.
    static let methods: [(path: String, methods: [String])] = [
        ("/healthz", ["GET"]),
        ("/readyz", ["GET"]),
        ("/metrics", ["GET"]),
        ("/problems", ["GET"]),
        ("/v1/audit/checkpoint", ["GET"]),
        ("/v1/audit/entries", ["GET"]),
        ("/v1/audit/proofs/inclusion", ["GET"]),
        ("/v1/audit/proofs/consistency", ["GET"]),
        ("/v1/authorities", ["POST", "GET"]),
        ("/v1/authorities/{id}", ["GET"]),
        ("/v1/principals", ["POST", "GET"]),
        ("/v1/principals/{id}", ["GET"]),
        ("/v1/principals/{id}/revoke", ["POST"]),
        ("/v1/personal-data", ["GET"]),
        ("/v1/personal-data/{id}/erase", ["POST"]),
        ("/v1/operators", ["POST", "GET"]),
        ("/v1/operators/{id}", ["GET"]),
        ("/v1/operators/{id}/reviews", ["POST"]),
        ("/v1/operators/{id}/suspend", ["POST"]),
        ("/v1/operators/{id}/reinstate", ["POST"]),
        ("/v1/operators/{id}/revoke", ["POST"]),
        ("/v1/datasets", ["POST", "GET"]),
        ("/v1/datasets/{id}", ["GET", "PATCH"]),
        ("/v1/agreements", ["GET"]),
        ("/v1/grants", ["POST", "GET"]),
        ("/v1/grants/{id}", ["GET"]),
        ("/v1/grants/{id}/decisions", ["POST"]),
        ("/v1/grants/{id}/suspend", ["POST"]),
        ("/v1/grants/{id}/reinstate", ["POST"]),
        ("/v1/grants/{id}/revoke", ["POST"]),
        ("/v1/grants/{id}/amendments", ["POST"]),
        ("/v1/grants/{id}/versions", ["GET"]),
        ("/v1/data/{dataset_id}/records", ["GET"]),
        ("/v1/data/{dataset_id}/upstream/{path}", ["GET"]),
        ("/v1/data/{dataset_id}/releases/{version}/file", ["GET"]),
        ("/v1/usage", ["POST"]),
        ("/v1/usage/summary", ["GET"]),
        ("/v1/operators/{id}/revenue-cap", ["GET", "PUT"]),
        ("/v1/marketplace/platform-fee", ["GET", "PUT"]),
        ("/v1/revenue-caps", ["GET"]),
        ("/v1/settlements/{period}", ["GET"]),
        ("/v1/settlements/{period}/close", ["POST"]),
        ("/v1/settlements/{period}/report", ["GET"]),
        ("/v1/settlements/{period}/adjustments", ["GET", "POST"]),
        ("/v1/provider-usage", ["POST"]),
        ("/v1/reconciliation/{period}", ["GET"]),
        ("/v1/reconciliation/{period}/acknowledgements", ["POST"]),
        ("/v1/test-clock", ["GET", "POST"]),
        ("/v1/datasets/{id}/releases/{version}", ["PUT"]),
        ("/v1/datasets/{id}/releases", ["GET"]),
    ]

    /// The `maxLength` of each operation's query parameters, which the generated server does not check.
    static let queryMaxLength: [String: [String: Int]] = [
        "downloadReleaseFile": ["grant_id": 128],
        "getSettlementReport": ["party": 140],
        "getUsageSummary": ["period": 7, "grant_id": 128],
        "listAuthorities": ["cursor": 512],
        "listDatasets": ["authority_id": 64, "theme": 64, "q": 200, "cursor": 512],
        "listGrants": ["operator_id": 128, "authority_id": 64, "dataset_id": 64, "cursor": 512],
        "listOperators": ["cursor": 512],
        "listPersonalData": ["subject": 160],
        "listPrincipals": ["cursor": 512],
        "readRecords": ["grant_id": 128, "cursor": 512, "release": 64],
        "readUpstream": ["grant_id": 128],
    ]
}

/// The query parameters' `maxLength`s of the contract, which the generated server does not check:
/// a longer value is 400 `invalid_request`, as a malformed parameter is.
struct QueryLimitsMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if let limits = ContractTables.queryMaxLength[operationID], let path = request.path,
           let items = URLComponents(string: path)?.queryItems {
            for item in items {
                if let limit = limits[item.name], let value = item.value, value.count > limit {
                    throw Problem.invalidRequest("'\(item.name)' is limited to \(limit) characters.")
                }
            }
        }
        return try await next(request, body, metadata)
    }
}

/// A method the contract does not list for a path it has: 405 `method_not_allowed` with `Allow`,
/// where the router alone answers 404 as if the path did not exist (RFC 9110 §15.5.6).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = Self.methods(for: request.uri.path), !allowed.contains(request.method.rawValue) else { throw error }
            var problem = Problem(.methodNotAllowed, "\(request.method.rawValue) is not a method of this path; it takes \(allowed.joined(separator: ", ")).")
            problem.allow = allowed.joined(separator: ", ")
            throw problem
        }
    }

    /// The methods the contract lists for the template `path` matches; nil when it matches none.
    static func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for (template, methods) in ContractTables.methods {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count else { continue }
            if zip(parts, segments).allSatisfy({ part, segment in
                part.hasPrefix("{") ? !segment.isEmpty : part == segment
            }) {
                return methods
            }
        }
        return nil
    }
}

/// No request schema of the contract admits `null`: the generated decoder would read a member sent as
/// `null` as one left out and accept what the contract refuses. A JSON body holding a `null` anywhere
/// is 400 `invalid_request`, naming where; leave the member out instead.
struct NullMembersMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, request.headerFields[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return try await next(request, body, metadata)
        }
        // The body was already collected and limited in size by BodyLimitMiddleware.
        let bytes = try await [UInt8](collecting: body, upTo: 64 << 20)
        if let value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
           let path = Self.firstNull(in: value, at: "") {
            throw Problem.invalidRequest("'\(path.isEmpty ? "the body" : path)' is null; leave a member out rather than send null.")
        }
        return try await next(request, HTTPBody(bytes), metadata)
    }

    static func firstNull(in value: Any, at path: String) -> String? {
        switch value {
        case is NSNull:
            return path
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                if let found = firstNull(in: object[key]!, at: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
            return nil
        case let array as [Any]:
            for (index, item) in array.enumerated() {
                if let found = firstNull(in: item, at: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}
