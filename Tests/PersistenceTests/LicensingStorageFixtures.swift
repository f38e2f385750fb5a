import Identity
import AuditLog
import Foundation
import Licensing
@testable import Persistence
import Testing
import Vetting

/// Datasets, operators and grants for the licensing storage tests, made through the Licensing
/// module's own `Catalog` and `GrantLifecycle`, so that what is stored is what the marketplace stores.
enum LicensingSamples {
    static let catalog = Catalog()
    static let lifecycle = GrantLifecycle()
    static let agreement = AgreementCatalog.builtIn.template(id: "standard-data-use", version: "1")!

    /// A reviewer of `authority`, who publishes and decides for it.
    static func reviewer(_ authority: String) -> Reviewer {
        Reviewer(principalID: "principal-\(authority)-reviewer", authorityID: authority)
    }

    /// A platform admin: may suspend and revoke any grant.
    static let admin = Reviewer(principalID: "principal-admin", authorityID: nil)

    /// Dataset `id` of `authority`, published `seconds` after `Samples.start`: three fields (one
    /// sensitive), metered in calls and records.
    static func dataset(
        _ id: String, authority: String = "bj", theme: String = "traffic", openness: Openness = .open,
        grade: Grade = .general, title: String? = nil, description: String = "", at seconds: Double = 0
    ) throws -> Dataset {
        let draft = DatasetDraft(
            title: title ?? "Dataset \(id)", description: description, theme: theme, openness: openness, grade: grade,
            fields: [
                .init(name: "road_id", type: "string", sensitive: false),
                .init(name: "flow", type: "integer", sensitive: false),
                .init(name: "plate", type: "string", sensitive: true),
            ],
            units: ["record", "call"], currency: "CNY", ceilingPrices: ["call": "0.05", "record": "0.000125"],
            revenueShareBPS: 3000, delivery: .declared)
        return try catalog.publish(draft, id: id, authorityID: authority, by: reviewer(authority), at: Samples.time(seconds)).updated
    }

    /// `dataset` changed by its authority's reviewer `seconds` after `Samples.start`.
    static func changed(_ dataset: Dataset, _ update: DatasetUpdate, at seconds: Double) throws -> CatalogChange {
        try catalog.update(dataset, with: update, by: reviewer(dataset.authorityID), at: Samples.time(seconds))
    }

    /// Operator `id`, approved one second after `Samples.start` for a year; `enhanced` may use
    /// `important` data.
    static func approvedOperator(_ id: String = "op-1", uscc: Int = 1, tier: OperatorTier = .enhanced) throws -> Operator {
        let vetting = OperatorLifecycle()
        var current = try Samples.submitted(id, uscc: uscc, tier: tier, applicant: "principal-\(id)")
        current = try #require(vetting.review(current, by: Samples.alice, decision: .approve, reason: nil, at: Samples.time(1)).change).updated
        if tier == .enhanced {
            current = try #require(vetting.review(current, by: Samples.bob, decision: .approve, reason: nil, at: Samples.time(1)).change).updated
        }
        try #require(current.isActive(at: Samples.time(2)))
        return current
    }

    /// Grant `id` of `operator` for `datasets` (two fields and calls of each), requested
    /// `seconds` after `Samples.start` for a term starting then and lasting `days`: active at once
    /// when every dataset is open, pending when one is not, denied when the rules refuse it.
    static func requested(
        _ id: String, operator op: Operator, datasets: [Dataset], at seconds: Double = 10, days: Double = 90,
        scenario: Scenario = .industry
    ) throws -> Grant {
        let start = Samples.time(seconds)
        let agreement = AgreementCatalog.builtIn.templates.first { $0.governs(scenario) }!
        let request = try GrantRequest(
            purpose: "交通规划研究 / traffic planning", scenario: scenario, startsAt: start,
            endsAt: start.addingTimeInterval(days * 86_400), agreementID: agreement.id, agreementVersion: agreement.version,
            items: datasets.map {
                GrantRequest.Item(datasetID: $0.id, fields: ["road_id", "flow"],
                                  unitPrices: ["call": scenario == .publicInterest ? "0" : "0.01"], quotas: ["call": 100_000])
            })
        return try lifecycle.request(
            request, id: id, operator: op, requestedBy: "principal-\(op.id)",
            datasets: Dictionary(uniqueKeysWithValues: datasets.map { ($0.id, $0) }), agreement: agreement, at: start
        ).updated
    }

    /// `grant` suspended by an admin `seconds` after `Samples.start`.
    static func suspended(_ grant: Grant, at seconds: Double) throws -> Grant {
        try #require(lifecycle.suspend(grant, by: admin, reason: "audit pending", at: Samples.time(seconds)).change).updated
    }

    /// A grant with every optional part set: two conditional datasets of two authorities, approved
    /// by both (one with a reason), then suspended by a reclassification with reasons that name a
    /// dataset. Also returns its operator and the datasets as they are afterwards.
    static func fullyPopulated(_ id: String = "gr-full") throws -> (grant: Grant, operator: Operator, datasets: [Dataset]) {
        let op = try approvedOperator()
        let traffic = try dataset("bj-traffic", authority: "bj", openness: .conditional)
        let port = try dataset("tj-port", authority: "tj", theme: "logistics", openness: .conditional, grade: .important)
        let byID = [traffic.id: traffic, port.id: port]
        var grant = try requested(id, operator: op, datasets: [traffic, port])
        try #require(grant.status == .pending)
        grant = try #require(lifecycle.decide(grant, by: reviewer("bj"), decision: .approve, reason: " fits the purpose ",
                                              operator: op, datasets: byID, at: Samples.time(20.5)).change).updated
        grant = try #require(lifecycle.decide(grant, by: reviewer("tj"), decision: .approve, reason: nil,
                                              operator: op, datasets: byID, at: Samples.time(30)).change).updated
        try #require(grant.status == .active)
        let core = try changed(traffic, DatasetUpdate(grade: .core, reason: "reclassified as core data"), at: 40)
        try #require(core.isStricter)
        grant = try #require(lifecycle.datasetChanged(grant, datasets: [traffic.id: core.updated, port.id: port], operator: op,
                                                      by: reviewer("bj"), reason: "reclassified as core data",
                                                      at: Samples.time(40))).updated
        try #require(grant.status == .suspended && grant.suspensionCause == .dataset)
        return (grant, op, [core.updated, port])
    }

    /// A query of the grant check for `grant`'s operator, first dataset and calls.
    static func query(_ grant: Grant, at time: Date) -> GrantCheckQuery {
        GrantCheckQuery(operatorID: grant.operatorID, grantID: grant.id, datasetID: grant.items[0].datasetID, unit: .call, time: time)
    }
}
