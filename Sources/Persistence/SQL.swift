import AuditLog
internal import Synchronization

// The small driver surface the shared store is written against: statement text with `$1`
// placeholders, typed binds, rows of typed values. Each back end implements `SQLConnection`; every
// query of the store is written once, and the few dialect differences live in `SQLDialect`.

/// A bound parameter or a column value.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    /// An array, bound as one parameter (`$n::text[]`, `$n::int8[]`, `$n::bytea[]`): PostgreSQL
    /// only, for statements written for ``SQLDialect/postgres`` alone. SQLite refuses it.
    case array(SQLColumn)
}

/// One result row, by column position.
struct SQLRow: Sendable {
    var values: [SQLValue]

    func integer(_ column: Int) throws(StorageError) -> Int64 {
        guard case .integer(let value) = values[column] else { throw mismatch(column, "an integer") }
        return value
    }

    func optionalInteger(_ column: Int) throws(StorageError) -> Int64? {
        if case .null = values[column] { return nil }
        return try integer(column)
    }

    func text(_ column: Int) throws(StorageError) -> String {
        guard case .text(let value) = values[column] else { throw mismatch(column, "text") }
        return value
    }

    func optionalText(_ column: Int) throws(StorageError) -> String? {
        if case .null = values[column] { return nil }
        return try text(column)
    }

    func blob(_ column: Int) throws(StorageError) -> [UInt8] {
        guard case .blob(let value) = values[column] else { throw mismatch(column, "bytes") }
        return value
    }

    private func mismatch(_ column: Int, _ expected: String) -> StorageError {
        .unexpected("column \(column) holds \(values[column].kind), expected \(expected)")
    }
}

extension SQLValue {
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .text: "text"
        case .blob: "bytes"
        case .array: "an array"
        }
    }
}

/// Where SQLite and PostgreSQL differ in the statements the store uses.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// A 64-bit integer column. SQLite integers are all 64-bit.
    var bigint: String { self == .sqlite ? "INTEGER" : "BIGINT" }
    /// A byte-string column.
    var blob: String { self == .sqlite ? "BLOB" : "BYTEA" }
    /// Appended to a SELECT that locks the rows it reads. SQLite has no row locks: its write
    /// transactions start with `BEGIN IMMEDIATE`, which already holds the database's write lock.
    var forUpdate: String { self == .sqlite ? "" : " FOR UPDATE" }
    /// Appended to CREATE TABLE for tables keyed by a composite primary key: SQLite then stores
    /// rows in the key's B-tree instead of a second one.
    var withoutRowID: String { self == .sqlite ? " WITHOUT ROWID" : "" }
    /// A condition true when the text `needle` occurs in the text `haystack` (two SQL
    /// expressions), character for character: unlike LIKE, no character of the needle is a
    /// pattern.
    func contains(_ haystack: String, _ needle: String) -> String {
        self == .sqlite ? "instr(\(haystack), \(needle)) > 0" : "strpos(\(haystack), \(needle)) > 0"
    }
    /// Most rows per multi-row INSERT statement, so binds stay under each engine's limit.
    func rowsPerInsert(columns: Int) -> Int { max(1, 30_000 / max(1, columns)) }
    /// The smaller of two integer SQL expressions (SQLite's two-argument `min` is scalar).
    func least(_ a: String, _ b: String) -> String { self == .sqlite ? "min(\(a), \(b))" : "LEAST(\(a), \(b))" }
    /// The larger of two integer SQL expressions.
    func greatest(_ a: String, _ b: String) -> String { self == .sqlite ? "max(\(a), \(b))" : "GREATEST(\(a), \(b))" }
}

/// A database connection as the store sees it, inside a transaction its owner began.
protocol SQLConnection: Sendable {
    var dialect: SQLDialect { get }
    /// Runs one statement, discarding any rows.
    func execute(_ sql: String, _ binds: [SQLValue]) async throws
    /// Runs one statement and returns its rows.
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Inserts `rows` into `table`, as few round trips as the engine allows. `conflict`, unless
    /// empty, is an `ON CONFLICT` clause that ends every statement; a statement must then not hold
    /// two rows with one key (PostgreSQL refuses to update a row twice in one statement).
    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws
    /// Inserts `values.count` rows into `table` given by column: the leading `columns` take the
    /// `shared` values in every row, the rest one ``SQLColumn`` each (all of `values.count` entries).
    /// One prepared statement stepped per row on SQLite, one statement of arrays on PostgreSQL: no
    /// per-value `SQLValue` and no statement text growing with the rows.
    func insert(into table: String, columns: [String], shared: [SQLValue], values: SQLColumns) async throws
}

/// The values of one column of a columnar insert, or of an array parameter.
enum SQLColumn: Sendable, Hashable {
    case text([String])
    case integer([Int64])
    case blob([[UInt8]])

    var count: Int {
        switch self {
        case .text(let values): values.count
        case .integer(let values): values.count
        case .blob(let values): values.count
        }
    }

    /// The PostgreSQL type of an array of these values.
    var postgresArrayType: String {
        switch self {
        case .integer: "int8[]"
        case .text: "text[]"
        case .blob: "bytea[]"
        }
    }
}

/// The per-row columns of a columnar insert, all of one length.
struct SQLColumns: Sendable {
    let columns: [SQLColumn]
    let count: Int

    init(_ columns: [SQLColumn]) {
        let count = columns.first?.count ?? 0
        precondition(columns.allSatisfy { $0.count == count }, "columns of different lengths")
        self.columns = columns
        self.count = count
    }
}

/// One transaction's use of a connection: refuses use after the transaction ended, and remembers
/// a failed statement so the transaction cannot commit. PostgreSQL aborts a transaction on any
/// error; SQLite would carry on. Refusing the commit on both keeps code that works on SQLite
/// working on PostgreSQL.
final class SQLTransactionContext: Sendable {
    private struct State {
        var closed = false
        var failure: StorageError?
    }

    let connection: any SQLConnection
    private let state = Mutex(State())

    init(_ connection: any SQLConnection) {
        self.connection = connection
    }

    var dialect: SQLDialect { connection.dialect }

    /// The first failure, if a statement failed.
    var failure: StorageError? { state.withLock { $0.failure } }

    func close() {
        state.withLock { $0.closed = true }
    }

    func execute(_ sql: String, _ binds: [SQLValue] = []) async throws {
        try await run { try await connection.execute(sql, binds) }
    }

    func query(_ sql: String, _ binds: [SQLValue] = []) async throws -> [SQLRow] {
        try await run { try await connection.query(sql, binds) }
    }

    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String = "") async throws {
        guard !rows.isEmpty else { return }
        try await run { try await connection.insert(into: table, columns: columns, rows: rows, conflict: conflict) }
    }

    func insert(into table: String, columns: [String], shared: [SQLValue], values: SQLColumns) async throws {
        guard values.count > 0 else { return }
        precondition(columns.count == shared.count + values.columns.count, "a column without values")
        try await run { try await connection.insert(into: table, columns: columns, shared: shared, values: values) }
    }

    private func run<T>(_ work: () async throws -> T) async throws -> T {
        try state.withLock { state throws(StorageError) in
            if state.closed {
                throw StorageError(code: .transactionClosed, detail: "the transaction has ended")
            }
            if let failure = state.failure {
                throw StorageError.aborted(after: failure)
            }
        }
        do {
            return try await work()
        } catch {
            let storageError = error as? StorageError
                ?? StorageError(code: .queryFailed, detail: String(describing: type(of: error)))
            state.withLock { state in
                if state.failure == nil { state.failure = storageError }
            }
            throw storageError
        }
    }
}

extension String {
    /// `$1`-style placeholders as `?1`, for SQLite; quoted text and identifiers are left alone.
    var sqlitePlaceholders: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        var quote: Character?
        for character in self {
            if let open = quote {
                if character == open { quote = nil }
                out.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                out.append(character)
            } else if character == "$" {
                out.append("?")
            } else {
                out.append(character)
            }
        }
        return out
    }
}
