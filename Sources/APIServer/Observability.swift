import AuditLog
import Foundation
import Prometheus

/// `/metrics`: the Prometheus registry, plus gauges of the log read at scrape time.
struct MetricsExposition: Sendable {
    let registry: PrometheusCollectorRegistry
    private let logEntries: Gauge
    private let checkpointSize: Gauge
    private let checkpointAge: Gauge
    private let readOnly: Gauge

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func gauge(_ name: String, unit: String = "", _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(
                namespace: "pdx", subsystem: "log", metricName: name, unitName: unit, helpText: help))
        }
        logEntries = gauge("entries", "Entries in the audit log.")
        checkpointSize = gauge("checkpoint_size", "Tree size of the latest signed checkpoint.")
        checkpointAge = gauge("checkpoint_age", unit: "seconds", "Seconds since the latest checkpoint was signed.")
        readOnly = gauge("read_only", "1 when the log refuses writes after a failed integrity check.")
    }

    /// Refreshes the log gauges from `log`; failures leave the previous values.
    func refresh(from log: TransparencyLog, now: Date) async {
        readOnly.set(to: log.readOnlyError == nil ? 0 : 1)
        if let head = try? await log.head() { logEntries.set(to: Double(head.size)) }
        if let note = try? await log.latestCheckpoint(), let size = try? Checkpoint.parse(note.text).size,
           let latest = try? await log.checkpoints(from: size, limit: 1).first {
            checkpointSize.set(to: Double(latest.size))
            checkpointAge.set(to: max(0, now.timeIntervalSince(latest.signedAt)))
        }
    }

    /// The text exposition format.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// What `/readyz` checks: the database answers, and the log passed its start-up integrity check.
struct Readiness: Sendable {
    let log: TransparencyLog

    struct Result: Sendable {
        var results: [String: String]
        var isReady: Bool { results.values.allSatisfy { $0 == "ok" } }
    }

    func check() async -> Result {
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

