import AuditLog
internal import CSQLite
internal import Dispatch

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// One SQLite connection with its own serial queue.
///
/// SQLite calls block: on a lock held by another process (up to the busy timeout) and in `fsync`
/// at commit. They run on the connection's queue, never on Swift's cooperative threads, and a
/// whole batch of rows goes in one hop, so a 1,000-row insert costs one thread switch, not 1,000.
/// The connection is used by one transaction at a time (its owner's locks see to that); the queue
/// also keeps the statement cache single-threaded.
final class SQLiteConnection: @unchecked Sendable {
    let path: String
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    /// Prepared statements by their text; `insert` and `query` reuse them across transactions.
    private var statements: [String: OpaquePointer] = [:]
    private var isClosed = false

    /// Bounds the statement cache: statement text built for a varying number of binds (node
    /// lookups) would otherwise grow it without end.
    private static let cacheLimit = 256

    private init(path: String, handle: OpaquePointer, queue: DispatchQueue) {
        self.path = path
        self.handle = handle
        self.queue = queue
    }

    /// Opens (creating if needed) the database at `path` and applies the connection settings.
    static func open(path: String, busyTimeout: Duration, readOnly: Bool) async throws -> SQLiteConnection {
        let queue = DispatchQueue(label: "pdx.sqlite")
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try openNow(path: path, busyTimeout: busyTimeout, readOnly: readOnly, queue: queue) })
            }
        }
    }

    private static func openNow(path: String, busyTimeout: Duration, readOnly: Bool, queue: DispatchQueue) throws -> SQLiteConnection {
        var handle: OpaquePointer?
        // NOMUTEX: SQLite's own per-call mutex is redundant, the queue serializes every call.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            let system = handle.map { sqlite3_system_errno($0) } ?? 0
            sqlite3_close_v2(handle)
            throw openError(path: path, message: message, systemError: system)
        }
        let connection = SQLiteConnection(path: path, handle: handle, queue: queue)
        sqlite3_extended_result_codes(handle, 1)
        connection.setBusyTimeout(busyTimeout)
        do {
            // WAL lets readers work beside the writer; FULL syncs the WAL at every commit, so an
            // acknowledged write survives power loss.
            try connection.executeScript("PRAGMA journal_mode = WAL")
            try connection.executeScript("PRAGMA synchronous = FULL")
            try connection.executeScript("PRAGMA foreign_keys = ON")
            if readOnly {
                try connection.executeScript("PRAGMA query_only = ON")
            } else {
                // 16 MiB of page cache for the one writer (SQLite's default is 2 MiB): a release load
                // inserts its index entries all over `release_values`, and with the default the pages
                // go out and are read back from the OS every chunk (measured: half the system time of
                // the inserts). Bounded, whatever the database's size.
                try connection.executeScript("PRAGMA cache_size = -16384")
            }
        } catch {
            connection.closeNow()
            throw error
        }
        return connection
    }

    /// Why a file could not be opened, from the operating system's error when SQLite has one: a
    /// read-only file system or a refused permission is `storage_read_only`, so the operator is
    /// told to fix the location rather than to wait.
    private static func openError(path: String, message: String, systemError: Int32) -> StorageError {
        guard systemError != 0 else {
            return StorageError.unavailable("cannot open SQLite database \(path): \(message)")
        }
        let reason = String(cString: strerror(systemError))
        let code: StorageError.Code = switch systemError {
        case EROFS, EACCES, EPERM: .storageReadOnly
        case ENOSPC, EDQUOT: .storageFull
        default: .databaseUnavailable
        }
        return StorageError(code: code, detail: "cannot open SQLite database \(path): \(message) (\(reason))")
    }

    /// Runs `work` on the connection's queue.
    func perform<T: Sendable>(_ work: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work(self) })
            }
        }
    }

    func close() async {
        _ = try? await perform { $0.closeNow() }
    }

    private func closeNow() {
        guard !isClosed else { return }
        isClosed = true
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    deinit {
        closeNow()
    }

    // MARK: On the queue

    /// True while a transaction is open on this connection.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs statement text without binds or caching (settings, BEGIN, COMMIT).
    /// How long a statement waits for another connection's lock before `SQLITE_BUSY`; call on the
    /// connection's queue (inside ``perform(_:)``) once it is open.
    func setBusyTimeout(_ timeout: Duration) {
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
    }

    func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard status == SQLITE_OK else {
            throw error(status, sql: sql, message: message.map { String(cString: $0) })
        }
    }

    func execute(_ sql: String, _ binds: [SQLValue]) throws {
        let statement = try prepared(sql)
        defer { finish(statement) }
        try bind(binds, to: statement, sql: sql)
        while try step(statement, sql: sql) {}
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try prepared(sql)
        defer { finish(statement) }
        try bind(binds, to: statement, sql: sql)
        var rows: [SQLRow] = []
        let columns = sqlite3_column_count(statement)
        while try step(statement, sql: sql) {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(columns))
            for column in 0..<columns {
                values.append(value(statement, column))
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }

    /// One prepared single-row INSERT stepped once per row: cheaper in SQLite than building
    /// multi-row statements (measured on usage events: a third less CPU a row than statements of
    /// 8 to 1,000 rows).
    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) throws {
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
        if !conflict.isEmpty { sql += " " + conflict }
        let statement = try prepared(sql, rewrite: false)
        for row in rows {
            defer { finish(statement) }
            try bind(row, to: statement, sql: sql)
            while try step(statement, sql: sql) {}
        }
    }

    /// The columnar insert: the shared values are bound once, then each row binds only its own
    /// columns (straight from the column arrays) and steps the same prepared statement.
    func insert(into table: String, columns: [String], shared: [SQLValue], values: SQLColumns) throws {
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
        let statement = try prepared(sql, rewrite: false)
        defer { finish(statement) }
        try bind(shared, to: statement, sql: sql)
        let first = Int32(shared.count + 1)
        for row in 0..<values.count {
            for (offset, column) in values.columns.enumerated() {
                let index = first + Int32(offset)
                let status: Int32
                switch column {
                case .integer(let integers):
                    status = sqlite3_bind_int64(statement, index, integers[row])
                case .text(let texts):
                    status = bindText(texts[row], to: statement, at: index)
                case .blob(let blobs):
                    status = bindBlob(blobs[row], to: statement, at: index)
                }
                guard status == SQLITE_OK else { throw error(status, sql: sql) }
            }
            while try step(statement, sql: sql) {}
            sqlite3_reset(statement)
        }
    }

    private func bindText(_ text: String, to statement: OpaquePointer, at index: Int32) -> Int32 {
        // An empty buffer may have no address, and SQLite binds NULL for a null pointer.
        if text.isEmpty { return pdx_sqlite3_bind_text_transient(statement, index, "", 0) }
        var text = text
        return text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                pdx_sqlite3_bind_text_transient(statement, index, chars.baseAddress, Int32(chars.count))
            }
        }
    }

    private func bindBlob(_ bytes: [UInt8], to statement: OpaquePointer, at index: Int32) -> Int32 {
        // As for text: an empty buffer may have no address, and a null pointer would bind NULL.
        if bytes.isEmpty { return sqlite3_bind_zeroblob(statement, index, 0) }
        return bytes.withUnsafeBytes { raw in
            pdx_sqlite3_bind_blob_transient(statement, index, raw.baseAddress, Int32(raw.count))
        }
    }

    private func prepared(_ sql: String, rewrite: Bool = true) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        if statements.count >= Self.cacheLimit {
            for statement in statements.values { sqlite3_finalize(statement) }
            statements.removeAll()
        }
        var statement: OpaquePointer?
        let text = rewrite ? sql.sqlitePlaceholders : sql
        // The tail points into the C string, so it is read before that buffer goes away.
        let (status, rest) = text.withCString { chars in
            var tail: UnsafePointer<CChar>?
            let status = sqlite3_prepare_v3(handle, chars, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
            return (status, tail.map { String(cString: $0) } ?? "")
        }
        guard status == SQLITE_OK, let statement else {
            throw error(status, sql: sql)
        }
        guard rest.allSatisfy(\.isWhitespace) else {
            sqlite3_finalize(statement)
            throw StorageError(code: .queryFailed, detail: "one statement at a time: \(sql)")
        }
        statements[sql] = statement
        return statement
    }

    private func finish(_ statement: OpaquePointer) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    private func bind(_ binds: [SQLValue], to statement: OpaquePointer, sql: String) throws {
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null:
                status = sqlite3_bind_null(statement, index)
            case .integer(let integer):
                status = sqlite3_bind_int64(statement, index, integer)
            case .text(let text):
                status = bindText(text, to: statement, at: index)
            case .blob(let bytes):
                status = bindBlob(bytes, to: statement, at: index)
            case .array:
                throw StorageError(code: .queryFailed, detail: "an array parameter is for PostgreSQL only: \(sql)")
            }
            guard status == SQLITE_OK else { throw error(status, sql: sql) }
        }
    }

    /// Steps once: true for a row, false when done.
    private func step(_ statement: OpaquePointer, sql: String) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw error(status, sql: sql)
        }
    }

    private func value(_ statement: OpaquePointer, _ column: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .integer(Int64(sqlite3_column_double(statement, column)))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let text = sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob([UInt8](UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    private func error(_ status: Int32, sql: String, message: String? = nil) -> StorageError {
        let message = message ?? String(cString: sqlite3_errmsg(handle))
        let detail = "\(message) [SQLite \(status)] in: \(sql.prefix(200))"
        let code: StorageError.Code = switch status {
        case pdx_SQLITE_CONSTRAINT_UNIQUE, pdx_SQLITE_CONSTRAINT_PRIMARYKEY, pdx_SQLITE_CONSTRAINT_ROWID: .uniqueViolation
        case pdx_SQLITE_CONSTRAINT_FOREIGNKEY: .foreignKeyViolation
        case pdx_SQLITE_CONSTRAINT_NOTNULL: .notNullViolation
        case pdx_SQLITE_CONSTRAINT_CHECK: .checkViolation
        default:
            switch status & 0xFF {
            case SQLITE_CONSTRAINT: .constraintViolation
            case SQLITE_FULL: .storageFull
            case SQLITE_READONLY: .storageReadOnly
            case SQLITE_CANTOPEN where [EROFS, EACCES, EPERM].contains(sqlite3_system_errno(handle)): .storageReadOnly
            case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_PROTOCOL, SQLITE_NOLFS:
                .databaseUnavailable
            case SQLITE_CORRUPT, SQLITE_NOTADB: .databaseCorrupt
            default: .queryFailed
            }
        }
        return StorageError(code: code, detail: detail)
    }
}

/// `SQLConnection` over a SQLite connection: each call is one hop to its queue.
struct SQLiteSQLConnection: SQLConnection {
    let connection: SQLiteConnection

    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        try await connection.perform { try $0.execute(sql, binds) }
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await connection.perform { try $0.query(sql, binds) }
    }

    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws {
        try await connection.perform { try $0.insert(into: table, columns: columns, rows: rows, conflict: conflict) }
    }

    func insert(into table: String, columns: [String], shared: [SQLValue], values: SQLColumns) async throws {
        try await connection.perform { try $0.insert(into: table, columns: columns, shared: shared, values: values) }
    }
}
