import Marketplace
import Identity
import HTTPTypes
import OpenAPIRuntime

/// Every operation of the contract, named by its `operationId`.
enum Operation: String, CaseIterable, Sendable {
    case getCheckpoint, listEntries, getInclusionProof, getConsistencyProof
    case getTestClock, advanceTestClock
    case createAuthority, listAuthorities, getAuthority
    case createPrincipal, listPrincipals, getPrincipal, revokePrincipal
    case listPersonalData, erasePersonalData
    case applyAsOperator, listOperators, getOperator, reviewOperator
    case suspendOperator, reinstateOperator, revokeOperator
    case publishDataset, listDatasets, getDataset, updateDataset, listAgreements
    case requestGrant, listGrants, getGrant, decideGrant, suspendGrant, reinstateGrant, revokeGrant, amendGrant, listGrantVersions
    case reportUsage, getUsageSummary, reportProviderUsage
    case setRevenueCap, getRevenueCap, listRevenueCaps
    case getPlatformFee, setPlatformFee
    case getSettlement, closeSettlement, getSettlementReport, addAdjustment, listAdjustments
    case getReconciliation, acknowledgeDiscrepancy
    case loadRelease, listReleases
    case readRecords, downloadReleaseFile, readUpstream
}

/// Who may call what: the one table of role permissions. Which rows a permitted caller then sees is
/// decided by the handler (an operator sees only itself; a reviewer acts for its own authority).
enum Authorization {
    static let everyone = Set(Role.allCases)

    static let table: [Operation: Set<Role>] = [
        .getCheckpoint: everyone,
        .listEntries: [.auditor, .admin],
        .getInclusionProof: [.auditor, .admin],
        .getConsistencyProof: [.auditor, .admin],
        .getTestClock: everyone,
        .advanceTestClock: [.admin],
        .createAuthority: [.admin],
        .listAuthorities: everyone,
        .getAuthority: everyone,
        .createPrincipal: [.admin],
        .listPrincipals: [.admin],
        .getPrincipal: [.admin],
        .revokePrincipal: [.admin],
        .listPersonalData: [.admin],
        .erasePersonalData: [.admin],
        .applyAsOperator: [.operator],
        .listOperators: everyone,
        .getOperator: everyone,
        .reviewOperator: [.authorityReviewer],
        .suspendOperator: [.authorityReviewer, .admin],
        .reinstateOperator: [.authorityReviewer, .admin],
        .revokeOperator: [.authorityReviewer, .admin],
        .publishDataset: [.authorityReviewer, .admin],
        .listDatasets: everyone,
        .getDataset: everyone,
        .updateDataset: [.authorityReviewer, .admin],
        .listAgreements: everyone,
        .requestGrant: [.operator],
        .listGrants: everyone,
        .getGrant: everyone,
        .decideGrant: [.authorityReviewer],
        .suspendGrant: [.authorityReviewer, .admin],
        .reinstateGrant: [.authorityReviewer, .admin],
        .revokeGrant: [.authorityReviewer, .admin],
        .amendGrant: [.operator],
        .listGrantVersions: everyone,
        .reportUsage: [.operator],
        .getUsageSummary: [.operator, .authorityReviewer, .finance, .admin],
        // The providing authority's reviewers report its own counts, as they publish its datasets.
        .reportProviderUsage: [.authorityReviewer],
        .getReconciliation: [.finance, .authorityReviewer, .operator],
        .acknowledgeDiscrepancy: [.finance],
        .setRevenueCap: [.finance, .admin],
        .getSettlement: [.finance, .admin, .auditor],
        .closeSettlement: [.finance],
        .getSettlementReport: [.finance, .admin, .auditor, .operator, .authorityReviewer],
        .addAdjustment: [.finance],
        .listAdjustments: [.finance, .admin, .auditor],
        .getRevenueCap: [.finance, .admin, .auditor, .operator],
        .listRevenueCaps: [.finance, .admin, .auditor],
        .getPlatformFee: [.admin, .finance, .auditor],
        .setPlatformFee: [.admin],
        .loadRelease: [.authorityReviewer, .admin],
        .listReleases: everyone,
        .readRecords: [.operator],
        .downloadReleaseFile: [.operator],
        .readUpstream: [.operator],
    ]

    /// What an operator principal may still do while its operator is suspended or revoked.
    static let allowedWhileBlocked: Set<Operation> = [
        .getOperator, .listOperators, .getCheckpoint, .listAuthorities, .getAuthority, .listDatasets, .getDataset, .listAgreements,
        .listGrants, .getGrant, .listGrantVersions, .getUsageSummary, .getSettlementReport, .getRevenueCap,
        .listReleases, .getReconciliation,
    ]

    /// The caller, if its role may perform `operation`; 401 without a caller, 403 otherwise.
    /// True when `role` may call `operation`: the table's answer, for the API and the console alike.
    static func permits(_ role: Role, _ operation: Operation) -> Bool {
        table[operation, default: []].contains(role)
    }

    static func require(_ operation: Operation) throws -> Principal {
        let principal = try RequestPrincipal.require()
        guard permits(principal.role, operation) else {
            throw Problem.forbidden("The role \(principal.role.rawValue) may not call \(operation.rawValue).")
        }
        if principal.operatorBlocked, !allowedWhileBlocked.contains(operation) {
            throw Problem(.operatorSuspended,
                          "The operator this key acts for is suspended or revoked.")
        }
        return principal
    }
}

/// Applies the role table before the request body is decoded, so a caller without the role learns
/// nothing about what a valid body would be: it gets 403 whatever it sent.
struct AuthorizationMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if let operation = Operation(rawValue: operationID), RequestPrincipal.current != nil {
            _ = try Authorization.require(operation)
        }
        return try await next(request, body, metadata)
    }
}
