import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
import Testing

/// A raw event of grant `gr_1`, dataset `d`, unit `call` unless told.
private func raw(_ id: String, grant: String = "gr_1", dataset: String = "d", unit: String = "call", quantity: Int64 = 1,
                 time: String = "2026-11-21T10:00:00Z") -> RawUsageEvent {
    RawUsageEvent(id: id, grantID: grant, datasetID: dataset, unit: unit, quantity: quantity, time: time)
}

/// After every event's time in these tests.
private let now = Date(timeIntervalSince1970: 1_900_000_000)

/// Decides `events` against a store that holds `stored`, counters at `used`, periods `closed`, an
/// operator approved until 2028, every grant allowed, and a quota of `quota` for every counter.
private func decide(_ events: [RawUsageEvent], stored: [String: SHA256Digest] = [:], used: [CounterKey: Int64] = [:],
                    closed: Set<Period> = [], operatorActiveUntil: Date? = Date(timeIntervalSince1970: 1_830_297_600),
                    check: (GrantCheckQuery) -> GrantCheckResult = { _ in .allowed }, quota: Int64? = 1_000,
                    amountLimit: Int64? = nil) -> UsageDecision {
    UsageBatch(events, operatorID: "op_1", at: now).decide(
        stored: stored, used: used, closed: closed, operatorActiveUntil: operatorActiveUntil, check: check,
        quota: { _ in quota }, amountLimit: { _ in amountLimit })
}

@Suite("Usage events: parsed one by one, each refused with its own code")
struct UsageParsingTests {
    @Test("a batch parses each event as UsageEvent does alone, times shared or not")
    func batchEvents() throws {
        let times = ["2026-11-21T10:00:00.000Z", "2026-11-21T10:00:00.000Z", "2026-11-21T18:00:00+08:00", "2026-11-30T16:00:00.0005Z",
                     "2026-11-30T16:00:00.0005Z", "2026-11-30T15:59:59.999Z", "2026-12-31T16:00:00Z"]
        let raws = times.enumerated().map { offset, time in
            RawUsageEvent(id: "e-\(offset)", grantID: offset % 2 == 0 ? "gr_a" : "gr_b", datasetID: "d", unit: offset == 3 ? "byte" : "call",
                          quantity: Int64(offset + 1), time: time)
        }
        let batch = UsageBatch(raws, operatorID: "op", at: Date(timeIntervalSince1970: 1_900_000_000))
        for (raw, result) in zip(raws, batch.parsed) {
            let milliseconds = try #require(Timestamp.parseRFC3339(raw.time))
            let alone = UsageEvent(id: raw.id, grantID: raw.grantID, datasetID: raw.datasetID, unit: try #require(MeteringUnit(rawValue: raw.unit)),
                                   quantity: raw.quantity, time: Timestamp.date(milliseconds: milliseconds), calendar: MarketCalendar())
            #expect(try result.get() == alone)
        }
    }

    @Test("each malformed event gets its code; the events around it still parse", arguments: [
        (raw(""), UsageRejection.invalidID),
        (raw(String(repeating: "x", count: 129)), .invalidID),
        (raw("a b"), .invalidID),
        (raw("a\"b"), .invalidID),
        (raw("a\\b"), .invalidID),
        (raw("é"), .invalidID),
        (raw("a\u{7F}"), .invalidID),
        (raw("e", unit: "minute"), .unknownUnit),
        (raw("e", unit: "Call"), .unknownUnit),
        (raw("e", quantity: 0), .invalidQuantity),
        (raw("e", quantity: -1), .invalidQuantity),
        (raw("e", quantity: 1_000_000_000_001), .invalidQuantity),
        (raw("e", time: "yesterday"), .invalidTime),
        (raw("e", time: "2026-11-21 10:00:00"), .invalidTime),
        (raw("e", time: "2030-03-17T17:51:41Z"), .timeInFuture),
    ])
    func rejections(event: RawUsageEvent, code: UsageRejection) {
        let batch = UsageBatch([raw("before"), event, raw("after")], operatorID: "op_1", at: now)
        #expect(batch.parsed.count == 3)
        #expect(throws: UsageRejectionError(code)) { try batch.parsed[1].get() }
        #expect((try? batch.parsed[0].get()) != nil)
        #expect((try? batch.parsed[2].get()) != nil)
    }

    @Test("the limits themselves are allowed: a 128-byte id, the largest quantity, five minutes ahead")
    func limits() {
        let ahead = Timestamp.format(Timestamp.milliseconds(now.addingTimeInterval(300)))
        let tooFar = Timestamp.format(Timestamp.milliseconds(now.addingTimeInterval(300.001)))
        let batch = UsageBatch([raw(String(repeating: "x", count: 128)), raw("big", quantity: 1_000_000_000_000),
                                raw("ahead", time: ahead), raw("too-far", time: tooFar)], operatorID: "op_1", at: now)
        #expect((try? batch.parsed[0].get()) != nil)
        #expect((try? batch.parsed[1].get()) != nil)
        #expect((try? batch.parsed[2].get()) != nil)
        #expect(throws: UsageRejectionError(.timeInFuture)) { try batch.parsed[3].get() }
    }

    @Test("one event written with two offsets has one digest; another quantity has another")
    func digests() throws {
        let batch = UsageBatch([raw("a", time: "2026-11-21T10:00:00Z"), raw("b", time: "2026-11-21T18:00:00+08:00"),
                                raw("c", quantity: 2)], operatorID: "op_1", at: now)
        let events = try batch.parsed.map { try $0.get() }
        #expect(events[0].digest == events[1].digest)
        #expect(events[0].digest != events[2].digest)
        #expect(events[0].period.description == "2026-11")
        #expect(events[0].day == "2026-11-21")
    }

    @Test("the ids, counters and periods a store must read: distinct, in order, sorted")
    func readSet() {
        let batch = UsageBatch([raw("e-2", grant: "gr_b"), raw("e-1"), raw("e-2", grant: "gr_b"), raw(""),
                                raw("e-3", unit: "byte", time: "2026-12-01T00:00:00+08:00"), raw("e-4", grant: "gr_b")],
                               operatorID: "op_1", at: now)
        #expect(batch.eventIDs == ["e-2", "e-1", "e-3", "e-4"])
        #expect(batch.counterKeys.map { "\($0.grantID) \($0.unit) \($0.period)" } == ["gr_1 byte 2026-12", "gr_1 call 2026-11", "gr_b call 2026-11"])
        #expect(batch.periods.map(\.description) == ["2026-11", "2026-12"])
    }
}

@Suite("Usage decisions: duplicates, conflicts, closed periods, grants, operators, quotas")
struct UsageDecisionTests {
    static let november = Period("2026-11")!

    @Test("an id repeated in a batch: the same content is a duplicate, other content a conflict; counted once")
    func repeatedInTheBatch() {
        let decision = decide([raw("e-1"), raw("e-1"), raw("e-1", quantity: 2), raw("e-2")])
        #expect(decision.outcomes == [.accepted, .duplicate, .rejected(.conflict), .accepted])
        #expect(decision.accepted.map(\.id) == ["e-1", "e-2"])
        #expect(decision.acceptedCount == 2)
        #expect(decision.duplicateCount == 1)
        #expect(decision.rejectedCount == 1)
    }

    @Test("an id counted before: the same content is a duplicate even where it would now be refused")
    func countedBefore() throws {
        let earlier = UsageBatch([raw("e-1"), raw("e-2")], operatorID: "op_1", at: now)
        let stored = Dictionary(uniqueKeysWithValues: try earlier.parsed.map { try $0.get() }.map { ($0.id, $0.digest) })
        // Period closed, grant suspended, quota used up: idempotency comes first.
        let decision = decide([raw("e-1"), raw("e-2", quantity: 5), raw("e-3")], stored: stored, closed: [Self.november],
                              check: { _ in .denied(.grantNotActive) }, quota: 0)
        #expect(decision.outcomes == [.duplicate, .rejected(.conflict), .rejected(.periodClosed)])
        #expect(decision.accepted.isEmpty)
        #expect(decision.counterDeltas.isEmpty)
    }

    @Test("a closed period refuses its events, not those of the next period")
    func closedPeriod() {
        let decision = decide([raw("oct", time: "2026-10-31T15:59:59Z"), raw("nov", time: "2026-10-31T16:00:00Z")],
                              closed: [Period("2026-10")!])
        #expect(decision.outcomes == [.rejected(.periodClosed), .accepted])
    }

    @Test("a grant check's denial becomes the rejection of the same code", arguments: GrantCheckDenial.allCases)
    func grantDenied(denial: GrantCheckDenial) {
        var asked: [GrantCheckQuery] = []
        let decision = decide([raw("e-1", grant: "gr_x", unit: "record")], check: { asked.append($0); return .denied(denial) })
        #expect(decision.outcomes == [.rejected(UsageRejection(rawValue: denial.rawValue)!)])
        #expect(asked.map(\.grantID) == ["gr_x"])
        #expect(asked.map(\.operatorID) == ["op_1"])
        #expect(asked.map(\.unit) == [.record])
    }

    @Test("the grant is checked per event: one grant denied, the other's events still counted")
    func grantsApart() {
        let decision = decide([raw("a-1", grant: "gr_a"), raw("b-1", grant: "gr_b"), raw("a-2", grant: "gr_a")],
                              check: { $0.grantID == "gr_b" ? .denied(.grantExpired) : .allowed })
        #expect(decision.outcomes == [.accepted, .rejected(.grantExpired), .accepted])
    }

    @Test("an operator whose approval ended, or who has none, reports nothing; the end itself is outside the term")
    func operatorNotActive() throws {
        let end = try instant("2026-11-21T10:00:00Z")
        let events = [raw("before", time: "2026-11-21T09:59:59.999Z"), raw("at", time: "2026-11-21T10:00:00Z"),
                      raw("after", time: "2026-11-21T10:00:00.001Z")]
        #expect(decide(events, operatorActiveUntil: end).outcomes
            == [.accepted, .rejected(.operatorNotActive), .rejected(.operatorNotActive)])
        #expect(decide(events, operatorActiveUntil: nil).outcomes == Array(repeating: .rejected(.operatorNotActive), count: 3))
    }

    @Test("a quota fits exactly; the event that passes it is refused, smaller ones after it still fit")
    func quota() throws {
        let key = CounterKey(grantID: "gr_1", datasetID: "d", unit: .call, period: Self.november)
        let decision = decide([raw("a", quantity: 5), raw("b", quantity: 4), raw("c", quantity: 3), raw("d", quantity: 1)],
                              used: [key: 2], quota: 10)
        #expect(decision.outcomes == [.accepted, .rejected(.quotaExceeded), .accepted, .rejected(.quotaExceeded)])
        let delta = try #require(decision.counterDeltas[key])
        #expect(delta.quantity == 8)
        #expect(delta.events == 2)
    }

    @Test("no quota for a counter (a unit not granted) refuses every event of it")
    func noQuota() {
        #expect(decide([raw("a")], quota: nil).outcomes == [.rejected(.quotaExceeded)])
    }

    @Test("the amount limit refuses what would pass it, within the quota")
    func amountLimit() {
        let decision = decide([raw("a", quantity: 4), raw("b", quantity: 2), raw("c", quantity: 1)], quota: 100, amountLimit: 5)
        #expect(decision.outcomes == [.accepted, .rejected(.amountLimitExceeded), .accepted])
        #expect(decide([raw("a", quantity: 4)], quota: 3, amountLimit: 5).outcomes == [.rejected(.quotaExceeded)])
    }

    @Test("counters and day counters add up the accepted events only, by grant, dataset, unit, period and day")
    func deltas() throws {
        let decision = decide([
            raw("a", quantity: 2, time: "2026-11-20T10:00:00Z"), raw("b", quantity: 3, time: "2026-11-21T10:00:00Z"),
            raw("c", unit: "byte", quantity: 7), raw("d", grant: "gr_2", quantity: 11), raw("x", quantity: 0),
            raw("a", quantity: 2, time: "2026-11-20T10:00:00Z"),
        ])
        #expect(decision.outcomes.filter { $0 == .accepted }.count == 4)
        let calls = try #require(decision.counterDeltas[CounterKey(grantID: "gr_1", datasetID: "d", unit: .call, period: Self.november)])
        #expect(calls.quantity == 5 && calls.events == 2)
        let bytes = try #require(decision.counterDeltas[CounterKey(grantID: "gr_1", datasetID: "d", unit: .byte, period: Self.november)])
        #expect(bytes.quantity == 7 && bytes.events == 1)
        #expect(decision.counterDeltas.count == 3)
        let day20 = try #require(decision.dayDeltas[DayKey(grantID: "gr_1", datasetID: "d", unit: .call, day: "2026-11-20")])
        #expect(day20.quantity == 2 && day20.events == 1)
        let day21 = try #require(decision.dayDeltas[DayKey(grantID: "gr_1", datasetID: "d", unit: .call, day: "2026-11-21")])
        #expect(day21.quantity == 3 && day21.events == 1)
        #expect(decision.dayDeltas.count == 4)
    }
}
