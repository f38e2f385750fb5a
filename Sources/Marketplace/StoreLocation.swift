/// Where the data lives: a data directory, and optionally a PostgreSQL database instead of the
/// SQLite file in it. The signing key and `admin.token` are always in the data directory.
public struct StoreLocation: Sendable, Equatable {
    /// `--data-dir` / `PDX_DATA_DIR`, default `./pdx-data`.
    public var dataDirectory: String
    /// `--database-url` / `PDX_DATABASE_URL`: `postgres://…`; nil for SQLite in the data directory.
    public var databaseURL: String?
    /// `--database-timeout` / `PDX_DATABASE_TIMEOUT`: how long a request waits for the database (a
    /// PostgreSQL connection, or SQLite's write lock held by another process) before it is answered
    /// 503 `database_unavailable`.
    public var databaseTimeout: Duration = .seconds(5)

    public init(dataDirectory: String, databaseURL: String? = nil, databaseTimeout: Duration = .seconds(5)) {
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.databaseTimeout = databaseTimeout
    }
}
