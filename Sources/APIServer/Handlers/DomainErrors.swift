import Marketplace
import Identity
import AuditLog
import HTTPTypes
import Licensing
import Persistence
import Settlement
import Vetting

/// How the domain's errors read over HTTP: the status for each stable code. Domain modules know
/// nothing of HTTP; this table is the only place their codes meet status codes.
enum DomainErrors {
    static func problem(for error: any Error) -> Problem? {
        switch error {
        case let error as AuditLogError:
            return Problem(status(forLogCode: error.code), code: error.code.rawValue, detail: error.detail,
                           retryAfter: error.code == .logReadOnly ? 60 : nil)
        case let error as MarketplaceError:
            return Problem(status(for: error.code), code: error.code.rawValue, detail: error.detail)
        case let error as IdentityError:
            return Problem(.unprocessableContent, code: error.code.rawValue, detail: error.detail)
        case let refusal as OperatorRefusal:
            let first = refusal.first
            let status: HTTPResponse.Status = switch first.code {
            case .selfReview, .reviewerWithoutAuthority, .suspendedByOther: .forbidden
            case .duplicateReviewer, .invalidTransition, .applicationExists, .secondAuthorityRequired: .conflict
            case .reasonRequired, .reasonTooLong, .criteriaNotMet: .unprocessableContent
            }
            return Problem(status, code: first.code.rawValue, detail: first.detail,
                           reasons: refusal.reasons.map { ($0.code.rawValue, $0.detail) })
        case let refusal as GrantRefusal:
            let first = refusal.first
            let status: HTTPResponse.Status = switch first.code {
            case .reviewerWithoutAuthority, .authorityNotParty, .suspendedByOther: .forbidden
            case .invalidTransition, .alreadyDecided: .conflict
            default: .unprocessableContent
            }
            return Problem(status, code: first.code.rawValue, detail: first.detail,
                           reasons: refusal.reasons.map { ($0.code.rawValue, $0.detail) })
        case let error as MerkleError:
            return Problem(.unprocessableContent, code: error.code, detail: error.detail)
        case let error as VettingError:
            let status: HTTPResponse.Status = switch error.code {
            case .concurrentUpdate, .operatorExists: .conflict
            case .operatorNotFound: .notFound
            case .replayFailed: .internalServerError
            default: error.code.rawValue == "authority_exists" ? .conflict : .unprocessableContent
            }
            return Problem(status, code: error.code.rawValue, detail: error.detail)
        case let error as LicensingError:
            let status: HTTPResponse.Status = switch error.code {
            case .concurrentUpdate, .datasetExists, .grantExists: .conflict
            case .grantNotFound: .notFound
            case .replayFailed: .internalServerError
            default: .unprocessableContent
            }
            return Problem(status, code: error.code.rawValue, detail: error.detail)
        case let error as SettlementError:
            let status: HTTPResponse.Status = switch error.code {
            case .periodNotEnded, .earlierPeriodOpen, .periodClosed: .conflict
            case .periodNotClosed: .notFound
            default: error.code.rawValue == "invalid_report" ? .internalServerError : .unprocessableContent
            }
            return Problem(status, code: error.code.rawValue, detail: error.detail)
        case is IdempotentRequestAnswered:
            // Caught by IdempotencyMiddleware, which replays the answer; should its read fail, the
            // retry gets it.
            return Problem(.conflict, code: "idempotency_in_progress",
                           detail: "Another run of this request has answered it; retry to get its answer.", retryAfter: 1)
        case let error as StorageError:
            switch error.code {
            case .databaseUnavailable:
                return Problem(.serviceUnavailable, code: error.code.rawValue,
                               detail: "The database is unavailable; nothing was written. Retry later.", retryAfter: 5)
            case .storageFull:
                return Problem(.serviceUnavailable, code: error.code.rawValue,
                               detail: "The database's storage is full; nothing was written. Retry later.", retryAfter: 30)
            case .storageReadOnly:
                return Problem(.serviceUnavailable, code: error.code.rawValue,
                               detail: "The database refuses writes; nothing was written. Retry later.", retryAfter: 30)
            case .uniqueViolation:
                return Problem(.conflict, code: "conflict", detail: "The resource already exists.")
            case .serializationFailure:
                return Problem(.serviceUnavailable, code: "retry", detail: "A concurrent change won; retry.", retryAfter: 1)
            default:
                return nil
            }
        default:
            return nil
        }
    }

    private static func status(for code: MarketplaceError.Code) -> HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .authorityNotParty, .operatorRequired: .forbidden
        case .alreadyRevoked, .selfRevocation, .alreadyErased: .conflict
        case .authorityNotFound, .eventsRequired, .batchTooLarge, .clockBackwards: .unprocessableContent
        }
    }

    private static func status(forLogCode code: AuditLogError.Code) -> HTTPResponse.Status {
        switch code {
        case .sizeOutOfRange, .indexOutOfRange: .unprocessableContent
        case .entryTooLarge, .invalidRecord: .unprocessableContent
        case .logReadOnly, .logInconsistent, .logCorrupt, .logRolledBack, .signingKeyRetired, .signingKeyMismatch: .serviceUnavailable
        case .keyRotationInProgress, .noKeyRotation: .conflict
        case .malformedEntry, .invalidConfiguration, .signingFailed: .internalServerError
        }
    }
}
