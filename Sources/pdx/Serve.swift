import APIServer
import ArgumentParser
import Foundation

/// `pdx serve`: the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (SQLite under ./pdx-data by default).",
        discussion: """
        The first start creates the data directory, the log's Ed25519 signing key (signing-key.pem, mode 0600) \
        and a bootstrap admin API key in <data-dir>/admin.token (mode 0600).
        """
    )

    @OptionGroup var storage: StorageOptions
    @OptionGroup var settlement: SettlementOptions

    @Option(help: "Address to listen on. Env: PDX_HOST. Default: 127.0.0.1")
    var host: String?

    @Option(help: "Port to listen on. Env: PDX_PORT. Default: 8080")
    var port: Int?

    @Flag(name: .customLong("test-clock"), help: "Run on a settable clock (POST /v1/test-clock), stored with the data.")
    var testClock = false

    @Option(name: .customLong("checkpoint-entries"), help: "Sign a checkpoint at least every N entries. Default: 1000")
    var checkpointEntries: Int = 1000

    @Option(name: .customLong("checkpoint-seconds"), help: "Sign a checkpoint at least every T seconds while entries arrive. Default: 10")
    var checkpointSeconds: Int = 10

    @Option(name: .customLong("log-origin"), help: "The log's origin (and key name) on first start, e.g. pdx.example.org/audit. Default: a generated pdx.local/… name")
    var logOrigin: String?

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds SIGTERM waits for requests in flight and the final checkpoint before stopping anyway. Env: PDX_SHUTDOWN_TIMEOUT. Default: 30")
    var shutdownTimeout: Int?

    var resolvedShutdownTimeout: Int {
        shutdownTimeout ?? ProcessInfo.processInfo.environment["PDX_SHUTDOWN_TIMEOUT"].flatMap(Int.init) ?? 30
    }

    var resolvedHost: String { host ?? ProcessInfo.processInfo.environment["PDX_HOST"] ?? "127.0.0.1" }

    func validate() throws {
        if let value = ProcessInfo.processInfo.environment["PDX_PORT"], port == nil, Int(value) == nil {
            throw ValidationError("PDX_PORT must be a port number, got '\(value)'")
        }
        let port = resolvedPort
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard checkpointEntries >= 1 else { throw ValidationError("--checkpoint-entries must be at least 1") }
        guard checkpointSeconds >= 1 else { throw ValidationError("--checkpoint-seconds must be at least 1") }
        if let value = ProcessInfo.processInfo.environment["PDX_SHUTDOWN_TIMEOUT"], shutdownTimeout == nil, Int(value) == nil {
            throw ValidationError("PDX_SHUTDOWN_TIMEOUT must be a number of seconds, got '\(value)'")
        }
        guard (1...3600).contains(resolvedShutdownTimeout) else { throw ValidationError("--shutdown-timeout must be 1…3600 seconds") }
    }

    var resolvedPort: Int { port ?? ProcessInfo.processInfo.environment["PDX_PORT"].flatMap(Int.init) ?? 8080 }

    func run() async throws {
        var configuration = ServerConfiguration(store: storage.store)
        configuration.host = resolvedHost
        configuration.port = resolvedPort
        configuration.testClock = testClock
        configuration.checkpointEntries = checkpointEntries
        configuration.checkpointInterval = .seconds(checkpointSeconds)
        configuration.logOrigin = logOrigin
        configuration.shutdownTimeout = .seconds(resolvedShutdownTimeout)
        configuration.settlement = settlement.policy
        try await runServer(configuration)
    }
}
