import Identity
public import Foundation
public import Logging
public import Marketplace
import Settlement
import Delivery

/// The PEM files HTTPS is served with.
public struct TLSFiles: Sendable, Equatable {
    /// The server certificate, then any intermediates.
    public var certificateChain: String
    /// The certificate's private key.
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}

/// Everything `pdx serve` can be told. Each property names its flag and environment variable.
public struct ServerConfiguration: Sendable {
    public var store: StoreLocation
    /// `--host` / `PDX_HOST`.
    public var host = "127.0.0.1"
    /// `--port` / `PDX_PORT`; 0 picks a free port.
    public var port = 8080
    /// `--test-clock`: a settable clock stored with the data (`POST /v1/test-clock`).
    public var testClock = false
    /// Where a new marketplace's test clock starts; nil for now.
    public var testClockStart: Date?
    /// `--checkpoint-entries`: sign a checkpoint at least every this many entries.
    public var checkpointEntries = 1000
    /// `--checkpoint-seconds`: sign at least this often while entries arrive.
    public var checkpointInterval: Duration = .seconds(10)
    /// `--shutdown-timeout` / `PDX_SHUTDOWN_TIMEOUT`: how long SIGTERM waits for requests in flight
    /// and the final checkpoint before the server stops anyway.
    public var shutdownTimeout: Duration = .seconds(30)
    /// `--tls-cert` and `--tls-key` / `PDX_TLS_CERT` and `PDX_TLS_KEY`: serve HTTPS with these
    /// files; nil serves plain HTTP, for a loopback address or behind a proxy that ends TLS.
    public var tls: TLSFiles?
    /// `--log-origin`: the origin line of checkpoints and the signing key's name, fixed on first start.
    public var logOrigin: String?
    /// How often grants whose term is over are recorded as expired. The grant check refuses them at
    /// once regardless; this only puts the end into the log.
    public var grantExpiryInterval: Duration = .seconds(60)
    /// Largest accepted request body, in bytes, where no route says otherwise.
    public var maxBodyBytes = 1 << 20
    /// The platform fee, the grace before a period may close, the currency.
    public var settlement = SettlementPolicy()
    /// Larger limits for routes that take batches.
    public var bodyLimitOverrides: [String: Int] = ["/v1/usage": 4 << 20]
    /// `--rate-limit` / `PDX_RATE_LIMIT`: sustained requests a second per API key (a usage batch is one
    /// request); 0 turns the limit off. Per process: N instances allow up to N times this.
    public var rateLimit: Double = 100
    /// `--rate-limit-burst` / `PDX_RATE_LIMIT_BURST`: requests a key may send at once.
    public var rateLimitBurst = 200
    /// Failed authentications a client address may make a second on average, and at once: past
    /// them, requests from that address are answered 429 `authentication_rate_limited` before any
    /// key is looked up, so guessing keys is slow and costs the database nothing.
    public var failedAuthenticationRate: Double = 1
    public var failedAuthenticationBurst = 20
    /// Verified API keys kept in memory per process (see `Docs/design/0026-verified-key-cache.md`);
    /// a key past them is read from the database on each request.
    public var verifiedKeyCacheSize = 10_000
    /// `--log-format` / `PDX_LOG_FORMAT`: JSON lines (default) or text.
    public var logFormat: LogFormat = .json
    /// `--log-level` / `PDX_LOG_LEVEL`: trace, debug, info (default), notice, warning, error, critical.
    public var logLevel: Logger.Level = .info
    /// `--max-release-bytes` / `PDX_MAX_RELEASE_BYTES`: the largest dataset release a
    /// `PUT /v1/datasets/{id}/releases/{version}` may upload; 1 GiB by default.
    public var maxReleaseBytes: Int64 = ReleasePolicy.defaultMaxBytes
    /// `--upstream-timeout` / `PDX_UPSTREAM_TIMEOUT` (seconds): how long PDX waits for an upstream
    /// dataset's interface to answer a forwarded call, body included; 10 s by default.
    public var upstreamTimeout: Duration = .seconds(10)
    /// `--upstream-max-bytes` / `PDX_UPSTREAM_MAX_BYTES`: the largest answer PDX reads from an
    /// upstream interface; past it the call fails with `upstream_too_large`. 8 MiB by default.
    public var upstreamMaxBytes = 8 << 20
    /// `--upstream-allow-private` / `PDX_UPSTREAM_ALLOW_PRIVATE`: upstream interfaces may be at
    /// loopback, private, link-local and other non-public addresses (a base URL naming one, a host
    /// name resolving to one). Off by default: an authority's interface is on the public internet.
    public var upstreamAllowPrivate = false

    /// `--no-public-log` / `PDX_PUBLIC_LOG=false` turns it off: the log as C2SP tlog-tiles under
    /// `/tlog/`, public and read-only, for any monitor to follow. On by default; a private
    /// deployment turns it off.
    public var publicLog = true
    /// `--witness URL,VKEY` (repeatable): the witnesses asked to cosign each checkpoint.
    public var witnesses: [any WitnessConnection] = []
    /// How often cosignatures are collected while a witness has not cosigned the latest checkpoint.
    public var cosignatureInterval: Duration = .seconds(1)

    public init(store: StoreLocation) {
        self.store = store
    }

    /// Whether `host` is a loopback address or name: reachable from this machine only.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
