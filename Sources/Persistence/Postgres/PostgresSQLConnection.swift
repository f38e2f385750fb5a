import AuditLog
internal import Logging
internal import NIOCore
internal import PostgresNIO

/// `SQLConnection` over a leased postgres-nio connection.
struct PostgresSQLConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    /// Answers a statement lost to a connection that closed under it.
    let watch: ConnectionWatch

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        try await run(Self.query(sql, binds))
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let query = Self.query(sql, binds)
        let (connection, logger) = (self.connection, self.logger)
        do {
            return try await watch.run(on: connection) {
                var result: [SQLRow] = []
                for try await row in try await connection.query(query, logger: logger) {
                    var values: [SQLValue] = []
                    values.reserveCapacity(row.count)
                    for cell in row {
                        values.append(try Self.value(cell))
                    }
                    result.append(SQLRow(values: values))
                }
                return result
            }
        } catch {
            throw Self.storageError(error)
        }
    }

    /// Runs `query`, whose rows are not wanted.
    private func run(_ query: PostgresQuery) async throws {
        let (connection, logger) = (self.connection, self.logger)
        do {
            try await watch.run(on: connection) {
                let rows = try await connection.query(query, logger: logger)
                for try await _ in rows {}
            }
        } catch {
            throw Self.storageError(error)
        }
    }

    /// Multi-row VALUES, a statement per `rowsPerInsert` rows: one round trip for a usual batch.
    func insert(into table: String, columns: [String], rows: [[SQLValue]], conflict: String) async throws {
        let chunkSize = dialect.rowsPerInsert(columns: columns.count)
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + chunkSize)]
            var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * columns.count)
            for (offset, row) in chunk.enumerated() {
                sql += offset == 0 ? "(" : ", ("
                for (column, value) in row.enumerated() {
                    binds.append(value)
                    sql += column == 0 ? "$\(binds.count)" : ", $\(binds.count)"
                }
                sql += ")"
            }
            if !conflict.isEmpty { sql += " " + conflict }
            try await execute(sql, binds)
            start += chunk.count
        }
    }

    /// The columnar insert as one statement: the shared values and one array per column,
    /// `unnest`ed side by side into rows.
    func insert(into table: String, columns: [String], shared: [SQLValue], values: SQLColumns) async throws {
        var bindings = PostgresBindings(capacity: shared.count + values.columns.count)
        var selected: [String] = []
        for value in shared {
            Self.bind(value, to: &bindings)
            let parameter = "$\(selected.count + 1)"
            switch value {
            case .null: selected.append(parameter)
            case .integer: selected.append(parameter + "::int8")
            case .text: selected.append(parameter + "::text")
            case .blob: selected.append(parameter + "::bytea")
            case .array(let column): selected.append(parameter + "::" + column.postgresArrayType)
            }
        }
        var arrays: [String] = []
        for column in values.columns {
            Self.bind(.array(column), to: &bindings)
            arrays.append("$\(shared.count + arrays.count + 1)::" + column.postgresArrayType)
        }
        let names = (0..<values.columns.count).map { "c\($0)" }
        selected += names.map { "u.\($0)" }
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) SELECT \(selected.joined(separator: ", ")) "
            + "FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))"
        try await run(PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            bind(value, to: &bindings)
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    static func bind(_ value: SQLValue, to bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()
        case .integer(let integer): bindings.append(integer)
        case .text(let text): bindings.append(text)
        case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
        case .array(.integer(let integers)): bindings.append(integers)
        case .array(.text(let texts)): bindings.append(texts)
        case .array(.blob(let blobs)): bindings.append(blobs.map { ByteBuffer(bytes: $0) })
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8:
            return .integer(try cell.decode(Int64.self))
        case .bool:
            return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea:
            return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        default:
            return .text(try cell.decode(String.self))
        }
    }

    /// Maps driver and server failures to stable codes.
    static func storageError(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                let message = error.serverInfo?[.message] ?? "server error"
                let constraint = error.serverInfo?[.constraintName].map { " (\($0))" } ?? ""
                let detail = "\(message)\(constraint) [SQLSTATE \(state)]"
                let code: StorageError.Code = switch state {
                case "23505": .uniqueViolation
                case "23503": .foreignKeyViolation
                case "23502": .notNullViolation
                case "23514": .checkViolation
                case "40001", "40P01": .serializationFailure
                case "25P02": .transactionAborted
                case "XX001", "XX002": .databaseCorrupt
                case "53100": .storageFull
                case "25006": .storageReadOnly
                case "57P01", "57P02", "57P03", "3D000", "28000", "28P01": .databaseUnavailable
                default:
                    switch state.prefix(2) {
                    case "23": .constraintViolation
                    case "08", "53", "58": .databaseUnavailable
                    default: .queryFailed
                    }
                }
                return StorageError(code: code, detail: detail)
            case .queryCancelled:
                return StorageError(code: .queryFailed, detail: "the query was cancelled")
            case .messageDecodingFailure, .unexpectedBackendMessage, .invalidCommandTag, .tooManyParameters:
                return StorageError(code: .queryFailed, detail: "PostgreSQL driver: \(error.code)")
            default:
                // Connection, TLS, authentication and pool failures: the server is out of reach.
                return .unavailable("PostgreSQL: \(error.code)")
            }
        }
        if error is PostgresDecodingError {
            return .unexpected("a PostgreSQL value could not be decoded")
        }
        if error is CancellationError {
            return StorageError(code: .queryFailed, detail: "cancelled")
        }
        // Connection pool failures (its circuit breaker) and channel errors.
        return .unavailable("PostgreSQL: \(type(of: error))")
    }
}
