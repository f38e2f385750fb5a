import AuditLog
import Foundation
import Testing
import Vetting

@Suite("Operator lifecycle")
struct LifecycleTests {
    let lifecycle = OperatorLifecycle()

    // MARK: Submitting

    @Test("an application starts submitted, at revision 1, with one operator.applied record")
    func submit() throws {
        let application = try Sample.application()
        let change = try accepted(lifecycle.submit(application, id: "op-1", existing: [], at: TestClock.start))
        let created = change.updated
        #expect(created.id == "op-1")
        #expect(created.status == .submitted)
        #expect(created.submittedAt == TestClock.start)
        #expect(created.revision == 1)
        #expect(created.reviews.isEmpty)
        #expect(created.approvedAt == nil && created.approvedUntil == nil)
        #expect(created.history == [
            StatusChange(action: .applied, from: nil, to: .submitted, at: TestClock.start, actor: "principal-applicant", reason: nil),
        ])
        #expect(change.records.map(\.action) == ["operator.applied"])
        #expect(change.cascade == .none)
        #expect(change.action == .applied)
        #expect(!created.isActive(at: TestClock.start))
    }

    @Test("times are kept to the millisecond, the precision of the log")
    func timesAreRounded() throws {
        let precise = TestClock.start.addingTimeInterval(0.123_456)
        let created = try accepted(lifecycle.submit(try Sample.application(), id: "op-1", existing: [], at: precise)).updated
        #expect(created.submittedAt == date("2026-10-01T02:00:00.123Z"))
    }

    @Test("one live application per applicant and per company", arguments: [
        OperatorStatus.submitted, .approved, .suspended, .revoked,
    ])
    func applicationExists(_ status: OperatorStatus) throws {
        var scenario = try Scenario()
        switch status {
        case .submitted: break
        case .approved: try scenario.approve(by: Sample.alice)
        case .suspended:
            try scenario.approve(by: Sample.alice)
            try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "audit", at: scenario.clock.now))
        case .revoked:
            try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.admin, reason: "fraud", at: scenario.clock.now))
        case .rejected: Issue.record("not an argument")
        }
        #expect(scenario.current.status == status)
        let again = try Sample.application()
        let outcome = lifecycle.submit(again, id: "op-2", existing: [scenario.current], at: scenario.clock.now)
        #expect(codes(outcome) == [.applicationExists])
    }

    @Test("a rejected applicant may apply again")
    func reapplyAfterRejection() throws {
        var scenario = try Scenario()
        try scenario.apply(lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: "documents unreadable", at: scenario.clock.now))
        let outcome = lifecycle.submit(try Sample.application(), id: "op-2", existing: [scenario.current], at: scenario.clock.now)
        #expect(try accepted(outcome).updated.id == "op-2")
    }

    // MARK: Reviews

    @Test("one approval approves a standard operator for 12 calendar months")
    func standardApproval() throws {
        var scenario = try Scenario(tier: .standard)
        let change = try scenario.approve(by: Sample.alice)
        let approved = change.updated
        #expect(approved.status == .approved)
        #expect(approved.approvedAt == TestClock.start)
        #expect(approved.approvedUntil == date("2027-10-01T02:00:00.000Z"))
        #expect(approved.revision == 2)
        #expect(approved.reviews == [
            Review(reviewer: "principal-alice", authority: "bj", decision: .approve, reason: nil, at: TestClock.start, round: 0),
        ])
        #expect(approved.history.map(\.action) == [.applied, .approved])
        #expect(change.records.map(\.action) == ["operator.reviewed", "operator.approved"])
        #expect(change.action == .approved)
        #expect(change.cascade == .none)
    }

    @Test("active from approval until the end of the term, exclusive")
    func isActive() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        let end = try #require(scenario.current.approvedUntil)
        #expect(scenario.current.isActive(at: TestClock.start))
        #expect(scenario.current.isActive(at: end.addingTimeInterval(-0.001)))
        #expect(!scenario.current.isActive(at: end))
        #expect(!scenario.current.isActive(at: end.addingTimeInterval(86_400)))
    }

    @Test("calendar months are counted in the marketplace's time zone", arguments: [
        // 10:00 on 29 February in Beijing: the next year has no 29 February.
        ("2028-02-29T02:00:00.000Z", "Asia/Shanghai", "2029-02-28T02:00:00.000Z"),
        // 04:00 on 29 February in Beijing is still 28 February in UTC: the zone decides the end.
        ("2028-02-28T20:00:00.000Z", "Asia/Shanghai", "2029-02-27T20:00:00.000Z"),
        ("2028-02-28T20:00:00.000Z", "UTC", "2029-02-28T20:00:00.000Z"),
        ("2026-01-31T16:30:00.000Z", "Asia/Shanghai", "2027-01-31T16:30:00.000Z"),
    ])
    func termInTimeZone(_ start: String, _ zone: String, _ end: String) throws {
        let lifecycle = OperatorLifecycle(policy: VettingPolicy(timeZone: TimeZone(identifier: zone)!))
        let created = try accepted(lifecycle.submit(try Sample.application(), id: "op-1", existing: [], at: date(start))).updated
        let approved = try accepted(lifecycle.review(created, by: Sample.alice, decision: .approve, reason: nil, at: date(start))).updated
        #expect(text(approved.approvedUntil) == end)
    }

    @Test("a rejection needs a reason, and blank is no reason", arguments: [nil, "", "   ", "\n\t"] as [String?])
    func rejectNeedsReason(_ reason: String?) throws {
        let scenario = try Scenario()
        let outcome = lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: reason, at: scenario.clock.now)
        #expect(codes(outcome) == [.reasonRequired])
    }

    @Test("a rejection rejects at once, with its reason trimmed")
    func reject() throws {
        var scenario = try Scenario()
        let change = try scenario.apply(lifecycle.review(
            scenario.current, by: Sample.alice, decision: .reject, reason: "  MLPS filing certificate missing \n", at: scenario.clock.now
        ))
        #expect(change.updated.status == .rejected)
        #expect(change.updated.reviews.last?.reason == "MLPS filing certificate missing")
        #expect(change.updated.history.last == StatusChange(
            action: .rejected, from: .submitted, to: .rejected, at: TestClock.start, actor: "principal-alice",
            reason: "MLPS filing certificate missing"
        ))
        #expect(change.records.map(\.action) == ["operator.reviewed", "operator.rejected"])
        #expect(change.updated.approvedUntil == nil)
    }

    @Test("a reason longer than the policy allows is refused")
    func reasonTooLong() throws {
        let scenario = try Scenario()
        let long = String(repeating: "理", count: 2001)
        #expect(codes(lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: long, at: scenario.clock.now)) == [.reasonTooLong])
        #expect(codes(lifecycle.review(scenario.current, by: Sample.alice, decision: .approve, reason: long, at: scenario.clock.now)) == [.reasonTooLong])
        _ = try accepted(lifecycle.review(
            scenario.current, by: Sample.alice, decision: .reject, reason: String(long.dropLast()), at: scenario.clock.now
        ))
    }

    @Test("the applicant principal cannot review its own application", arguments: ReviewDecision.allCases)
    func applicantSelfReview(_ decision: ReviewDecision) throws {
        let scenario = try Scenario()
        let insider = Reviewer(principalID: "principal-applicant", authorityID: "bj")
        let outcome = lifecycle.review(scenario.current, by: insider, decision: decision, reason: "fine", at: scenario.clock.now)
        #expect(codes(outcome) == [.selfReview])
    }


    @Test("a platform admin cannot review")
    func adminCannotReview() throws {
        let scenario = try Scenario()
        #expect(codes(lifecycle.review(scenario.current, by: Sample.admin, decision: .approve, reason: nil, at: scenario.clock.now))
            == [.reviewerWithoutAuthority])
    }

    @Test("a refusal lists every reason that applies")
    func everyReason() throws {
        let scenario = try Scenario(tier: .enhanced, mlpsLevel: 2)
        let insider = Reviewer(principalID: "principal-applicant", authorityID: nil)
        let rejection = lifecycle.review(scenario.current, by: insider, decision: .reject, reason: nil, at: scenario.clock.now)
        #expect(codes(rejection) == [.reviewerWithoutAuthority, .selfReview, .reasonRequired])
        let approval = lifecycle.review(scenario.current, by: insider, decision: .approve, reason: nil, at: scenario.clock.now)
        #expect(codes(approval) == [.reviewerWithoutAuthority, .selfReview, .criteriaNotMet])
    }

    // MARK: Two-person rule

    @Test("enhanced: the first approval waits for a second, distinct reviewer")
    func enhancedTwoPersonRule() throws {
        var scenario = try Scenario(tier: .enhanced)
        let first = try scenario.approve(by: Sample.alice)
        #expect(first.updated.status == .submitted)
        #expect(first.updated.approvedUntil == nil)
        #expect(first.updated.pendingApprovals.map(\.reviewer) == ["principal-alice"])
        #expect(first.records.map(\.action) == ["operator.reviewed"])
        #expect(first.action == nil)
        #expect(first.records[0].data["approvals"] == 1)
        #expect(first.records[0].data["approvals_required"] == 2)

        let twice = lifecycle.review(scenario.current, by: Sample.alice, decision: .approve, reason: nil, at: scenario.clock.now)
        #expect(codes(twice) == [.duplicateReviewer])

        scenario.clock.advance(days: 2)
        let second = try scenario.approve(by: Sample.carol)
        #expect(second.updated.status == .approved)
        #expect(second.updated.approvedAt == scenario.clock.now)
        #expect(second.updated.approvedUntil == date("2027-10-03T02:00:00.000Z"))
        #expect(second.records.map(\.action) == ["operator.reviewed", "operator.approved"])
        #expect(second.records[1].data["reviewers"] == ["principal-alice", "principal-carol"])
        #expect(second.updated.pendingApprovals.isEmpty)
    }

    @Test("enhanced: a rejection after one approval rejects")
    func enhancedRejectionAfterApproval() throws {
        var scenario = try Scenario(tier: .enhanced)
        try scenario.approve(by: Sample.alice)
        let change = try scenario.apply(lifecycle.review(scenario.current, by: Sample.bob, decision: .reject, reason: "no MLPS filing", at: scenario.clock.now))
        #expect(change.updated.status == .rejected)
        #expect(change.records.map(\.action) == ["operator.reviewed", "operator.rejected"])
    }

    @Test("the same reviewer may reject after approving: any rejection rejects")
    func sameReviewerMayReject() throws {
        var scenario = try Scenario(tier: .enhanced)
        try scenario.approve(by: Sample.alice)
        let change = try scenario.apply(lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: "found a forged document", at: scenario.clock.now))
        #expect(change.updated.status == .rejected)
    }

    // MARK: Criteria

    @Test("criteria are evaluated into reasons", arguments: [
        (OperatorTier.enhanced, 2, ["ISO27001"], [Criterion.mlpsLevel]),
        (.enhanced, 3, [], [.certifications]),
        (.enhanced, 1, [], [.mlpsLevel, .certifications]),
        (.enhanced, 3, ["ISO27001"], []),
        (.standard, 1, [], []),
    ])
    func criteria(_ tier: OperatorTier, _ level: Int, _ certifications: [String], _ failing: [Criterion]) throws {
        let application = try Sample.application(mlpsLevel: level, tier: tier, certifications: certifications)
        let reasons = ApprovalCriteria().evaluate(application)
        #expect(reasons.map(\.criterion) == failing)
        #expect(reasons.allSatisfy { $0.code == .criteriaNotMet })

        let created = try accepted(lifecycle.submit(application, id: "op-1", existing: [], at: TestClock.start)).updated
        let outcome = lifecycle.review(created, by: Sample.alice, decision: .approve, reason: nil, at: TestClock.start)
        #expect(outcome.reasons.compactMap(\.criterion) == failing)
        // Failing criteria never stop a rejection.
        _ = try accepted(lifecycle.review(created, by: Sample.alice, decision: .reject, reason: "no", at: TestClock.start))
    }

    @Test("no policy lowers the enhanced MLPS minimum below 3")
    func enhancedMinimumIsFloor() throws {
        let lenient = ApprovalCriteria(enhancedMinimumMLPSLevel: 1)
        let application = try Sample.application(mlpsLevel: 2, tier: .enhanced)
        #expect(lenient.evaluate(application).map(\.criterion) == [.mlpsLevel])
    }

    @Test("a policy may demand more documents and a higher standard MLPS level")
    func stricterPolicy() throws {
        let strict = ApprovalCriteria(minimumDocuments: 3, standardMinimumMLPSLevel: 2)
        let application = try Sample.application(mlpsLevel: 1, tier: .standard)
        #expect(strict.evaluate(application).map(\.criterion) == [.documents, .mlpsLevel])
    }

    // MARK: Renewal

    @Test("an approval on an approved operator renews it for 12 months from now")
    func renewalWithinTerm() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        scenario.clock.advance(months: 11)
        let change = try scenario.approve(by: Sample.bob)
        #expect(change.updated.status == .approved)
        #expect(change.updated.approvedAt == TestClock.start)
        #expect(change.updated.approvedUntil == date("2028-09-01T02:00:00.000Z"))
        #expect(change.records.map(\.action) == ["operator.reviewed", "operator.renewed"])
        #expect(change.records[1].data["previous_approved_until"] == "2027-10-01T02:00:00.000Z")
        #expect(change.action == .renewed)
        #expect(change.updated.history.last?.from == .approved)
    }

    @Test("the same reviewer may renew in a later round")
    func sameReviewerRenews() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        scenario.clock.advance(months: 6)
        try scenario.approve(by: Sample.alice)
        #expect(scenario.current.history.map(\.action) == [.applied, .approved, .renewed])
    }

    @Test("an expired operator is inactive until renewed, then active for 12 months")
    func renewalAfterExpiry() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        scenario.clock.advance(months: 13)
        #expect(scenario.current.status == .approved)
        #expect(!scenario.current.isActive(at: scenario.clock.now))
        try scenario.approve(by: Sample.bob)
        #expect(scenario.current.isActive(at: scenario.clock.now))
        #expect(scenario.current.approvedUntil == date("2028-11-01T02:00:00.000Z"))
    }

    @Test("enhanced renewal needs two distinct reviewers too")
    func enhancedRenewal() throws {
        var scenario = try Scenario(tier: .enhanced)
        try scenario.approve(by: Sample.alice)
        try scenario.approve(by: Sample.bob)
        let term = scenario.current.approvedUntil
        scenario.clock.advance(months: 11)
        let first = try scenario.approve(by: Sample.alice)
        #expect(first.action == nil)
        #expect(first.updated.approvedUntil == term)
        #expect(codes(lifecycle.review(scenario.current, by: Sample.alice, decision: .approve, reason: nil, at: scenario.clock.now)) == [.duplicateReviewer])
        let second = try scenario.approve(by: Sample.carol)
        #expect(second.action == .renewed)
        #expect(second.updated.approvedUntil == date("2028-09-01T02:00:00.000Z"))
    }

    @Test("a rejection does not end an approval: that takes a suspension or revocation")
    func rejectApproved() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        #expect(codes(lifecycle.review(scenario.current, by: Sample.bob, decision: .reject, reason: "late", at: scenario.clock.now)) == [.invalidTransition])
    }

    // MARK: Suspension, reinstatement, revocation

    @Test("suspension needs a reason, keeps the term and asks for the cascade")
    func suspend() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        let term = scenario.current.approvedUntil
        #expect(codes(lifecycle.suspend(scenario.current, by: Sample.alice, reason: nil, at: scenario.clock.now)) == [.reasonRequired])
        #expect(codes(lifecycle.suspend(scenario.current, by: Sample.alice, reason: " ", at: scenario.clock.now)) == [.reasonRequired])
        scenario.clock.advance(days: 10)
        let change = try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.admin, reason: "security incident", at: scenario.clock.now))
        #expect(change.updated.status == .suspended)
        #expect(change.updated.approvedUntil == term)
        #expect(!change.updated.isActive(at: scenario.clock.now))
        #expect(change.cascade == .suspend)
        #expect(change.records.map(\.action) == ["operator.suspended"])
        #expect(change.updated.history.last?.reason == "security incident")
    }

    @Test("reinstatement restores the approval with the same term; the reason is optional")
    func reinstate() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        let term = scenario.current.approvedUntil
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident", at: scenario.clock.now))
        scenario.clock.advance(days: 3)
        let change = try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.carol, reason: nil, at: scenario.clock.now))
        #expect(change.updated.status == .approved)
        #expect(change.updated.approvedUntil == term)
        #expect(change.updated.isActive(at: scenario.clock.now))
        #expect(change.cascade == .reinstate)
        #expect(change.records.map(\.action) == ["operator.reinstated"])
    }

    @Test("reinstated after the term ended: approved but not active until renewed")
    func reinstateAfterExpiry() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident", at: scenario.clock.now))
        scenario.clock.advance(months: 14)
        try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.alice, reason: "resolved", at: scenario.clock.now))
        #expect(scenario.current.status == .approved)
        #expect(!scenario.current.isActive(at: scenario.clock.now))
        try scenario.approve(by: Sample.bob)
        #expect(scenario.current.isActive(at: scenario.clock.now))
    }

    @Test("only the suspending authority or an admin lifts a suspension; only an admin lifts an admin's")
    func reinstateBySuspender() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        let byBeijing = try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident", at: scenario.clock.now))
        #expect(byBeijing.updated.suspendedBy == .authority("bj"))
        #expect(codes(lifecycle.reinstate(scenario.current, by: Sample.bob, reason: nil, at: scenario.clock.now)) == [.suspendedByOther])
        let lifted = try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.admin, reason: nil, at: scenario.clock.now))
        #expect(lifted.updated.suspendedBy == nil)

        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.admin, reason: "audit", at: scenario.clock.now))
        #expect(scenario.current.suspendedBy == .admin)
        #expect(codes(lifecycle.reinstate(scenario.current, by: Sample.alice, reason: nil, at: scenario.clock.now)) == [.suspendedByOther])
        _ = try accepted(lifecycle.reinstate(scenario.current, by: Sample.admin, reason: nil, at: scenario.clock.now))
    }

    @Test("a reviewer's revocation is a proposal until a reviewer of another authority revokes too")
    func revokeByTwoAuthorities() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        let proposed = try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.alice, reason: "fraud", at: scenario.clock.now))
        #expect(proposed.updated.status == .approved)
        #expect(proposed.cascade == .none)
        #expect(proposed.action == nil)
        #expect(proposed.records.map(\.action) == ["operator.revocation_proposed"])
        #expect(proposed.updated.revocationProposal?.authority == "bj")
        // The same authority again, even another of its reviewers: refused.
        #expect(codes(lifecycle.revoke(scenario.current, by: Sample.carol, reason: "fraud", at: scenario.clock.now)) == [.secondAuthorityRequired])
        let revoked = try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.bob, reason: "confirmed", at: scenario.clock.now))
        #expect(revoked.updated.status == .revoked)
        #expect(revoked.cascade == .revoke)
        #expect(revoked.records[0].data["proposed_by"] == .string("principal-alice"))
        #expect(revoked.records[0].data["proposed_by_authority_id"] == .string("bj"))
        // The log alone replays the same operator.
        #expect(try OperatorReplay(lifecycle: lifecycle).replay(scenario.records) == scenario.current)
    }

    @Test("a principal party to the application cannot lift its suspension")
    func reinstateBySelf() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident", at: scenario.clock.now))
        let insider = Reviewer(principalID: "principal-applicant", authorityID: nil)
        #expect(codes(lifecycle.reinstate(scenario.current, by: insider, reason: nil, at: scenario.clock.now)) == [.selfReview])
    }

    @Test("approvals given before a suspension do not count after it")
    func roundsReset() throws {
        var scenario = try Scenario(tier: .enhanced)
        try scenario.approve(by: Sample.alice)
        try scenario.approve(by: Sample.bob)
        scenario.clock.advance(months: 11)
        try scenario.approve(by: Sample.alice)  // a renewal, awaiting a second reviewer
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.admin, reason: "incident", at: scenario.clock.now))
        try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.admin, reason: nil, at: scenario.clock.now))
        #expect(scenario.current.pendingApprovals.isEmpty)
        let single = try scenario.approve(by: Sample.carol)
        #expect(single.action == nil, "one approval in the new round is not enough")
    }

    @Test("revocation from any other status is final and asks for the cascade", arguments: [
        OperatorStatus.submitted, .approved, .rejected, .suspended,
    ])
    func revoke(_ from: OperatorStatus) throws {
        var scenario = try Scenario()
        switch from {
        case .submitted: break
        case .approved: try scenario.approve(by: Sample.alice)
        case .rejected:
            try scenario.apply(lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: "no", at: scenario.clock.now))
        case .suspended:
            try scenario.approve(by: Sample.alice)
            try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident", at: scenario.clock.now))
        case .revoked: Issue.record("not an argument")
        }
        #expect(codes(lifecycle.revoke(scenario.current, by: Sample.admin, reason: nil, at: scenario.clock.now)) == [.reasonRequired])
        let change = try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.admin, reason: "licence withdrawn", at: scenario.clock.now))
        #expect(change.updated.status == .revoked)
        #expect(change.cascade == .revoke)
        #expect(change.records.map(\.action) == ["operator.revoked"])
        #expect(change.records[0].data["from_status"] == .string(from.rawValue))
        #expect(!change.updated.isActive(at: scenario.clock.now))
    }

    @Test("nothing moves a revoked operator")
    func revokedIsFinal() throws {
        var scenario = try Scenario()
        try scenario.approve(by: Sample.alice)
        try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.admin, reason: "fraud", at: scenario.clock.now))
        let revoked = scenario.current
        let now = scenario.clock.now
        #expect(codes(lifecycle.review(revoked, by: Sample.bob, decision: .approve, reason: nil, at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.review(revoked, by: Sample.bob, decision: .reject, reason: "x", at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.suspend(revoked, by: Sample.bob, reason: "x", at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.reinstate(revoked, by: Sample.bob, reason: "x", at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.revoke(revoked, by: Sample.bob, reason: "x", at: now)) == [.invalidTransition])
    }

    @Test("steps not allowed from a status are refused as invalid transitions")
    func invalidTransitions() throws {
        var scenario = try Scenario()
        let now = scenario.clock.now
        // submitted
        #expect(codes(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "x", at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.reinstate(scenario.current, by: Sample.alice, reason: "x", at: now)) == [.invalidTransition])
        // rejected
        try scenario.apply(lifecycle.review(scenario.current, by: Sample.alice, decision: .reject, reason: "no", at: now))
        for decision in ReviewDecision.allCases {
            #expect(codes(lifecycle.review(scenario.current, by: Sample.bob, decision: decision, reason: "x", at: now)) == [.invalidTransition])
        }
        #expect(codes(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "x", at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.reinstate(scenario.current, by: Sample.alice, reason: "x", at: now)) == [.invalidTransition])
        // suspended
        var suspended = try Scenario()
        try suspended.approve(by: Sample.alice)
        try suspended.apply(lifecycle.suspend(suspended.current, by: Sample.alice, reason: "incident", at: now))
        #expect(codes(lifecycle.review(suspended.current, by: Sample.bob, decision: .approve, reason: nil, at: now)) == [.invalidTransition])
        #expect(codes(lifecycle.suspend(suspended.current, by: Sample.bob, reason: "again", at: now)) == [.invalidTransition])
        // approved
        var approved = try Scenario()
        try approved.approve(by: Sample.alice)
        #expect(codes(lifecycle.reinstate(approved.current, by: Sample.bob, reason: nil, at: now)) == [.invalidTransition])
    }

    @Test("every accepted step raises the revision by exactly one")
    func revisions() throws {
        var scenario = try Scenario(tier: .enhanced)
        var expected = 1
        #expect(scenario.current.revision == expected)
        for step in 0..<6 {
            let now = scenario.clock.now
            switch step {
            case 0: try scenario.approve(by: Sample.alice)
            case 1: try scenario.approve(by: Sample.bob)
            case 2: try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.admin, reason: "incident", at: now))
            case 3: try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.admin, reason: nil, at: now))
            case 4: try scenario.approve(by: Sample.carol)
            default: try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.admin, reason: "end", at: now))
            }
            expected += 1
            #expect(scenario.current.revision == expected)
            #expect(scenario.records.last?.data["revision"] == JSONValue(expected))
        }
    }
}

@Suite("Operator records restored from a store")
struct RestoredOperatorTests {
    @Test("the two-person rule counts distinct people even if a stored record repeats one")
    func distinctApprovers() throws {
        let lifecycle = OperatorLifecycle()
        let created = try accepted(lifecycle.submit(try Sample.application(tier: .enhanced), id: "op-1", existing: [], at: TestClock.start)).updated
        let twice = Review(reviewer: "principal-alice", authority: "bj", decision: .approve, reason: nil, at: TestClock.start, round: 0)
        let restored = Operator(
            id: created.id, application: created.application, submittedAt: created.submittedAt, status: .submitted,
            reviews: [twice, twice], approvedAt: nil, approvedUntil: nil, history: created.history, round: 0, revision: 3
        )
        #expect(restored.pendingApprovals.count == 2)
        let change = try accepted(lifecycle.review(restored, by: Sample.bob, decision: .approve, reason: nil, at: TestClock.start))
        #expect(change.updated.status == .approved)
        #expect(change.records[0].data["approvals"] == 2)
        #expect(change.records[1].data["reviewers"] == ["principal-alice", "principal-bob"])
        #expect(change.updated.revision == 4)
    }

    @Test("approvals from an earlier round do not count")
    func earlierRound() throws {
        let lifecycle = OperatorLifecycle()
        let created = try accepted(lifecycle.submit(try Sample.application(tier: .enhanced), id: "op-1", existing: [], at: TestClock.start)).updated
        let old = Review(reviewer: "principal-alice", authority: "bj", decision: .approve, reason: nil, at: TestClock.start, round: 0)
        let restored = Operator(
            id: created.id, application: created.application, submittedAt: created.submittedAt, status: .submitted,
            reviews: [old], approvedAt: nil, approvedUntil: nil, history: created.history, round: 1, revision: 2
        )
        #expect(restored.pendingApprovals.isEmpty)
        let change = try accepted(lifecycle.review(restored, by: Sample.bob, decision: .approve, reason: nil, at: TestClock.start))
        #expect(change.updated.status == .submitted)
        #expect(change.action == nil)
    }
}
