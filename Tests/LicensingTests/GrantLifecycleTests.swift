import AuditLog
import Foundation
import Licensing
import Testing
import Vetting

@Suite("Grant lifecycle: requests")
struct GrantRequestLifecycleTests {
    @Test("a request of open datasets only is active at once, approved automatically")
    func automatic() throws {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("tj-a", authority: "tj")],
                            operator: try Operators.approved())
        let change = try market.request([item("bj-a"), item("tj-a", fields: ["flow"])])
        let grant = change.updated
        #expect(grant.status == .active)
        #expect(grant.approvals.isEmpty)
        #expect(grant.reasons.isEmpty)
        #expect(grant.revision == 1)
        #expect(grant.id == "g-1")
        #expect(grant.operatorID == "op-1")
        #expect(grant.requestedBy == People.requester)
        #expect(grant.requestedAt == Clock.start)
        #expect(grant.items.map(\.authorityID) == ["bj", "tj"])
        #expect(grant.items[1].fields == ["flow"])
        #expect(grant.authorityIDs == ["bj", "tj"])
        #expect(grant.currency == .cny)
        #expect(grant.history == [
            GrantStatusChange(action: .requested, from: nil, to: .pending, at: Clock.start, actor: People.requester, reason: nil),
            GrantStatusChange(action: .activated, from: .pending, to: .active, at: Clock.start, actor: GrantLifecycle.system, reason: nil),
        ])
        #expect(actions(change.records) == ["grant.requested", "grant.activated"])
        #expect(change.records[1].data["via"] == "automatic")
        #expect(change.records[1].data["approvals"] == [])
        #expect(change.records[1].actor == GrantLifecycle.system)
    }

    @Test("Beijing and Tianjin datasets, one conditional: pending with one slot per providing authority")
    func pendingForEveryAuthority() throws {
        let market = Market([
            try Datasets.published("bj-traffic-flow", openness: .conditional),
            try Datasets.published("tj-air-quality", authority: "tj"),
        ], operator: try Operators.approved())
        let change = try market.request([item("bj-traffic-flow"), item("tj-air-quality")])
        #expect(change.updated.status == .pending)
        #expect(change.updated.approvals == [
            Approval(authorityID: "bj", decision: nil, reviewerID: nil, reason: nil, at: nil),
            Approval(authorityID: "tj", decision: nil, reviewerID: nil, reason: nil, at: nil),
        ])
        #expect(actions(change.records) == ["grant.requested"])
        #expect(change.records[0].data["approvals_required"] == ["bj", "tj"])
        #expect(change.updated.activeSpans.isEmpty)
    }

    @Test("the issue's scenario: active only when both Beijing and Tianjin approve")
    func coApproval() throws {
        let market = Market([
            try Datasets.published("bj-traffic-flow", openness: .conditional),
            try Datasets.published("tj-traffic-flow", authority: "tj", openness: .conditional),
        ], operator: try Operators.approved())
        var track = Track(try market.request([item("bj-traffic-flow"), item("tj-traffic-flow")]))
        #expect(track.grant.status == .pending)

        let first = try track.apply(market.decide(track.grant, by: People.tj, .approve, at: Clock.day(1)))
        #expect(first.updated.status == .pending)
        #expect(actions(first.records) == ["grant.decided"])
        #expect(first.updated.revision == 2)
        #expect(first.updated.approvals[1] == Approval(authorityID: "tj", decision: .approve, reviewerID: "principal-tj", reason: nil, at: Clock.day(1)))
        #expect(first.updated.approvals[0].decision == nil)

        let second = try track.apply(market.decide(track.grant, by: People.bj, .approve, reason: " ok ", at: Clock.day(2)))
        #expect(second.updated.status == .active)
        #expect(actions(second.records) == ["grant.decided", "grant.activated"])
        #expect(second.records[1].data["via"] == "co-approval")
        #expect(second.records[1].data["approvals"] == ["bj", "tj"])
        #expect(second.records[1].actor == "principal-bj")
        #expect(second.updated.approvals[0].reason == "ok")
        #expect(second.updated.revision == 3)
        #expect(second.updated.history.last == GrantStatusChange(
            action: .activated, from: .pending, to: .active, at: Clock.day(2), actor: "principal-bj", reason: nil))
        #expect(track.grant.activeSpans == [ActiveSpan(from: Clock.day(2), until: Term.end)])
    }

    @Test("a request the rules refuse is denied at once with every reason")
    func deniedByPolicy() throws {
        let market = Market([
            try Datasets.published("bj-closed", openness: .closed),
            try Datasets.published("tj-a", authority: "tj", openness: .conditional),
        ], operator: try Operators.approved())
        let change = try market.request([item("bj-closed"), item("tj-a", prices: ["call": "0.07"])])
        let grant = change.updated
        #expect(grant.status == .denied)
        #expect(grant.reasons.map(\.code) == [.opennessClosed, .priceAboveCeiling])
        #expect(grant.approvals.isEmpty, "nobody is asked to approve what the rules refuse")
        #expect(grant.revision == 1)
        #expect(actions(change.records) == ["grant.requested", "grant.denied"])
        #expect(change.records[0].data["approvals_required"] == [])
        let denied = change.records[1]
        #expect(denied.actor == GrantLifecycle.system)
        #expect(denied.data["by"] == "policy")
        #expect(denied.data["reasons"]?.arrayValue?.compactMap { $0["code"]?.stringValue } == ["openness_closed", "price_above_ceiling"])
        #expect(denied.data["reasons"]?[0]?["dataset_id"] == "bj-closed")
        #expect(grant.activeSpans.isEmpty)
    }

    @Test("times are kept to the millisecond, the precision of the log")
    func timesRounded() throws {
        let market = Market([try Datasets.published("bj-a", openness: .conditional)], operator: try Operators.approved())
        let grant = try market.request([item("bj-a")], at: Clock.start.addingTimeInterval(0.000_4)).updated
        #expect(grant.requestedAt == Clock.start)
        #expect(grant.history.first?.at == Clock.start)
        let decided = try #require(market.decide(grant, by: People.bj, .approve, at: Clock.day(1).addingTimeInterval(0.000_3)).change).updated
        #expect(decided.approvals[0].at == Clock.day(1))
        #expect(decided.history.last?.at == Clock.day(1))
    }

    @Test("a request naming a dataset not in the catalog throws dataset_not_found")
    func datasetNotFound() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        #expect(thrownCode { try market.request([item("bj-a"), item("bj-missing")]) } == .datasetNotFound)
    }

    @Test("an agreement other than the one the request names throws unknown_agreement")
    func agreementMismatch() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let request = try grantRequest([item("bj-a")], agreementVersion: "2")
        #expect(thrownCode {
            try market.lifecycle.request(request, id: "g-1", operator: market.op, requestedBy: People.requester,
                                         datasets: market.datasets, agreement: standardAgreement, at: Clock.start)
        } == .unknownAgreement)
        let other = try #require(AgreementCatalog.builtIn.templates.first { $0.id != "standard-data-use" })
        #expect(thrownCode {
            try market.lifecycle.request(try grantRequest([item("bj-a")]), id: "g-1", operator: market.op, requestedBy: People.requester,
                                         datasets: market.datasets, agreement: other, at: Clock.start)
        } == .unknownAgreement)
    }

    @Test("the grant binds the agreement template's SHA-256")
    func bindsDigest() throws {
        let digest = String(repeating: "5e", count: 32)
        let template = AgreementTemplate(id: "standard-data-use", version: "1", title: "t", file: "standard-data-use-v1.md", sha256: digest,
                                         scenarios: [.industry])
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let change = try market.lifecycle.request(try grantRequest([item("bj-a")]), id: "g-1", operator: market.op,
                                                  requestedBy: People.requester, datasets: market.datasets, agreement: template, at: Clock.start)
        #expect(change.updated.agreement == AgreementBinding(id: "standard-data-use", version: "1", sha256: digest))
        #expect(change.records[0].data["agreement"] == ["id": "standard-data-use", "version": "1", "sha256": .string(digest)])
    }
}

@Suite("Grant lifecycle: decisions")
struct GrantDecisionTests {
    /// A grant pending the approval of Beijing and Tianjin.
    func pending(operator op: Operator? = nil) throws -> (Market, Grant) {
        let market = Market([
            try Datasets.published("bj-a", openness: .conditional),
            try Datasets.published("tj-a", authority: "tj"),
        ], operator: try op ?? Operators.approved())
        let grant = try market.request([item("bj-a"), item("tj-a")]).updated
        #expect(grant.status == .pending)
        return (market, grant)
    }

    @Test("one rejection denies at once, whatever the others decided")
    func rejection() throws {
        let (market, grant) = try pending()
        var track = Track(try market.request([item("bj-a"), item("tj-a")]))
        try track.apply(market.decide(track.grant, by: People.bj, .approve))
        let change = try track.apply(market.decide(track.grant, by: People.tj, .reject, reason: "  purpose too broad ", at: Clock.day(1)))
        #expect(change.updated.status == .denied)
        #expect(actions(change.records) == ["grant.decided", "grant.denied"])
        #expect(change.records[0].data["decision"] == "reject")
        #expect(change.records[0].data["reason"] == "purpose too broad")
        #expect(change.records[1].data["by"] == "authority")
        #expect(change.records[1].data["reason"] == "purpose too broad")
        #expect(change.records[1].actor == "principal-tj")
        #expect(change.updated.history.last == GrantStatusChange(
            action: .denied, from: .pending, to: .denied, at: Clock.day(1), actor: "principal-tj", reason: "purpose too broad"))
        #expect(change.updated.revision == 3)
        // A first decision that rejects denies too.
        let direct = try #require(market.decide(grant, by: People.bj, .reject, reason: "no").change)
        #expect(direct.updated.status == .denied)
    }

    @Test("a rejection needs a reason, and blank is no reason", arguments: [nil, "", "   ", "\n"] as [String?])
    func rejectionNeedsReason(_ reason: String?) throws {
        let (market, grant) = try pending()
        #expect(codes(market.decide(grant, by: People.bj, .reject, reason: reason)) == [.reasonRequired])
    }

    @Test("a reason over 2000 characters is refused")
    func reasonTooLong() throws {
        let (market, grant) = try pending()
        #expect(codes(market.decide(grant, by: People.bj, .reject, reason: String(repeating: "理", count: 2001))) == [.reasonTooLong])
        #expect(market.decide(grant, by: People.bj, .reject, reason: String(repeating: "理", count: 2000)).change != nil)
    }

    @Test("a reviewer of an authority providing nothing in the grant is refused", arguments: GrantDecision.allCases)
    func notParty(_ decision: GrantDecision) throws {
        let (market, grant) = try pending()
        #expect(codes(market.decide(grant, by: People.he, decision, reason: "x")) == [.authorityNotParty])
    }

    @Test("a platform admin does not decide on grants", arguments: GrantDecision.allCases)
    func admin(_ decision: GrantDecision) throws {
        let (market, grant) = try pending()
        #expect(codes(market.decide(grant, by: People.admin, decision, reason: "x")) == [.reviewerWithoutAuthority])
    }

    @Test("an authority decides once, through whichever of its reviewers")
    func alreadyDecided() throws {
        let (market, grant) = try pending()
        let approved = try #require(market.decide(grant, by: People.bj, .approve).change).updated
        #expect(codes(market.decide(approved, by: People.bj, .approve)) == [.alreadyDecided])
        #expect(codes(market.decide(approved, by: People.bjOther, .approve)) == [.alreadyDecided])
        #expect(codes(market.decide(approved, by: People.bjOther, .reject, reason: "changed my mind")) == [.alreadyDecided])
    }

    @Test("only a pending grant is decided on")
    func notPending() throws {
        let (market, grant) = try pending()
        let denied = try #require(market.decide(grant, by: People.bj, .reject, reason: "no").change).updated
        #expect(codes(market.decide(denied, by: People.tj, .approve)) == [.invalidTransition])
        let open = Market([try Datasets.published("bj-a")], operator: market.op)
        let active = try open.request([item("bj-a")]).updated
        #expect(codes(open.decide(active, by: People.bj, .approve)) == [.invalidTransition])
        #expect(codes(open.decide(active, by: People.bj, .reject, reason: "late")) == [.invalidTransition])
    }

    @Test("the completing approval is refused when the operator has meanwhile stopped being active", arguments: ["suspended", "lapsed"])
    func operatorNoLongerActive(_ how: String) throws {
        let approvedAt = how == "lapsed" ? date("2025-10-05T02:00:00.000Z") : Operators.approvedAt
        let op = try Operators.approved(at: approvedAt)
        let (market, grant) = try pending(operator: op)
        let first = try #require(market.decide(grant, by: People.bj, .approve).change).updated
        var later = market
        let decidedAt: Date
        if how == "suspended" {
            later.op = try Operators.suspend(op, at: Clock.day(1)).updated
            decidedAt = Clock.day(2)
        } else {
            decidedAt = Clock.day(5)  // the operator's term ended on 2026-10-05
        }
        let outcome = later.decide(first, by: People.tj, .approve, at: decidedAt)
        #expect(codes(outcome) == [.operatorNotActive])
        #expect(outcome.change == nil)
        // Nothing changed: Tianjin may still decide, and a rejection goes through.
        #expect(first.status == .pending && first.approvals[1].decision == nil)
        let rejected = try #require(later.decide(first, by: People.tj, .reject, reason: "operator suspended", at: decidedAt).change)
        #expect(rejected.updated.status == .denied)
    }

    @Test("the completing approval re-checks the datasets too")
    func datasetClosedMeanwhile() throws {
        var (market, grant) = try pending()
        let first = try #require(market.decide(grant, by: People.bj, .approve).change).updated
        market.replace(try Datasets.updated(market.datasets["tj-a"]!, DatasetUpdate(openness: .closed, reason: "withdrawn")).updated)
        let outcome = market.decide(first, by: People.tj, .approve, at: Clock.day(2))
        #expect(codes(outcome) == [.opennessClosed])
        #expect(outcome.reasons.first?.datasetID == "tj-a")
    }
}
