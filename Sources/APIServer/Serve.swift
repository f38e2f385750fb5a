import AuditLog
import Foundation
import Hummingbird
import Licensing
import Logging
import Metrics
import Persistence
public import Prometheus
import ServiceLifecycle
import UnixSignals

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
    options.logOrigin = configuration.logOrigin
    options.checkpointPolicy = CheckpointPolicy(
        maxEntries: configuration.checkpointEntries, maxAge: configuration.checkpointInterval)
    let runtime = try await Runtime.open(configuration.store, options: options, logger: logger)
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
    var groupConfiguration = ServiceGroupConfiguration(
        services: [.init(service: checkpoints), .init(service: expiry), .init(service: app)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger)
    groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
    let group = ServiceGroup(configuration: groupConfiguration)
    logger.notice("serving", metadata: [
        "address": "http://\(configuration.host):\(configuration.port)",
        "data_dir": "\(runtime.dataDirectory.path)",
        "database": "\(configuration.store.databaseURL == nil ? "sqlite" : "postgresql")",
        "log_origin": "\(runtime.log.origin)",
        "test_clock": "\(configuration.testClock)",
    ])
    do {
        try await group.run()
    } catch {
        await runtime.close()
        throw error
    }
    await runtime.close()
}

extension Runtime {
    /// The HTTP layer's dependencies on this runtime.
    public func serverDependencies(metrics: PrometheusCollectorRegistry) -> ServerDependencies {
        ServerDependencies(
            database: database,
            log: log,
            credentials: DatabaseCredentialLookup(database: database),
            clock: clock,
            clockStore: clock.isTestClock ? DatabaseClockStore(database: database, log: log) : nil,
            metrics: metrics,
            random: random)
    }
}
