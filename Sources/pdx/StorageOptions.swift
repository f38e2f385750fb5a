import Marketplace
import ArgumentParser
import Foundation

/// Where the data lives, and the config file; shared by every command that opens the store.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A JSON file of settings, keyed by the long flag names (e.g. {\"data-dir\": \"/var/lib/pdx\", \"port\": 8443}); a flag or PDX_ variable overrides it. Env: PDX_CONFIG")
    var configFile: String?

    @Option(name: .customLong("data-dir"), help: "Data directory: SQLite database, signing key, admin.token. Env: PDX_DATA_DIR. Default: ./pdx-data")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "postgres://user@host:port/db to use PostgreSQL instead of SQLite. Env: PDX_DATABASE_URL")
    var databaseURL: String?

    @Option(name: .customLong("database-timeout"), help: "Seconds a request waits for the database before 503 database_unavailable. Env: PDX_DATABASE_TIMEOUT. Default: 5")
    var databaseTimeout: Int?

    /// The flags given, by settings key.
    var flags: [String: String?] {
        ["data-dir": dataDirectory, "database-url": databaseURL, "database-timeout": databaseTimeout.map(String.init)]
    }

    /// Reads the settings: these flags and `more`, the environment, the config file.
    func settings(more: [String: String?] = [:]) async throws -> Settings {
        try await Settings.load(file: configFile, flags: flags.merging(more) { $1 })
    }

    /// Where the data lives, as the settings say; throws on a value that does not parse.
    func store(_ settings: Settings) throws -> StoreLocation {
        let seconds = try settings.value("database-timeout", default: 5, "a number of seconds, 1…600") {
            Int($0).flatMap { (1...600).contains($0) ? $0 : nil }
        }
        let url = settings.text("database-url")
        if let url, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url / PDX_DATABASE_URL must start with postgres:// or postgresql://")
        }
        return StoreLocation(dataDirectory: settings.text("data-dir") ?? "./pdx-data", databaseURL: url,
                             databaseTimeout: .seconds(seconds))
    }

    /// The store of a command that needs nothing else.
    func store() async throws -> StoreLocation {
        try store(try await settings())
    }
}
