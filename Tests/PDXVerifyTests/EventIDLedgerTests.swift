import AuditLog
import Foundation
import Licensing
import PDXTesting
@testable import Replay
import Testing

/// The replay finds a usage event id counted twice exactly, whether the two counts sit in the same
/// sorted run, in different runs spilled to the temporary file, or in the buffer never spilled, and
/// leaves no file behind.
@Suite struct EventIDLedgerTests {
    /// A log of `batches` usage entries of `perBatch` events each (ids `e-<batch>-<n>`), then
    /// `extra` as one more entry.
    static func log(batches: Int, perBatch: Int, extra: [String] = []) throws -> [AuditEntry] {
        var fixture = try LogFixture()
        let start = LogFixture.octoberStart.addingTimeInterval(3_600)
        for batch in 0..<batches {
            let at = start.addingTimeInterval(Double(batch))
            fixture.usage((0..<perBatch).map { ("e-\(batch)-\($0)", 1, at) }, at: at)
        }
        if !extra.isEmpty {
            let at = start.addingTimeInterval(Double(batches))
            fixture.usage(extra.map { ($0, 1, at) }, at: at)
        }
        return fixture.entries
    }

    /// A fresh directory for one test's temporary files.
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func replay(_ entries: [AuditEntry], records: Int, directory: String?,
                       whileReplaying: (LogReplay) -> Void = { _ in }) -> LogReplay {
        var replay = LogReplay(eventIDs: EventIDLedger(temporaryDirectory: directory, limits: .init(records: records, bytes: 1 << 20)))
        for entry in entries { replay.apply(entry) }
        whileReplaying(replay)
        replay.finish()
        return replay
    }

    static func duplicates(_ replay: LogReplay) -> [ReplayFinding] {
        replay.findings.filter { $0.code == .usageDuplicate }
    }

    @Test func duplicateAcrossSpilledRunsIsFoundWhereItWasCountedAgain() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 10 batches of 3 events with runs of 4 records: the first count of e-1-2 is in an early run,
        // the second in the last entry, many runs later.
        let entries = try Self.log(batches: 10, perBatch: 3, extra: ["fresh", "e-1-2"])
        let replay = Self.replay(entries, records: 4, directory: directory) { replay in
            #expect(replay.eventIDs.runsSpilled >= 7)
            // Unlinked at creation: nothing in the directory even while the runs are in use.
            #expect((try? FileManager.default.contentsOfDirectory(atPath: directory)) == [])
        }
        let found = Self.duplicates(replay)
        #expect(found.count == 1, "\(replay.findings)")
        #expect(found.first?.location == "entry \(entries.count - 1)")
        #expect(found.first?.reason == "event e-1-2 of gr_1/bj-open/call: operator op_1 already had an event e-1-2 counted")
        #expect(replay.findingCount == 1)
        #expect(replay.temporarySpaceProblem == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func duplicateWithinOneRunIsFound() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // One entry holds the id twice; the buffer is never spilled.
        let entries = try Self.log(batches: 1, perBatch: 2, extra: ["x", "e-0-1", "x"])
        let replay = Self.replay(entries, records: 1_000, directory: directory)
        #expect(replay.eventIDs.runsSpilled == 0)
        let found = Self.duplicates(replay)
        #expect(found.map(\.location) == ["entry \(entries.count - 1)", "entry \(entries.count - 1)"], "\(replay.findings)")
        #expect(Set(found.map(\.reason)) == [
            "event e-0-1 of gr_1/bj-open/call: operator op_1 already had an event e-0-1 counted",
            "event x of gr_1/bj-open/call: operator op_1 already had an event x counted",
        ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func noDuplicateAmongManyRuns() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let entries = try Self.log(batches: 40, perBatch: 25)
        let replay = Self.replay(entries, records: 4, directory: directory)
        #expect(replay.eventIDs.runsSpilled == 250)
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        #expect(replay.state.eventCount == 1_000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func everyRepeatIsCountedAndTheEarliestAreKept() throws {
        // The same id 1,500 times: 1,499 findings, the first thousand in log order kept.
        var fixture = try LogFixture()
        let start = LogFixture.octoberStart.addingTimeInterval(3_600)
        for batch in 0..<1_500 {
            fixture.usage([("same", 1, start)], at: start.addingTimeInterval(Double(batch) / 1_000))
        }
        let entries = fixture.entries
        let first = try #require(entries.firstIndex { $0.record.action == "usage.recorded" })
        let replay = Self.replay(entries, records: 64, directory: nil)
        #expect(replay.findingCount == 1_499)
        #expect(replay.findings.count == LogReplay.findingLimit)
        #expect(replay.findings.first?.location == "entry \(first + 1)")
        #expect(replay.findings.last?.location == "entry \(first + LogReplay.findingLimit)")
    }

    @Test func sameIdOfAnotherOperatorIsNoDuplicate() {
        var ledger = EventIDLedger(limits: .init(records: 2, bytes: 1 << 20))
        let place = EventIDLedger.Place(grantID: "g", datasetID: "d", unit: .call)
        for (seq, op) in ["op_a", "op_b", "op_c"].enumerated() {
            ledger.add("e-1", operatorID: op, place: place, seq: UInt64(seq))
            ledger.add("e-2", operatorID: op, place: place, seq: UInt64(seq))
        }
        #expect(ledger.runsSpilled == 3)
        #expect(ledger.duplicates(limit: 10).total == 0)
        ledger.add("e-2", operatorID: "op_b", place: place, seq: 9)
        let (found, total) = ledger.duplicates(limit: 10)
        #expect(total == 1)
        #expect(found.first?.seq == 9)
        #expect(found.first?.operatorID == "op_b")
    }

    @Test func unwritableTemporaryDirectoryKeepsTheAnswerExact() throws {
        let missing = try Self.directory() + "/missing"
        let entries = try Self.log(batches: 10, perBatch: 3, extra: ["e-2-0"])
        let replay = Self.replay(entries, records: 4, directory: missing)
        #expect(replay.temporarySpaceProblem?.contains("cannot create a temporary file in \(missing)") == true)
        #expect(replay.eventIDs.runsSpilled == 0)
        #expect(Self.duplicates(replay).map(\.location) == ["entry \(entries.count - 1)"])
    }
}
