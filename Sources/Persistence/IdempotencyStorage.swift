import AuditLog
public import Foundation

/// What a store remembers of an `Idempotency-Key`.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use (or an abandoned earlier one): the caller runs the request and then completes or
    /// releases the key.
    case new
    /// The request already succeeded: this is its answer.
    case replay(status: Int, contentType: String, body: [UInt8])
    /// The key was used for a different request.
    case mismatch
    /// The same request is running right now.
    case inProgress
}

extension DatabaseTransaction {
    /// Claims `key` for `principalID`'s request with `requestHash`. A claim left unfinished for longer
    /// than `staleAfter` (its process died) may be taken over.
    public func claimIdempotencyKey(
        principalID: String, key: String, requestHash: String, at now: Date, staleAfter: TimeInterval
    ) async throws -> IdempotencyClaim {
        let rows = try await context.query(
            "SELECT request_hash, status, content_type, body, created_at FROM idempotency_keys WHERE principal_id = $1 AND key = $2",
            [.text(principalID), .text(key)])
        guard let row = rows.first else {
            try await context.execute(
                "INSERT INTO idempotency_keys (principal_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)",
                [.text(principalID), .text(key), .text(requestHash), .integer(Timestamp.milliseconds(now))])
            return .new
        }
        guard try row.text(0) == requestHash else { return .mismatch }
        if let status = try row.optionalInteger(1) {
            return .replay(status: Int(status), contentType: try row.text(2), body: try row.blob(3))
        }
        let claimedAt = Timestamp.date(milliseconds: try row.integer(4))
        guard now.timeIntervalSince(claimedAt) > staleAfter else { return .inProgress }
        try await context.execute(
            "UPDATE idempotency_keys SET created_at = $3 WHERE principal_id = $1 AND key = $2",
            [.text(principalID), .text(key), .integer(Timestamp.milliseconds(now))])
        return .new
    }

    /// Stores the answer of a request that succeeded under `key`.
    public func completeIdempotencyKey(principalID: String, key: String, status: Int, contentType: String, body: [UInt8]) async throws {
        try await context.execute(
            "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE principal_id = $1 AND key = $2",
            [.text(principalID), .text(key), .integer(Int64(status)), .text(contentType), .blob(body)])
    }

    /// Forgets `key` after its request failed, so that a corrected retry may use it.
    public func releaseIdempotencyKey(principalID: String, key: String) async throws {
        try await context.execute(
            "DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND status IS NULL",
            [.text(principalID), .text(key)])
    }
}
