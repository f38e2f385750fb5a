public import AuditLog

/// A failure of the database, with a stable code.
///
/// Equality is by ``code``. ``detail`` names the statement or constraint, never bound values.
public typealias StorageError = ModuleError<StorageErrorCode>

/// The stable codes of ``StorageError``: the raw value is what a problem+json `code` says.
public enum StorageErrorCode: String, Sendable, CaseIterable {
    /// The database cannot be reached, opened, or locked in time (a server should answer 503
    /// with Retry-After).
    case databaseUnavailable = "database_unavailable"
    /// The disk or the database's size limit is full: nothing was written, and writes fail
    /// until space is freed (a server should answer 503 with Retry-After).
    case storageFull = "storage_full"
    /// The database refuses writes: a read-only file, mount or standby server. Reads may
    /// still work; writes fail until an operator fixes it (503 with Retry-After).
    case storageReadOnly = "storage_read_only"
    /// The database files are damaged or not a database.
    case databaseCorrupt = "database_corrupt"
    /// A unique or primary key constraint rejected the write.
    case uniqueViolation = "unique_violation"
    /// A foreign key constraint rejected the write.
    case foreignKeyViolation = "foreign_key_violation"
    /// A NOT NULL constraint rejected the write.
    case notNullViolation = "not_null_violation"
    /// A CHECK constraint rejected the write.
    case checkViolation = "check_violation"
    /// Another constraint rejected the write.
    case constraintViolation = "constraint_violation"
    /// The transaction lost a race with another (serialization failure or deadlock); retrying
    /// it may succeed.
    case serializationFailure = "serialization_failure"
    /// A statement failed and the transaction can only roll back.
    case transactionAborted = "transaction_aborted"
    /// A transaction object was used after its transaction ended.
    case transactionClosed = "transaction_closed"
    /// A stored value has the wrong type or shape.
    case unexpectedData = "unexpected_data"
    /// The schema could not be brought up to date, or is newer than this program.
    case migrationFailed = "migration_failed"
    /// The database address or options are invalid.
    case invalidConfiguration = "invalid_configuration"
    /// Any other failure of a statement.
    case queryFailed = "query_failed"
}

extension StorageError {
    /// What a transaction throws when a statement in it failed earlier: the failure's own code
    /// when the database itself is out of service (unreachable, full, read-only), so the client is
    /// told to retry rather than that its request was wrong; `transaction_aborted` otherwise.
    static func aborted(after failure: StorageError) -> StorageError {
        switch failure.code {
        case .databaseUnavailable, .storageFull, .storageReadOnly, .serializationFailure:
            return StorageError(code: failure.code, detail: "a statement failed, rolled back: \(failure.detail)")
        default:
            return StorageError(code: .transactionAborted, detail: "a statement failed, rolled back: \(failure)")
        }
    }

    static func unavailable(_ detail: String) -> Self { StorageError(code: .databaseUnavailable, detail: detail) }
    static func unexpected(_ detail: String) -> Self { StorageError(code: .unexpectedData, detail: detail) }
}
