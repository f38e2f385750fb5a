import AuditLog
import Foundation
import PDXTesting
import Testing
import Vetting

@Suite("Vetting audit records")
struct AuditRecordTests {
    let lifecycle = OperatorLifecycle()

    /// One operator through every action: applied, reviewed (pending), reviewed + approved,
    /// suspended, reinstated, reviewed × 2 + renewed, revoked; and a second one rejected.
    func everyAction() throws -> [AuditRecord] {
        var scenario = try Scenario(tier: .enhanced)
        try scenario.approve(by: Sample.alice)
        try scenario.approve(by: Sample.bob)
        scenario.clock.advance(days: 30)
        try scenario.apply(lifecycle.suspend(scenario.current, by: Sample.alice, reason: "incident 42", at: scenario.clock.now))
        scenario.clock.advance(days: 1)
        try scenario.apply(lifecycle.reinstate(scenario.current, by: Sample.alice, reason: nil, at: scenario.clock.now))
        scenario.clock.advance(months: 10)
        try scenario.approve(by: Sample.alice)
        try scenario.approve(by: Sample.carol)
        scenario.clock.advance(days: 1)
        try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.bob, reason: "licence withdrawn", at: scenario.clock.now))
        try scenario.apply(lifecycle.revoke(scenario.current, by: Sample.alice, reason: "agreed", at: scenario.clock.now))

        var rejected = try Scenario()
        try rejected.apply(lifecycle.review(rejected.current, by: Sample.carol, decision: .reject, reason: "forged", at: rejected.clock.now))
        return scenario.records + rejected.records
    }

    @Test("actions, actors and subjects")
    func actionsActorsSubjects() throws {
        let records = try everyAction()
        #expect(records.map(\.action) == [
            "operator.applied",
            "operator.reviewed",
            "operator.reviewed", "operator.approved",
            "operator.suspended",
            "operator.reinstated",
            "operator.reviewed",
            "operator.reviewed", "operator.renewed",
            "operator.revocation_proposed",
            "operator.revoked",
            "operator.applied",
            "operator.reviewed", "operator.rejected",
        ])
        #expect(records.map(\.actor) == [
            "principal-applicant",
            "principal-alice",
            "principal-bob", "principal-bob",
            "principal-alice",
            "principal-alice",
            "principal-alice",
            "principal-carol", "principal-carol",
            "principal-bob",
            "principal-alice",
            "principal-applicant",
            "principal-carol", "principal-carol",
        ])
        #expect(records.allSatisfy { $0.subjects == ["operator:op-1"] })
        #expect(Set(records.map(\.action)) == Set(VettingAction.allCases.map(\.rawValue)))
    }

    @Test("every record carries operator_id, revision and at")
    func commonMembers() throws {
        for record in try everyAction() {
            #expect(record.data["operator_id"] == "op-1")
            #expect(record.data["revision"]?.integerValue != nil)
            #expect(record.data["at"]?.stringValue.flatMap(Timestamp.parse) != nil)
        }
    }

    @Test("the applied record holds the whole application")
    func appliedData() throws {
        let record = try #require(try everyAction().first)
        let application = try #require(record.data["application"])
        #expect(application == [
            "legal_name": "深圳市腾讯计算机系统有限公司",
            "uscc": "91440300708461136T",
            "mlps_level": 3,
            "tier": "enhanced",
            // Commitments only: the officer's name and e-mail never reach the log.
            "security_officer": ["name": PersonalDataCommitment.sample(0).json, "email": PersonalDataCommitment.sample(1).json],
            "certifications": ["ISO27001"],
            "documents": [
                ["name": "营业执照.pdf", "sha256": .string(String(repeating: "ab", count: 32))],
                ["name": "等保测评报告.pdf", "sha256": .string(String(repeating: "0f", count: 32))],
            ],
            "applicant": "principal-applicant",
        ])
        #expect(record.data["status"] == "submitted")
        #expect(record.data["at"] == "2026-10-01T02:00:00.000Z")
    }

    @Test("a review records reviewer, authority, decision, reason and the count of approvals")
    func reviewedData() throws {
        let records = try everyAction()
        #expect(records[1].data == [
            "operator_id": "op-1", "revision": 2, "at": "2026-10-01T02:00:00.000Z",
            "reviewer_id": "principal-alice", "authority_id": "bj", "decision": "approve", "reason": nil,
            "round": 0, "approvals": 1, "approvals_required": 2,
        ])
        #expect(records[3].data == [
            "operator_id": "op-1", "revision": 3, "at": "2026-10-01T02:00:00.000Z",
            "tier": "enhanced", "approved_until": "2027-10-01T02:00:00.000Z",
            "reviewers": ["principal-alice", "principal-bob"],
        ])
        #expect(records[13].data == [
            "operator_id": "op-1", "revision": 2, "at": "2026-10-01T02:00:00.000Z", "reason": "forged",
        ])
    }

    @Test("suspension, reinstatement, renewal and revocation data")
    func lifecycleData() throws {
        let records = try everyAction()
        #expect(records[4].data == [
            "operator_id": "op-1", "revision": 4, "at": "2026-10-31T02:00:00.000Z",
            "authority_id": "bj", "reason": "incident 42", "cascade": "suspend",
        ])
        #expect(records[5].data == [
            "operator_id": "op-1", "revision": 5, "at": "2026-11-01T02:00:00.000Z",
            "authority_id": "bj", "reason": nil, "approved_until": "2027-10-01T02:00:00.000Z", "cascade": "reinstate",
        ])
        #expect(records[8].data == [
            "operator_id": "op-1", "revision": 7, "at": "2027-09-01T02:00:00.000Z",
            "tier": "enhanced", "approved_until": "2028-09-01T02:00:00.000Z",
            "previous_approved_until": "2027-10-01T02:00:00.000Z",
            "reviewers": ["principal-alice", "principal-carol"],
        ])
        #expect(records[9].data == [
            "operator_id": "op-1", "revision": 8, "at": "2027-09-02T02:00:00.000Z",
            "authority_id": "tj", "status": "approved", "reason": "licence withdrawn",
        ])
        #expect(records[10].data == [
            "operator_id": "op-1", "revision": 9, "at": "2027-09-02T02:00:00.000Z",
            "authority_id": "bj", "from_status": "approved", "reason": "agreed", "cascade": "revoke",
            "proposed_by": "principal-bob", "proposed_by_authority_id": "tj",
        ])
    }

    @Test("every record encodes as a canonical log entry")
    func encodes() throws {
        for (index, record) in try everyAction().enumerated() {
            let entry = AuditEntry(seq: UInt64(index), time: TestClock.start, record: record)
            let bytes = try entry.encoded()
            #expect(try AuditEntry(decoding: bytes) == entry)
        }
    }

    @Test("the action catalog lists exactly the members each action writes")
    func catalogMatchesRecords() throws {
        let catalog = try Vectors.text("Sources/Vetting/README-actions.md")
        var documented: [String: Set<String>] = [:]
        for line in catalog.split(separator: "\n") where line.hasPrefix("| `operator.") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let action = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let members = cells[2].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            }
            documented[action] = Set(members).union(["operator_id", "revision", "at"])
        }
        #expect(Set(documented.keys) == Set(VettingAction.allCases.map(\.rawValue)))
        for record in try everyAction() {
            #expect(Set(record.data.keys) == documented[record.action], "\(record.action)")
        }
    }
}
