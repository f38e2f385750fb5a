import AuditLog
import APIServer
import Marketplace
import ArgumentParser
import Foundation
import Logging

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

    @Option(name: .customLong("test-clock-start"),
            help: "With --test-clock: the time a new marketplace's clock starts at (RFC 3339), e.g. 2026-12-01T09:00:00+08:00. Default: now. Ignored once the clock is stored.")
    var testClockStart: String?

    @Option(name: .customLong("checkpoint-entries"), help: "Sign a checkpoint at least every N entries. Default: 1000")
    var checkpointEntries: Int = 1000

    @Option(name: .customLong("checkpoint-seconds"), help: "Sign a checkpoint at least every T seconds while entries arrive. Default: 10")
    var checkpointSeconds: Int = 10

    @Option(name: .customLong("log-origin"), help: "The log's origin (and key name) on first start, e.g. pdx.example.org/audit. Default: a generated pdx.local/… name")
    var logOrigin: String?

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds a stop (SIGTERM/SIGINT) may take: requests in flight and the final checkpoint; then the process exits (status 70) whatever is pending. Env: PDX_SHUTDOWN_TIMEOUT. Default: 30")
    var shutdownTimeout: Int?

    var resolvedShutdownTimeout: Int {
        shutdownTimeout ?? ProcessInfo.processInfo.environment["PDX_SHUTDOWN_TIMEOUT"].flatMap(Int.init) ?? 30
    }

    @Option(name: .customLong("rate-limit"), help: "Sustained requests per second per API key, per process; 0 turns the limit off. Env: PDX_RATE_LIMIT. Default: 100")
    var rateLimit: Double?

    @Option(name: .customLong("rate-limit-burst"), help: "Requests an API key may send at once. Env: PDX_RATE_LIMIT_BURST. Default: 200")
    var rateLimitBurst: Int?

    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM); needs --tls-key. Env: PDX_TLS_CERT")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert. Env: PDX_TLS_KEY")
    var tlsKey: String?

    var resolvedTLS: (certificate: String, key: String)?? {
        let environment = ProcessInfo.processInfo.environment
        let certificate = tlsCertificate ?? environment["PDX_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        let key = tlsKey ?? environment["PDX_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil): return .some(nil)
        case (let certificate?, let key?): return (certificate, key)
        default: return nil
        }
    }

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text. Env: PDX_LOG_FORMAT. Default: json")
    var logFormat: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: PDX_LOG_LEVEL. Default: info")
    var logLevel: String?

    /// Flag, then environment, then default; nil when the value given does not parse.
    private func resolved<T>(_ flag: T?, _ variable: String, _ parse: (String) -> T?, default value: T) -> T? {
        if let flag { return flag }
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return value }
        return parse(text)
    }

    var resolvedRateLimit: Double? { resolved(rateLimit, "PDX_RATE_LIMIT", { Double($0) }, default: 100) }
    var resolvedRateLimitBurst: Int? { resolved(rateLimitBurst, "PDX_RATE_LIMIT_BURST", { Int($0) }, default: 200) }
    var resolvedLogFormat: LogFormat? {
        resolved(logFormat.map { LogFormat(rawValue: $0) }, "PDX_LOG_FORMAT", { LogFormat(rawValue: $0) }, default: .json) ?? nil
    }
    var resolvedLogLevel: Logger.Level? {
        resolved(logLevel.map { Logger.Level(rawValue: $0) }, "PDX_LOG_LEVEL", { Logger.Level(rawValue: $0) }, default: .info) ?? nil
    }

    var resolvedHost: String { host ?? ProcessInfo.processInfo.environment["PDX_HOST"] ?? "127.0.0.1" }

    func validate() throws {
        if let value = ProcessInfo.processInfo.environment["PDX_PORT"], port == nil, Int(value) == nil {
            throw ValidationError("PDX_PORT must be a port number, got '\(value)'")
        }
        let port = resolvedPort
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard checkpointEntries >= 1 else { throw ValidationError("--checkpoint-entries must be at least 1") }
        if let testClockStart {
            guard testClock else { throw ValidationError("--test-clock-start needs --test-clock") }
            guard RFC3339.parse(testClockStart) != nil else {
                throw ValidationError("--test-clock-start must be an RFC 3339 time such as 2026-12-01T09:00:00+08:00")
            }
        }
        guard checkpointSeconds >= 1 else { throw ValidationError("--checkpoint-seconds must be at least 1") }
        if let value = ProcessInfo.processInfo.environment["PDX_SHUTDOWN_TIMEOUT"], shutdownTimeout == nil, Int(value) == nil {
            throw ValidationError("PDX_SHUTDOWN_TIMEOUT must be a number of seconds, got '\(value)'")
        }
        guard (1...3600).contains(resolvedShutdownTimeout) else { throw ValidationError("--shutdown-timeout must be 1…3600 seconds") }
        guard let rate = resolvedRateLimit, rate.isFinite, rate >= 0 else {
            throw ValidationError("--rate-limit / PDX_RATE_LIMIT must be a number of requests per second, 0 or more")
        }
        guard let burst = resolvedRateLimitBurst, burst >= 1 else {
            throw ValidationError("--rate-limit-burst / PDX_RATE_LIMIT_BURST must be at least 1")
        }
        guard let tls = resolvedTLS else {
            throw ValidationError("--tls-cert and --tls-key (PDX_TLS_CERT, PDX_TLS_KEY) go together: give both or neither")
        }
        if let tls {
            for path in [tls.certificate, tls.key] where !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("cannot read \(path)")
            }
        }
        guard resolvedLogFormat != nil else { throw ValidationError("--log-format / PDX_LOG_FORMAT must be json or text") }
        guard resolvedLogLevel != nil else {
            throw ValidationError("--log-level / PDX_LOG_LEVEL must be trace, debug, info, notice, warning, error or critical")
        }
    }

    var resolvedPort: Int { port ?? ProcessInfo.processInfo.environment["PDX_PORT"].flatMap(Int.init) ?? 8080 }

    func run() async throws {
        var configuration = ServerConfiguration(store: storage.store)
        configuration.host = resolvedHost
        configuration.port = resolvedPort
        configuration.testClock = testClock
        configuration.testClockStart = testClockStart.flatMap(RFC3339.parse)
        configuration.checkpointEntries = checkpointEntries
        configuration.checkpointInterval = .seconds(checkpointSeconds)
        configuration.logOrigin = logOrigin
        configuration.shutdownTimeout = .seconds(resolvedShutdownTimeout)
        configuration.settlement = settlement.policy
        configuration.rateLimit = resolvedRateLimit ?? 100
        configuration.rateLimitBurst = resolvedRateLimitBurst ?? 200
        configuration.logFormat = resolvedLogFormat ?? .json
        configuration.logLevel = resolvedLogLevel ?? .info
        if case .some(.some(let tls)) = resolvedTLS {
            configuration.tls = TLSFiles(certificateChain: tls.certificate, privateKey: tls.key)
        }
        try await runServer(configuration)
    }
}
