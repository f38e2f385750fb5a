#if OTLP
import Logging
import OTel
import ServiceLifecycle

/// Spans exported over OTLP/HTTP, in a build with the `OTLP` trait (`swift build --traits OTLP`).
///
/// Configured by OpenTelemetry's own environment variables, so it fits a collector's usual setup:
/// nothing is bootstrapped unless `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; `OTEL_SERVICE_NAME` (default `pdx`),
/// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER` and the rest are read by swift-otel. Only
/// traces: the metrics stay on `/metrics` and the log on standard error. The caller's `traceparent`
/// is read with W3C Trace Context propagation.
enum OTLPTracing {
    /// The exporter's service, to run beside the server; nil when no endpoint is configured.
    static func bootstrap(environment: [String: String], logger: Logger) throws -> (any Service)? {
        guard environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil else {
            return nil
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "pdx"
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.diagnosticLogger = .custom(logger)
        let service = try OTel.bootstrap(configuration: configuration, environment: environment)
        logger.notice("exporting spans over OTLP/HTTP")
        return service
    }
}
#endif
