import AuditLog
import Cryptography
import Foundation
import Metering
import Testing

/// An instant written in RFC 3339.
func instant(_ text: String) throws -> Date {
    Timestamp.date(milliseconds: try #require(Timestamp.parseRFC3339(text), "\(text)"))
}

@Suite("Settlement periods: YYYY-MM")
struct PeriodTests {
    @Test("parses a month of 1970–9999 and writes it back the same", arguments: ["1970-01", "2026-10", "2026-12", "9999-12"])
    func roundTrip(text: String) throws {
        let period = try #require(Period(text))
        #expect(period.description == text)
        #expect(Period(year: period.year, month: period.month) == period)
    }

    @Test("refuses anything else", arguments: [
        "", "2026-1", "2026-010", "26-10", "2026/10", "2026-00", "2026-13", "1969-12", "+026-10", "2026--1", " 2026-10",
        "2026-10 ", "２０２６-10", "2026-1a", "20261-0",
    ])
    func refuses(text: String) {
        #expect(Period(text) == nil)
    }

    @Test("months out of range are refused when built from numbers too")
    func refusesNumbers() {
        #expect(Period(year: 2026, month: 0) == nil)
        #expect(Period(year: 2026, month: 13) == nil)
        #expect(Period(year: 1969, month: 12) == nil)
        #expect(Period(year: 10_000, month: 1) == nil)
        #expect(Period(year: 2026, month: 1)?.description == "2026-01")
    }

    @Test("order is by year, then month, not by text length or month alone")
    func order() throws {
        let periods = try ["2027-01", "2026-12", "2026-02", "2026-10", "1999-12"].map { try #require(Period($0)) }
        #expect(periods.sorted().map(\.description) == ["1999-12", "2026-02", "2026-10", "2026-12", "2027-01"])
        #expect(Period("2026-12")! < Period("2027-01")!)
        #expect(!(Period("2026-10")! < Period("2026-10")!))
    }
}

@Suite("The marketplace calendar: periods and days in Asia/Shanghai")
struct MarketCalendarTests {
    let calendar = MarketCalendar()

    @Test("an instant belongs to the period and day of Beijing time, not of UTC")
    func beijingTime() throws {
        // 16:00 UTC is midnight in Beijing: the next day, and at a month's end the next period.
        #expect(calendar.period(of: try instant("2026-09-30T15:59:59.999Z")).description == "2026-09")
        #expect(calendar.period(of: try instant("2026-09-30T16:00:00Z")).description == "2026-10")
        #expect(calendar.day(of: try instant("2026-09-30T15:59:59.999Z")) == "2026-09-30")
        #expect(calendar.day(of: try instant("2026-09-30T16:00:00Z")) == "2026-10-01")
        #expect(calendar.period(of: try instant("2026-12-31T16:00:00Z")).description == "2027-01")
        #expect(calendar.day(of: try instant("2028-02-28T16:00:00Z")) == "2028-02-29")
    }

    @Test("a period starts at Beijing midnight of its first day and ends where the next one starts")
    func bounds() throws {
        let december = try #require(Period("2026-12"))
        #expect(calendar.start(of: december) == (try instant("2026-11-30T16:00:00Z")))
        #expect(calendar.end(of: december) == (try instant("2026-12-31T16:00:00Z")))
        #expect(calendar.end(of: december) == calendar.start(of: try #require(Period("2027-01"))))
        #expect(calendar.period(of: calendar.start(of: december)) == december)
        #expect(calendar.period(of: calendar.end(of: december).addingTimeInterval(-0.001)) == december)
    }

    @Test("another time zone places the same instant elsewhere")
    func otherTimeZone() throws {
        let utc = MarketCalendar(timeZone: try #require(TimeZone(identifier: "UTC")))
        let t = try instant("2026-09-30T20:00:00Z")
        #expect(utc.period(of: t).description == "2026-09")
        #expect(calendar.period(of: t).description == "2026-10")
    }

    @Test("the day by integer arithmetic agrees with Foundation's calendar on 5,000 instants, 1970 to 2100")
    func daysAgreeWithFoundation() {
        var random = SplitMix64(seed: 0xca1e)
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.calendar.timeZone
        for _ in 0..<5_000 {
            let t = Date(timeIntervalSince1970: Double(random.next() % 4_102_444_800_000) / 1000)
            let parts = gregorian.dateComponents([.year, .month, .day], from: t)
            let expected = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            #expect(calendar.day(of: t) == expected, "\(t)")
            #expect(calendar.period(of: t) == Period(year: parts.year!, month: parts.month!), "\(t)")
        }
    }
}
