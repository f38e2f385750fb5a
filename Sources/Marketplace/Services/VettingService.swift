public import AuditLog
public import Cryptography
public import Foundation
public import Identity
public import Licensing
public import Persistence
public import Vetting

/// Operators: applications, reviews, suspension, reinstatement, revocation, and what each does to
/// the operator's keys and grants. Each method is one transaction.
public struct VettingService: Sendable {
    public let context: ServiceContext
    public let lifecycle: OperatorLifecycle
    /// What an operator's change does to its grants.
    public let grants: GrantService

    public init(_ context: ServiceContext, lifecycle: OperatorLifecycle, grants: GrantService) {
        self.context = context
        self.lifecycle = lifecycle
        self.grants = grants
    }

    /// The roles that see a security officer's name and e-mail, in the API and the console;
    /// auditors and finance have no need.
    public static let officerReaders: Set<Role> = [.admin, .authorityReviewer, .operator]

    /// An application as the applicant sends it.
    public struct Application: Sendable {
        public var legalName: String
        public var uscc: String
        public var mlpsLevel: Int
        public var tier: OperatorTier
        public var officerName: String
        public var officerEmail: String
        public var certifications: [String]
        public var documents: [(name: String, sha256: String)]

        public init(legalName: String, uscc: String, mlpsLevel: Int, tier: OperatorTier, officerName: String,
                    officerEmail: String, certifications: [String], documents: [(name: String, sha256: String)]) {
            self.legalName = legalName
            self.uscc = uscc
            self.mlpsLevel = mlpsLevel
            self.tier = tier
            self.officerName = officerName
            self.officerEmail = officerEmail
            self.certifications = certifications
            self.documents = documents
        }
    }

    /// Submits `application` for the calling principal, which becomes bound to the new operator
    /// (`operator.applied`). The security officer's name and e-mail go to the personal-data store;
    /// the operator and the log keep commitments. Returns the operator and the officer's stored values.
    public func apply(
        _ application: Application, by applicant: Principal,
        alsoInTransaction finish: AlsoInTransaction<(Operator, [String: PersonalDatum])> = nothingMore
    ) async throws -> (operator: Operator, personal: [String: PersonalDatum]) {
        let id = "op_\(Hex.encode(try context.random.bytes(8)))"
        let now = context.clock.now()
        // Sealing first keeps the validation order of the body's fields.
        let officer = [
            try PersonalDatum.seal(application.officerName, subject: "operator:\(id)", field: "security_officer.name",
                                   at: now, random: context.random),
            try PersonalDatum.seal(application.officerEmail, subject: "operator:\(id)", field: "security_officer.email",
                                   at: now, random: context.random),
        ]
        let checked = try OperatorApplication(
            legalName: application.legalName, uscc: application.uscc, mlpsLevel: application.mlpsLevel,
            tier: application.tier,
            securityOfficer: SecurityOfficer(name: officer[0].reference, email: officer[1].reference),
            officerValues: (application.officerName, application.officerEmail),
            certifications: application.certifications,
            documents: application.documents,
            applicant: applicant.id)
        let personal = Dictionary(uniqueKeysWithValues: officer.map { ($0.id, $0) })
        let created: Operator = try await context.database.transaction { tx in
            let existing = [try await tx.latestOperator(appliedBy: applicant.id), try await tx.latestOperator(uscc: checked.uscc)]
                .compactMap { $0 }
            let change = try lifecycle.submit(checked, id: id, existing: existing, at: now).accepted()
            try await tx.insert(change.updated)
            try await tx.insertPersonalData(officer)
            try await tx.bindPrincipal(id: applicant.id, toOperator: id)
            _ = try await context.log.append(change.records, in: tx)
            try await finish((change.updated, personal), tx)
            return change.updated
        }
        return (created, personal)
    }

    /// A review: approve or reject (`operator.reviewed`, and `operator.approved` or `operator.rejected`
    /// when it decides).
    public func review(_ id: String, decision: ReviewDecision, reason: String?, by reviewer: Reviewer) async throws -> Operator {
        try await change(id) { [lifecycle] in lifecycle.review($0, by: reviewer, decision: decision, reason: reason, at: $1) }
    }

    /// Suspends the operator and its grants.
    public func suspend(_ id: String, reason: String?, by reviewer: Reviewer) async throws -> Operator {
        try await change(id) { [lifecycle] in lifecycle.suspend($0, by: reviewer, reason: reason, at: $1) }
    }

    /// Reinstates the operator and the grants its suspension suspended.
    public func reinstate(_ id: String, reason: String?, by reviewer: Reviewer) async throws -> Operator {
        try await change(id) { [lifecycle] in lifecycle.reinstate($0, by: reviewer, reason: reason, at: $1) }
    }

    /// Revokes the operator (or proposes it, when a second authority must agree); its keys and
    /// grants end with it.
    public func revoke(_ id: String, reason: String?, by reviewer: Reviewer) async throws -> Operator {
        try await change(id) { [lifecycle] in lifecycle.revoke($0, by: reviewer, reason: reason, at: $1) }
    }

    /// Reads the operator, asks the lifecycle for the change, and stores it with its log entries and
    /// its cascade in one transaction. A refusal writes nothing.
    private func change(_ id: String, _ step: @Sendable (Operator, Date) -> LifecycleOutcome) async throws -> Operator {
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let current = try await tx.operatorByID(id) else { throw MarketplaceError(.notFound, "No operator '\(id)'.") }
            let change = try step(current, now).accepted()
            try await tx.update(change.updated)
            _ = try await context.log.append(change.records, in: tx)
            switch change.cascade {
            case .revoke:
                // Its keys die with it; its grants follow below.
                let revoked = try await tx.revokePrincipals(boundToOperator: id, at: now)
                if !revoked.isEmpty {
                    _ = try await context.log.append(revoked.map {
                        IdentityRecords.principalRevoked($0, reason: "operator \(id) revoked", by: "system", also: ["operator:\(id)"])
                    }, in: tx)
                }
            case .suspend, .reinstate, .none:
                // A suspended operator's keys are refused at authorization while it stays suspended.
                break
            }
            try await grants.operatorChanged(change, in: tx, at: now)
            return change.updated
        }
    }
}
