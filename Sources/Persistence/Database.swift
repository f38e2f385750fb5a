public import AuditLog

/// A database of the marketplace: SQLite (``SQLiteDatabase``) by default, PostgreSQL
/// (``PostgresDatabase``) in production.
///
/// Transactions hand out one shared implementation of every store protocol
/// (``DatabaseTransaction``), so a domain change and the audit entry recording it commit together:
///
/// ```swift
/// try await database.transaction { tx in
///     try await tx.insertPrincipal(principal)
///     try await log.append(record, in: tx)
/// }
/// ```
public protocol Database: LogDatabase where Transaction == DatabaseTransaction, Reader == DatabaseReader {
    /// Releases connections; the database must not be used afterwards.
    func close() async
}
