public import Foundation
public import AuditLog
public import Vetting

/// An operator's amendment of its grant, as received: the version it amends and what it changes.
/// Whether it is well formed is checked against the grant by
/// ``GrantLifecycle/amend(_:with:by:operator:datasets:agreement:at:committedPeriodMinor:platformFeeBPS:)``.
public struct GrantAmendment: Sendable, Hashable {
    /// The version the operator read and amends; another is `stale_version`.
    public var version: Int
    /// The new end of the term, or nil to keep it.
    public var endsAt: Date?
    /// Each dataset whose item changes, given in full (fields, prices, quotas, justifications) as
    /// in a request; the grant's other datasets keep theirs. Only datasets of the grant.
    public var items: [GrantRequest.Item]
    /// Why, for the reviewers and the log; optional.
    public var reason: String?

    public init(version: Int, endsAt: Date? = nil, items: [GrantRequest.Item] = [], reason: String? = nil) {
        self.version = version
        self.endsAt = endsAt
        self.items = items
        self.reason = reason
    }
}

extension GrantLifecycle {
    /// Amends a pending or suspended `grant` into its next version, re-run through every check of a
    /// new request. The new version's approvals start empty: a decision on an earlier version counts
    /// for none after it. It needs the approvals a new request would
    /// (``GrantPolicy/requiredApprovals(for:sensitiveFrom:)``), except that a grant that has been in
    /// force needs every providing authority's, so that no operator's change brings a suspended
    /// grant back without them. A version needing nobody is active at once; one of a grant that has
    /// been in force keeps the terms fixed at its first activation.
    ///
    /// Refused, with nothing changed: a grant neither pending nor suspended (`grant_not_amendable`),
    /// another version than the grant's (`stale_version`), new prices for a grant that has been in
    /// force (`prices_fixed`), and whatever the rules refuse, with every reason.
    ///
    /// - Throws: what a malformed request throws (``GrantRequest``'s shape, `justification_required`,
    ///   `justification_not_applicable`, `agreement_scenario_mismatch`), `dataset_not_in_grant` for a
    ///   dataset the grant does not include, `duplicate_dataset`, `no_change` when nothing changes.
    public func amend(
        _ grant: Grant, with amendment: GrantAmendment, by principalID: String, operator op: Operator,
        datasets: [String: Dataset], agreement: AgreementTemplate, at now: Date, committedPeriodMinor: Int128 = 0,
        platformFeeBPS: Int = PlatformFee.initialBPS
    ) throws(LicensingError) -> GrantOutcome {
        let now = Timestamp.normalized(now)
        let status = grant.status(at: now)
        guard status == .pending || status == .suspended else {
            return .refused([GrantReason(.grantNotAmendable,
                                         "the grant is \(status.rawValue); only a pending or suspended grant is amended, anything else is a new request")])
        }
        guard amendment.version == grant.version else {
            return .refused([GrantReason(.staleVersion,
                                         "the amendment is of version \(amendment.version) but the grant is at version \(grant.version); read it again")])
        }
        let (reason, refusal) = checkedReason(amendment.reason, required: false)
        if let refusal { return .refused([refusal]) }
        var replaced: [String: GrantRequest.Item] = [:]
        for (index, item) in amendment.items.enumerated() {
            guard grant.item(for: item.datasetID) != nil else {
                throw LicensingError(code: .datasetNotInGrant,
                                     detail: "datasets[\(index)] names a dataset this grant does not include; another set of datasets is a new request")
            }
            guard replaced.updateValue(item, forKey: item.datasetID) == nil else {
                throw LicensingError(code: .duplicateDataset, detail: "datasets[\(index)] repeats an earlier dataset")
            }
        }
        guard !replaced.isEmpty || amendment.endsAt != nil else {
            throw LicensingError(code: .noChange, detail: "an amendment changes datasets or ends_at")
        }
        let request = try GrantRequest(
            purpose: grant.purpose, scenario: grant.scenario, startsAt: grant.startsAt, endsAt: amendment.endsAt ?? grant.endsAt,
            agreementID: grant.agreement.id, agreementVersion: grant.agreement.version,
            items: grant.items.map { replaced[$0.datasetID] ?? Self.rawItem($0) }, policy: policy)
        guard agreement.id == grant.agreement.id, agreement.version == grant.agreement.version else {
            throw LicensingError(code: .unknownAgreement, detail: "the agreement does not match the grant")
        }
        guard agreement.governs(grant.scenario) else {
            throw LicensingError(code: .agreementScenarioMismatch,
                                 detail: "agreement '\(agreement.id)' version '\(agreement.version)' does not govern \(grant.scenario.rawValue)")
        }
        var requested: [Dataset] = []
        for (index, item) in request.items.enumerated() {
            guard let dataset = datasets[item.datasetID] else {
                throw LicensingError(code: .datasetNotFound, detail: "no dataset '\(item.datasetID)' in the catalog")
            }
            try Self.checkJustifications(item, dataset, at: "datasets[\(index)]")
            requested.append(dataset)
        }
        let items = zip(request.items, grant.items).map { item, before in
            GrantItem(datasetID: item.datasetID, authorityID: before.authorityID, fields: item.fields,
                      unitPrices: item.unitPrices, priceTiers: item.priceTiers, quotas: item.quotas,
                      justifications: item.justifications)
        }
        guard items != grant.items || request.endsAt != grant.endsAt else {
            throw LicensingError(code: .noChange, detail: "the amendment changes nothing")
        }
        if grant.hasBeenActive,
           let changed = zip(items, grant.items).first(where: { $0.unitPrices != $1.unitPrices || $0.priceTiers != $1.priceTiers })?.0 {
            return .refused([GrantReason(.pricesFixed, dataset: changed.datasetID,
                                         "the grant has been in force, so its prices for '\(changed.datasetID)' are fixed; new prices are a new request")])
        }
        let reasons = policy.evaluate(request, operator: op, datasets: datasets, at: now, committedPeriodMinor: committedPeriodMinor)
        guard reasons.isEmpty else { return .refused(reasons) }

        let required = approvalsForAmendment(of: grant, items: items, datasets: requested)
        var next = grant
        next.earlierVersions.append(grant.currentVersion)
        next.items = items
        next.endsAt = request.endsAt
        next.version += 1
        next.approvals = required.map { Approval(authorityID: $0, decision: nil, reviewerID: nil, reason: nil, at: nil) }
        next.reasons = []
        next.suspensionCause = nil
        next.suspendedBy = nil
        move(&next, .amended, to: .pending, by: principalID, reason: reason, at: now)
        var records = [LicensingRecords.amended(next, from: grant, approvalsRequired: required, outcome: required.isEmpty ? .active : .pending)]
        if required.isEmpty {
            // Only a grant never in force gets here, so its terms are the ones in force now.
            next.terms = next.currentTerms(datasets: datasets, platformFeeBPS: platformFeeBPS)
            move(&next, .activated, to: .active, by: GrantLifecycle.system, reason: nil, at: now, bump: false)
            records.append(LicensingRecords.activated(next, via: "automatic"))
        }
        return .changed(GrantChange(updated: next, records: records))
    }

    /// An item as a request would give it: what an amendment keeps for a dataset it leaves alone.
    static func rawItem(_ item: GrantItem) -> GrantRequest.Item {
        GrantRequest.Item(
            datasetID: item.datasetID, fields: item.fields,
            unitPrices: Dictionary(uniqueKeysWithValues: item.unitPrices.filter { item.priceTiers[$0.key] == nil }
                .map { ($0.key.rawValue, $0.value.description) }),
            priceTiers: Dictionary(uniqueKeysWithValues: item.priceTiers.map { unit, steps in
                (unit.rawValue, steps.map { GrantRequest.RawTier(upTo: $0.upTo, unitPrice: $0.unitPrice.description) })
            }),
            quotas: Dictionary(uniqueKeysWithValues: item.quotas.map { ($0.key.rawValue, $0.value) }),
            justifications: item.justifications)
    }

    /// Whom an amendment of `grant` into `items` must ask, as ``amend(_:with:by:operator:datasets:agreement:at:committedPeriodMinor:platformFeeBPS:)``
    /// decides: every providing authority once the grant has been in force, else what a new request
    /// of `datasets` would need.
    public func approvalsForAmendment(of grant: Grant, items: [GrantItem], datasets: [Dataset]) -> [String] {
        if grant.hasBeenActive { return grant.authorityIDs }
        let sensitive = Set(items.filter { !$0.justifications.isEmpty }.map(\.datasetID))
        return policy.requiredApprovals(for: datasets, sensitiveFrom: sensitive)
    }
}
