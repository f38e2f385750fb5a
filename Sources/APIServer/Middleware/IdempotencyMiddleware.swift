import Identity
import AuditLog
import Cryptography
import Foundation
import Marketplace
import HTTPTypes
import OpenAPIRuntime
import Persistence
import Synchronization

/// `Idempotency-Key` on creating POSTs: a retried request with the same key and body gets the first
/// answer again, byte for byte, and creates nothing; the same key with another body is refused.
///
/// The middleware reserves the key before the handler runs (a concurrent duplicate gets 409
/// `idempotency_in_progress`) and replays stored answers. The handler records its answer in the
/// transaction of its writes (``IdempotencyScope``), so a key is answered exactly when the request's
/// effect committed: a run that fails, or dies, leaves the key free for a retry, and of two runs of
/// one request only one can commit (`Docs/design/0009-idempotency.md`). Keys are per principal and
/// kept forever.
struct IdempotencyMiddleware: ServerMiddleware {
    /// The operations whose contract takes an `Idempotency-Key`: every creating POST.
    static let operations: Set<String> = [
        Operation.createAuthority.rawValue, Operation.createPrincipal.rawValue, Operation.applyAsOperator.rawValue,
        Operation.publishDataset.rawValue, Operation.requestGrant.rawValue, Operation.amendGrant.rawValue, Operation.reportUsage.rawValue,
        Operation.addAdjustment.rawValue, Operation.reportProviderUsage.rawValue, Operation.acknowledgeDiscrepancy.rawValue,
    ]
    /// A reservation unanswered for this long is taken over by a retry: its request died, or is
    /// still running, and then whichever run commits first answers and the other rolls back.
    static let staleAfter: TimeInterval = 30
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    let database: any Database
    let clock: ServerClock

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard Self.operations.contains(operationID), let key = request.headerFields[Self.header],
              let principal = RequestPrincipal.current
        else { return try await next(request, body, metadata) }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Problem.invalidRequest("'Idempotency-Key' must be 1–255 printable ASCII characters without spaces.")
        }
        // The body was already collected and limited in size by BodyLimitMiddleware.
        let bytes = try await body.asyncMap { try await [UInt8](collecting: $0, upTo: 64 << 20) } ?? []
        let hasher = SHA256()
        hasher.update("\(request.method.rawValue) \(request.path ?? "")\n")
        hasher.update(bytes)
        let reservation = IdempotencyReservation(principalID: principal.id, key: key, requestHash: hasher.finalize().hex)

        let now = clock.now()
        let claim = try await database.transaction { tx in
            try await tx.reserveIdempotencyKey(reservation, at: now, staleAfter: Self.staleAfter)
        }
        switch claim {
        case .replay(let answer):
            return Self.response(answer, replayed: true)
        case .mismatch:
            throw Problem(.idempotencyKeyReused,
                          "This Idempotency-Key was used for a different request.")
        case .inProgress:
            throw Problem(.idempotencyInProgress,
                          "A request with this Idempotency-Key is still running.", retryAfter: 1)
        case .new:
            break
        }

        let scope = IdempotencyScope(reservation: reservation, reservedAt: now)
        let handled: (HTTPResponse, HTTPBody?)
        do {
            handled = try await IdempotencyScope.$current.withValue(scope) {
                // The collected bytes, never `body` again: it may be iterated only once (an empty body too).
                try await next(request, body == nil ? nil : HTTPBody(bytes), metadata)
            }
        } catch {
            // Another run answered first (this one rolled back), or this run's commit went through
            // although an error came back: the stored answer is the request's answer.
            if let answer = try? await database.transaction({ try await $0.releaseIdempotencyKey(reservation) }) {
                return Self.response(answer, replayed: true)
            }
            throw error
        }
        if let recorded = scope.recorded {
            // The stored bytes, not the handler's encoding of them: the first answer and every
            // replay are the same bytes. Only an answer shown once (a new API key) differs.
            return recorded.servedNow ? Self.response(recorded.answer, replayed: false) : handled
        }
        // Nothing was recorded, so nothing was created: free the key for another try.
        if let answer = try await database.transaction({ try await $0.releaseIdempotencyKey(reservation) }) {
            return Self.response(answer, replayed: true)
        }
        return handled
    }

    static func response(_ answer: IdempotentAnswer, replayed: Bool) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: .init(code: answer.status))
        response.headerFields[.contentType] = answer.contentType
        if replayed { response.headerFields[replayedHeader] = "true" }
        return (response, HTTPBody(answer.body))
    }
}

/// The `Idempotency-Key` reservation of the request being handled, and the answer its handler
/// recorded in the transaction of its writes.
final class IdempotencyScope: Sendable {
    /// The scope of the request this task handles; nil when it carries no key.
    @TaskLocal static var current: IdempotencyScope?

    /// What a JSON answer's `Content-Type` is, as the generated handlers write it.
    static let jsonContentType = "application/json; charset=utf-8"

    let reservation: IdempotencyReservation
    let reservedAt: Date
    private let answer = Mutex<(answer: IdempotentAnswer, servedNow: Bool)?>(nil)

    init(reservation: IdempotencyReservation, reservedAt: Date) {
        self.reservation = reservation
        self.reservedAt = reservedAt
    }

    /// The answer recorded, and whether the first answer is it (false: the handler's own answer
    /// shows something a replay must not).
    var recorded: (answer: IdempotentAnswer, servedNow: Bool)? { answer.withLock { $0 } }

    /// Stores `answer` as the request's answer in `tx`; throws ``IdempotentRequestAnswered`` when
    /// another run of the request committed first, which rolls `tx` back.
    func record(_ answer: IdempotentAnswer, in tx: DatabaseTransaction, servedNow: Bool = true) async throws {
        try await tx.recordIdempotentAnswer(answer, for: reservation, reservedAt: reservedAt)
        self.answer.withLock { $0 = (answer, servedNow) }
    }

    /// Records `value` as the JSON answer with `status` of the current request, if it carries a key,
    /// in `tx`: encoded as the generated handlers encode their answers.
    static func recordJSON(_ status: HTTPResponse.Status, _ value: some Encodable, in tx: DatabaseTransaction,
                           servedNow: Bool = true) async throws {
        guard let scope = current else { return }
        let encoder = JSONEncoder()
        // The generated server's settings (`buildRouter`): sorted keys, RFC 3339 dates.
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try RFC3339Transcoder().encode(date))
        }
        let body = [UInt8](try encoder.encode(value))
        try await scope.record(IdempotentAnswer(status: status.code, contentType: jsonContentType, body: body),
                               in: tx, servedNow: servedNow)
    }
}
