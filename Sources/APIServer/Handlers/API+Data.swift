import AuditLog
import Foundation
import Identity
import Marketplace
import NIOCore
import OpenAPIRuntime

/// The data API: operators read releases of the datasets PDX serves, each call metered at the source.
extension API {
    /// `readRecords` as the generated server calls it: for what ``DataRoute`` passes on. The page is
    /// the same the route writes, decoded into the generated types.
    func readRecords(_ input: Operations.ReadRecords.Input) async throws -> Operations.ReadRecords.Output {
        let caller = try Authorization.require(.readRecords)
        let query = input.query
        let page = try await readRecords(
            DataQuery(datasetID: input.path.datasetId, grantID: query.grantId,
                      fields: query.fields.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) },
                      limit: query.limit ?? 100, cursor: query.cursor, release: query.release, filters: []),
            caller: caller, requestID: RequestRecord.current?.requestID ?? "unknown")
        let body = DataRequest.json(page)
        let decoded = try JSONDecoder().decode(Components.Schemas.DataPage.self, from: Data(body.readableBytesView))
        return .ok(.init(body: .json(decoded)))
    }

    /// One metered page for `caller`, whose role was checked: shared by both routes.
    func readRecords(_ query: DataQuery, caller: Principal, requestID: String) async throws -> DataPage {
        guard (1...1000).contains(query.limit) else { throw Problem.invalidRequest("'limit' must be 1…1000.") }
        return try await dataService.page(query, by: caller, requestID: requestID)
    }
}

extension API {
    func downloadReleaseFile(_ input: Operations.DownloadReleaseFile.Input) async throws -> Operations.DownloadReleaseFile.Output {
        let caller = try Authorization.require(.downloadReleaseFile)
        let fields = input.query.fields.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let prepared = try await dataService.prepareFile(
            datasetID: input.path.datasetId, version: input.path.version, grantID: input.query.grantId, fields: fields, by: caller)
        let eventID = try await dataService.meter(prepared, by: caller, requestID: RequestRecord.current?.requestID ?? "unknown")
        let body = HTTPBody(dataService.file(prepared), length: .unknown, iterationBehavior: .single)
        return .ok(.init(
            headers: .init(xPDXUsageEvent: eventID),
            body: .csv(body)))
    }
}
