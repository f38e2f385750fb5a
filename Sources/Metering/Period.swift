public import Foundation
import AuditLog

/// A settlement period: a calendar month in the marketplace's time zone, written `YYYY-MM`.
public struct Period: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    /// Creates a period; nil unless `month` is 1–12 and `year` 1970–9999.
    public init?(year: Int, month: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM`; nil for anything else.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"),
              bytes.enumerated().allSatisfy({ $0.offset == 4 || (0x30...0x39).contains($0.element) }),
              let year = Int(String(decoding: bytes[0..<4], as: UTF8.self)),
              let month = Int(String(decoding: bytes[5..<7], as: UTF8.self))
        else { return nil }
        self.init(year: year, month: month)
    }

    /// `YYYY-MM`.
    public var description: String {
        let month = self.month < 10 ? "0\(self.month)" : "\(self.month)"
        return "\(year)-\(month)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }
}

/// The marketplace's calendar: which period and which day an instant falls in.
public struct MarketCalendar: Sendable {
    /// Gregorian, in the marketplace's time zone.
    public let calendar: Calendar

    /// Creates a calendar in `timeZone`; the default is Asia/Shanghai.
    public init(timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// The period `date` falls in.
    public func period(of date: Date) -> Period {
        let (year, month, _) = civil(date)
        return Period(year: year, month: month) ?? Period(year: 1970, month: 1)!
    }

    /// The day `date` falls in, `YYYY-MM-DD`.
    public func day(of date: Date) -> String {
        let (year, month, day) = civil(date)
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    /// Year, month and day of `date` in the time zone: integer arithmetic on the local day number
    /// (the log's own calendar conversion), because `Calendar` costs microseconds per call and the
    /// usage path asks for every event.
    func civil(_ date: Date) -> (year: Int, month: Int, day: Int) {
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + calendar.timeZone.secondsFromGMT(for: date)
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let (year, month, day) = Timestamp.civil(fromDays: Int64(days))
        return (Int(year), Int(month), Int(day))
    }

    /// The first instant of `period`.
    public func start(of period: Period) -> Date {
        calendar.date(from: DateComponents(year: period.year, month: period.month, day: 1)) ?? Date(timeIntervalSince1970: 0)
    }

    /// The first instant after `period`.
    public func end(of period: Period) -> Date {
        calendar.date(byAdding: .month, value: 1, to: start(of: period)) ?? start(of: period)
    }
}
