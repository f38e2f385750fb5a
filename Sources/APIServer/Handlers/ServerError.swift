import HTTPTypes

/// The HTTP layer's own refusals: what no domain module or service decides — a malformed request,
/// a missing key, a role that may not call an operation, limits, idempotency keys. Every code has
/// its status in one exhaustive switch, so a new code does not compile until it has one.
enum ServerCode: String, Sendable, CaseIterable {
    case invalidRequest = "invalid_request"
    case unauthenticated
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case notAcceptable = "not_acceptable"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case headersTooLarge = "headers_too_large"
    case rateLimited = "rate_limited"
    case authenticationRateLimited = "authentication_rate_limited"
    case serviceUnavailable = "service_unavailable"
    case internalError = "internal_error"
    /// A unique record written by a concurrent request.
    case conflict
    /// A concurrent change won; the request may be retried as it is.
    case retry
    case idempotencyInProgress = "idempotency_in_progress"
    /// `If-Match` names a revision the resource is no longer at.
    case preconditionFailed = "precondition_failed"
    case idempotencyKeyReused = "idempotency_key_reused"
    /// The key acts for no operator yet.
    case operatorRequired = "operator_required"
    /// The key's operator is suspended or revoked.
    case operatorSuspended = "operator_suspended"
    /// A reviewer names another authority to publish for.
    case authorityNotAllowed = "authority_not_allowed"
    /// An admin publishing names no authority.
    case authorityRequired = "authority_required"
    case awaitingNeedsReviewer = "awaiting_needs_reviewer"
    case grantRequired = "grant_required"
    case indexOutOfRange = "index_out_of_range"
    case invalidParty = "invalid_party"
    case invalidPeriod = "invalid_period"
    case invalidSubject = "invalid_subject"
    case reasonRequired = "reason_required"
    case reasonTooLong = "reason_too_long"

    var status: HTTPResponse.Status {
        switch self {
        case .invalidRequest: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden, .operatorRequired, .operatorSuspended, .authorityNotAllowed: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .notAcceptable: .notAcceptable
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .headersTooLarge: .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
        case .rateLimited, .authenticationRateLimited: .tooManyRequests
        case .serviceUnavailable, .retry: .serviceUnavailable
        case .internalError: .internalServerError
        case .conflict, .idempotencyInProgress: .conflict
        case .preconditionFailed: .preconditionFailed
        case .idempotencyKeyReused, .authorityRequired, .awaitingNeedsReviewer, .grantRequired, .indexOutOfRange,
             .invalidParty, .invalidPeriod, .invalidSubject, .reasonRequired, .reasonTooLong:
            .unprocessableContent
        }
    }
}

extension Problem {
    /// A problem with one of the server's own codes, at that code's status.
    init(_ code: ServerCode, _ detail: String, retryAfter: Int? = nil) {
        self.init(code.status, code: code.rawValue, detail: detail, retryAfter: retryAfter)
    }
}
