import Marketplace
import Identity
import AuditLog
import HTTPTypes
import Licensing
import Persistence
import Settlement
import Vetting
import Delivery

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
            return Problem(first.code.status, code: first.code.rawValue, detail: first.detail,
                           reasons: refusal.reasons.map { ($0.code.rawValue, $0.detail) })
        case let refusal as GrantRefusal:
            let first = refusal.first
            return Problem(first.code.status, code: first.code.rawValue, detail: first.detail,
                           reasons: refusal.reasons.map { ($0.code.rawValue, $0.detail) })
        case let error as MerkleError:
            return Problem(.unprocessableContent, code: error.code.rawValue, detail: error.detail)
        case let error as VettingError:
            return Problem(error.code.status, code: error.code.rawValue, detail: error.detail)
        case let error as LicensingError:
            return Problem(error.code.status, code: error.code.rawValue, detail: error.detail)
        case let error as SettlementError:
            return Problem(error.code.status, code: error.code.rawValue, detail: error.detail)
        case let refusal as UnresolvedDiscrepancies:
            return Problem(.conflict, code: UnresolvedDiscrepancies.code, detail: refusal.detail,
                           reasons: refusal.lines.map { ("discrepancy", UnresolvedDiscrepancies.describe($0)) })
        case let error as DataAccessError:
            return Problem(error.code.status, code: error.code.rawValue, detail: error.detail)
        case let error as ReleaseError:
            return Problem(error.code.status, code: error.code.rawValue, detail: error.detail)
        case is IdempotentRequestAnswered:
            // Caught by IdempotencyMiddleware, which replays the answer; should its read fail, the
            // retry gets it.
            return Problem(.idempotencyInProgress,
                           "Another run of this request has answered it; retry to get its answer.", retryAfter: 1)
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
                return Problem(.conflict, "The resource already exists.")
            case .serializationFailure:
                return Problem(.retry, "A concurrent change won; retry.", retryAfter: 1)
            case .databaseCorrupt, .foreignKeyViolation, .notNullViolation, .checkViolation, .constraintViolation,
                 .transactionAborted, .transactionClosed, .unexpectedData, .migrationFailed, .invalidConfiguration,
                 .queryFailed:
                // The server's own failure: answered 500 `internal_error`, the detail kept in the log.
                return nil
            }
        default:
            return nil
        }
    }

    static func status(for code: MarketplaceError.Code) -> HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .authorityNotParty, .operatorRequired: .forbidden
        case .alreadyRevoked, .selfRevocation, .alreadyErased: .conflict
        case .authorityNotFound, .eventsRequired, .batchTooLarge, .clockBackwards: .unprocessableContent
        case .actorNotFound, .actorInactive, .actorNotFinance: .unprocessableContent
        case .upstreamKeyMissing: .serviceUnavailable
        }
    }

    static func status(forLogCode code: AuditLogError.Code) -> HTTPResponse.Status {
        switch code {
        case .sizeOutOfRange, .indexOutOfRange: .unprocessableContent
        case .entryTooLarge, .invalidRecord: .unprocessableContent
        case .logReadOnly, .logInconsistent, .logCorrupt, .logRolledBack, .signingKeyRetired, .signingKeyMismatch: .serviceUnavailable
        case .keyRotationInProgress, .noKeyRotation: .conflict
        case .malformedEntry, .invalidConfiguration, .signingFailed: .internalServerError
        }
    }
}

// The status of every domain code, each an exhaustive switch: a code added to a module does not
// compile until it has a status here.

extension VettingErrorCode {
    var status: HTTPResponse.Status {
        switch self {
        case .concurrentUpdate, .operatorExists, .authorityExists: .conflict
        case .operatorNotFound: .notFound
        case .replayFailed: .internalServerError
        case .usccLength, .usccLowercase, .usccForbiddenCharacter, .usccRegionCode, .usccCheckCharacter,
             .legalNameRequired, .legalNameTooLong, .legalNameInvalid, .mlpsLevelOutOfRange,
             .securityOfficerNameRequired, .securityOfficerNameInvalid, .securityOfficerEmailInvalid,
             .certificationInvalid, .certificationDuplicate, .tooManyCertifications, .documentsRequired,
             .documentNameInvalid, .documentDigestInvalid, .documentDuplicate, .tooManyDocuments,
             .applicantRequired, .invalidAuthorityID, .invalidName, .invalidRegion, .invalidCursor:
            .unprocessableContent
        }
    }
}

extension VettingReason.Code {
    var status: HTTPResponse.Status {
        switch self {
        case .selfReview, .reviewerWithoutAuthority, .suspendedByOther: .forbidden
        case .duplicateReviewer, .invalidTransition, .applicationExists, .secondAuthorityRequired: .conflict
        case .reasonRequired, .reasonTooLong, .criteriaNotMet: .unprocessableContent
        }
    }
}

extension LicensingErrorCode {
    var status: HTTPResponse.Status {
        switch self {
        case .concurrentUpdate, .datasetExists, .grantExists: .conflict
        case .grantNotFound: .notFound
        case .replayFailed: .internalServerError
        case .invalidDatasetID, .invalidTitle, .invalidDescription, .invalidTheme, .fieldsRequired, .invalidFieldName,
             .duplicateField, .unknownField, .tooManyFields, .invalidFieldType, .fieldNotFilterable, .unitsRequired, .unknownUnit, .duplicateUnit,
             .unsupportedCurrency, .invalidPrice, .ceilingPricesMismatch, .revenueShareOutOfRange, .toleranceOutOfRange, .reasonRequired,
             .reasonTooLong, .invalidReason, .noChange, .invalidPurpose, .datasetsRequired, .tooManyDatasets, .duplicateDataset,
             .unitPricesRequired, .invalidQuota, .invalidPriceTiers, .invalidTerm, .unknownAgreement, .datasetNotFound,
             .agreementScenarioMismatch, .justificationRequired, .justificationTooLong, .invalidJustification,
             .justificationNotApplicable, .datasetNotInGrant, .invalidCursor, .invalidUpstreamURL, .invalidUpstreamCredential, .upstreamRequired, .upstreamNotApplicable,
             .upstreamAddressNotAllowed:
            .unprocessableContent
        }
    }
}

extension GrantReason.Code {
    var status: HTTPResponse.Status {
        switch self {
        case .reviewerWithoutAuthority, .authorityNotParty, .suspendedByOther: .forbidden
        case .invalidTransition, .alreadyDecided, .grantNotAmendable, .staleVersion, .pricesFixed: .conflict
        case .operatorNotActive, .tierInsufficient, .gradeCore, .opennessClosed, .priceAboveCeiling,
             .publicInterestPriced, .termTooLong, .termEnded, .unknownField, .unitNotOffered, .approvalRequired, .fieldSensitive,
             .periodAmountLimit, .operatorAmountLimit, .reasonRequired, .reasonTooLong, .invalidReason:
            .unprocessableContent
        }
    }
}

extension SettlementErrorCode {
    var status: HTTPResponse.Status {
        switch self {
        case .periodNotEnded, .earlierPeriodOpen, .periodClosed, .unresolvedDiscrepancies, .noDiscrepancy: .conflict
        case .periodNotClosed: .notFound
        case .invalidReport: .internalServerError
        case .invalidPeriod, .lineNotFound, .invalidAdjustment, .invalidRevenueCap, .reasonRequired, .reasonTooLong, .invalidReason,
             .amountOverflow, .invalidPlatformFee:
            .unprocessableContent
        }
    }
}

extension ReleaseError.Code {
    var status: HTTPResponse.Status {
        switch self {
        case .invalidCSV, .invalidNDJSON, .unknownColumn, .missingColumn, .duplicateColumn, .invalidValue, .rowTooLong,
             .emptyRelease, .invalidReleaseVersion:
            .unprocessableContent
        case .releaseTooLarge: .contentTooLarge
        case .releaseExists, .loadSuperseded: .conflict
        case .unsupportedMediaType: .unsupportedMediaType
        }
    }
}

extension DataAccessErrorCode {
    var status: HTTPResponse.Status {
        switch self {
        case .grantRequired, .unknownField, .invalidFields, .filterNotAllowed, .invalidFilter, .invalidCursor,
             .invalidUpstreamPath, .invalidUpstreamQuery: .badRequest
        case .fieldNotGranted, .grantNotOwned, .datasetNotInGrant, .unitNotGranted, .grantNotStarted, .grantExpired,
             .grantNotActive, .operatorNotActive, .quotaExceeded, .amountLimitExceeded: .forbidden
        case .grantNotFound, .releaseNotFound, .datasetNotFound: .notFound
        case .datasetNotServed, .periodClosed: .conflict
        case .meteringConflict, .upstreamCredentialUnavailable: .serviceUnavailable
        case .upstreamFailed, .upstreamRedirect, .upstreamMalformed, .upstreamTooLarge, .upstreamAddressNotAllowed: .badGateway
        case .upstreamTimeout: .gatewayTimeout
        }
    }
}
