extension CanonicalJSON {
    /// Checks that `bytes` is RFC 8785 canonical JSON without building a value.
    ///
    /// Accepts exactly what ``validate(_:)`` accepts and fails with the same error codes, in one pass over
    /// the bytes and without allocating for the common case (see ``checkEntry(_:integerMember:)``).
    public static func check(_ bytes: UnsafeRawBufferPointer) throws(CanonicalJSONError) {
        var checker = CanonicalJSONChecker(bytes: bytes, memberName: nil, requiredMembers: [])
        try checker.run()
    }

    /// Checks that `bytes` is canonical JSON, as ``check(_:)``, and reads one top-level integer member.
    ///
    /// Built for verifying a log: each entry is proven canonical and its sequence number read in the
    /// same pass. Integers up to 2^53, literals, strings and object structure cost no allocation. Other
    /// numbers are read and re-formatted through `String`, which allocates only when the text or its
    /// shortest form exceeds 15 bytes; an object whose member names are out of order or not all ASCII
    /// gets a set of its names, since canonically equivalent names are duplicates. Entries rarely have either.
    ///
    /// - Parameters:
    ///   - bytes: the whole text, with nothing before or after the value.
    ///   - integerMember: a member name of the top-level object, made of characters that canonical form
    ///     writes literally (no `"`, `\` or control characters).
    /// - Returns: the member's value when the text is a canonical object holding that member as an integer
    ///   within ±2^53 (where doubles are exact); nil when the top-level value is not an object, the member
    ///   is missing, or its value is not such a number.
    public static func checkEntry(
        _ bytes: UnsafeRawBufferPointer, integerMember name: StaticString
    ) throws(CanonicalJSONError) -> Int64? {
        try checkEntry(bytes, integerMember: name, requiredMembers: []).integerMember
    }

    /// Checks that `bytes` is canonical JSON, as ``check(_:)``, and reports on its top level: whether it is
    /// an object, the value of one integer member, and whether the object has every required member.
    ///
    /// Lets a verifier hold each entry to its schema's outline without parsing it a second time.
    ///
    /// - Parameters:
    ///   - integerMember: as in ``checkEntry(_:integerMember:)``.
    ///   - requiredMembers: at most 64 member names, each written literally in canonical form (no `"`,
    ///     `\` or control characters).
    public static func checkEntry(
        _ bytes: UnsafeRawBufferPointer, integerMember name: StaticString, requiredMembers: [StaticString]
    ) throws(CanonicalJSONError) -> CanonicalEntrySummary {
        precondition(requiredMembers.count <= 64, "at most 64 required members")
        let result = name.withUTF8Buffer { utf8 -> Result<CanonicalEntrySummary, CanonicalJSONError> in
            var checker = CanonicalJSONChecker(
                bytes: bytes, memberName: UnsafeRawBufferPointer(utf8), requiredMembers: requiredMembers)
            do throws(CanonicalJSONError) {
                try checker.run()
                return .success(checker.summary)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The top level of a text that ``CanonicalJSON/checkEntry(_:integerMember:requiredMembers:)`` proved canonical.
public struct CanonicalEntrySummary: Sendable, Equatable {
    /// True when the value is a JSON object.
    public var isObject: Bool
    /// The integer member's value; nil when absent or not an integer within ±2^53.
    public var integerMember: Int64?
    /// Index in the required names of the first one the object lacks; nil when it has them all.
    /// Every required name is missing from a value that is not an object.
    public var firstMissingMember: Int?

    /// A summary from its parts.
    public init(isObject: Bool, integerMember: Int64?, firstMissingMember: Int?) {
        self.isObject = isObject
        self.integerMember = integerMember
        self.firstMissingMember = firstMissingMember
    }
}

/// One pass over the bytes that proves canonical form, in the order `JSONParser` would fail.
///
/// Agreement with ``CanonicalJSON/validate(_:)`` rests on meeting each hard error (`invalid_json`,
/// `too_deep`, `duplicate_key`, `non_finite_number`) at the same point of the same walk, and holding
/// departures from canonical form back until the end, so that an invalid text never reports
/// `not_canonical`. Nesting is bounded by ``JSONValue/maximumDepth``, so the recursion is too.
struct CanonicalJSONChecker {
    private let bytes: UnsafeRawBufferPointer
    private let count: Int
    private var offset = 0
    private var depth = 0
    /// Offset of the earliest departure from canonical form, `Int.max` while there is none.
    private var firstNonCanonical = Int.max
    private var nonCanonicalReason: StaticString = ""
    /// The top-level member to read, if any.
    private let memberName: UnsafeRawBufferPointer?
    private var memberValue: Int64?
    /// Top-level names to look for, and a bit for each one found.
    private let requiredMembers: [StaticString]
    private var foundMembers: UInt64 = 0
    private var isObject = false
    /// The last number's value when it is an integer within ±2^53.
    private var lastInteger: Int64?

    init(bytes: UnsafeRawBufferPointer, memberName: UnsafeRawBufferPointer?, requiredMembers: [StaticString]) {
        self.bytes = bytes
        self.count = bytes.count
        self.memberName = memberName
        self.requiredMembers = requiredMembers
    }

    /// What the walk saw at the top level; meaningful once ``run()`` has returned.
    var summary: CanonicalEntrySummary {
        let missing = requiredMembers.indices.first { foundMembers & (1 << UInt64($0)) == 0 }
        return CanonicalEntrySummary(isObject: isObject, integerMember: memberValue, firstMissingMember: missing)
    }

    /// Notes which required names the top-level member name `key` is.
    private mutating func markRequired(_ key: KeyRange) {
        for index in requiredMembers.indices where foundMembers & (1 << UInt64(index)) == 0 {
            let matches = requiredMembers[index].withUTF8Buffer { key.matches(UnsafeRawBufferPointer($0), in: bytes) }
            if matches {
                foundMembers |= 1 << UInt64(index)
                return
            }
        }
    }

    mutating func run() throws(CanonicalJSONError) {
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            throw invalid("byte order mark", at: 0)
        }
        skipWhitespace()
        try value()
        skipWhitespace()
        guard offset == count else { throw invalid("unexpected data after the value", at: offset) }
        if firstNonCanonical != Int.max {
            throw CanonicalJSONError(code: .notCanonical, detail: "at byte \(firstNonCanonical): \(nonCanonicalReason)")
        }
    }

    // MARK: Values

    private mutating func value() throws(CanonicalJSONError) {
        guard offset < count else { throw invalid("unexpected end of input", at: offset) }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            try object()
        case UInt8(ascii: "["):
            try array()
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "t"):
            try literal(0x7472_7565, length: 4)  // "true"
        case UInt8(ascii: "f"):
            try literal(0x6661_6C73_65, length: 5)  // "false"
        case UInt8(ascii: "n"):
            try literal(0x6E75_6C6C, length: 4)  // "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
        case let byte:
            throw invalid("unexpected byte 0x\(String(byte, radix: 16))", at: offset)
        }
    }

    /// Matches a literal given as its bytes packed big-endian into an integer.
    @inline(__always)
    private mutating func literal(_ packed: UInt64, length: Int) throws(CanonicalJSONError) {
        guard count - offset >= length else { throw invalid("unknown literal", at: offset) }
        var found: UInt64 = 0
        for index in offset..<(offset + length) { found = found << 8 | UInt64(bytes[index]) }
        guard found == packed else { throw invalid("unknown literal", at: offset) }
        offset += length
    }

    private mutating func array() throws(CanonicalJSONError) {
        try enterContainer()
        offset += 1
        if closesEmpty(UInt8(ascii: "]")) { return }
        while true {
            skipWhitespace()
            try value()
            skipWhitespace()
            if try leavesContainer(closedBy: UInt8(ascii: "]")) { return }
        }
    }

    private mutating func object() throws(CanonicalJSONError) {
        try enterContainer()
        let objectStart = offset
        offset += 1
        if closesEmpty(UInt8(ascii: "}")) { return }
        let topLevel = depth == 1
        if topLevel { isObject = true }
        let readsMembers = topLevel && (memberName != nil || !requiredMembers.isEmpty)
        // The previous member name, as the range of its raw bytes between the quotes.
        var previous = KeyRange(start: -1, end: -1, flags: 0)
        // While names arrive in strict order and are all ASCII, each new name differs from every earlier
        // one exactly when it differs from the last. Otherwise every name goes into this set.
        var names: Set<String>? = nil
        var allASCII = true
        var ordered = true
        while true {
            skipWhitespace()
            guard offset < count && bytes[offset] == UInt8(ascii: "\"") else {
                throw invalid("expected a member name", at: offset)
            }
            let keyOffset = offset
            let flags = try string()
            let key = KeyRange(start: keyOffset + 1, end: offset - 1, flags: flags)
            skipWhitespace()
            guard offset < count && bytes[offset] == UInt8(ascii: ":") else { throw invalid("expected ':'", at: offset) }
            offset += 1
            skipWhitespace()
            let valueOffset = offset
            lastInteger = nil
            try value()
            // A name with an escape is not canonical unless it needs the escape, and the names asked
            // for need none.
            if readsMembers && key.flags & KeyRange.escaped == 0 {
                if let memberName, key.matches(memberName, in: bytes) {
                    // Only a number sets `lastInteger`; the byte check keeps a nested one from leaking out.
                    let lead = bytes[valueOffset]
                    memberValue = lead == UInt8(ascii: "-") || (lead >= 0x30 && lead <= 0x39) ? lastInteger : nil
                }
                if !requiredMembers.isEmpty { markRequired(key) }
            }

            if previous.start >= 0 {
                let order = KeyRange.compare(previous, key, in: bytes)
                if order == 0 { throw duplicate(at: keyOffset) }
                if order > 0 {
                    noteNonCanonical("member names not in UTF-16 order", at: keyOffset)
                    ordered = false
                }
                if key.flags & KeyRange.nonASCII != 0 { allASCII = false }
                if names != nil || !ordered || !allASCII {
                    if names == nil { names = earlierNames(objectStart: objectStart, before: keyOffset) }
                    // Swift strings compare by canonical equivalence, as the parser's dictionary does:
                    // "\u{212A}" (Kelvin sign) and "K" are one name.
                    if names?.insert(key.decoded(in: bytes)).inserted == false { throw duplicate(at: keyOffset) }
                }
            } else if key.flags & KeyRange.nonASCII != 0 {
                allASCII = false
            }
            previous = key

            skipWhitespace()
            if try leavesContainer(closedBy: UInt8(ascii: "}")) { return }
        }
    }

    /// Right after an opening bracket: steps over `close` if the container is empty, leaving it, and
    /// returns true; otherwise stays at the first element or member.
    @inline(__always)
    private mutating func closesEmpty(_ close: UInt8) -> Bool {
        skipWhitespace()
        guard offset < count && bytes[offset] == close else { return false }
        offset += 1
        depth -= 1
        return true
    }

    /// After an element or member: steps over a `,` and returns false, or over `close`, leaving the
    /// container, and returns true.
    @inline(__always)
    private mutating func leavesContainer(closedBy close: UInt8) throws(CanonicalJSONError) -> Bool {
        guard offset < count else { throw invalid("expected ',' or '\(Character(Unicode.Scalar(close)))'", at: offset) }
        switch bytes[offset] {
        case UInt8(ascii: ","):
            offset += 1
            return false
        case close:
            offset += 1
            depth -= 1
            return true
        default:
            throw invalid("expected ',' or '\(Character(Unicode.Scalar(close)))'", at: offset)
        }
    }

    @inline(__always)
    private mutating func enterContainer() throws(CanonicalJSONError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else {
            throw CanonicalJSONError(
                code: .tooDeep, detail: "at byte \(offset): more than \(JSONValue.maximumDepth) nested arrays and objects")
        }
    }

    /// The decoded names of the members before `end` in the object opening at `objectStart`.
    ///
    /// Only called once the text up to `end` has been checked, so it skips values without checking them.
    private func earlierNames(objectStart: Int, before end: Int) -> Set<String> {
        var names = Set<String>()
        var position = objectStart + 1
        while true {
            position = skippingWhitespace(from: position)
            if position >= end { return names }
            let closing = closingQuote(ofStringAt: position)
            names.insert(KeyRange(start: position + 1, end: closing, flags: KeyRange.escaped).decoded(in: bytes))
            position = skippingWhitespace(from: closing + 1) + 1  // the colon
            position = skippingValue(from: skippingWhitespace(from: position))
            position = skippingWhitespace(from: position) + 1  // the comma
        }
    }

    private func skippingWhitespace(from start: Int) -> Int {
        var position = start
        while position < count && isWhitespace(bytes[position]) { position += 1 }
        return position
    }

    private func closingQuote(ofStringAt start: Int) -> Int {
        var position = start + 1
        while bytes[position] != UInt8(ascii: "\"") {
            position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
        }
        return position
    }

    private func skippingValue(from start: Int) -> Int {
        var position = start
        var nesting = 0
        repeat {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position = closingQuote(ofStringAt: position) + 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                nesting += 1
                position += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                nesting -= 1
                position += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                position += 1
            default:
                if isWhitespace(bytes[position]) {
                    position += 1
                } else {
                    // A number or literal: runs to the next delimiter.
                    while position < count, !isDelimiter(bytes[position]) { position += 1 }
                }
            }
        } while nesting > 0
        return position
    }

    // MARK: Strings

    /// Checks the string whose opening quote is at `offset` and moves past its closing quote.
    ///
    /// Returns ``KeyRange`` flags: whether it holds an escape, and whether its decoded text leaves ASCII.
    @inline(__always)
    private mutating func string() throws(CanonicalJSONError) -> UInt8 {
        let quoteOffset = offset
        var position = offset + 1
        var flags: UInt8 = 0
        while true {
            // Eight bytes at a time up to the first quote, backslash, control character or non-ASCII byte.
            while count - position >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                let attention = Self.attentionMask(word)
                if attention != 0 {
                    // The lowest flagged byte is always a true one (see `attentionMask`).
                    position += attention.trailingZeroBitCount >> 3
                    break
                }
                position += 8
            }
            guard position < count else { throw invalid("unterminated string", at: quoteOffset) }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                offset = position + 1
                return flags
            } else if byte == UInt8(ascii: "\\") {
                flags |= KeyRange.escaped
                position = try escape(at: position, flags: &flags)
            } else if byte >= 0x80 {
                flags |= KeyRange.nonASCII
                position += try utf8SequenceLength(at: position)
            } else if byte < 0x20 {
                throw invalid("control character 0x\(String(byte, radix: 16)) in string", at: position)
            } else {
                position += 1
            }
        }
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Flags (in its high bit) each byte of `word`, first byte lowest, that is below 0x20, is `"` or `\`,
    /// or is not ASCII; zero when there is none.
    ///
    /// The subtractions (`(x - 0x01…) & ~x & 0x80…` finds zero bytes) borrow across bytes, so a byte above
    /// a flagged one may be flagged wrongly, but never one below: the lowest flag is always right.
    @inline(__always)
    private static func attentionMask(_ word: UInt64) -> UInt64 {
        let control = (word &- ones &* 0x20) & ~word
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quoteZero = (quote &- ones) & ~quote
        let backslashZero = (backslash &- ones) & ~backslash
        return (control | quoteZero | backslashZero | word) & highBits
    }

    /// Checks the escape at `start` and returns the offset after it.
    private mutating func escape(at start: Int, flags: inout UInt8) throws(CanonicalJSONError) -> Int {
        guard count - start >= 2 else { throw invalid("unterminated string", at: start) }
        switch bytes[start + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
             UInt8(ascii: "r"), UInt8(ascii: "t"):
            return start + 2
        case UInt8(ascii: "/"):
            noteNonCanonical("'/' is escaped", at: start)
            return start + 2
        case UInt8(ascii: "u"):
            break
        default:
            throw invalid("unknown escape", at: start)
        }
        let (unit, lowerCaseOnly) = try hexQuad(at: start + 2)
        var position = start + 6
        var scalar = UInt32(unit)
        switch unit {
        case 0xD800...0xDBFF:
            guard count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw invalid("lone surrogate escape", at: start)
            }
            let (low, _) = try hexQuad(at: position + 2)
            guard (0xDC00...0xDFFF).contains(low) else { throw invalid("lone surrogate escape", at: start) }
            position += 6
            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        case 0xDC00...0xDFFF:
            throw invalid("lone surrogate escape", at: start)
        default:
            break
        }
        // Canonical form spells with \u only control characters that lack a short escape, in lower case.
        let hasShortForm = scalar == 0x08 || scalar == 0x09 || scalar == 0x0A || scalar == 0x0C || scalar == 0x0D
        if scalar >= 0x20 || hasShortForm || !lowerCaseOnly {
            noteNonCanonical("needless or upper-case \\u escape", at: start)
        }
        if scalar >= 0x80 { flags |= KeyRange.nonASCII }
        return position
    }

    /// Reads four hex digits at `start`; also says whether every letter among them was lower case.
    private func hexQuad(at start: Int) throws(CanonicalJSONError) -> (UInt16, Bool) {
        guard count - start >= 4 else { throw invalid("truncated \\u escape", at: start) }
        var value: UInt16 = 0
        var lowerCaseOnly = true
        for position in start..<(start + 4) {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                digit = byte &- UInt8(ascii: "A") &+ 10
                lowerCaseOnly = false
            default: throw invalid("bad hex digit in \\u escape", at: position)
            }
            value = value << 4 | UInt16(digit)
        }
        return (value, lowerCaseOnly)
    }

    /// Length of the well-formed UTF-8 sequence at `position`.
    @inline(__always)
    private func utf8SequenceLength(at position: Int) throws(CanonicalJSONError) -> Int {
        guard let length = UTF8Sequence.length(at: position, in: bytes) else { throw invalid("invalid UTF-8", at: position) }
        return length
    }

    // MARK: Numbers

    private mutating func number() throws(CanonicalJSONError) {
        let start = offset
        var position = offset
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let integerStart = position
        guard position < count, isDigit(bytes[position]) else { throw invalid("expected a digit", at: position) }
        var magnitude: UInt64 = 0
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < count && isDigit(bytes[position]) { throw invalid("leading zero", at: integerStart) }
        } else {
            while position < count, isDigit(bytes[position]) {
                // Nineteen digits always fit; longer integers take the general path below anyway.
                if position - integerStart < 19 { magnitude = magnitude &* 10 &+ UInt64(bytes[position] &- 0x30) }
                position += 1
            }
        }
        let integerDigits = position - integerStart
        var isPlainInteger = true
        if position < count && bytes[position] == UInt8(ascii: ".") {
            isPlainInteger = false
            position += 1
            guard position < count, isDigit(bytes[position]) else { throw invalid("expected a digit after '.'", at: position) }
            while position < count, isDigit(bytes[position]) { position += 1 }
        }
        if position < count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            isPlainInteger = false
            position += 1
            if position < count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < count, isDigit(bytes[position]) else {
                throw invalid("expected a digit in the exponent", at: position)
            }
            while position < count, isDigit(bytes[position]) { position += 1 }
        }
        offset = position

        // An integer up to 2^53 is its own canonical form (leading zeros were refused above), but for -0.
        if isPlainInteger && integerDigits <= 16 && magnitude <= CanonicalNumberText.exactIntegerLimit {
            if negative && magnitude == 0 { noteNonCanonical("-0 is written 0", at: start) }
            lastInteger = negative ? -Int64(magnitude) : Int64(magnitude)
            return
        }
        try generalNumber(start: start, end: position)
    }

    /// Fractions, exponents and integers beyond 2^53: read as a double, then compare with its canonical text.
    private mutating func generalNumber(start: Int, end: Int) throws(CanonicalJSONError) {
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        // Up to 15 bytes a String is stored inline, so this costs no allocation for most numbers.
        guard let value = Double(String(decoding: text, as: UTF8.self)) else {
            throw invalid("unreadable number", at: start)
        }
        guard value.isFinite else {
            throw CanonicalJSONError(code: .nonFiniteNumber, detail: "at byte \(start): number beyond the range of a double")
        }
        if value.rounded(.towardZero) == value && value.magnitude <= Double(CanonicalNumberText.exactIntegerLimit) {
            lastInteger = Int64(value)
        }
        if !CanonicalNumberText.matches(value, text) {
            noteNonCanonical("number not in ECMAScript form", at: start)
        }
    }

    // MARK: Small pieces

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always)
    private func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || isWhitespace(byte)
    }

    /// Canonical text has no whitespace at all, so any is noted; the parser still skips it to find errors.
    @inline(__always)
    private mutating func skipWhitespace() {
        while offset < count && isWhitespace(bytes[offset]) {
            noteNonCanonical("whitespace", at: offset)
            offset += 1
        }
    }

    /// Keeps the earliest departure: a member name out of order is only seen after its value.
    private mutating func noteNonCanonical(_ reason: StaticString, at position: Int) {
        if position < firstNonCanonical {
            firstNonCanonical = position
            nonCanonicalReason = reason
        }
    }

    private func invalid(_ reason: String, at position: Int) -> CanonicalJSONError {
        CanonicalJSONError(code: .invalidJson, detail: "at byte \(position): \(reason)")
    }

    private func duplicate(at position: Int) -> CanonicalJSONError {
        CanonicalJSONError(code: .duplicateKey, detail: "at byte \(position): member name repeats an earlier one")
    }
}

/// A member name as the raw bytes between its quotes, already checked.
private struct KeyRange {
    /// The name holds a backslash escape.
    static let escaped: UInt8 = 1
    /// The decoded name holds a character beyond ASCII.
    static let nonASCII: UInt8 = 2

    var start: Int
    var end: Int
    var flags: UInt8

    /// True when the raw bytes are exactly `name`.
    func matches(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard end - start == name.count else { return false }
        for index in 0..<name.count where bytes[start + index] != name[index] { return false }
        return true
    }

    /// Negative, zero or positive as `a` sorts before, equal to or after `b` by UTF-16 code units.
    @inline(__always)
    static func compare(_ a: KeyRange, _ b: KeyRange, in bytes: UnsafeRawBufferPointer) -> Int {
        if (a.flags | b.flags) & escaped == 0 {
            return compareRaw(a, b, in: bytes)
        }
        return compareDecoded(a, b, in: bytes)
    }

    @inline(never)
    private static func compareDecoded(_ a: KeyRange, _ b: KeyRange, in bytes: UnsafeRawBufferPointer) -> Int {
        var left = UTF16Units(bytes: bytes, position: a.start, end: a.end)
        var right = UTF16Units(bytes: bytes, position: b.start, end: b.end)
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }

    /// Byte order of unescaped UTF-8, corrected where it parts from UTF-16 order.
    ///
    /// At the first differing byte UTF-8 order is code point order, which agrees with UTF-16 order except
    /// that U+E000–U+FFFF (lead bytes 0xEE, 0xEF) sort after the supplementary planes (lead bytes
    /// 0xF0–0xF4), whose surrogates are 0xD800–0xDFFF.
    @inline(__always)
    private static func compareRaw(_ a: KeyRange, _ b: KeyRange, in bytes: UnsafeRawBufferPointer) -> Int {
        let shared = min(a.end - a.start, b.end - b.start)
        var index = 0
        // Long common prefixes ("dataset_…") go eight bytes at a time, to the first byte that differs.
        while shared - index >= 8 {
            let x = bytes.loadUnaligned(fromByteOffset: a.start + index, as: UInt64.self)
            let y = bytes.loadUnaligned(fromByteOffset: b.start + index, as: UInt64.self)
            if x != y {
                index += (UInt64(littleEndian: x) ^ UInt64(littleEndian: y)).trailingZeroBitCount >> 3
                break
            }
            index += 8
        }
        while index < shared {
            let x = bytes[a.start + index]
            let y = bytes[b.start + index]
            if x != y {
                if x >= 0xEE && y >= 0xEE && (x >= 0xF0) != (y >= 0xF0) { return x >= 0xF0 ? -1 : 1 }
                return x < y ? -1 : 1
            }
            index += 1
        }
        return (a.end - a.start) - (b.end - b.start)
    }

    /// The name with escapes resolved.
    func decoded(in bytes: UnsafeRawBufferPointer) -> String {
        if flags & Self.escaped == 0 {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        var units = UTF16Units(bytes: bytes, position: start, end: end)
        var codeUnits: [UInt16] = []
        while let unit = units.next() { codeUnits.append(unit) }
        return String(decoding: codeUnits, as: UTF16.self)
    }
}

/// The UTF-16 code units of a checked JSON string's raw bytes, escapes resolved.
private struct UTF16Units {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    /// The low surrogate still owed for a supplementary character written as raw UTF-8.
    var pending: UInt16?

    init(bytes: UnsafeRawBufferPointer, position: Int, end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
    }

    mutating func next() -> UInt16? {
        if let unit = pending {
            pending = nil
            return unit
        }
        guard position < end else { return nil }
        let lead = bytes[position]
        if lead == UInt8(ascii: "\\") {
            let letter = bytes[position + 1]
            position += 2
            switch letter {
            case UInt8(ascii: "b"): return 0x08
            case UInt8(ascii: "f"): return 0x0C
            case UInt8(ascii: "n"): return 0x0A
            case UInt8(ascii: "r"): return 0x0D
            case UInt8(ascii: "t"): return 0x09
            case UInt8(ascii: "u"):
                // A surrogate pair is written as two escapes, which are already its two code units.
                var unit: UInt16 = 0
                for _ in 0..<4 {
                    let byte = bytes[position]
                    let digit = byte <= 0x39 ? byte &- 0x30 : (byte | 0x20) &- UInt8(ascii: "a") &+ 10
                    unit = unit << 4 | UInt16(digit)
                    position += 1
                }
                return unit
            default: return UInt16(letter)  // '"', '\' and '/'
            }
        }
        if lead < 0x80 {
            position += 1
            return UInt16(lead)
        }
        var scalar: UInt32
        let length: Int
        switch lead {
        case 0xC0...0xDF: scalar = UInt32(lead & 0x1F); length = 2
        case 0xE0...0xEF: scalar = UInt32(lead & 0x0F); length = 3
        default: scalar = UInt32(lead & 0x07); length = 4
        }
        for index in (position + 1)..<(position + length) { scalar = scalar << 6 | UInt32(bytes[index] & 0x3F) }
        position += length
        if scalar < 0x10000 { return UInt16(scalar) }
        scalar -= 0x10000
        pending = UInt16(0xDC00 + (scalar & 0x3FF))
        return UInt16(0xD800 + (scalar >> 10))
    }
}

/// Compares a number's text with ECMAScript's `Number.prototype.toString` of its value, in a fixed buffer.
///
/// The same layout rules as the canonical writer (`JSONNumberFormat`), written into stack storage so that
/// checking needs no array.
enum CanonicalNumberText {
    /// 2^53: up to here every integer is a double, and ECMAScript prints it digit for digit.
    static let exactIntegerLimit: UInt64 = 9_007_199_254_740_992

    /// True when `text` is exactly the canonical text of the finite `value`.
    static func matches(_ value: Double, _ text: UnsafeRawBufferPointer) -> Bool {
        // The longest canonical number is 25 bytes ("-0.0000012345678901234567"); 32 leave room.
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &storage) { buffer in
            var length = 0
            func append(_ byte: UInt8) {
                buffer[length] = byte
                length += 1
            }
            if value.magnitude <= Double(exactIntegerLimit) && value.rounded(.towardZero) == value {
                // -0 prints as 0.
                if value < 0 { append(UInt8(ascii: "-")) }
                var magnitude = UInt64(value.magnitude)
                var digits = 0
                repeat {
                    buffer[31 - digits] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                    magnitude /= 10
                    digits += 1
                } while magnitude > 0
                for index in (32 - digits)..<32 { append(buffer[index]) }
            } else {
                if value < 0 { append(UInt8(ascii: "-")) }
                ECMAScriptNumber.appendShortest(value.magnitude, append: append)
            }
            return length == text.count && (0..<length).allSatisfy { buffer[$0] == text[$0] }
        }
    }

}
