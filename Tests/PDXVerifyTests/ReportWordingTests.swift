import AuditLog
import Foundation
@testable import pdx_verify
import Replay
import Testing

@Suite struct ReportWordingTests {
    @Test("a count of one takes the singular, any other count the plural", arguments: [
        (0, "0 grants"), (1, "1 grant"), (2, "2 grants"), (1_204, "1,204 grants"),
    ])
    func counted(value: Int, expected: String) {
        #expect(PDXVerify.counted(value, "grant") == expected)
        #expect(PDXVerify.counted(value, "authority", "authorities").hasSuffix(value == 1 ? "authority" : "authorities"))
    }

    @Test("the replay summary says 1 authority, 1 operator, 1 grant and 1 counter")
    func replaySummaryOfOneEach() throws {
        var log = try LogFixture()
        let t = LogFixture.octoberStart.addingTimeInterval(3600)
        log.usage([("e-1", 5, t)], at: t)
        var replay = LogReplay()
        for entry in log.entries { replay.apply(entry) }
        replay.finish()
        let report = PDXVerify.replayReport(replay.state)
        for phrase in ["1 authority,", "3 principals,", "1 operator (", "1 grant (1 in force", "1 usage event in", "1 counter ("] {
            #expect(report.contains(phrase), "\(phrase) in \(report)")
        }
        for wrong in ["1 authorities", "1 operators", "1 grants", "1 usage events", "1 counters"] {
            #expect(!report.contains(wrong), "\(wrong) in \(report)")
        }
    }
}
