public import Identity
public import AuditLog
public import Cryptography
import Foundation
public import Marketplace
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import NIOCore
import NIOSSL
import HTTPTypes
public import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
public import Prometheus
public import Persistence
public import Licensing
import Metering
import Vetting
import Delivery
import Console

/// What the HTTP layer is built from. `Runtime.open` makes these from a data directory or database;
/// tests may make them from anything.
public struct ServerDependencies: Sendable {
    public var database: any Database
    public var log: TransparencyLog
    /// Where authentication reads principals and the principal generation.
    var credentials: any CredentialStore
    public var clock: ServerClock
    /// Required with a test clock: where its time is kept.
    var clockStore: (any TestClockStore)?
    public var metrics: PrometheusCollectorRegistry
    /// The grant check's in-memory snapshots, one per process.
    public var grantDirectory = GrantDirectory()
    /// Where new ids (`pr_`, `op_`, `gr_`, `ub_`, `adj_`) and API keys get their randomness.
    public var random: any RandomSource
    /// The per-key rate limiter; nil makes one from the configuration. Tests pass one on a clock
    /// they move by hand.
    var rateLimiter: RateLimiter?
    /// The per-address limiter of failed authentications; nil makes one from the configuration.
    var failedAuthenticationLimiter: RateLimiter?
    /// The clock `/readyz` and `/metrics` keep their answers for a second by; nil for the system's.
    var probeNow: (@Sendable () -> UInt64)?
    /// Seals and opens the credentials of upstream datasets: the data directory's `upstream-key`.
    public var upstreamKey: AESGCMKey?
    /// Upstream host names connected to at another `host:port`; empty outside the demo.
    package var upstreamHosts: [String: String] = [:]

    init(database: any Database, log: TransparencyLog, credentials: any CredentialStore, clock: ServerClock,
         clockStore: (any TestClockStore)?, metrics: PrometheusCollectorRegistry, random: any RandomSource = SecureRandom()) {
        self.database = database
        self.log = log
        self.credentials = credentials
        self.clock = clock
        self.clockStore = clockStore
        self.metrics = metrics
        self.random = random
    }
}

/// The request context of every route: Hummingbird's, plus the client's address, which failed
/// authentications are counted by.
public struct PDXRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the connection; nil for requests that did not come over a socket.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Builds the router: middleware (access log and metrics, problems, body limits, test-clock sync,
/// authentication and rate limit),
/// the direct usage and JSON report routes, then the handlers generated from `Contracts/openapi.yaml`.
///
/// - Parameter directUsageRoute: false sends every usage batch (and `/healthz`) through the generated handler; tests
///   compare the two routes' answers with it.
package func buildRouter(configuration: ServerConfiguration, dependencies: ServerDependencies,
                 directUsageRoute: Bool = true) throws -> Router<PDXRequestContext> {
    let router = Router(context: PDXRequestContext.self)
    let metrics = ServerMetrics(registry: dependencies.metrics)
    router.middlewares.add(AccessLogMiddleware(metrics: metrics))
    // Around the problem answers, so the span records the final status.
    router.middlewares.add(RequestSpanMiddleware())
    if directUsageRoute {
        router.middlewares.add(HealthRoute())
    }
    router.middlewares.add(ProblemMiddleware())
    router.middlewares.add(MethodNotAllowedMiddleware())
    // Early: the public tiles need no body, clock or key, and are the one route a crowd of monitors hits.
    if configuration.publicLog {
        router.middlewares.add(PublicLogRoute(log: dependencies.log))
    }
    router.middlewares.add(BodyLimitMiddleware(
        defaultLimit: configuration.maxBodyBytes, overrides: configuration.bodyLimitOverrides,
        releaseLimit: configuration.maxReleaseBytes))
    if dependencies.clock.isTestClock, let store = dependencies.clockStore {
        router.middlewares.add(TestClockSyncMiddleware(clock: dependencies.clock, store: store))
    }
    let authenticator = Authenticator(store: dependencies.credentials, cache: VerifiedKeyCache(capacity: configuration.verifiedKeyCacheSize),
                                      now: { [clock = dependencies.clock] in clock.now() })
    // One count of failed authentications per address, through the API or the console's sign-in.
    let failedAuthentications = dependencies.failedAuthenticationLimiter
        ?? RateLimiter(rate: configuration.failedAuthenticationRate, burst: configuration.failedAuthenticationBurst)
    router.middlewares.add(AuthenticationMiddleware(
        authenticator: authenticator,
        rateLimiter: dependencies.rateLimiter
            ?? RateLimiter(rate: configuration.rateLimit, burst: configuration.rateLimitBurst),
        failedAuthentications: failedAuthentications,
        metrics: metrics))
    let api = API(
        database: dependencies.database,
        vetting: OperatorLifecycle(),
        catalog: Catalog(policy: CatalogPolicy(upstreamAllowPrivate: configuration.upstreamAllowPrivate)),
        grants: GrantLifecycle(),
        agreements: .builtIn,
        grantChecker: GrantChecker(database: dependencies.database, directory: dependencies.grantDirectory),
        metering: MeteringPolicy(),
        usageCommitter: UsageCommitter(database: dependencies.database, log: dependencies.log, directory: dependencies.grantDirectory),
        settlements: SettlementDesk(database: dependencies.database, log: dependencies.log, policy: configuration.settlement,
                                    random: dependencies.random),
        settlementPolicy: configuration.settlement,
        log: dependencies.log,
        clock: dependencies.clock,
        random: dependencies.random,
        readiness: Readiness(log: dependencies.log, throttle: dependencies.probeNow.map { Throttle(now: $0) } ?? Throttle()),
        metrics: MetricsExposition(registry: dependencies.metrics,
                                   throttle: dependencies.probeNow.map { Throttle(now: $0) } ?? Throttle()),
        serverMetrics: metrics,
        clockStore: dependencies.clockStore,
        releasePolicy: ReleasePolicy(maxBytes: configuration.maxReleaseBytes),
        upstreamKey: dependencies.upstreamKey,
        upstream: UpstreamClient(timeout: configuration.upstreamTimeout, maxBytes: configuration.upstreamMaxBytes,
                                 hosts: dependencies.upstreamHosts, allowPrivate: configuration.upstreamAllowPrivate))
    router.middlewares.add(ConsoleRoutes<PDXRequestContext>(ConsoleDependencies(
        signIn: { presented in
            do {
                return try await authenticator.authenticate(presented)
            } catch let problem as Problem where problem.status == .unauthorized {
                return nil
            }
        },
        principal: { keyID in try await authenticator.current(keyID: keyID) },
        signInWait: { address in
            if case .refused(let retryAfter) = failedAuthentications.peek(address) { return retryAfter }
            return nil
        },
        signInFailed: { address in _ = failedAuthentications.acquire(address) },
        log: dependencies.log,
        database: dependencies.database,
        vetting: api.vettingService,
        grants: api.grantService,
        settlements: api.settlements,
        catalog: api.catalogService,
        report: { caller, period, format, party in
            try await api.reportBytes(period: period, format: format, party: party, section: nil, caller: caller)
        },
        permitted: { role, operationID in Operation(rawValue: operationID).map { Authorization.permits(role, $0) } ?? false },
        refusal: { error in
            guard let problem = (error as? Problem) ?? DomainErrors.problem(for: error) else { return nil }
            return ConsoleRefusal(status: Int(problem.status.code), code: problem.code, detail: problem.detail,
                                  reasons: problem.reasons.map { ($0.code, $0.detail) })
        },
        now: { [clock = dependencies.clock] in clock.now() },
        random: dependencies.random,
        secureCookies: configuration.tls != nil,
        maxFormBytes: min(configuration.maxBodyBytes, ConsoleDependencies.defaultMaxFormBytes))))
    if directUsageRoute {
        router.middlewares.add(UsageRoute(api: api))
        router.middlewares.add(DataRoute(api: api))
        router.middlewares.add(UpstreamRoute(api: api))
    }
    router.middlewares.add(SettlementReportRoute(api: api))
    try api.registerHandlers(on: router, configuration: Configuration(dateTranscoder: RFC3339Transcoder(), jsonEncodingOptions: [.sortedKeys]), middlewares: [
        AuthorizationMiddleware(),
        ResourceHeadersMiddleware(),
        QueryLimitsMiddleware(),
        NullMembersMiddleware(),
        ReleaseUploadMiddleware(),
        IdempotencyMiddleware(database: dependencies.database, clock: dependencies.clock),
    ])
    return router
}

/// Builds the application on `dependencies`; the composition root of the HTTP server.
public func buildApplication(
    configuration: ServerConfiguration,
    dependencies: ServerDependencies,
    logger: Logger
) throws -> some ApplicationProtocol {
    let router = try buildRouter(configuration: configuration, dependencies: dependencies)
    let server: HTTPServerBuilder = if let files = configuration.tls {
        try .tls(.http1WithProblems(), tlsConfiguration: try files.serverConfiguration())
    } else {
        .http1WithProblems()
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "pdx"),
        logger: logger)
}

/// With a test clock shared through the database, another instance may have moved it: read it
/// before each request that may look at the clock.
///
/// Not for `/v1/…`: authentication reads the stored time there, with the principal generation it reads
/// anyway (``DatabaseCredentialLookup``), before any handler runs. Not for `/healthz`, `/readyz` and
/// the public tiles under `/tlog/`, which never look at the clock.
struct TestClockSyncMiddleware<Context: RequestContext>: RouterMiddleware {
    let clock: ServerClock
    let store: any TestClockStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.readsClock(request.uri.path), let stored = try await store.loadTestClock() { clock.observe(stored) }
        return try await next(request, context)
    }

    /// False for the paths that never look at the clock or that authentication keeps up to date.
    static func readsClock(_ path: String) -> Bool {
        !(path.hasPrefix("/v1/") || path == "/v1" || path == "/healthz" || path == "/readyz" || path.hasPrefix("/tlog/"))
    }
}

extension TLSFiles {
    /// The server's TLS settings: the chain and key read from their files, TLS 1.2 at least.
    func serverConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChain)
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw RuntimeError("cannot load the TLS certificate \(certificateChain) or key \(privateKey): \(error)")
        }
        guard !chain.isEmpty else { throw RuntimeError("\(certificateChain) holds no PEM certificate") }
        var settings = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                               privateKey: .privateKey(key))
        settings.minimumTLSVersion = .tlsv12
        return settings
    }
}
