public import Foundation

/// What a module asks the log to record: who did what to which objects, and the data needed to
/// replay the change.
///
/// Everything in a record is published to auditors forever. Never put a secret in one (API keys,
/// key secrets, private keys, passwords, tokens): that is the caller's duty, the log cannot tell.
public struct AuditRecord: Sendable, Hashable {
    /// The principal id that acted, or `"system"` for the server's own work.
    public var actor: String
    /// What happened, as `noun.verb`, e.g. `grant.approved`.
    public var action: String
    /// The objects concerned, as `kind:id`, e.g. `operator:op_1`.
    public var subjects: [String]
    /// The data needed to replay the change (a JSON object).
    public var data: [String: JSONValue]

    /// Creates a record.
    public init(actor: String, action: String, subjects: [String] = [], data: [String: JSONValue] = [:]) {
        self.actor = actor
        self.action = action
        self.subjects = subjects
        self.data = data
    }
}

/// A record as the log holds it: at leaf index `seq`, appended at `time`.
///
/// Its encoding — the bytes that are hashed into the tree and exported — is the RFC 8785 canonical
/// JSON object with exactly the members `action`, `actor`, `data`, `seq`, `subjects` and `time`.
public struct AuditEntry: Sendable, Hashable {
    /// The largest encoding the log accepts: the length field of a C2SP tlog-tiles entry bundle is
    /// 16 bits.
    public static let maxEncodedSize = 65_535

    /// The leaf index in the log.
    public var seq: UInt64
    /// When the entry was appended, to the millisecond.
    public var time: Date {
        didSet { time = Timestamp.normalized(time) }
    }
    /// The record.
    public var record: AuditRecord

    /// Creates an entry; `time` is rounded to the millisecond, the precision of the encoding.
    public init(seq: UInt64, time: Date, record: AuditRecord) {
        self.seq = seq
        self.time = Timestamp.normalized(time)
        self.record = record
    }

    /// The canonical JSON encoding.
    ///
    /// Throws `invalid_record` for an empty actor or action or a `seq` beyond 2^53 (the largest
    /// integer I-JSON numbers carry exactly), `entry_too_large` when the encoding exceeds
    /// ``maxEncodedSize``, and `invalid_record` when the data cannot be put in canonical form
    /// (e.g. a non-finite number).
    public func encoded() throws(AuditLogError) -> [UInt8] {
        guard !record.actor.isEmpty else {
            throw AuditLogError(code: .invalidRecord, detail: "entry \(seq): the actor is empty")
        }
        guard !record.action.isEmpty else {
            throw AuditLogError(code: .invalidRecord, detail: "entry \(seq): the action is empty")
        }
        guard seq <= Self.maxExactInteger else {
            throw AuditLogError(code: .invalidRecord, detail: "entry \(seq): seq exceeds 2^53")
        }
        let value = JSONValue.object([
            "action": .string(record.action),
            "actor": .string(record.actor),
            "data": .object(record.data),
            "seq": .number(Double(seq)),
            "subjects": .array(record.subjects.map(JSONValue.string)),
            "time": .string(Timestamp.format(Timestamp.milliseconds(time))),
        ])
        let bytes: [UInt8]
        do {
            bytes = try value.canonicalBytes()
        } catch {
            throw AuditLogError(code: .invalidRecord, detail: "entry \(seq) \(record.action): \(error)")
        }
        guard bytes.count <= Self.maxEncodedSize else {
            throw AuditLogError(
                code: .entryTooLarge,
                detail: "entry \(seq) \(record.action) encodes to \(bytes.count) bytes, over \(Self.maxEncodedSize)"
            )
        }
        return bytes
    }

    /// Decodes an entry from its encoding; throws `malformed_entry` unless `bytes` are canonical
    /// JSON of the entry schema, and `entry_too_large` when they are longer than ``maxEncodedSize``.
    public init(decoding bytes: some Collection<UInt8>) throws(AuditLogError) {
        guard bytes.count <= Self.maxEncodedSize else {
            throw AuditLogError(code: .entryTooLarge, detail: "\(bytes.count) bytes, over \(Self.maxEncodedSize)")
        }
        let value: JSONValue
        do {
            value = try CanonicalJSON.validate(bytes)
        } catch {
            throw AuditLogError(code: .malformedEntry, detail: "not canonical JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw AuditLogError(code: .malformedEntry, detail: "an entry is a JSON object")
        }
        let expected: Set<String> = ["action", "actor", "data", "seq", "subjects", "time"]
        guard Set(members.keys) == expected else {
            let names = members.keys.sorted().joined(separator: ", ")
            throw AuditLogError(code: .malformedEntry, detail: "members are [\(names)], expected \(expected.sorted())")
        }
        guard case .string(let action)? = members["action"], !action.isEmpty else {
            throw AuditLogError(code: .malformedEntry, detail: "action must be a non-empty string")
        }
        guard case .string(let actor)? = members["actor"], !actor.isEmpty else {
            throw AuditLogError(code: .malformedEntry, detail: "actor must be a non-empty string")
        }
        guard case .object(let data)? = members["data"] else {
            throw AuditLogError(code: .malformedEntry, detail: "data must be an object")
        }
        guard case .number(let number)? = members["seq"], number >= 0, number <= Double(Self.maxExactInteger),
              number.rounded(.towardZero) == number
        else {
            throw AuditLogError(code: .malformedEntry, detail: "seq must be an integer in 0...2^53")
        }
        guard case .array(let subjectValues)? = members["subjects"] else {
            throw AuditLogError(code: .malformedEntry, detail: "subjects must be an array")
        }
        var subjects: [String] = []
        subjects.reserveCapacity(subjectValues.count)
        for subject in subjectValues {
            guard case .string(let text) = subject else {
                throw AuditLogError(code: .malformedEntry, detail: "subjects must be strings")
            }
            subjects.append(text)
        }
        guard case .string(let timeText)? = members["time"], let milliseconds = Timestamp.parse(timeText) else {
            throw AuditLogError(code: .malformedEntry, detail: "time must be RFC 3339 UTC with milliseconds")
        }
        self.init(
            seq: UInt64(number),
            time: Timestamp.date(milliseconds: milliseconds),
            record: AuditRecord(actor: actor, action: action, subjects: subjects, data: data)
        )
    }

    static let maxExactInteger: UInt64 = 1 << 53
}

/// RFC 3339 times as the API and the log write and read them: the one parser and formatter.
public enum RFC3339 {
    /// UTC with milliseconds, e.g. `2026-11-21T19:34:21.123Z`; digits below the millisecond are
    /// dropped, not rounded, so a time never reads as later than it was.
    public static func format(_ date: Date) -> String {
        // Whole microseconds first: a time written with milliseconds is not exact in binary.
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        return Timestamp.format(Int64((microseconds / 1000).rounded(.down)))
    }

    /// Parses RFC 3339 with or without fractional seconds and with any offset; the log's own form
    /// (``Timestamp``) without Foundation.
    public static func parse(_ text: String) -> Date? {
        if let milliseconds = Timestamp.parse(text) { return Timestamp.date(milliseconds: milliseconds) }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}

/// Entry times: RFC 3339 in UTC with exactly three fractional digits, e.g. `2026-11-21T19:34:21.123Z`,
/// one fixed width so the text sorts like the time. Written by hand because Foundation's formatters
/// are slow and locale-sensitive, and the log formats one per entry.
public enum Timestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z, rounded to the nearest millisecond.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The date `milliseconds` after 1970-01-01T00:00:00Z.
    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` rounded to the millisecond, so that it survives a round trip through its text.
    public static func normalized(_ date: Date) -> Date {
        self.date(milliseconds: milliseconds(date))
    }

    /// Formats milliseconds since the epoch; years outside 0...9999 are clamped.
    public static func format(_ milliseconds: Int64) -> String {
        let clamped = min(max(milliseconds, minimum), maximum)
        let (days, millisOfDay) = floorDivide(clamped, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let hour = millisOfDay / 3_600_000
        let minute = millisOfDay / 60_000 % 60
        let second = millisOfDay / 1000 % 60
        let millis = millisOfDay % 1000
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(hour, 2); out.append(UInt8(ascii: ":"))
        digits(minute, 2); out.append(UInt8(ascii: ":"))
        digits(second, 2); out.append(UInt8(ascii: "."))
        digits(millis, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses exactly the form ``format(_:)`` writes; nil for anything else, including a valid
    /// RFC 3339 time in another form, so each time has one spelling.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return nil }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")]
        for (offset, character) in separators where bytes[offset] != character.asciiValue! {
            return nil
        }
        func number(_ start: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[start..<(start + count)] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              let millis = number(20, 3),
              (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = self.days(fromCivil: year, month, day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }

    /// Parses any RFC 3339 date-time (`2026-10-05T10:00:00+08:00`, `2026-10-05T02:00:00.5Z`, lower-case
    /// `t` and `z` too) to milliseconds since 1970 UTC, digits beyond the millisecond dropped; nil for
    /// anything else. Written for the usage path, where every event carries one: no `DateFormatter`,
    /// no allocation.
    public static func parseRFC3339(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            let count = bytes.count
            guard count >= 20 else { return nil }
            func number(_ start: Int, _ length: Int) -> Int64? {
                var value: Int64 = 0
                for index in start..<(start + length) {
                    let byte = bytes[index]
                    guard byte >= 0x30, byte <= 0x39 else { return nil }
                    value = value * 10 + Int64(byte - 0x30)
                }
                return value
            }
            guard bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54 || bytes[10] == 0x74, bytes[13] == 0x3A, bytes[16] == 0x3A,
                  let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                  let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                  (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
                  hour < 24, minute < 60, second < 61
            else { return nil }
            var index = 19
            var millis: Int64 = 0
            if bytes[index] == 0x2E {
                index += 1
                let start = index
                while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                    if index - start < 3 { millis = millis * 10 + Int64(bytes[index] - 0x30) }
                    index += 1
                }
                guard index > start else { return nil }
                for _ in min(index - start, 3)..<3 { millis *= 10 }
            }
            guard index < count else { return nil }
            var offset: Int64 = 0
            switch bytes[index] {
            case 0x5A, 0x7A:
                index += 1
            case 0x2B, 0x2D:
                guard count - index == 6, bytes[index + 3] == 0x3A,
                      let hours = number(index + 1, 2), let minutes = number(index + 4, 2), hours < 24, minutes < 60
                else { return nil }
                offset = (hours * 60 + minutes) * 60_000 * (bytes[index] == 0x2B ? 1 : -1)
                index += 6
            default:
                return nil
            }
            guard index == count else { return nil }
            // A leap second (:60) counts as the last millisecond of its minute.
            let leap = second == 60
            let clock = ((days(fromCivil: year, month, day) * 24 + hour) * 60 + minute) * 60_000 + min(second, 59) * 1000
            return clock + (leap ? 999 : millis) - offset
        }
    }

    private static let minimum = -62_167_219_200_000 as Int64  // 0000-01-01T00:00:00.000Z
    private static let maximum = 253_402_300_799_999 as Int64  // 9999-12-31T23:59:59.999Z

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let quotient = a >= 0 ? a / b : -((-a + b - 1) / b)
        return (quotient, a - quotient * b)
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Proleptic Gregorian calendar conversions after H. Hinnant's `days_from_civil` and
    // `civil_from_days`: eras of 400 years starting on March 1st make leap days fall at the end.
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Year, month and day of the day `days` after 1970-01-01 in the proleptic Gregorian calendar:
    /// integer arithmetic, for paths that convert a date per event.
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
