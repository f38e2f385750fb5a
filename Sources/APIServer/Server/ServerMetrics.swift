public import Marketplace
import Identity
import HTTPTypes
import Metering
import Prometheus
import Synchronization

/// The server's counters and histograms, registered on the registry `/metrics` renders.
///
/// They take the registry explicitly rather than going through the process-wide `MetricsSystem`:
/// every test server gets a fresh registry and can scrape what it did. Each metric is registered with
/// one fixed name, type and help text, so several servers on one registry share the series instead of
/// tripping swift-prometheus's conflicting-registration trap. Labels are bounded: routes are templates
/// (`/v1/grants/{id}`), never raw paths; no key or principal ids.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// `pdx_rate_limited_total`: requests refused with 429.
    let rateLimited: Counter
    /// `pdx_http_active_requests`: requests whose head arrived and that are not answered yet.
    let activeRequests: Gauge
    private let endpoints = Mutex<[EndpointKey: Endpoint]>([:])
    private let usageEvents = Mutex<[UsageOutcome: Counter]>([:])

    private struct EndpointKey: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    private struct Endpoint {
        var requests: Counter
        var duration: DurationHistogram
    }

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        rateLimited = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "pdx", metricName: "rate_limited", unitName: "total",
            helpText: "Requests refused with 429 rate_limited."))
        activeRequests = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "pdx", subsystem: "http", metricName: "active_requests",
            helpText: "Requests being handled: their head arrived, their answer is not written yet."))
    }

    /// Counts one answered request and its duration under its route template.
    func recordRequest(route: String, method: HTTPRequest.Method, status: Int, duration: Duration) {
        let key = EndpointKey(route: route, method: method, status: status)
        let endpoint = endpoints.withLock { endpoints in
            if let endpoint = endpoints[key] { return endpoint }
            let labels = [("route", route), ("method", method.rawValue), ("status", String(status))]
            let endpoint = Endpoint(
                requests: registry.makeCounter(descriptor: MetricNameDescriptor(
                    namespace: "pdx", subsystem: "http", metricName: "requests", unitName: "total",
                    helpText: "HTTP requests answered, by route template, method and status."), labels: labels),
                duration: registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
                    namespace: "pdx", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                    helpText: "Time to answer an HTTP request, by route template, method and status."),
                    labels: labels, buckets: Self.durationBuckets))
            endpoints[key] = endpoint
            return endpoint
        }
        endpoint.requests.increment()
        endpoint.duration.record(duration)
    }

    /// `pdx_usage_events_total{outcome, code}`: usage events answered, by outcome and rejection code.
    func recordUsage(_ decision: UsageDecision) {
        // Counted by outcome first: one counter update per distinct outcome, not per event.
        var counts: [UsageOutcome: Int] = [:]
        for outcome in decision.outcomes { counts[outcome, default: 0] += 1 }
        for (outcome, count) in counts {
            usageCounter(outcome).increment(by: Int64(count))
        }
    }

    private func usageCounter(_ outcome: UsageOutcome) -> Counter {
        usageEvents.withLock { counters in
            if let counter = counters[outcome] { return counter }
            let labels = switch outcome {
            case .accepted: [("outcome", "accepted")]
            case .duplicate: [("outcome", "duplicate")]
            case .rejected(let why): [("outcome", "rejected"), ("code", why.rawValue)]
            }
            let counter = registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "pdx", subsystem: "usage", metricName: "events", unitName: "total",
                helpText: "Usage events answered, by outcome and rejection code."), labels: labels)
            counters[outcome] = counter
            return counter
        }
    }
}
