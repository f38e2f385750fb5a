import Marketplace
import ArgumentParser
import Foundation

/// Where the data lives; shared by every command that opens the store.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory: SQLite database, signing key, admin.token. Env: PDX_DATA_DIR. Default: ./pdx-data")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "postgres://user@host:port/db to use PostgreSQL instead of SQLite. Env: PDX_DATABASE_URL")
    var databaseURL: String?

    @Option(name: .customLong("database-timeout"), help: "Seconds a request waits for the database before 503 database_unavailable. Env: PDX_DATABASE_TIMEOUT. Default: 5")
    var databaseTimeout: Int?

    /// Flag, then environment, then default.
    var resolvedDataDirectory: String {
        dataDirectory ?? ProcessInfo.processInfo.environment["PDX_DATA_DIR"] ?? "./pdx-data"
    }

    var resolvedDatabaseURL: String? {
        databaseURL ?? ProcessInfo.processInfo.environment["PDX_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedDatabaseTimeout: Int? {
        databaseTimeout ?? ProcessInfo.processInfo.environment["PDX_DATABASE_TIMEOUT"].flatMap(Int.init)
    }

    func validate() throws {
        if let value = ProcessInfo.processInfo.environment["PDX_DATABASE_TIMEOUT"], databaseTimeout == nil, Int(value) == nil {
            throw ValidationError("PDX_DATABASE_TIMEOUT must be a number of seconds, got '\(value)'")
        }
        if let seconds = resolvedDatabaseTimeout, !(1...600).contains(seconds) {
            throw ValidationError("--database-timeout must be 1…600 seconds")
        }
        if let url = resolvedDatabaseURL, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url must start with postgres:// or postgresql://")
        }
    }

    var store: StoreLocation {
        StoreLocation(dataDirectory: resolvedDataDirectory, databaseURL: resolvedDatabaseURL,
                      databaseTimeout: .seconds(resolvedDatabaseTimeout ?? 5))
    }
}
