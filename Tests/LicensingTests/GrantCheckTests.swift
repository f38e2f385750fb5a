import Foundation
import Licensing
import Testing
import Vetting

@Suite("Grant check")
struct GrantCheckTests {
    let lifecycle = GrantLifecycle()

    /// A usage query on grant `g-1` of `op-1` for calls of `bj-a`.
    func query(at time: Date, operator op: String = "op-1", grant: String = "g-1", dataset: String = "bj-a", unit: MeteringUnit = .call) -> GrantCheckQuery {
        GrantCheckQuery(operatorID: op, grantID: grant, datasetID: dataset, unit: unit, time: time)
    }

    /// An active grant of `bj-a` (calls) for ``Term``, activated automatically at ``Clock/start``.
    func active() throws -> (Market, Track) {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        return (market, Track(try market.request([item("bj-a")])))
    }

    @Test("the term decides first: before the start not started, from the end expired", arguments: [
        (Term.start.addingTimeInterval(-0.001), GrantCheckResult.denied(.grantNotStarted)),
        (Term.end, .denied(.grantExpired)),
        (Term.end.addingTimeInterval(86_400), .denied(.grantExpired)),
        (Term.end.addingTimeInterval(-0.001), .allowed),
        (Clock.start, .allowed),
    ])
    func term(_ time: Date, _ expected: GrantCheckResult) throws {
        let (_, track) = try active()
        #expect(GrantSnapshot(track.grant).check(query(at: time)) == expected)
    }

    @Test("between the start of the term and the activation, the grant was not active")
    func beforeActivation() throws {
        let market = Market([try Datasets.published("bj-a", openness: .conditional)], operator: try Operators.approved())
        var track = Track(try market.request([item("bj-a")]))
        try track.apply(market.decide(track.grant, by: People.bj, .approve, at: Clock.day(2)))
        let snapshot = GrantSnapshot(track.grant)
        #expect(track.grant.activeSpans == [ActiveSpan(from: Clock.day(2), until: Term.end)])
        #expect(snapshot.check(query(at: Term.start)) == .denied(.grantNotActive))
        #expect(snapshot.check(query(at: Clock.day(1))) == .denied(.grantNotActive))
        #expect(snapshot.check(query(at: Clock.day(2).addingTimeInterval(-0.001))) == .denied(.grantNotActive))
        #expect(snapshot.check(query(at: Clock.day(2))) == .allowed)
    }

    @Test("activated before its term starts: in force from the start")
    func activatedEarly() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let request = try grantRequest([item("bj-a")], startsAt: Clock.day(10), endsAt: Clock.day(40))
        let grant = try market.lifecycle.request(request, id: "g-1", operator: market.op, requestedBy: People.requester,
                                                 datasets: market.datasets, agreement: standardAgreement, at: Clock.start).updated
        #expect(grant.activeSpans == [ActiveSpan(from: Clock.day(10), until: Clock.day(40))])
        let snapshot = GrantSnapshot(grant)
        #expect(snapshot.check(query(at: Clock.day(5))) == .denied(.grantNotStarted))
        #expect(snapshot.check(query(at: Clock.day(10))) == .allowed)
    }

    @Test("suspension, reinstatement and revocation cut the spans in which usage is allowed")
    func spans() throws {
        var (market, track) = try active()
        try track.apply(lifecycle.suspend(track.grant, by: People.bj, reason: "audit", at: Clock.day(10)))
        let suspended = GrantSnapshot(track.grant)
        try track.apply(market.reinstate(track.grant, by: People.bj, at: Clock.day(20)))
        let reinstated = GrantSnapshot(track.grant)
        try track.apply(lifecycle.revoke(track.grant, by: People.bj, reason: "misuse", at: Clock.day(30)))
        let revoked = GrantSnapshot(track.grant)

        #expect(track.grant.activeSpans == [
            ActiveSpan(from: Clock.start, until: Clock.day(10)),
            ActiveSpan(from: Clock.day(20), until: Clock.day(30)),
        ])
        // During the suspension.
        #expect(suspended.check(query(at: Clock.day(5))) == .allowed)
        #expect(suspended.check(query(at: Clock.day(10))) == .denied(.grantNotActive))
        #expect(suspended.check(query(at: Clock.day(15))) == .denied(.grantNotActive))
        // After reinstatement: allowed again, the suspension still not.
        #expect(reinstated.check(query(at: Clock.day(15))) == .denied(.grantNotActive))
        #expect(reinstated.check(query(at: Clock.day(20))) == .allowed)
        #expect(reinstated.check(query(at: Clock.day(25))) == .allowed)
        // After revocation: late usage from before it still counts, usage after it does not.
        #expect(revoked.check(query(at: Clock.day(5))) == .allowed)
        #expect(revoked.check(query(at: Clock.day(29))) == .allowed)
        #expect(revoked.check(query(at: Clock.day(30))) == .denied(.grantNotActive))
        #expect(revoked.check(query(at: Clock.day(31))) == .denied(.grantNotActive))
        #expect(revoked.check(query(at: Term.end)) == .denied(.grantExpired))
    }

    @Test("an expired grant keeps its span up to the end of the term")
    func expired() throws {
        var (_, track) = try active()
        try track.apply(lifecycle.expire(track.grant, at: Term.end.addingTimeInterval(3_600)))
        #expect(track.grant.activeSpans == [ActiveSpan(from: Clock.start, until: Term.end)])
        let snapshot = GrantSnapshot(track.grant)
        #expect(snapshot.check(query(at: Term.end.addingTimeInterval(-1))) == .allowed)
        #expect(snapshot.check(query(at: Term.end)) == .denied(.grantExpired))
    }

    @Test("whose grant, which dataset, which unit", arguments: [
        (GrantCheckQuery(operatorID: "op-2", grantID: "g-1", datasetID: "bj-a", unit: .call, time: Clock.day(1)), GrantCheckResult.denied(.grantNotOwned)),
        (GrantCheckQuery(operatorID: "op-1", grantID: "g-1", datasetID: "bj-b", unit: .call, time: Clock.day(1)), .denied(.datasetNotInGrant)),
        (GrantCheckQuery(operatorID: "op-1", grantID: "g-1", datasetID: "bj-a", unit: .record, time: Clock.day(1)), .denied(.unitNotGranted)),
        (GrantCheckQuery(operatorID: "op-1", grantID: "g-1", datasetID: "bj-a", unit: .byte, time: Clock.day(1)), .denied(.unitNotGranted)),
        (GrantCheckQuery(operatorID: "op-2", grantID: "g-1", datasetID: "bj-b", unit: .byte, time: Term.end), .denied(.grantNotOwned)),
        (GrantCheckQuery(operatorID: "op-1", grantID: "g-1", datasetID: "bj-a", unit: .call, time: Clock.day(1)), .allowed),
    ])
    func scope(_ query: GrantCheckQuery, _ expected: GrantCheckResult) throws {
        let (_, track) = try active()
        #expect(GrantSnapshot(track.grant).check(query) == expected)
    }

    @Test("the snapshot keeps the quotas and prices the usage path enforces")
    func snapshotItems() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let grant = try market.request([item("bj-a", prices: ["call": "0.04", "record": "0.0005"], quotas: ["call": 10, "record": 2_000])]).updated
        let snapshot = GrantSnapshot(grant)
        let entry = try #require(snapshot.items["bj-a"])
        #expect(entry.units == [.call, .record])
        #expect(entry.quotas == [.call: 10, .record: 2_000])
        #expect(entry.unitPrices == [.call: UnitPrice(micros: 40_000), .record: UnitPrice(micros: 500)])
        #expect(snapshot.grantID == "g-1" && snapshot.operatorID == "op-1")
    }
}

@Suite("Grant directory")
struct GrantDirectoryTests {
    let lifecycle = GrantLifecycle()

    func query(_ grant: String, at time: Date = Clock.day(1)) -> GrantCheckQuery {
        GrantCheckQuery(operatorID: "op-1", grantID: grant, datasetID: "bj-a", unit: .call, time: time)
    }

    @Test("an empty directory has seen nothing and finds nothing")
    func empty() {
        let directory = GrantDirectory()
        #expect(directory.generation == -1)
        #expect(directory.count == 0)
        #expect(directory.check(query("g-1")) == .denied(.grantNotFound))
    }

    @Test("grants never in force read as not found; grants once in force are kept")
    func neverInForce() throws {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("bj-c", openness: .conditional),
                             try Datasets.published("bj-x", openness: .closed)], operator: try Operators.approved())
        let active = try market.request([item("bj-a")], id: "g-active").updated
        let pending = try market.request([item("bj-c")], id: "g-pending").updated
        let denied = try market.request([item("bj-x")], id: "g-denied").updated
        let revoked = try #require(lifecycle.revoke(active, by: People.bj, reason: "misuse", at: Clock.day(2)).change).updated
        #expect([pending.status, denied.status, revoked.status] == [.pending, .denied, .revoked])

        let directory = GrantDirectory()
        directory.apply([active, pending, denied], generation: 1)
        #expect(directory.count == 1)
        #expect(directory.check(query("g-active")) == .allowed)
        #expect(directory.check(GrantCheckQuery(operatorID: "op-1", grantID: "g-pending", datasetID: "bj-c", unit: .call, time: Clock.day(1)))
            == .denied(.grantNotFound))
        #expect(directory.check(GrantCheckQuery(operatorID: "op-1", grantID: "g-denied", datasetID: "bj-x", unit: .call, time: Clock.day(1)))
            == .denied(.grantNotFound))
        #expect(directory.check(query("g-unknown")) == .denied(.grantNotFound))
        #expect(directory.snapshot("g-pending") == nil)

        directory.apply([revoked], generation: 2)
        #expect(directory.count == 1)
        #expect(directory.check(query("g-active", at: Clock.day(1))) == .allowed)
        #expect(directory.check(query("g-active", at: Clock.day(3))) == .denied(.grantNotActive))
        #expect(directory.generation == 2)
    }

    @Test("a snapshot is never replaced by an older revision, and the generation never goes back")
    func generations() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let active = try market.request([item("bj-a")]).updated
        let suspended = try #require(lifecycle.suspend(active, by: People.bj, reason: "audit", at: Clock.day(1)).change).updated
        let reinstated = try #require(lifecycle.reinstate(suspended, by: People.bj, reason: nil, operator: market.op,
                                                          datasets: market.datasets, at: Clock.day(3)).change).updated
        let directory = GrantDirectory()
        directory.apply([suspended], generation: 5)
        #expect(directory.check(query("g-1", at: Clock.day(2))) == .denied(.grantNotActive))
        directory.apply([active], generation: 4)
        #expect(directory.generation == 5)
        #expect(directory.check(query("g-1", at: Clock.day(2))) == .denied(.grantNotActive), "a slow refresh does not undo a newer one")
        // A refresh that read a later generation but an older copy of the grant (two refreshes racing
        // a commit on PostgreSQL) does not undo it either.
        directory.apply([active], generation: 6)
        #expect(directory.generation == 6)
        #expect(directory.check(query("g-1", at: Clock.day(2))) == .denied(.grantNotActive))
        directory.apply([reinstated], generation: 7)
        #expect(directory.check(query("g-1", at: Clock.day(2))) == .denied(.grantNotActive), "suspended on day 2 still")
        #expect(directory.check(query("g-1", at: Clock.day(4))) == .allowed)
        #expect(directory.snapshot("g-1")?.revision == reinstated.revision)

        directory.reset()
        #expect(directory.generation == -1 && directory.count == 0)
        #expect(directory.check(query("g-1")) == .denied(.grantNotFound))
    }

    @Test("checks from many tasks while refreshes apply see one version or another, never anything else")
    func concurrent() async throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        // A history of many revisions: suspended on odd days, reinstated on even ones.
        var versions = [try market.request([item("bj-a")]).updated]
        for day in 1...100 {
            let last = versions[versions.count - 1]
            let next = day.isMultiple(of: 2)
                ? lifecycle.reinstate(last, by: People.bj, reason: nil, operator: market.op, datasets: market.datasets, at: Clock.day(Double(day)))
                : lifecycle.suspend(last, by: People.bj, reason: "audit", at: Clock.day(Double(day)))
            versions.append(try #require(next.change).updated)
        }
        let history = versions
        let directory = GrantDirectory()
        let probe = query("g-1", at: Clock.day(1).addingTimeInterval(3_600))
        let answers = await withTaskGroup(of: [GrantCheckResult].self) { group in
            group.addTask {
                for (generation, version) in history.enumerated() {
                    directory.apply([version], generation: Int64(generation))
                }
                return []
            }
            for _ in 0..<8 {
                group.addTask {
                    var seen: [GrantCheckResult] = []
                    for _ in 0..<2_000 {
                        seen.append(directory.check(probe))
                        _ = directory.generation
                    }
                    return seen
                }
            }
            var all: [GrantCheckResult] = []
            for await part in group { all += part }
            return all
        }
        #expect(answers.count == 16_000)
        let possible: Set<GrantCheckResult> = [.allowed, .denied(.grantNotActive), .denied(.grantNotFound)]
        #expect(answers.allSatisfy { possible.contains($0) })
        #expect(directory.generation == Int64(versions.count - 1))
        #expect(directory.snapshot("g-1")?.revision == versions.last?.revision)
        #expect(directory.check(probe) == .denied(.grantNotActive), "suspended from day 1 to day 2 in the last version")
        #expect(directory.count == 1)
    }
}
