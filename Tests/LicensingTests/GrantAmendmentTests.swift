import AuditLog
import Foundation
@testable import Licensing
import Testing
import Vetting

@Suite("Grant lifecycle: amendments")
struct GrantAmendmentLifecycleTests {
    let lifecycle = GrantLifecycle()

    func amend(_ grant: Grant, _ amendment: GrantAmendment, _ market: Market, at now: Date, fee: Int = PlatformFee.initialBPS) throws -> GrantOutcome {
        try lifecycle.amend(grant, with: amendment, by: People.requester, operator: market.op, datasets: market.datasets,
                            agreement: standardAgreement, at: now, platformFeeBPS: fee)
    }

    @Test("a suspended grant that had no approval slot is amended, asks its authority, and comes back under its first terms")
    func strandedGrant() throws {
        let open = try Datasets.published("bj-a")
        var market = Market([open], operator: try Operators.approved())
        var grant = Track(try market.request([item("bj-a")], id: "g-stranded"))
        #expect(grant.grant.status == .active && grant.grant.approvals.isEmpty)
        let firstTerms = grant.grant.terms
        let conditional = try Datasets.updated(open, DatasetUpdate(openness: .conditional, reason: "on application"), at: Clock.day(1))
        market.replace(conditional.updated)
        try grant.apply(lifecycle.datasetChanged(grant.grant, datasets: market.datasets, operator: market.op, by: People.bj,
                                                 reason: "on application", at: Clock.day(1)))
        #expect(grant.grant.status == .suspended)
        #expect(codes(market.reinstate(grant.grant, by: People.bj, at: Clock.day(2))) == [.approvalRequired], "stranded without an amendment")

        let amended = try grant.apply(try amend(grant.grant, GrantAmendment(version: 1, items: [item("bj-a", fields: ["flow"])], reason: "flow only"),
                                                market, at: Clock.day(2), fee: 900))
        #expect(amended.records.map(\.action) == ["grant.amended"])
        #expect(grant.grant.status == .pending)
        #expect(grant.grant.version == 2)
        #expect(grant.grant.approvals.map(\.authorityID) == ["bj"])
        #expect(grant.grant.earlierVersions.map(\.version) == [1])
        #expect(grant.grant.earlierVersions.first?.items.first?.fields == ["road_id", "flow"])
        #expect(grant.grant.history.last?.action == .amended && grant.grant.history.last?.from == .suspended)
        #expect(grant.grant.activeSpans.count == 1, "out of force while pending")

        try grant.apply(lifecycle.decide(grant.grant, by: People.bj, decision: .approve, reason: nil, operator: market.op,
                                         datasets: market.datasets, at: Clock.day(3), platformFeeBPS: 900))
        #expect(grant.grant.status == .active)
        #expect(grant.grant.terms == firstTerms, "the terms of its first activation, not the fee of the day")
        #expect(grant.grant.activeSpans.count == 2)
    }

    @Test("refusals: state, version, fixed prices, the rules; malformed amendments throw")
    func refusals() throws {
        let conditional = try Datasets.published("tj-a", authority: "tj", openness: .conditional)
        let open = try Datasets.published("bj-a")
        let market = Market([conditional, open], operator: try Operators.approved())
        let pending = try market.request([item("tj-a")], id: "g-pending").updated
        let active = try market.request([item("bj-a")], id: "g-active").updated
        let shorter = GrantAmendment(version: 1, endsAt: Term.end.addingTimeInterval(-86_400))
        #expect(codes(try amend(active, shorter, market, at: Clock.day(1))) == [.grantNotAmendable])
        #expect(codes(try amend(pending, GrantAmendment(version: 2, endsAt: shorter.endsAt), market, at: Clock.day(1))) == [.staleVersion])
        #expect(codes(try amend(pending, GrantAmendment(version: 1, items: [item("tj-a", prices: ["call": "0.09"])]), market, at: Clock.day(1)))
                == [.priceAboveCeiling])
        #expect(codes(try amend(pending, GrantAmendment(version: 1, endsAt: Term.start.addingTimeInterval(400 * 86_400)), market, at: Clock.day(1)))
                == [.termTooLong])
        #expect(throws: LicensingError(code: .datasetNotInGrant, detail: "")) {
            try amend(pending, GrantAmendment(version: 1, items: [item("bj-a")]), market, at: Clock.day(1))
        }
        #expect(throws: LicensingError(code: .noChange, detail: "")) {
            try amend(pending, GrantAmendment(version: 1), market, at: Clock.day(1))
        }
        #expect(throws: LicensingError(code: .noChange, detail: "")) {
            try amend(pending, GrantAmendment(version: 1, items: [item("tj-a")]), market, at: Clock.day(1))
        }
        #expect(throws: LicensingError(code: .justificationRequired, detail: "")) {
            try amend(pending, GrantAmendment(version: 1, items: [item("tj-a", fields: ["flow", "plate_number"])]), market, at: Clock.day(1))
        }
        // A pending grant never active may change its prices; a suspended one that was active may not.
        #expect(try amend(pending, GrantAmendment(version: 1, items: [item("tj-a", prices: ["call": "0.03"])]), market, at: Clock.day(1)).change != nil)
        let suspended = try #require(lifecycle.suspend(active, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        #expect(codes(try amend(suspended, GrantAmendment(version: 1, items: [item("bj-a", prices: ["call": "0.03"])]), market, at: Clock.day(2)))
                == [.pricesFixed])
        // Its term over, a suspended grant is expired and not amended.
        #expect(codes(try amend(suspended, shorter, market, at: Term.end)) == [.grantNotAmendable])
    }
}
