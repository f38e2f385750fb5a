public import Delivery
public import Foundation
package import Logging
internal import AuditLog
internal import Identity
internal import Persistence
internal import Vetting

/// `pdx dataset load`: loads the file at `path` as release `version` of dataset `datasetID` on the
/// marketplace at `location`, as the principal `principalID` (an authority reviewer of the dataset's
/// authority, or an admin), through the same ``ReleaseService`` as
/// `PUT /v1/datasets/{id}/releases/{version}`.
///
/// - Parameter progress: called after each chunk read, and once at the end.
public func loadReleaseFile(
    _ path: String, datasetID: String, version: String, mediaType: ReleaseMediaType, as principalID: String,
    at location: StoreLocation, policy: ReleasePolicy = ReleasePolicy(),
    progress: (@Sendable (ReleaseProgress) -> Void)? = nil
) async throws -> Release {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw RuntimeError("cannot read \(path)") }
    defer { try? handle.close() }
    return try await Runtime.withExisting(location, label: "pdx.dataset") { runtime in
        try runtime.requireIntactLog()
        let now = runtime.clock.now()
        guard let principal = try await runtime.database.read({ try await $0.principal(id: principalID) }),
              principal.isActive(at: now)
        else {
            throw RuntimeError("no active principal '\(principalID)'")
        }
        guard principal.role == .authorityReviewer || principal.role == .admin else {
            throw RuntimeError("principal '\(principalID)' is a \(principal.role.rawValue); releases are loaded by an authority reviewer or an admin")
        }
        let service = ReleaseService(
            ServiceContext(database: runtime.database, log: runtime.log, clock: runtime.clock, random: runtime.random), policy: policy)
        return try await service.load(
            FileChunks(handle: handle), datasetID: datasetID, version: version, mediaType: mediaType,
            by: Reviewer(principal: principal), progress: progress)
    }
}

/// A file read in chunks of 1 MiB.
struct FileChunks: AsyncSequence, @unchecked Sendable {
    // Unchecked: the handle is read by one iterator, in one task.
    typealias Element = [UInt8]
    let handle: FileHandle

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        mutating func next() async throws -> [UInt8]? {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return [UInt8](data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }
}
