import AuditLog
import Foundation
import Testing
import Vetting

@Suite("Replaying an operator from its audit records")
struct ReplayTests {
    let lifecycle = OperatorLifecycle()

    func fullLife() throws -> Scenario {
        var scenario = try Scenario(tier: .enhanced)
        scenario.clock.advance(hours: 5)
        try scenario.approve(by: Sample.alice)
        scenario.clock.advance(days: 1)
        try scenario.approve(by: Sample.bob)
        scenario.clock.advance(months: 2)
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "  incident  ", at: scenario.clock.now))
        scenario.clock.advance(days: 4)
        try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.carol, reason: "fixed", at: scenario.clock.now))
        scenario.clock.advance(months: 11)
        try scenario.apply(lifecycle.review(scenario.current, by: Sample.alice, decision: .approve, reason: "still compliant", at: scenario.clock.now))
        try scenario.approve(by: Sample.carol)
        scenario.clock.advance(days: 9)
        try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.bob, reason: "licence withdrawn", at: scenario.clock.now))
        try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.alice, reason: "agreed", at: scenario.clock.now))
        return scenario
    }

    @Test("the records alone rebuild the operator exactly")
    func replayRebuilds() throws {
        let scenario = try fullLife()
        #expect(try OperatorReplay().replay(scenario.records) == scenario.current)
    }

    @Test("every prefix of whole changes rebuilds the operator as it was then")
    func replayPrefixes() throws {
        var scenario = try Scenario(tier: .enhanced)
        var states = [(scenario.records.count, scenario.current)]
        try scenario.approve(by: Sample.alice)
        states.append((scenario.records.count, scenario.current))
        try scenario.approve(by: Sample.bob)
        states.append((scenario.records.count, scenario.current))
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.admin, reason: "x", at: scenario.clock.now))
        states.append((scenario.records.count, scenario.current))
        for (count, state) in states {
            #expect(try OperatorReplay().replay(Array(scenario.records.prefix(count))) == state)
        }
    }

    @Test("records read back from their log encoding replay the same")
    func replayAfterEncoding() throws {
        let scenario = try fullLife()
        var decoded: [AuditRecord] = []
        for (index, record) in scenario.records.enumerated() {
            let bytes = try AuditEntry(seq: UInt64(index), time: scenario.clock.now, record: record).encoded()
            decoded.append(try AuditEntry(decoding: bytes).record)
        }
        #expect(try OperatorReplay().replay(decoded) == scenario.current)
    }

    struct Tampering: Sendable, CustomTestStringConvertible {
        let name: String
        let edit: @Sendable (inout [AuditRecord]) -> Void
        var testDescription: String { name }
    }

    static let tamperings: [Tampering] = [
        Tampering(name: "a longer term") { records in
            records[3].data["approved_until"] = "2028-10-02T02:00:00.000Z"
        },
        Tampering(name: "the second approval dropped") { records in
            records.remove(at: 2)
        },
        Tampering(name: "both approvals by one reviewer") { records in
            records[2].data["reviewer_id"] = "principal-alice"
            records[2].actor = "principal-alice"
            records[3].actor = "principal-alice"
            records[3].data["reviewers"] = ["principal-alice", "principal-alice"]
        },
        Tampering(name: "an approval by the applicant") { records in
            records[1].data["reviewer_id"] = "principal-applicant"
            records[1].actor = "principal-applicant"
        },
        Tampering(name: "a suspension without its reason") { records in
            records[4].data["reason"] = nil
        },
        Tampering(name: "a suspension removed") { records in
            records.remove(at: 4)
        },
        Tampering(name: "an unknown action") { records in
            records[5].action = "operator.promoted"
        },
        Tampering(name: "an application below the tier's MLPS level") { records in
            guard case .object(var application) = records[0].data["application"] else { return }
            application["mlps_level"] = 2
            records[0].data["application"] = .object(application)
        },
        Tampering(name: "an application with a corrupted USCC") { records in
            guard case .object(var application) = records[0].data["application"] else { return }
            application["uscc"] = "91440300708461136U"
            records[0].data["application"] = .object(application)
        },
        Tampering(name: "the application missing") { records in
            records.removeFirst()
        },
        Tampering(name: "a second application") { records in
            records.insert(records[0], at: 5)
        },
        Tampering(name: "a decision record without its review") { records in
            records.remove(at: 7)
        },
        Tampering(name: "a changed subject") { records in
            records[6].subjects = ["operator:op-2"]
        },
        Tampering(name: "a time that is not the log's form") { records in
            records[6].data["at"] = "2027-08-05T02:00:00Z"
        },
        Tampering(name: "a revision skipped") { records in
            records[9].data["revision"] = 10
        },
        Tampering(name: "nothing at all") { records in
            records.removeAll()
        },
    ]

    @Test("a forged or edited history fails the replay", arguments: tamperings)
    func tamperingFails(_ tampering: Tampering) throws {
        var records = try fullLife().records
        tampering.edit(&records)
        #expect(throws: VettingError(code: .replayFailed, detail: "")) {
            try OperatorReplay().replay(records)
        }
    }

    @Test("a replay under another policy than the server's fails")
    func policyMismatch() throws {
        let records = try fullLife().records
        let shortTerm = OperatorReplay(lifecycle: OperatorLifecycle(policy: VettingPolicy(approvalTermMonths: 6)))
        #expect(throws: VettingError(code: .replayFailed, detail: "")) {
            try shortTerm.replay(records)
        }
    }
}
