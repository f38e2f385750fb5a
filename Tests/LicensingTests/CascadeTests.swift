import AuditLog
import Foundation
import Licensing
import Testing
import Vetting

@Suite("Cascades: operator changes")
struct OperatorCascadeTests {
    let lifecycle = GrantLifecycle()

    /// An active grant (open Beijing dataset) and a pending one (conditional Tianjin dataset) of
    /// the same operator.
    func grants() throws -> (Market, active: Grant, pending: Grant) {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("tj-a", authority: "tj", openness: .conditional)],
                            operator: try Operators.approved())
        let active = try market.request([item("bj-a")], id: "g-active").updated
        let pending = try market.request([item("tj-a")], id: "g-pending").updated
        #expect(active.status == .active && pending.status == .pending)
        return (market, active, pending)
    }

    func cascade(_ grant: Grant, _ change: LifecycleChange, _ market: Market, at now: Date) -> GrantChange? {
        lifecycle.operatorChanged(grant, cascade: change.cascade, operator: change.updated, datasets: market.datasets,
                                  reason: "security incident", at: now)
    }

    @Test("an operator's suspension suspends its active grants, with the operator as the cause")
    func suspend() throws {
        let (market, active, pending) = try grants()
        let suspension = try Operators.suspend(market.op, at: Clock.day(1))
        #expect(suspension.cascade == .suspend)
        let change = try #require(cascade(active, suspension, market, at: Clock.day(1)))
        #expect(change.updated.status == .suspended)
        #expect(change.updated.suspensionCause == .operator)
        #expect(change.updated.revision == 2)
        #expect(change.updated.history.last?.actor == GrantLifecycle.system)
        #expect(actions(change.records) == ["grant.suspended"])
        #expect(change.records[0].data["cause"] == "operator")
        #expect(change.records[0].data["authority_id"] == .null)
        #expect(change.records[0].data["reason"]?.stringValue?.contains("security incident") == true)
        #expect(change.records[0].actor == GrantLifecycle.system)
        // A pending grant waits; its final approval will find the operator inactive.
        #expect(cascade(pending, suspension, market, at: Clock.day(1)) == nil)
    }

    @Test("a grant already suspended by an authority keeps that cause through the operator's suspension")
    func suspendAlreadySuspended() throws {
        let (market, active, _) = try grants()
        let byAuthority = try #require(lifecycle.suspend(active, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        let suspension = try Operators.suspend(market.op, at: Clock.day(2))
        #expect(cascade(byAuthority, suspension, market, at: Clock.day(2)) == nil)
    }

    @Test("the operator's reinstatement reinstates only grants suspended by its suspension")
    func reinstate() throws {
        let (market, active, _) = try grants()
        let other = try market.request([item("bj-a")], id: "g-other").updated
        let suspension = try Operators.suspend(market.op, at: Clock.day(1))
        let byOperator = try #require(cascade(active, suspension, market, at: Clock.day(1))).updated
        let byAuthority = try #require(lifecycle.suspend(other, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        #expect(cascade(byAuthority, suspension, market, at: Clock.day(1)) == nil)

        let reinstatement = try Operators.reinstate(suspension.updated, at: Clock.day(3))
        #expect(reinstatement.cascade == .reinstate)
        let change = try #require(cascade(byOperator, reinstatement, market, at: Clock.day(3)))
        #expect(change.updated.status == .active)
        #expect(change.updated.suspensionCause == nil)
        #expect(actions(change.records) == ["grant.reinstated"])
        #expect(change.records[0].data["cause"] == "operator")
        #expect(change.updated.activeSpans == [
            ActiveSpan(from: Clock.start, until: Clock.day(1)), ActiveSpan(from: Clock.day(3), until: Term.end),
        ])
        #expect(cascade(byAuthority, reinstatement, market, at: Clock.day(3)) == nil, "an authority's suspension stays")
    }

    @Test("the operator's reinstatement leaves a grant suspended while the rules no longer allow it")
    func reinstateRechecks() throws {
        var (market, active, _) = try grants()
        let suspension = try Operators.suspend(market.op, at: Clock.day(1))
        let byOperator = try #require(cascade(active, suspension, market, at: Clock.day(1))).updated
        market.replace(try Datasets.updated(market.datasets["bj-a"]!, DatasetUpdate(grade: .core, reason: "reclassified")).updated)
        let reinstatement = try Operators.reinstate(suspension.updated, at: Clock.day(3))
        #expect(cascade(byOperator, reinstatement, market, at: Clock.day(3)) == nil)
    }

    @Test("the operator's revocation revokes active and suspended grants and denies pending ones")
    func revoke() throws {
        let (market, active, pending) = try grants()
        let suspended = try #require(lifecycle.suspend(
            try market.request([item("bj-a")], id: "g-suspended").updated, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        let revocation = try Operators.revoke(market.op, at: Clock.day(2))
        #expect(revocation.cascade == .revoke)

        let revokedActive = try #require(cascade(active, revocation, market, at: Clock.day(2)))
        #expect(revokedActive.updated.status == .revoked)
        #expect(revokedActive.records[0].data["from_status"] == "active")
        #expect(revokedActive.records[0].data["cause"] == "operator")

        let revokedSuspended = try #require(cascade(suspended, revocation, market, at: Clock.day(2)))
        #expect(revokedSuspended.updated.status == .revoked)
        #expect(revokedSuspended.updated.suspensionCause == nil)
        #expect(revokedSuspended.records[0].data["from_status"] == "suspended")

        let denied = try #require(cascade(pending, revocation, market, at: Clock.day(2)))
        #expect(denied.updated.status == .denied)
        #expect(denied.updated.reasons.map(\.code) == [.operatorNotActive])
        #expect(denied.updated.revision == 2)
        #expect(denied.updated.history.last?.reason == "operator op-1 revoked: security incident")
        #expect(actions(denied.records) == ["grant.denied"])
        #expect(denied.records[0].data["by"] == "operator")
        #expect(denied.records[0].data["reasons"]?[0]?["code"] == "operator_not_active")

        #expect(cascade(denied.updated, revocation, market, at: Clock.day(2)) == nil)
        #expect(cascade(revokedActive.updated, revocation, market, at: Clock.day(2)) == nil)
    }

    @Test("no cascade changes nothing")
    func none() throws {
        let (market, active, pending) = try grants()
        for grant in [active, pending] {
            #expect(lifecycle.operatorChanged(grant, cascade: .none, operator: market.op, datasets: market.datasets, reason: "x", at: Clock.day(1)) == nil)
        }
    }
}

@Suite("Cascades: stricter datasets")
struct DatasetCascadeTests {
    let lifecycle = GrantLifecycle()

    func cascade(_ grant: Grant, _ market: Market, reason: String = "reclassified by the authority", at now: Date = Clock.day(1)) -> GrantChange? {
        let reviewer = People.bj
        return lifecycle.datasetChanged(grant, datasets: market.datasets, operator: market.op, by: reviewer, reason: reason, at: now)
    }

    /// `market` with dataset `id` changed by `update`; the change must be stricter.
    func stricter(_ market: inout Market, _ id: String, _ update: DatasetUpdate) throws {
        let change = try Datasets.updated(try #require(market.datasets[id]), update)
        #expect(change.isStricter)
        market.replace(change.updated)
    }

    @Test("open → conditional suspends a grant approved automatically, for want of approval")
    func openToConditionalAutomatic() throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let grant = try market.request([item("bj-a")]).updated
        try stricter(&market, "bj-a", DatasetUpdate(openness: .conditional, reason: "r"))
        let change = try #require(cascade(grant, market))
        #expect(change.updated.status == .suspended)
        #expect(change.updated.suspensionCause == .dataset)
        #expect(change.updated.reasons.map(\.code) == [.approvalRequired])
        #expect(change.updated.reasons.first?.datasetID == "bj-a")
        #expect(change.updated.history.last == GrantStatusChange(
            action: .suspended, from: .active, to: .suspended, at: Clock.day(1), actor: "principal-bj", reason: "reclassified by the authority"))
        #expect(actions(change.records) == ["grant.suspended"])
        let record = change.records[0]
        #expect(record.data["cause"] == "dataset")
        #expect(record.data["authority_id"] == "bj")
        #expect(record.data["reason"] == "reclassified by the authority")
        #expect(record.data["reasons"] == [
            ["code": "approval_required", "dataset_id": "bj-a", "detail": .string(change.updated.reasons[0].detail)],
        ])
    }

    @Test("open → conditional leaves a grant every authority co-approved in force")
    func openToConditionalCoApproved() throws {
        var market = Market([
            try Datasets.published("bj-a", openness: .conditional), try Datasets.published("tj-a", authority: "tj"),
        ], operator: try Operators.approved())
        var track = Track(try market.request([item("bj-a"), item("tj-a")]))
        try track.apply(market.decide(track.grant, by: People.bj, .approve))
        try track.apply(market.decide(track.grant, by: People.tj, .approve))
        #expect(track.grant.status == .active)
        try stricter(&market, "tj-a", DatasetUpdate(openness: .conditional, reason: "r"))
        #expect(cascade(track.grant, market) == nil)
    }

    @Test("conditional → closed suspends even a co-approved grant")
    func conditionalToClosed() throws {
        var market = Market([try Datasets.published("bj-a", openness: .conditional)], operator: try Operators.approved())
        var track = Track(try market.request([item("bj-a")]))
        try track.apply(market.decide(track.grant, by: People.bj, .approve))
        try stricter(&market, "bj-a", DatasetUpdate(openness: .closed, reason: "r"))
        let change = try #require(cascade(track.grant, market))
        #expect(change.updated.status == .suspended)
        #expect(change.updated.reasons.map(\.code) == [.opennessClosed])
        #expect(change.records[0].data["reasons"]?[0]?["code"] == "openness_closed")
    }

    @Test("general → important suspends a standard operator's grant but not an enhanced one's", arguments: OperatorTier.allCases)
    func generalToImportant(_ tier: OperatorTier) throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved(tier: tier))
        let grant = try market.request([item("bj-a")]).updated
        try stricter(&market, "bj-a", DatasetUpdate(grade: .important, reason: "r"))
        let change = cascade(grant, market)
        if tier == .standard {
            #expect(change?.updated.status == .suspended)
            #expect(change?.updated.reasons.map(\.code) == [.tierInsufficient])
            #expect(change?.records.first?.data["reasons"]?[0]?["code"] == "tier_insufficient")
        } else {
            #expect(change == nil)
        }
    }

    @Test("important → core suspends every grant", arguments: OperatorTier.allCases)
    func importantToCore(_ tier: OperatorTier) throws {
        var market = Market([try Datasets.published("bj-a", grade: tier == .enhanced ? .important : .general)],
                            operator: try Operators.approved(tier: tier))
        let grant = try market.request([item("bj-a")]).updated
        #expect(grant.status == .active)
        try stricter(&market, "bj-a", DatasetUpdate(grade: .core, reason: "r"))
        #expect(cascade(grant, market)?.updated.reasons.map(\.code) == [.gradeCore])
    }

    @Test("a ceiling lowered below the grant's price suspends it; lowered to the price does not", arguments: [
        ("0.039999", true), ("0.03", true), ("0.04", false),
    ])
    func ceilingLowered(_ ceiling: String, _ suspends: Bool) throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let grant = try market.request([item("bj-a", prices: ["call": "0.04"])]).updated
        try stricter(&market, "bj-a", DatasetUpdate(ceilingPrices: ["call": ceiling], reason: "r"))
        let change = cascade(grant, market)
        if suspends {
            #expect(change?.updated.status == .suspended)
            #expect(change?.updated.reasons.map(\.code) == [.priceAboveCeiling])
            #expect(change?.records.first?.data["reasons"]?[0]?["dataset_id"] == "bj-a")
        } else {
            #expect(change == nil)
        }
    }

    @Test("a lowered ceiling of a unit the grant does not use leaves it in force")
    func otherUnitCeiling() throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let grant = try market.request([item("bj-a", prices: ["call": "0.04"])]).updated
        try stricter(&market, "bj-a", DatasetUpdate(ceilingPrices: ["record": "0.0001"], reason: "r"))
        #expect(cascade(grant, market) == nil)
    }

    @Test("a pending grant the rules no longer allow is denied with the reasons")
    func pendingDenied() throws {
        var market = Market([
            try Datasets.published("bj-a", openness: .conditional), try Datasets.published("tj-a", authority: "tj"),
        ], operator: try Operators.approved())
        let grant = try market.request([item("bj-a"), item("tj-a")]).updated
        try stricter(&market, "tj-a", DatasetUpdate(openness: .closed, reason: "r"))
        let change = try #require(cascade(grant, market, reason: "withdrawn from operation"))
        #expect(change.updated.status == .denied)
        #expect(change.updated.reasons.map(\.code) == [.opennessClosed])
        #expect(change.updated.revision == 2)
        #expect(actions(change.records) == ["grant.denied"])
        #expect(change.records[0].data["by"] == "dataset")
        #expect(change.records[0].data["reason"] == "withdrawn from operation")
        #expect(change.records[0].data["reasons"]?[0]?["dataset_id"] == "tj-a")
    }

    @Test("a pending grant is not denied merely for lacking approvals it is still collecting")
    func pendingStillCollecting() throws {
        var market = Market([
            try Datasets.published("bj-a", openness: .conditional), try Datasets.published("tj-a", authority: "tj"),
        ], operator: try Operators.approved())
        let grant = try market.request([item("bj-a"), item("tj-a")]).updated
        try stricter(&market, "tj-a", DatasetUpdate(openness: .conditional, reason: "r"))
        #expect(cascade(grant, market) == nil)
    }

    @Test("suspended, denied and revoked grants are left alone")
    func finalOrSuspended() throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let active = try market.request([item("bj-a")]).updated
        let suspended = try #require(lifecycle.suspend(active, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        let revoked = try #require(lifecycle.revoke(active, by: People.bj, reason: "misuse", at: Clock.day(1)).change).updated
        try stricter(&market, "bj-a", DatasetUpdate(openness: .closed, reason: "r"))
        #expect(cascade(suspended, market, at: Clock.day(2)) == nil)
        #expect(cascade(revoked, market, at: Clock.day(2)) == nil)
    }

    @Test("a grant suspended by a dataset is reinstated once the rules allow it again")
    func reinstateAfterLoosening() throws {
        var market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        var track = Track(try market.request([item("bj-a")]))
        try stricter(&market, "bj-a", DatasetUpdate(grade: .important, reason: "r"))
        try track.apply(cascade(track.grant, market))
        #expect(codes(market.reinstate(track.grant, by: People.bj, at: Clock.day(2))) == [.tierInsufficient])
        market.replace(try Datasets.updated(market.datasets["bj-a"]!, DatasetUpdate(grade: .general, reason: "undo"), at: Clock.day(2)).updated)
        let change = try track.apply(market.reinstate(track.grant, by: People.bj, at: Clock.day(3)))
        #expect(change.updated.status == .active)
        #expect(change.updated.reasons.isEmpty)
        #expect(change.records[0].data["cause"] == "dataset")
    }
}
