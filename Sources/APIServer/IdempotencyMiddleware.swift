import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Persistence

/// `Idempotency-Key` on creating POSTs: a retried request with the same key and body gets the first
/// answer again and creates nothing; the same key with another body is refused.
///
/// The key is claimed before the handler runs (a concurrent duplicate gets 409
/// `idempotency_in_progress`), completed with the answer when the handler succeeds, and released when it
/// fails, so that a corrected request may reuse it. Keys are per principal and kept forever.
struct IdempotencyMiddleware: ServerMiddleware {
    /// The operations whose contract takes an `Idempotency-Key`.
    static let operations: Set<String> = [
        Operation.createAuthority.rawValue, Operation.createPrincipal.rawValue, Operation.applyAsOperator.rawValue,
    ]
    /// A claim unfinished for this long belongs to a request whose process died.
    static let staleAfter: TimeInterval = 120
    static let header = HTTPField.Name("Idempotency-Key")!

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
        let requestHash = hasher.finalize().hex

        let claim = try await database.transaction { tx in
            try await tx.claimIdempotencyKey(principalID: principal.id, key: key, requestHash: requestHash,
                                             at: clock.now(), staleAfter: Self.staleAfter)
        }
        switch claim {
        case .replay(let status, let contentType, let stored):
            var response = HTTPResponse(status: .init(code: status))
            response.headerFields[.contentType] = contentType
            response.headerFields[HTTPField.Name("Idempotent-Replayed")!] = "true"
            return (response, HTTPBody(stored))
        case .mismatch:
            throw Problem(.unprocessableContent, code: "idempotency_key_reused",
                          detail: "This Idempotency-Key was used for a different request.")
        case .inProgress:
            throw Problem(.conflict, code: "idempotency_in_progress",
                          detail: "A request with this Idempotency-Key is still running.", retryAfter: 1)
        case .new:
            break
        }

        let response: HTTPResponse
        let answer: [UInt8]
        do {
            let (head, responseBody) = try await next(request, bytes.isEmpty ? body : HTTPBody(bytes), metadata)
            response = head
            answer = try await responseBody.asyncMap { try await [UInt8](collecting: $0, upTo: 16 << 20) } ?? []
        } catch {
            try? await database.transaction { try await $0.releaseIdempotencyKey(principalID: principal.id, key: key) }
            throw error
        }
        guard response.status.kind == .successful else {
            try? await database.transaction { try await $0.releaseIdempotencyKey(principalID: principal.id, key: key) }
            return (response, HTTPBody(answer))
        }
        let remembered = operationID == Operation.createPrincipal.rawValue ? Self.withoutAPIKey(answer) : answer
        try await database.transaction { tx in
            try await tx.completeIdempotencyKey(
                principalID: principal.id, key: key, status: response.status.code,
                contentType: response.headerFields[.contentType] ?? "application/json", body: remembered)
        }
        return (response, HTTPBody(answer))
    }

    /// A created principal's answer without its API key: keys are never stored, so a replay cannot
    /// show it again.
    static func withoutAPIKey(_ body: [UInt8]) -> [UInt8] {
        guard var object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return body }
        object["api_key"] = "(shown only in the first answer; revoke this principal and create another if it was lost)"
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return body }
        return [UInt8](data)
    }
}
