import AuditLog
import Delivery
import Foundation
import HTTPTypes
import Licensing
import Marketplace
import OpenAPIRuntime
import Persistence

/// Dataset releases: loading one from a streamed CSV or NDJSON body, listing the published ones.
extension API {
    func loadRelease(_ input: Operations.LoadRelease.Input) async throws -> Operations.LoadRelease.Output {
        let caller = try Authorization.require(.loadRelease)
        let (body, mediaType): (HTTPBody, ReleaseMediaType) = switch input.body {
        case .csv(let body): (body, .csv)
        case .applicationXNdjson(let body): (body, .ndjson)
        }
        let release = try await releaseService.load(
            body, datasetID: input.path.id, version: input.path.version, mediaType: mediaType, by: Self.reviewer(caller))
        // `Location` is set by ReleaseUploadMiddleware: the generated server would percent-encode it.
        return .created(.init(body: .json(Self.view(release))))
    }

    func listReleases(_ input: Operations.ListReleases.Input) async throws -> Operations.ListReleases.Output {
        _ = try Authorization.require(.listReleases)
        let releases = try await database.read { reader -> [Release]? in
            guard try await reader.dataset(id: input.path.id) != nil else { return nil }
            return try await reader.releases(datasetID: input.path.id)
        }
        guard let releases else { throw Problem.notFound("No dataset '\(input.path.id)'.") }
        return .ok(.init(body: .json(.init(items: releases.map(Self.view)))))
    }

    static func view(_ release: Release) -> Components.Schemas.Release {
        .init(
            datasetId: release.datasetID, version: release.version,
            mediaType: release.mediaType == .csv ? .textCsv : .applicationXNdjson,
            sha256: release.sha256, rows: release.rows, bytes: release.bytes, fields: release.fields,
            publishedAt: release.publishedAt, publishedBy: release.publishedBy)
    }
}

/// Around a release upload: answers one whose `Content-Type` is neither `text/csv` nor
/// `application/x-ndjson` with 415 `unsupported_media_type` (after the role check), before its body
/// is read; and gives a created release its `Location`, the path it was put at, as is.
struct ReleaseUploadMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == Operation.loadRelease.rawValue else { return try await next(request, body, metadata) }
        guard request.headerFields[.contentType].flatMap(ReleaseMediaType.init(contentType:)) != nil else {
            throw ReleaseError(.unsupportedMediaType, "A release is text/csv or application/x-ndjson.")
        }
        var (response, responseBody) = try await next(request, body, metadata)
        if response.status == .created, let path = request.path?.split(separator: "?", maxSplits: 1).first {
            response.headerFields[.location] = String(path)
        }
        return (response, responseBody)
    }
}
