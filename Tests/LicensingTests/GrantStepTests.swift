import AuditLog
import Foundation
import Licensing
import Testing
import Vetting

@Suite("Grant lifecycle: suspension, reinstatement, revocation, expiry")
struct GrantStepTests {
    let lifecycle = GrantLifecycle()

    /// An active grant of a Beijing dataset and a Tianjin one, both open.
    func active() throws -> (Market, Track) {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("tj-a", authority: "tj")],
                            operator: try Operators.approved())
        let track = Track(try market.request([item("bj-a"), item("tj-a")]))
        #expect(track.grant.status == .active)
        return (market, track)
    }

    /// A grant in `status`, reached through the lifecycle.
    func grant(in status: GrantStatus) throws -> (Market, Grant) {
        var (market, track) = try active()
        switch status {
        case .active:
            break
        case .pending, .denied:
            market.replace(try Datasets.updated(market.datasets["bj-a"]!, DatasetUpdate(openness: .conditional, reason: "r")).updated)
            track = Track(try market.request([item("bj-a"), item("tj-a")], id: "g-2"))
            if status == .denied {
                try track.apply(market.decide(track.grant, by: People.bj, .reject, reason: "no"))
            }
        case .suspended:
            try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(1)))
        case .revoked:
            try track.apply(lifecycle.revoke(track.grant, by: People.bj, reason: "misuse", at: Clock.day(1)))
        case .expired:
            try track.apply(lifecycle.expire(track.grant, at: Term.end))
        }
        #expect(track.grant.status == status)
        return (market, track.grant)
    }

    // MARK: Reasons

    @Test("suspending needs a reason", arguments: [nil, "", "  \n"] as [String?])
    func suspendNeedsReason(_ reason: String?) throws {
        let (_, track) = try active()
        #expect(codes(lifecycle.suspend(track.grant, by: People.bj, reason: reason, at: Clock.day(1))) == [.reasonRequired])
    }

    @Test("revoking needs a reason", arguments: [nil, "", "  \n"] as [String?])
    func revokeNeedsReason(_ reason: String?) throws {
        let (_, track) = try active()
        #expect(codes(lifecycle.revoke(track.grant, by: People.bj, reason: reason, at: Clock.day(1))) == [.reasonRequired])
    }

    @Test("a reason with a control character is refused")
    func badReason() throws {
        let (_, track) = try active()
        #expect(codes(lifecycle.suspend(track.grant, by: People.bj, reason: "a\u{1B}[31m", at: Clock.day(1))) == [.invalidReason])
    }

    @Test("reinstating needs no reason")
    func reinstateWithoutReason() throws {
        var (market, track) = try active()
        try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(1)))
        #expect(codes(market.reinstate(track.grant, by: People.tj, at: Clock.day(2))) == [.suspendedByOther])
        let change = try track.apply(market.reinstate(track.grant, by: People.bj, at: Clock.day(2)))
        #expect(change.updated.status == .active)
        #expect(change.updated.suspensionCause == nil)
        #expect(change.updated.suspendedBy == nil)
        #expect(actions(change.records) == ["grant.reinstated"])
        #expect(change.records[0].data["reason"] == .null)
        #expect(change.records[0].data["cause"] == "authority")
        #expect(change.records[0].data["authority_id"] == "bj")
    }

    // MARK: Who

    @Test("a reviewer of an authority providing nothing in the grant may not act on it")
    func notParty() throws {
        let (market, grant) = try grant(in: .active)
        #expect(codes(lifecycle.suspend(grant, by: People.he, reason: "x", at: Clock.day(1))) == [.authorityNotParty])
        #expect(codes(lifecycle.revoke(grant, by: People.he, reason: "x", at: Clock.day(1))) == [.authorityNotParty])
        let (_, suspended) = try self.grant(in: .suspended)
        #expect(codes(market.reinstate(suspended, by: People.he, at: Clock.day(2))) == [.authorityNotParty])
    }

    @Test("a platform admin may suspend, reinstate and revoke any grant")
    func admin() throws {
        var (market, track) = try active()
        let suspended = try track.apply(lifecycle.suspend(track.grant, by: People.admin, reason: "platform incident", at: Clock.day(1)))
        #expect(suspended.updated.status == .suspended)
        #expect(suspended.updated.suspensionCause == .authority)
        #expect(suspended.records[0].data["authority_id"] == .null)
        #expect(suspended.records[0].actor == "principal-admin")
        try track.apply(market.reinstate(track.grant, by: People.admin, at: Clock.day(2)))
        let revoked = try track.apply(lifecycle.revoke(track.grant, by: People.admin, reason: "contract ended", at: Clock.day(3)))
        #expect(revoked.updated.status == .revoked)
        #expect(revoked.records[0].data["authority_id"] == .null)
        #expect(revoked.records[0].data["from_status"] == "active")
    }

    // MARK: From which status

    @Test("only an active grant is suspended", arguments: [GrantStatus.pending, .denied, .suspended, .revoked, .expired])
    func suspendFrom(_ status: GrantStatus) throws {
        let (_, grant) = try grant(in: status)
        #expect(codes(lifecycle.suspend(grant, by: People.bj, reason: "x", at: Clock.day(2))) == [.invalidTransition])
    }

    @Test("only a suspended grant is reinstated", arguments: [GrantStatus.pending, .active, .denied, .revoked, .expired])
    func reinstateFrom(_ status: GrantStatus) throws {
        let (market, grant) = try grant(in: status)
        #expect(codes(market.reinstate(grant, by: People.bj, reason: "x", at: Clock.day(2))) == [.invalidTransition])
    }

    @Test("only an active or suspended grant is revoked", arguments: [GrantStatus.pending, .denied, .revoked, .expired])
    func revokeFrom(_ status: GrantStatus) throws {
        let (_, grant) = try grant(in: status)
        #expect(codes(lifecycle.revoke(grant, by: People.bj, reason: "x", at: Clock.day(2))) == [.invalidTransition])
    }

    @Test("a suspended grant may be revoked")
    func revokeSuspended() throws {
        var (_, track) = try active()
        try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(1)))
        let change = try track.apply(lifecycle.revoke(track.grant, by: People.tj, reason: " misuse found ", at: Clock.day(2)))
        #expect(change.updated.status == .revoked)
        #expect(change.updated.suspensionCause == nil)
        #expect(change.records[0].data["from_status"] == "suspended")
        #expect(change.records[0].data["reason"] == "misuse found")
        #expect(change.records[0].data["cause"] == "authority")
        #expect(change.updated.history.last == GrantStatusChange(
            action: .revoked, from: .suspended, to: .revoked, at: Clock.day(2), actor: "principal-tj", reason: "misuse found"))
    }

    @Test("a suspension records its cause, actor and reason")
    func suspension() throws {
        var (_, track) = try active()
        let change = try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "  audit pending ", at: Clock.day(1)))
        #expect(change.updated.suspensionCause == .authority)
        #expect(change.updated.history.last == GrantStatusChange(
            action: .suspended, from: .active, to: .suspended, at: Clock.day(1), actor: "principal-bj", reason: "audit pending"))
        #expect(change.records[0].data["cause"] == "authority")
        #expect(change.records[0].data["authority_id"] == "bj")
        #expect(change.records[0].data["reason"] == "audit pending")
        #expect(change.records[0].data["reasons"] == [])
    }

    // MARK: Reinstatement re-checks the rules

    @Test("reinstatement is refused while the current rules do not allow the grant")
    func reinstateRechecks() throws {
        var (market, track) = try active()
        try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(1)))
        market.replace(try Datasets.updated(market.datasets["bj-a"]!, DatasetUpdate(openness: .closed, reason: "withdrawn")).updated)
        let outcome = market.reinstate(track.grant, by: People.bj, at: Clock.day(2))
        #expect(codes(outcome) == [.opennessClosed])
        #expect(outcome.reasons.first?.datasetID == "bj-a")
    }

    @Test("reinstatement is refused while the operator is suspended")
    func reinstateOperatorSuspended() throws {
        var (market, track) = try active()
        try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(1)))
        market.op = try Operators.suspend(market.op, at: Clock.day(1)).updated
        #expect(codes(market.reinstate(track.grant, by: People.bj, at: Clock.day(2))) == [.operatorNotActive])
    }

    // MARK: Expiry

    @Test("expiry is recorded only at or after the end of the term", arguments: [GrantStatus.active, .suspended])
    func expire(_ status: GrantStatus) throws {
        let (_, grant) = try grant(in: status)
        #expect(lifecycle.expire(grant, at: Term.end.addingTimeInterval(-0.001)) == nil)
        let change = try #require(lifecycle.expire(grant, at: Term.end))
        #expect(change.updated.status == .expired)
        #expect(change.updated.suspensionCause == nil)
        #expect(change.updated.revision == grant.revision + 1)
        #expect(change.updated.history.last == GrantStatusChange(
            action: .expired, from: status, to: .expired, at: Term.end, actor: GrantLifecycle.system, reason: nil))
        #expect(actions(change.records) == ["grant.expired"])
        #expect(change.records[0].actor == GrantLifecycle.system)
        #expect(change.records[0].data["ends_at"] == "2027-03-31T16:00:00.000Z")
        #expect(change.records[0].data["at"] == "2027-03-31T16:00:00.000Z")
        // Later is fine too.
        #expect(lifecycle.expire(grant, at: Term.end.addingTimeInterval(86_400))?.updated.status == .expired)
    }

    @Test("grants never in force, or already ended, do not expire", arguments: [GrantStatus.pending, .denied, .revoked, .expired])
    func noExpiry(_ status: GrantStatus) throws {
        let (_, grant) = try grant(in: status)
        #expect(lifecycle.expire(grant, at: Term.end.addingTimeInterval(86_400)) == nil)
    }

    @Test("status(at:) reads expired once the term has ended, before the expiry is recorded")
    func statusAt() throws {
        let (_, active) = try grant(in: .active)
        #expect(active.status(at: Term.end.addingTimeInterval(-0.001)) == .active)
        #expect(active.status(at: Term.end) == .expired)
        #expect(active.status == .active)
        let (_, suspended) = try grant(in: .suspended)
        #expect(suspended.status(at: Clock.day(2)) == .suspended)
        #expect(suspended.status(at: Term.end) == .expired)
        let (_, revoked) = try grant(in: .revoked)
        #expect(revoked.status(at: Term.end) == .revoked)
        let (_, pending) = try grant(in: .pending)
        #expect(pending.status(at: Term.end) == .pending)
    }

    @Test("after the end of the term an unrecorded expiry already stops suspension and revocation")
    func stepsAfterEnd() throws {
        let (_, grant) = try grant(in: .active)
        #expect(codes(lifecycle.suspend(grant, by: People.bj, reason: "x", at: Term.end)) == [.invalidTransition])
        #expect(codes(lifecycle.revoke(grant, by: People.bj, reason: "x", at: Term.end)) == [.invalidTransition])
    }
}
