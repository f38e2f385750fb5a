public import AuditLog
public import Cryptography
public import Foundation
public import Identity
public import Licensing
public import Persistence
public import Vetting

/// Grants: requests, decisions, suspension, reinstatement, revocation, and what an operator's or a
/// dataset's change does to them. Each public method is one transaction.
///
/// Lock order: a transaction that writes grants appends to the log first (locking the log head) and
/// writes grants after (locking the grant generation). Every writer taking the two in the same order
/// is what keeps concurrent writers on PostgreSQL from deadlocking.
public struct GrantService: Sendable {
    public let context: ServiceContext
    public let lifecycle: GrantLifecycle
    public let agreements: AgreementCatalog

    public init(_ context: ServiceContext, lifecycle: GrantLifecycle, agreements: AgreementCatalog) {
        self.context = context
        self.lifecycle = lifecycle
        self.agreements = agreements
    }

    /// Requests a grant for the caller's operator (`grant.requested`, and `grant.approved` when the
    /// policy approves it at once).
    public func request(
        _ request: GrantRequest, by caller: Principal,
        alsoInTransaction finish: AlsoInTransaction<Grant> = nothingMore
    ) async throws -> Grant {
        guard let operatorID = caller.operatorID else {
            throw MarketplaceError(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        guard let agreement = agreements.template(id: request.agreementID, version: request.agreementVersion) else {
            throw LicensingError(code: .unknownAgreement,
                                 detail: "no agreement template '\(request.agreementID)' version '\(request.agreementVersion)' (GET /v1/agreements)")
        }
        let id = "gr_\(Hex.encode(try context.random.bytes(8)))"
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let owner = try await tx.operatorByID(operatorID) else {
                throw MarketplaceError(.operatorRequired, "The operator this key acts for does not exist.")
            }
            var datasets: [String: Dataset] = [:]
            for item in request.items {
                datasets[item.datasetID] = try await tx.dataset(id: item.datasetID)
            }
            // What the operator's grants that are not over could already charge a period: one
            // operator's grants together are bounded, so that no operator can make a close overflow.
            let committed = try await tx.grants(ofOperator: owner.id, statuses: [.pending, .active, .suspended])
                .reduce(Int128(0)) { $0 + $1.periodAmountBound }
            // The head first, as a fee change takes it: the fee read here is the one in force at
            // this grant's place in the log.
            _ = try await tx.lockHead()
            let fee = try await tx.platformFee().bps
            let change = try lifecycle.request(request, id: id, operator: owner, requestedBy: caller.id,
                                               datasets: datasets, agreement: agreement, at: now, committedPeriodMinor: committed,
                                               platformFeeBPS: fee)
            _ = try await context.log.append(change.records, in: tx)
            try await tx.insertGrant(change.updated)
            try await finish(change.updated, tx)
            return change.updated
        }
    }

    /// The operator's amendment of its own pending or suspended grant (`grant.amended`, and
    /// `grant.activated` when the new version needs nobody's approval). Another operator's grant is
    /// `not_found`, as it is to read.
    public func amend(
        _ id: String, with amendment: GrantAmendment, by caller: Principal,
        alsoInTransaction finish: AlsoInTransaction<Grant> = nothingMore
    ) async throws -> Grant {
        guard let operatorID = caller.operatorID else {
            throw MarketplaceError(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let current = try await tx.grant(id: id), current.operatorID == operatorID else {
                throw MarketplaceError(.notFound, "No grant '\(id)'.")
            }
            guard let agreement = agreements.template(id: current.agreement.id, version: current.agreement.version) else {
                throw LicensingError(code: .unknownAgreement,
                                     detail: "no agreement template '\(current.agreement.id)' version '\(current.agreement.version)' (GET /v1/agreements)")
            }
            let (owner, datasets) = try await Self.context(of: current, in: tx)
            // What the operator's other grants could charge a period, as for a request.
            let committed = try await tx.grants(ofOperator: owner.id, statuses: [.pending, .active, .suspended])
                .filter { $0.id != current.id }
                .reduce(Int128(0)) { $0 + $1.periodAmountBound }
            _ = try await tx.lockHead()
            let fee = try await tx.platformFee().bps
            let change = try lifecycle.amend(current, with: amendment, by: caller.id, operator: owner, datasets: datasets,
                                             agreement: agreement, at: now, committedPeriodMinor: committed, platformFeeBPS: fee).accepted()
            _ = try await context.log.append(change.records, in: tx)
            try await tx.updateGrant(change.updated)
            try await finish(change.updated, tx)
            return change.updated
        }
    }

    /// A providing authority's decision on a pending grant.
    public func decide(_ id: String, decision: GrantDecision, reason: String?, by caller: Principal) async throws -> Grant {
        try await step(id, by: caller) { [lifecycle] grant, actor, owner, datasets, fee, now in
            lifecycle.decide(grant, by: actor, decision: decision, reason: reason, operator: owner, datasets: datasets, at: now,
                             platformFeeBPS: fee)
        }
    }

    public func suspend(_ id: String, reason: String?, by caller: Principal) async throws -> Grant {
        try await step(id, by: caller) { [lifecycle] grant, actor, _, _, _, now in
            lifecycle.suspend(grant, by: actor, reason: reason, at: now)
        }
    }

    public func reinstate(_ id: String, reason: String?, by caller: Principal) async throws -> Grant {
        try await step(id, by: caller) { [lifecycle] grant, actor, owner, datasets, _, now in
            lifecycle.reinstate(grant, by: actor, reason: reason, operator: owner, datasets: datasets, at: now)
        }
    }

    public func revoke(_ id: String, reason: String?, by caller: Principal) async throws -> Grant {
        try await step(id, by: caller) { [lifecycle] grant, actor, _, _, _, now in
            lifecycle.revoke(grant, by: actor, reason: reason, at: now)
        }
    }

    /// One lifecycle step on grant `id` by `caller`, who must be able to see it; the grant as it now is.
    private func step(
        _ id: String, by caller: Principal,
        _ decide: @Sendable (Grant, Reviewer, Operator, [String: Dataset], Int, Date) -> GrantOutcome
    ) async throws -> Grant {
        let actor = Reviewer(principal: caller)
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let current = try await tx.grant(id: id), Self.mayRead(current, caller) else {
                throw MarketplaceError(.notFound, "No grant '\(id)'.")
            }
            let (owner, datasets) = try await Self.context(of: current, in: tx)
            // The head before the fee, as in request: an activation takes the fee in force at its place in the log.
            _ = try await tx.lockHead()
            let fee = try await tx.platformFee().bps
            let change = try decide(current, actor, owner, datasets, fee, now).accepted()
            _ = try await context.log.append(change.records, in: tx)
            try await tx.updateGrant(change.updated)
            return change.updated
        }
    }

    // MARK: cascades

    /// Applies an operator's suspension, reinstatement or revocation to its grants, inside the
    /// operator change's transaction.
    package func operatorChanged(_ change: LifecycleChange, in tx: DatabaseTransaction, at now: Date) async throws {
        guard change.cascade != .none else { return }
        let owner = change.updated
        let reason = owner.history.last?.reason ?? "no reason given"
        for grant in try await tx.grants(ofOperator: owner.id, statuses: [.active, .suspended, .pending]) {
            let (_, datasets) = try await Self.context(of: grant, in: tx)
            guard let step = lifecycle.operatorChanged(grant, cascade: change.cascade, operator: owner, datasets: datasets,
                                                       reason: reason, at: now) else { continue }
            _ = try await context.log.append(step.records, in: tx)
            try await tx.updateGrant(step.updated)
        }
    }

    /// Applies a stricter reclassification or repricing of `dataset` to the grants that use it,
    /// inside the dataset change's transaction; the grants it changed.
    package func datasetChanged(_ dataset: Dataset, reason: String, by reviewer: Reviewer, in tx: DatabaseTransaction,
                                at now: Date) async throws -> [Grant] {
        var affected: [Grant] = []
        for (_, step) in try await cascade(of: dataset, reason: reason, by: reviewer, in: tx, at: now) {
            _ = try await context.log.append(step.records, in: tx)
            try await tx.updateGrant(step.updated)
            affected.append(step.updated)
        }
        return affected
    }

    /// What `dataset`, as it would be after a change, does to the grants that use it: each grant the
    /// change suspends or denies, as it is and as it would be after. Reads only; ``datasetChanged(_:reason:by:in:at:)``
    /// applies exactly these steps, so a preview and the change cannot disagree.
    package func cascade(of dataset: Dataset, reason: String, by reviewer: Reviewer, in reader: DatabaseReader,
                         at now: Date) async throws -> [(before: Grant, step: GrantChange)] {
        let statuses: Set<GrantStatus> = [.active, .pending]
        let grants = try await reader.grants(withDataset: dataset.id, statuses: statuses)
        guard !grants.isEmpty else { return [] }
        // Three statements in all, not two per grant: a change touching 900 grants is previewed while
        // a person waits.
        var (operators, datasets) = try await reader.context(ofGrantsWithDataset: dataset.id, statuses: statuses)
        datasets[dataset.id] = dataset
        var steps: [(before: Grant, step: GrantChange)] = []
        for grant in grants {
            // A grant committed between the statements (a PostgreSQL transaction reads committed rows)
            // has its context read on its own.
            let owner: Operator
            if let known = operators[grant.operatorID] {
                owner = known
            } else {
                owner = try await Self.context(of: grant, in: reader).0
            }
            var itsDatasets: [String: Dataset] = [:]
            for item in grant.items {
                if let known = datasets[item.datasetID] {
                    itsDatasets[item.datasetID] = known
                } else {
                    itsDatasets[item.datasetID] = try await reader.dataset(id: item.datasetID)
                }
            }
            guard let step = lifecycle.datasetChanged(grant, datasets: itsDatasets, operator: owner, by: reviewer,
                                                      reason: reason, at: now) else { continue }
            steps.append((grant, step))
        }
        return steps
    }

    // MARK: shared

    /// The grant's operator and datasets as they are now, with `replacing` in place of the stored copy.
    static func context(of grant: Grant, in tx: DatabaseReader, replacing changed: Dataset? = nil) async throws -> (Operator, [String: Dataset]) {
        guard let owner = try await tx.operatorByID(grant.operatorID) else {
            throw LicensingError(code: .replayFailed, detail: "grant \(grant.id) names a missing operator")
        }
        var datasets: [String: Dataset] = [:]
        for item in grant.items {
            if let changed, changed.id == item.datasetID {
                datasets[item.datasetID] = changed
            } else {
                datasets[item.datasetID] = try await tx.dataset(id: item.datasetID)
            }
        }
        return (owner, datasets)
    }

    /// An operator reads only its own grants, a reviewer only those its authority takes part in.
    public static func mayRead(_ grant: Grant, _ caller: Principal) -> Bool {
        switch caller.role {
        case .operator: caller.operatorID == grant.operatorID
        case .authorityReviewer: caller.authorityID.map(grant.authorityIDs.contains) ?? false
        case .admin, .auditor, .finance: true
        }
    }
}

extension Reviewer {
    /// The principal as the lifecycles see an actor: its id and the authority it acts for.
    public init(principal: Principal) {
        self.init(principalID: principal.id, authorityID: principal.authorityID)
    }
}
