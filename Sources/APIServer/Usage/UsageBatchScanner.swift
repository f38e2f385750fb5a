import Marketplace
import Identity
import Metering

/// Reads the body of `POST /v1/usage` in the shape clients send it, without `Codable`.
///
/// It reads only what it can read exactly as the generated decoder would: an object whose one
/// member is `events`, an array of objects with exactly the six members of `UsageEventInput`, each
/// once, in any order, strings of printable ASCII without escapes (nor `"` or `\`), quantities as
/// integers of at most 18 digits, JSON whitespace between tokens and nothing after the object.
/// For anything else — other members, escapes, non-ASCII text, other number forms, `null`, another
/// nesting, trailing bytes, invalid JSON — it returns nil and the request goes to the generated
/// handler, which answers it as before. Whatever it accepts, the generated decoder decodes to the
/// same events, so both routes answer every body alike (`UsageRouteTests`, and
/// `Docs/design/0004-metering.md` for why this exists).
struct UsageBatchScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    /// The previous event's value of each string member, and where its bytes are: the same bytes
    /// again (the usual case: one grant, dataset, unit and time for many events) reuse the string.
    private var previous = [(start: Int, count: Int, value: String)](repeating: (0, 0, ""), count: 6)

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The events of `body`, or nil when it is not in the shape this scanner reads.
    static func events(in body: UnsafeRawBufferPointer) -> [RawUsageEvent]? {
        var scanner = UsageBatchScanner(body)
        return scanner.batch()
    }

    // MARK: Grammar

    private mutating func batch() -> [RawUsageEvent]? {
        guard take(UInt8(ascii: "{")), let key = key(), Member(key) == .events, take(UInt8(ascii: "[")) else { return nil }
        var events: [RawUsageEvent] = []
        events.reserveCapacity(min(bytes.count / 100, 20_000))
        if !take(UInt8(ascii: "]")) {
            repeat {
                guard let event = event() else { return nil }
                events.append(event)
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "]")) else { return nil }
        }
        guard take(UInt8(ascii: "}")) else { return nil }
        skipWhitespace()
        return index == bytes.count ? events : nil
    }

    private mutating func event() -> RawUsageEvent? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var seen: UInt8 = 0
        var id = "", grantID = "", datasetID = "", unit = "", time = ""
        var quantity: Int64 = 0
        repeat {
            guard let key = key(), let member = Member(key), member != .events else { return nil }
            let bit: UInt8 = 1 << member.rawValue
            guard seen & bit == 0 else { return nil }
            seen |= bit
            if member == .quantity {
                guard let value = integer() else { return nil }
                quantity = value
                continue
            }
            guard let value = string(for: member) else { return nil }
            switch member {
            case .id: id = value
            case .grantID: grantID = value
            case .datasetID: datasetID = value
            case .unit: unit = value
            case .time: time = value
            case .quantity, .events: return nil
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), seen == Member.allEventMembers else { return nil }
        return RawUsageEvent(id: id, grantID: grantID, datasetID: datasetID, unit: unit, quantity: quantity, time: time)
    }

    /// The members this scanner knows; the raw value is a bit in an event's set of members seen.
    private enum Member: UInt8 {
        case id, grantID, datasetID, unit, time, quantity, events

        static let allEventMembers: UInt8 = 0b11_1111

        init?(_ key: UnsafeRawBufferPointer) {
            switch key.count {
            case 2 where Self.equal(key, "id"): self = .id
            case 4 where Self.equal(key, "unit"): self = .unit
            case 4 where Self.equal(key, "time"): self = .time
            case 6 where Self.equal(key, "events"): self = .events
            case 8 where Self.equal(key, "grant_id"): self = .grantID
            case 8 where Self.equal(key, "quantity"): self = .quantity
            case 10 where Self.equal(key, "dataset_id"): self = .datasetID
            default: return nil
            }
        }

        private static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
            text.withUTF8Buffer { bytes.elementsEqual($0) }
        }
    }

    // MARK: Tokens

    /// A member name and its colon.
    private mutating func key() -> UnsafeRawBufferPointer? {
        guard let range = stringBytes(), take(UInt8(ascii: ":")) else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// A string value of `member`; the previous event's string when the bytes are the same.
    private mutating func string(for member: Member) -> String? {
        guard let range = stringBytes() else { return nil }
        let slot = Int(member.rawValue)
        let last = previous[slot]
        let value = UnsafeRawBufferPointer(rebasing: bytes[range])
        if last.count == range.count, last.count > 0,
           UnsafeRawBufferPointer(rebasing: bytes[last.start..<(last.start + last.count)]).elementsEqual(value) {
            return last.value
        }
        let text = String(decoding: value, as: UTF8.self)
        previous[slot] = (range.lowerBound, range.count, text)
        return text
    }

    /// The bytes between the quotes of a string of printable ASCII without escapes.
    private mutating func stringBytes() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            // Control characters are invalid JSON; escapes and non-ASCII text are left to the
            // generated decoder.
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// `0` or `-`? then a digit 1–9 and at most 17 more digits: always an `Int64`. Fractions,
    /// exponents, `-0` and longer numbers are left to the generated decoder.
    private mutating func integer() -> Int64? {
        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            guard digits < 18 else { return nil }
            value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        // A leading zero is valid only alone, and then not negative.
        if bytes[index - digits] == UInt8(ascii: "0") && (digits > 1 || negative) { return nil }
        return negative ? -value : value
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }
}
