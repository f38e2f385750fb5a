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

    @Option(name: .customLong("rate-limit"), help: "Sustained requests per second per API key, per process; 0 turns the limit off. Env: PDX_RATE_LIMIT. Default: 100")
    var rateLimit: Double?

    @Option(name: .customLong("rate-limit-burst"), help: "Requests an API key may send at once. Env: PDX_RATE_LIMIT_BURST. Default: 200")
    var rateLimitBurst: Int?

    @Option(name: .customLong("max-release-bytes"), help: "The largest dataset release an upload may be, in bytes. Env: PDX_MAX_RELEASE_BYTES. Default: 1073741824 (1 GiB)")
    var maxReleaseBytes: Int64?

    @Option(name: .customLong("upstream-timeout"), help: "Seconds PDX waits for an upstream dataset's interface to answer a forwarded call, body included. Env: PDX_UPSTREAM_TIMEOUT. Default: 10")
    var upstreamTimeout: Double?

    @Option(name: .customLong("upstream-max-bytes"), help: "The largest answer read from an upstream interface, in bytes. Env: PDX_UPSTREAM_MAX_BYTES. Default: 8388608 (8 MiB)")
    var upstreamMaxBytes: Int?

    @Flag(name: .customLong("upstream-allow-private"), help: "Let upstream interfaces be at loopback, private, link-local and other non-public addresses (a base URL naming one, a host name resolving to one). Env: PDX_UPSTREAM_ALLOW_PRIVATE=true. Default: refused")
    var upstreamAllowPrivate = false

    @Flag(name: .customLong("no-public-log"), help: "Do not serve the log publicly as C2SP tlog-tiles under /tlog/ (a private deployment). Env: PDX_PUBLIC_LOG=false. Default: served")
    var noPublicLog = false

    @Option(name: .customLong("witness"), help: "A witness to ask to cosign each checkpoint, as URL,VKEY: its C2SP tlog-witness URL (add-checkpoint goes under it) and its cosignature verifier key. Repeatable.")
    var witnesses: [String] = []

    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM); needs --tls-key. Env: PDX_TLS_CERT")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert. Env: PDX_TLS_KEY")
    var tlsKey: String?

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text. Env: PDX_LOG_FORMAT. Default: json")
    var logFormat: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: PDX_LOG_LEVEL. Default: info")
    var logLevel: String?

    /// Checks what the flags alone decide; values that may come from the environment or the
    /// config file are checked in `run`, once every source is read.
    func validate() throws {
        guard checkpointEntries >= 1 else { throw ValidationError("--checkpoint-entries must be at least 1") }
        if let testClockStart {
            guard testClock else { throw ValidationError("--test-clock-start needs --test-clock") }
            guard RFC3339.parse(testClockStart) != nil else {
                throw ValidationError("--test-clock-start must be an RFC 3339 time such as 2026-12-01T09:00:00+08:00")
            }
        }
        guard checkpointSeconds >= 1 else { throw ValidationError("--checkpoint-seconds must be at least 1") }
        for witness in witnesses {
            do { _ = try HTTPWitness(argument: witness) } catch { throw ValidationError("\(error)") }
        }
    }

    /// The flags given, by settings key.
    var flags: [String: String?] {
        ["host": host, "port": port.map(String.init), "shutdown-timeout": shutdownTimeout.map(String.init),
         "rate-limit": rateLimit.map { String($0) }, "rate-limit-burst": rateLimitBurst.map(String.init),
         "tls-cert": tlsCertificate, "tls-key": tlsKey, "log-format": logFormat, "log-level": logLevel,
         "max-release-bytes": maxReleaseBytes.map(String.init),
         "upstream-timeout": upstreamTimeout.map { String($0) }, "upstream-max-bytes": upstreamMaxBytes.map(String.init)]
    }

    /// The server's configuration: flags, then environment, then config file, then defaults.
    func configuration(_ settings: Settings) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(store: try storage.store(settings))
        configuration.host = settings.text("host") ?? "127.0.0.1"
        configuration.port = try settings.value("port", default: 8080, "a port number, 0…65535") {
            Int($0).flatMap { (0...65535).contains($0) ? $0 : nil }
        }
        configuration.testClock = testClock
        configuration.testClockStart = testClockStart.flatMap(RFC3339.parse)
        configuration.checkpointEntries = checkpointEntries
        configuration.checkpointInterval = .seconds(checkpointSeconds)
        configuration.logOrigin = logOrigin
        configuration.shutdownTimeout = .seconds(try settings.value("shutdown-timeout", default: 30, "a number of seconds, 1…3600") {
            Int($0).flatMap { (1...3600).contains($0) ? $0 : nil }
        })
        configuration.settlement = try settlement.policy(settings)
        configuration.rateLimit = try settings.value("rate-limit", default: 100, "a number of requests per second, 0 or more") {
            Double($0).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        }
        configuration.rateLimitBurst = try settings.value("rate-limit-burst", default: 200, "at least 1") {
            Int($0).flatMap { $0 >= 1 ? $0 : nil }
        }
        configuration.maxReleaseBytes = try settings.value(
            "max-release-bytes", default: configuration.maxReleaseBytes, "a number of bytes, at least 1") {
            Int64($0).flatMap { $0 >= 1 ? $0 : nil }
        }
        let upstreamSeconds = try settings.value("upstream-timeout", default: 10.0, "a number of seconds, 0.001…600") {
            Double($0).flatMap { $0.isFinite && (0.001...600).contains($0) ? $0 : nil }
        }
        configuration.upstreamTimeout = .milliseconds(Int64((upstreamSeconds * 1000).rounded()))
        configuration.upstreamMaxBytes = try settings.value(
            "upstream-max-bytes", default: configuration.upstreamMaxBytes, "a number of bytes, 1…1073741824") {
            Int($0).flatMap { (1...(1 << 30)).contains($0) ? $0 : nil }
        }
        configuration.upstreamAllowPrivate = try upstreamAllowPrivate || settings.value(
            "upstream-allow-private", default: false, "true or false") { ["true": true, "false": false, "1": true, "0": false][$0.lowercased()] }
        switch (settings.text("tls-cert"), settings.text("tls-key")) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            for path in [certificate, key] where !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("cannot read \(path)")
            }
            configuration.tls = TLSFiles(certificateChain: certificate, privateKey: key)
        default:
            throw ValidationError("--tls-cert and --tls-key (PDX_TLS_CERT, PDX_TLS_KEY) go together: give both or neither")
        }
        configuration.publicLog = try !noPublicLog && settings.value(
            "public-log", default: true, "true or false") { ["true": true, "false": false, "1": true, "0": false][$0.lowercased()] }
        configuration.witnesses = try witnesses.map { try HTTPWitness(argument: $0) }
        configuration.logFormat = try settings.value("log-format", default: .json, "json or text") { LogFormat(rawValue: $0) }
        configuration.logLevel = try settings.value(
            "log-level", default: .info, "trace, debug, info, notice, warning, error or critical") { Logger.Level(rawValue: $0) }
        return configuration
    }

    func run() async throws {
        let settings = try await storage.settings(more: flags.merging(settlement.flags) { $1 })
        try await runServer(try configuration(settings))
    }
}
