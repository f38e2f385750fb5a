import APIServer
import ArgumentParser
import Foundation

/// Where the data lives; shared by every command that opens the store.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory: SQLite database, signing key, admin.token. Env: PDX_DATA_DIR. Default: ./pdx-data")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "postgres://user@host:port/db to use PostgreSQL instead of SQLite. Env: PDX_DATABASE_URL")
    var databaseURL: String?

    /// Flag, then environment, then default.
    var resolvedDataDirectory: String {
        dataDirectory ?? ProcessInfo.processInfo.environment["PDX_DATA_DIR"] ?? "./pdx-data"
    }

    var resolvedDatabaseURL: String? {
        databaseURL ?? ProcessInfo.processInfo.environment["PDX_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        if let url = resolvedDatabaseURL, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url must start with postgres:// or postgresql://")
        }
    }

    var store: StoreLocation {
        StoreLocation(dataDirectory: resolvedDataDirectory, databaseURL: resolvedDatabaseURL)
    }
}
