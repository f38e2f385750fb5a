import Identity
import AuditLog
import Foundation
public import Marketplace
import Hummingbird
import Licensing
import Logging
import Metrics
import Persistence
public import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `pdx serve`: opens the marketplace, bootstraps it on first start, and serves until SIGINT/SIGTERM.
///
/// Bootstraps the process-wide logging and metrics systems, so it runs once per process.
public func runServer(_ configuration: ServerConfiguration) async throws {
    LoggingSystem.bootstrap(configuration.logFormat.handlerFactory(level: configuration.logLevel))
    var logger = Logger(label: "pdx")
    logger.logLevel = configuration.logLevel
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

    var options = Runtime.Options()
    options.testClock = configuration.testClock
    options.testClockStart = configuration.testClockStart
    options.logOrigin = configuration.logOrigin
    options.checkpointPolicy = CheckpointPolicy(
        maxEntries: configuration.checkpointEntries, maxAge: configuration.checkpointInterval)
    let runtime = try await Runtime.open(configuration.store, options: options, logger: logger)
    if runtime.log.origin.hasPrefix(Runtime.demoOriginPrefix), !ServerConfiguration.isLoopback(configuration.host) {
        await runtime.close()
        throw RuntimeError("""
            \(runtime.dataDirectory.path) holds a marketplace made by `pdx demo`, whose keys follow from its seed and \
            lie in a file beside it: it is served on a loopback address only (--host 127.0.0.1), never on \(configuration.host)
            """)
    }
    if runtime.isWritable {
        try await runtime.bootstrapAdmin(logger: logger)
    }
    let dependencies = runtime.serverDependencies(metrics: registry)
    let app = try buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
    let checkpoints = CheckpointService(log: runtime.log, witness: runtime.witness, interval: configuration.checkpointInterval,
                                        logger: logger)
    let expiry = GrantExpiryService(
        expiry: GrantExpiry(database: runtime.database, log: runtime.log, lifecycle: GrantLifecycle()),
        clock: runtime.clock, interval: configuration.grantExpiryInterval, logger: logger)
    // A graceful shutdown stops services in the reverse of this order, each after the one before has
    // finished: the HTTP server first (it stops accepting and answers every request in flight,
    // usage batches waiting for their group commit included), then grant expiry, then the
    // checkpoint service, whose final checkpoint so covers every acknowledged entry.
    //
    // The deadline is listed last, so a stop reaches it first: from then on the stop has
    // `shutdownTimeout` to finish, after which the process exits whatever is still pending.
    var cosignatures: CosignatureService?
    if !configuration.witnesses.isEmpty {
        cosignatures = CosignatureService(
            collector: CosignatureCollector(log: runtime.log, witnesses: configuration.witnesses),
            interval: configuration.cosignatureInterval, logger: logger)
    }
    let stopping = StopProgress()
    let deadline = ShutdownDeadline(timeout: configuration.shutdownTimeout, progress: stopping, logger: logger)
    var groupConfiguration = ServiceGroupConfiguration(
        services: [.init(service: stopping.tracking("checkpoints", checkpoints)),
                   .init(service: stopping.tracking("grant expiry", expiry)),
                   .init(service: stopping.tracking("http server", app)),
                   .init(service: deadline)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger)
    // Cancellation comes first, at four fifths of the bound, so that a stop that only needed a
    // push still closes the database in order before the deadline ends the process.
    if let cosignatures {
        groupConfiguration.services.insert(.init(service: stopping.tracking("cosignatures", cosignatures)), at: 0)
    }
    groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout * 4 / 5
    #if OTLP
    // First in the list, so it stops last and flushes the spans of the requests answered on the way out.
    if let exporter = try OTLPTracing.bootstrap(environment: ProcessInfo.processInfo.environment, logger: logger) {
        groupConfiguration.services.insert(.init(service: stopping.tracking("span exporter", exporter)), at: 0)
    }
    #endif
    let group = ServiceGroup(configuration: groupConfiguration)
    logger.notice("serving", metadata: [
        "address": "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(configuration.port)",
        "data_dir": "\(runtime.dataDirectory.path)",
        "database": "\(configuration.store.databaseURL == nil ? "sqlite" : "postgresql")",
        "log_origin": "\(runtime.log.origin)",
        "test_clock": "\(configuration.testClock)",
    ])
    do {
        try await group.run()
    } catch {
        await stopping.during("closing the database") { await runtime.close() }
        throw error
    }
    await stopping.during("closing the database") { await runtime.close() }
}

/// What a stop is still waiting for, named, for the line the deadline writes.
final class StopProgress: Sendable {
    private let pending = Mutex<[String]>([])

    /// The names of what has not finished, in the order they began.
    var waitingFor: [String] { pending.withLock { $0 } }

    /// `service`, with its name listed as pending from its start until its `run()` returns.
    func tracking(_ name: String, _ service: some Service) -> some Service {
        Tracked(name: name, service: service, progress: self)
    }

    /// Runs `body` with `name` listed as pending.
    func during<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        begin(name)
        defer { end(name) }
        return try await body()
    }

    func begin(_ name: String) { pending.withLock { $0.append(name) } }

    func end(_ name: String) {
        pending.withLock { list in
            if let index = list.firstIndex(of: name) { list.remove(at: index) }
        }
    }

    private struct Tracked<Wrapped: Service>: Service {
        let name: String
        let service: Wrapped
        let progress: StopProgress

        func run() async throws {
            try await progress.during(name) { try await service.run() }
        }
    }
}

/// Bounds a stop: once a graceful shutdown begins, a thread of its own (not one of the cooperative
/// threads, which whatever hangs may hold) waits `timeout`, then writes which parts of the stop were
/// still pending and ends the process with status 70, whatever is awaited. Everything acknowledged is
/// already committed; what is lost is at most the final checkpoint, which the next start signs.
struct ShutdownDeadline: Service {
    let timeout: Duration
    let progress: StopProgress
    let logger: Logger

    func run() async throws {
        // Returns when a stop begins; throws only when the group is cancelled, which ends it anyway.
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        let (seconds, attoseconds) = timeout.components
        let interval = TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
        let progress = self.progress
        let logger = self.logger
        let thread = Thread {
            Thread.sleep(forTimeInterval: interval)
            let waiting = progress.waitingFor
            logger.critical("the stop did not finish within the shutdown timeout; exiting", metadata: [
                "shutdown_timeout_seconds": "\(interval)",
                "still_waiting_for": "\(waiting.isEmpty ? "nothing named" : waiting.joined(separator: ", "))",
            ])
            // Give the log line a moment to reach its file or pipe before the process ends.
            Thread.sleep(forTimeInterval: 0.05)
            _exit(70)
        }
        thread.start()
    }
}

extension Runtime {
    /// The HTTP layer's dependencies on this runtime.
    public func serverDependencies(metrics: PrometheusCollectorRegistry) -> ServerDependencies {
        var dependencies = ServerDependencies(
            database: database,
            log: log,
            credentials: DatabaseCredentialLookup(database: database, testClock: clock.isTestClock ? clock : nil),
            clock: clock,
            clockStore: clock.isTestClock ? DatabaseClockStore(database: database, log: log) : nil,
            metrics: metrics,
            random: random)
        dependencies.upstreamKey = upstreamKey
        return dependencies
    }
}
