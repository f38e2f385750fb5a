package import AuditLog
public import Licensing
public import Persistence

/// The grant check of the usage path: answers from memory, after bringing the process's
/// ``GrantDirectory`` up to date with every grant changed since its last refresh — here or in another
/// process sharing the database — which costs one read of the grant generation when nothing changed.
public struct GrantChecker: Sendable {
    let database: any Database
    /// One per process, shared by every request.
    public let directory: GrantDirectory

    /// Creates a checker over `database` keeping its snapshots in `directory`.
    public init(database: any Database, directory: GrantDirectory) {
        self.database = database
        self.directory = directory
    }

    /// Answers each query, in order, as of the latest committed grants.
    public func check(_ queries: [GrantCheckQuery]) async throws -> [GrantCheckResult] {
        try await database.read { try await $0.refresh(directory) }
        return queries.map(directory.check)
    }
}
