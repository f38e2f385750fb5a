internal import Tracing

/// The spans a transaction opens: one for the whole transaction, a child for its commit.
///
/// Started and ended by hand rather than with `withSpan`, so the transaction's body runs on its
/// caller's executor as before. Both are no-ops until a tracer is bootstrapped (`pdx serve` built
/// with the `OTLP` trait, or a test's recording tracer); the transaction span's parent is the span
/// of the request or usage commit that opened it.
struct TransactionSpans {
    private let transaction: any Span

    /// - Parameters:
    ///   - system: `postgresql` or `sqlite` (OpenTelemetry's `db.system`).
    ///   - readOnly: a read transaction (`db.read`) rather than a write (`db.transaction`).
    init(system: String, readOnly: Bool) {
        transaction = startSpan(readOnly ? "db.read" : "db.transaction", ofKind: .client)
        transaction.attributes["db.system"] = system
    }

    /// Runs `commit` in a `db.commit` span.
    nonisolated(nonsending) func commit(_ commit: nonisolated(nonsending) () async throws -> Void) async throws {
        let span = startSpan("db.commit", context: transaction.context, ofKind: .client)
        defer { span.end() }
        do {
            try await commit()
        } catch {
            span.recordError(error)
            throw error
        }
    }

    /// Ends the transaction's span, marking it failed with `error` if there is one.
    func end(failure error: (any Error)? = nil) {
        if let error {
            transaction.recordError(error)
            transaction.setStatus(SpanStatus(code: .error))
        }
        transaction.end()
    }
}
