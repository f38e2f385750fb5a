import AuditLog
import Foundation
@testable import Replay
import Testing

@Suite("Replay of sensitive fields: never approved automatically")
struct SensitiveFieldReplayTests {
    /// The fixture's entries with the grant request's dataset asking for a justified field and
    /// `approvalsRequired` as its `approvals_required`.
    static func justified(approvalsRequired: JSONValue = []) throws -> (entries: [AuditEntry], requested: Int) {
        var entries = try LogFixture().entries
        let requested = try #require(entries.firstIndex { $0.record.action == "grant.requested" })
        var data = entries[requested].record.data
        var item = try #require(data["datasets"]?[0]?.objectValue)
        item["justifications"] = ["road": "route planning"]
        data["datasets"] = [.object(item)]
        data["approvals_required"] = approvalsRequired
        entries[requested].record.data = data
        return (entries, requested)
    }

    @Test("an automatic activation of a grant asking for sensitive fields is activated_without_approval")
    func automaticActivation() throws {
        let (entries, requested) = try Self.justified()
        let replay = ReplayHardeningTests.replay(entries)
        #expect(replay.findings.map(\.code) == [.activatedWithoutApproval], "\(replay.findings)")
        #expect(replay.findings.first?.location == "entry \(requested + 1)")
        #expect(ReplayHardeningTests.replay(try LogFixture().entries).findings.isEmpty, "without justifications it is lawful")
    }

    @Test("approvals_required that leaves out the sensitive dataset's authority is grant_step_invalid")
    func authorityLeftOut() throws {
        let (entries, requested) = try Self.justified(approvalsRequired: ["tj"])
        let replay = ReplayHardeningTests.replay(entries)
        #expect(replay.findings.contains { $0.code == .grantStepInvalid && $0.location == "entry \(requested)" }, "\(replay.findings)")
    }

    @Test("justifications that are not an object of strings make the record malformed")
    func malformed() throws {
        var (entries, requested) = try Self.justified()
        var data = entries[requested].record.data
        var item = try #require(data["datasets"]?[0]?.objectValue)
        item["justifications"] = ["road": 1]
        data["datasets"] = [.object(item)]
        entries[requested].record.data = data
        let replay = ReplayHardeningTests.replay(entries)
        #expect(!replay.findings.isEmpty)
        #expect(!replay.findings.contains { $0.code == .activatedWithoutApproval }, "the grant was never admitted")
    }
}
