import AuditLog
public import Foundation

/// One request's hold on an `Idempotency-Key`: whose key it is and the hash of the request it was
/// first used for.
public struct IdempotencyReservation: Sendable, Hashable {
    public let principalID: String
    public let key: String
    /// SHA-256 (hex) of the method, path and body of the request.
    public let requestHash: String

    public init(principalID: String, key: String, requestHash: String) {
        self.principalID = principalID
        self.key = key
        self.requestHash = requestHash
    }
}

/// The answer stored for an `Idempotency-Key`: what every retry gets, byte for byte.
public struct IdempotentAnswer: Sendable, Equatable {
    public let status: Int
    public let contentType: String
    public let body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// What a store remembers of an `Idempotency-Key` when a request arrives with it.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use, or a reservation left by a request that ended without an answer: the caller runs
    /// the request. Nothing was committed under the key, so running it is safe.
    case new
    /// The request already succeeded: this is its answer.
    case replay(IdempotentAnswer)
    /// The key was used for a different request.
    case mismatch
    /// The same request is running right now.
    case inProgress
}

/// Thrown by ``DatabaseTransaction/recordIdempotentAnswer(_:for:reservedAt:)`` when another run of the same
/// request committed its answer first: the transaction must roll back, so that its writes never
/// commit, and the caller answers with the stored answer.
public struct IdempotentRequestAnswered: Error, Sendable, Equatable {
    public init() {}
}

extension DatabaseReader {
    /// The answer stored for `reservation`'s key, if its request (the same one) has succeeded.
    public func idempotentAnswer(for reservation: IdempotencyReservation) async throws -> IdempotentAnswer? {
        let rows = try await context.query(
            "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE principal_id = $1 AND key = $2",
            [.text(reservation.principalID), .text(reservation.key)])
        guard let row = rows.first, try row.text(0) == reservation.requestHash, let status = try row.optionalInteger(1) else {
            return nil
        }
        return IdempotentAnswer(status: Int(status), contentType: try row.text(2), body: try row.blob(3))
    }
}

extension DatabaseTransaction {
    /// Reserves `reservation`'s key while its request runs. A reservation unanswered for longer
    /// than `staleAfter` is taken over: its request died or is still running, and either way at
    /// most one run can commit, because the answer commits with the request's writes
    /// (``recordIdempotentAnswer(_:for:reservedAt:)``).
    public func reserveIdempotencyKey(
        _ reservation: IdempotencyReservation, at now: Date, staleAfter: TimeInterval
    ) async throws -> IdempotencyClaim {
        let inserted = try await context.query(
            """
            INSERT INTO idempotency_keys (principal_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (principal_id, key) DO NOTHING RETURNING principal_id
            """,
            [.text(reservation.principalID), .text(reservation.key), .text(reservation.requestHash),
             .integer(Timestamp.milliseconds(now))])
        guard inserted.isEmpty else { return .new }
        let rows = try await context.query(
            "SELECT request_hash, status, content_type, body, created_at FROM idempotency_keys WHERE principal_id = $1 AND key = $2",
            [.text(reservation.principalID), .text(reservation.key)])
        // Released between the two statements by a run that failed: a retry will find it free.
        guard let row = rows.first else { return .inProgress }
        guard try row.text(0) == reservation.requestHash else { return .mismatch }
        if let status = try row.optionalInteger(1) {
            return .replay(IdempotentAnswer(status: Int(status), contentType: try row.text(2), body: try row.blob(3)))
        }
        let reservedAt = try row.integer(4)
        guard now.timeIntervalSince(Timestamp.date(milliseconds: reservedAt)) > staleAfter else { return .inProgress }
        // Conditional on the time read, so that of two retries taking over at once only one runs.
        let taken = try await context.query(
            """
            UPDATE idempotency_keys SET created_at = $3 \
            WHERE principal_id = $1 AND key = $2 AND status IS NULL AND created_at = $4 RETURNING principal_id
            """,
            [.text(reservation.principalID), .text(reservation.key), .integer(Timestamp.milliseconds(now)), .integer(reservedAt)])
        return taken.isEmpty ? .inProgress : .new
    }

    /// Stores `answer` as the answer to `reservation`'s request, in the transaction of the writes it
    /// answers: they commit together or not at all. Throws ``IdempotentRequestAnswered`` when
    /// another run of the request has committed its answer already.
    ///
    /// - Parameter reservedAt: when the request reserved the key (kept if the reservation was
    ///   released meanwhile).
    public func recordIdempotentAnswer(_ answer: IdempotentAnswer, for reservation: IdempotencyReservation,
                                       reservedAt: Date) async throws {
        // An upsert: the reservation may have been released meanwhile by a failed run.
        let stored = try await context.query(
            """
            INSERT INTO idempotency_keys (principal_id, key, request_hash, status, content_type, body, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7) \
            ON CONFLICT (principal_id, key) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, \
            body = excluded.body \
            WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = excluded.request_hash \
            RETURNING principal_id
            """,
            [.text(reservation.principalID), .text(reservation.key), .text(reservation.requestHash),
             .integer(Int64(answer.status)), .text(answer.contentType), .blob(answer.body),
             .integer(Timestamp.milliseconds(reservedAt))])
        guard !stored.isEmpty else { throw IdempotentRequestAnswered() }
    }

    /// Frees `reservation`'s key after its request failed, so that a corrected request may use it.
    /// Returns the stored answer instead when the request did succeed: another run of it committed,
    /// or this run's commit went through although its caller saw an error.
    public func releaseIdempotencyKey(_ reservation: IdempotencyReservation) async throws -> IdempotentAnswer? {
        try await context.execute(
            "DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND request_hash = $3 AND status IS NULL",
            [.text(reservation.principalID), .text(reservation.key), .text(reservation.requestHash)])
        return try await idempotentAnswer(for: reservation)
    }
}
