import AuditLog
import Foundation
import Licensing
@testable import Replay
import Testing
import Vetting

/// The replay of `dataset.described` and of a field's sensitivity: the catalogue re-derived from the
/// log, and forged changes found.
@Suite("Replay: a dataset's description and its fields' sensitivity")
struct DatasetEditReplayTests {
    static let t = LogFixture.octoberStart.addingTimeInterval(3600)

    static func replay(_ log: LogFixture) -> LogReplay {
        var replay = LogReplay()
        for entry in log.entries { replay.apply(entry) }
        replay.finish()
        return replay
    }

    /// A dataset change of the fixture's dataset, as the server writes it.
    static func change(_ log: inout LogFixture, _ action: String, actor: String? = nil, authority: String = "bj", version: Int = 2,
                       stricter: Bool = false, at time: Date = t, _ changes: JSONValue) {
        log.append(action, actor: actor ?? log.reviewer.principalID, at: time, [
            "dataset_id": .string(log.datasetID), "version": JSONValue(version), "at": .string(Timestamp.format(Timestamp.milliseconds(time))),
            "authority_id": .string(authority), "changes": changes, "reason": "Clearer text", "stricter": .bool(stricter),
        ])
    }

    @Test("a lawful description change is re-derived: the catalogue holds the new title and description")
    func describedIsReplayed() throws {
        var log = try LogFixture()
        Self.change(&log, "dataset.described", [
            "title": ["from": "Traffic", "to": "道路交通"], "description": ["from": "Road traffic counts", "to": "Counts\nper hour"],
        ])
        let replay = Self.replay(log)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let dataset = try #require(replay.state.datasets[log.datasetID])
        #expect([dataset.title, dataset.description] == ["道路交通", "Counts\nper hour"])
        #expect(dataset.version == 2)
    }

    @Test("a forged description change is found: another authority's reviewer, a principal the log never made, a wrong `from`, an empty title",
          arguments: [
              ("pr_applicant", "bj", JSONValue(["title": ["from": "Traffic", "to": "Mine"]]), ReplayFinding.Code.reviewerIneligible),
              ("pr_nobody", "bj", ["title": ["from": "Traffic", "to": "Mine"]], .reviewerIneligible),
              ("pr_reviewer", "tj", ["title": ["from": "Traffic", "to": "Mine"]], .datasetChangeInvalid),
              ("pr_reviewer", "bj", ["title": ["from": "Other", "to": "Mine"]], .datasetChangeInvalid),
              ("pr_reviewer", "bj", ["description": ["from": "", "to": "Mine"]], .datasetChangeInvalid),
              ("pr_reviewer", "bj", ["title": ["from": "Traffic", "to": ""]], .datasetChangeInvalid),
          ] as [(String, String, JSONValue, ReplayFinding.Code)])
    func forgedDescription(actor: String, authority: String, changes: JSONValue, code: ReplayFinding.Code) throws {
        var log = try LogFixture()
        Self.change(&log, "dataset.described", actor: actor, authority: authority, changes)
        let replay = Self.replay(log)
        #expect(replay.findings.map(\.code) == [code], "\(replay.findings)")
        #expect(replay.findings.first?.location == "entry \(log.entries.count - 1)")
    }

    @Test("a description change without its changes' members, or with a title that is no string, is record_malformed")
    func malformed() throws {
        var log = try LogFixture()
        Self.change(&log, "dataset.described", ["title": ["from": "Traffic", "to": 7]])
        #expect(Self.replay(log).findings.map(\.code) == [.recordMalformed])
        var missing = try LogFixture()
        missing.append("dataset.described", actor: missing.reviewer.principalID, at: Self.t, [
            "dataset_id": .string(missing.datasetID), "version": 2, "at": .string(Timestamp.format(Timestamp.milliseconds(Self.t))),
            "authority_id": "bj", "reason": "Clearer text", "stricter": false,
        ])
        #expect(Self.replay(missing).findings.map(\.code) == [.recordMalformed])
    }

    @Test("a field marked sensitive without suspending the grant that reads it: usage under that grant is found")
    func sensitiveWithoutSuspension() throws {
        var log = try LogFixture()
        Self.change(&log, "dataset.reclassified", stricter: true, ["fields": ["road": ["sensitive": ["from": false, "to": true]]]])
        var lawful = log
        log.usage([("e-1", 1, Self.t.addingTimeInterval(60))], at: Self.t.addingTimeInterval(60))
        let replay = Self.replay(log)
        #expect(replay.state.datasets[log.datasetID]?.fields.first?.sensitive == true)
        #expect(replay.findings.map(\.code) == [.activatedAgainstPolicy], "\(replay.findings)")
        #expect(replay.findings.first?.reason.contains("field_sensitive") == true || replay.findings.first?.reason.contains("sensitive") == true)

        // Suspended in the same transaction, as the server does: the usage after it is refused, not the change.
        lawful.grantStep("grant.suspended", revision: 2, at: Self.t)
        #expect(Self.replay(lawful).findings.isEmpty, "\(Self.replay(lawful).findings)")
    }

    @Test("a sensitivity change whose `from` is not the field's, or of a field the dataset lacks, is dataset_change_invalid")
    func forgedSensitivity() throws {
        for changes: JSONValue in [["road": ["sensitive": ["from": true, "to": false]]], ["plate": ["sensitive": ["from": false, "to": true]]]] {
            var log = try LogFixture()
            Self.change(&log, "dataset.reclassified", ["fields": changes])
            #expect(Self.replay(log).findings.map(\.code) == [.datasetChangeInvalid], "\(changes)")
        }
    }
}
