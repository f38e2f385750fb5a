public import Marketplace
import Identity
import AuditLog
import BuildInfo
import Dispatch
import Foundation
import Prometheus
import Synchronization

/// Remembers a value for an interval, so that a probe scraped often (a balancer's `/readyz`, a
/// Prometheus `/metrics`) costs the database at most one query an interval, however many callers.
final class Throttle<Value: Sendable>: Sendable {
    private let interval: UInt64
    /// Monotonic time in nanoseconds; tests pass a clock they move by hand.
    private let now: @Sendable () -> UInt64
    private let cached: Mutex<(value: Value, at: UInt64)?> = Mutex(nil)

    init(interval: Duration = .seconds(1), now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        let (seconds, attoseconds) = interval.components
        self.interval = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        self.now = now
    }

    /// The remembered value if it is younger than the interval, else `compute`'s, remembered.
    func value(_ compute: () async -> Value) async -> Value {
        let start = now()
        if let hit = cached.withLock({ $0 }), start &- hit.at < interval { return hit.value }
        let fresh = await compute()
        cached.withLock { $0 = (fresh, start) }
        return fresh
    }
}

/// `/metrics`: the Prometheus registry, gauges of the log read at scrape time, `pdx_build_info`,
/// and the process's own figures (``ProcessMetrics``).
struct MetricsExposition: Sendable {
    let registry: PrometheusCollectorRegistry
    private let refreshed: Throttle<Bool>
    private let logEntries: Gauge
    private let checkpointSize: Gauge
    private let checkpointAge: Gauge
    private let readOnly: Gauge

    init(registry: PrometheusCollectorRegistry, throttle: Throttle<Bool> = Throttle()) {
        self.registry = registry
        self.refreshed = throttle
        func gauge(_ name: String, unit: String = "", _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(
                namespace: "pdx", subsystem: "log", metricName: name, unitName: unit, helpText: help))
        }
        logEntries = gauge("entries", "Entries in the audit log.")
        checkpointSize = gauge("checkpoint_size", "Tree size of the latest signed checkpoint.")
        checkpointAge = gauge("checkpoint_age", unit: "seconds", "Seconds since the latest checkpoint was signed.")
        readOnly = gauge("read_only", "1 when the log refuses writes after a failed integrity check.")
        // Which build answers: constant 1, the version and commit as labels (`pdx --version`'s).
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "pdx", metricName: "build_info",
            helpText: "Always 1; the running build's version and commit are its labels."),
            labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit ?? "unknown")]).set(to: 1)
    }

    /// Refreshes the log gauges from `log`, at most once a second; failures leave the previous values.
    func refresh(from log: TransparencyLog, now: Date) async {
        _ = await refreshed.value {
            await read(from: log, now: now)
            return true
        }
    }

    private func read(from log: TransparencyLog, now: Date) async {
        readOnly.set(to: log.readOnlyError == nil ? 0 : 1)
        if let head = try? await log.head() { logEntries.set(to: Double(head.size)) }
        if let note = try? await log.latestCheckpoint(), let size = try? Checkpoint.parse(note.text).size,
           let latest = try? await log.checkpoints(from: size, limit: 1).first {
            checkpointSize.set(to: Double(latest.size))
            checkpointAge.set(to: max(0, now.timeIntervalSince(latest.signedAt)))
        }
    }

    /// The text exposition format: the registry's metrics, then the process's own.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        buffer += Array(ProcessMetrics.render().utf8)
        return buffer
    }
}

/// What `/readyz` checks: the database answers, and the log passed its start-up integrity check.
/// The answer is kept for a second, so probes cost the database at most one query a second.
struct Readiness: Sendable {
    let log: TransparencyLog
    let throttle: Throttle<Result>

    init(log: TransparencyLog, throttle: Throttle<Result> = Throttle()) {
        self.log = log
        self.throttle = throttle
    }

    struct Result: Sendable {
        var results: [String: String]
        var isReady: Bool { results.values.allSatisfy { $0 == "ok" } }
    }

    func check() async -> Result {
        await throttle.value { await probe() }
    }

    private func probe() async -> Result {
        var results: [String: String] = [:]
        do {
            _ = try await log.head()
            results["database"] = "ok"
        } catch {
            results["database"] = "unavailable"
        }
        results["audit_log"] = log.readOnlyError.map { "read_only: \($0.code.rawValue)" } ?? "ok"
        return Result(results: results)
    }
}

