import AuditLog
import HTTPTypes

/// How the domain's errors read over HTTP: the status for each stable code. Domain modules know
/// nothing of HTTP; this table is the only place their codes meet status codes.
enum DomainErrors {
    static func problem(for error: any Error) -> Problem? {
        switch error {
        case let error as AuditLogError:
            return Problem(status(forLogCode: error.code), code: error.code.rawValue, detail: error.detail,
                           retryAfter: error.code == .logReadOnly ? 60 : nil)
        case let error as MerkleError:
            return Problem(.unprocessableContent, code: error.code, detail: error.detail)
        default:
            return StorageErrors.problem(for: error)
        }
    }

    private static func status(forLogCode code: AuditLogError.Code) -> HTTPResponse.Status {
        switch code {
        case .sizeOutOfRange, .indexOutOfRange: .unprocessableContent
        case .entryTooLarge, .invalidRecord: .unprocessableContent
        case .logReadOnly, .logInconsistent, .logCorrupt: .serviceUnavailable
        case .malformedEntry, .invalidConfiguration, .signingFailed: .internalServerError
        }
    }
}
