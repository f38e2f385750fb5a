/// Strict RFC 8259 parser over a byte buffer that can also check RFC 8785 canonical form as it goes.
///
/// Checking in the same pass (instead of re-serializing and comparing) saves sorting every object
/// and formatting every number again, which matters when a verifier walks a whole log.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var offset = 0
    private var depth = 0
    private let checkingCanonicalForm: Bool
    /// The earliest departure from canonical form; reported only if the text is otherwise valid,
    /// so that invalid JSON always gets the more precise parse error.
    private var firstNonCanonical: (offset: Int, reason: String)?
    /// Reused for strings with escapes and for formatting numbers under the canonical check.
    private var scratch: [UInt8] = []

    private init(bytes: UnsafeBufferPointer<UInt8>, checkingCanonicalForm: Bool) {
        self.bytes = bytes
        self.checkingCanonicalForm = checkingCanonicalForm
    }

    static func parse(_ input: some Collection<UInt8>, checkingCanonicalForm: Bool) throws(CanonicalJSONError) -> JSONValue {
        let result = input.withContiguousStorageIfAvailable { buffer in
            parse(buffer: buffer, checkingCanonicalForm: checkingCanonicalForm)
        } ?? Array(input).withUnsafeBufferPointer { buffer in
            parse(buffer: buffer, checkingCanonicalForm: checkingCanonicalForm)
        }
        return try result.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, checkingCanonicalForm: Bool) -> Result<JSONValue, CanonicalJSONError> {
        var parser = JSONParser(bytes: buffer, checkingCanonicalForm: checkingCanonicalForm)
        do throws(CanonicalJSONError) {
            let value = try parser.parseDocument()
            if let (offset, reason) = parser.firstNonCanonical {
                return .failure(CanonicalJSONError(code: .notCanonical, detail: "at byte \(offset): \(reason)"))
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    // MARK: Grammar

    private mutating func parseDocument() throws(CanonicalJSONError) -> JSONValue {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            throw invalid("byte order mark", at: 0)
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard offset == bytes.count else { throw invalid("unexpected data after the value", at: offset) }
        return value
    }

    private mutating func parseValue() throws(CanonicalJSONError) -> JSONValue {
        guard offset < bytes.count else { throw invalid("unexpected end of input", at: offset) }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect(JSONLiteral.true)
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect(JSONLiteral.false)
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect(JSONLiteral.null)
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        case let byte:
            throw invalid("unexpected byte 0x\(hex(byte))", at: offset)
        }
    }

    private mutating func parseObject() throws(CanonicalJSONError) -> JSONValue {
        try enterContainer()
        offset += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        var previousKey: String?
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw invalid("expected a member name", at: offset) }
            let keyOffset = offset
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw invalid("expected ':'", at: offset) }
            offset += 1
            skipWhitespace()
            let value = try parseValue()
            if members.updateValue(value, forKey: key) != nil {
                throw CanonicalJSONError(code: .duplicateKey, detail: "at byte \(keyOffset): member name repeats an earlier one")
            }
            if checkingCanonicalForm, let previousKey, !JSONKeyOrder.precedes(previousKey, key) {
                noteNonCanonical("member names not in UTF-16 order", at: keyOffset)
            }
            previousKey = key
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                depth -= 1
                return .object(members)
            default:
                throw invalid("expected ',' or '}'", at: offset)
            }
        }
    }

    private mutating func parseArray() throws(CanonicalJSONError) -> JSONValue {
        try enterContainer()
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                depth -= 1
                return .array(elements)
            default:
                throw invalid("expected ',' or ']'", at: offset)
            }
        }
    }

    private mutating func enterContainer() throws(CanonicalJSONError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else {
            throw CanonicalJSONError(code: .tooDeep, detail: "at byte \(offset): more than \(JSONValue.maximumDepth) nested arrays and objects")
        }
    }

    private mutating func expect(_ literal: [UInt8]) throws(CanonicalJSONError) {
        guard bytes.count - offset >= literal.count,
              bytes[offset..<(offset + literal.count)].elementsEqual(literal)
        else { throw invalid("unknown literal", at: offset) }
        offset += literal.count
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(CanonicalJSONError) -> String {
        let quoteOffset = offset
        offset += 1
        let start = offset
        // Most strings have no escapes: validate in place and copy once.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
                offset += 1
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            try advanceOverCharacter(byte)
        }
        guard offset < bytes.count else { throw invalid("unterminated string", at: quoteOffset) }

        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                try parseEscape()
            } else {
                let characterStart = offset
                try advanceOverCharacter(byte)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[characterStart..<offset]))
            }
        }
        throw invalid("unterminated string", at: quoteOffset)
    }

    /// Steps over one unescaped character, checking that it is allowed and well-formed UTF-8.
    @inline(__always)
    private mutating func advanceOverCharacter(_ lead: UInt8) throws(CanonicalJSONError) {
        if lead >= 0x20 && lead < 0x80 {
            offset += 1
        } else if lead < 0x20 {
            throw invalid("control character 0x\(hex(lead)) in string", at: offset)
        } else {
            offset += try utf8SequenceLength(at: offset)
        }
    }

    /// Length of the well-formed UTF-8 sequence at `position`.
    @inline(__always)
    private func utf8SequenceLength(at position: Int) throws(CanonicalJSONError) -> Int {
        guard let length = UTF8Sequence.length(at: position, in: UnsafeRawBufferPointer(bytes)) else { throw invalid("invalid UTF-8", at: position) }
        return length
    }

    /// Decodes the escape at `offset` into `scratch`.
    private mutating func parseEscape() throws(CanonicalJSONError) {
        let escapeOffset = offset
        guard bytes.count - offset >= 2 else { throw invalid("unterminated string", at: offset) }
        let letter = bytes[offset + 1]
        offset += 2
        let decoded: UInt8
        switch letter {
        case UInt8(ascii: "\""): decoded = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): decoded = UInt8(ascii: "\\")
        case UInt8(ascii: "/"):
            decoded = UInt8(ascii: "/")
            if checkingCanonicalForm { noteNonCanonical("'/' is escaped", at: escapeOffset) }
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            try parseUnicodeEscape(startingAt: escapeOffset)
            return
        default:
            throw invalid("unknown escape", at: escapeOffset)
        }
        scratch.append(decoded)
    }

    private mutating func parseUnicodeEscape(startingAt escapeOffset: Int) throws(CanonicalJSONError) {
        let (unit, lowerCaseOnly) = try hexQuad()
        var scalarValue = UInt32(unit)
        switch unit {
        case 0xD800...0xDBFF:
            guard bytes.count - offset >= 2, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                throw invalid("lone surrogate escape", at: escapeOffset)
            }
            offset += 2
            let (low, _) = try hexQuad()
            guard (0xDC00...0xDFFF).contains(low) else { throw invalid("lone surrogate escape", at: escapeOffset) }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        case 0xDC00...0xDFFF:
            throw invalid("lone surrogate escape", at: escapeOffset)
        default:
            break
        }
        if checkingCanonicalForm {
            // Canonical form uses \u only for control characters without a short escape, in lower case.
            let hasShortForm = scalarValue == 0x08 || scalarValue == 0x09 || scalarValue == 0x0A
                || scalarValue == 0x0C || scalarValue == 0x0D
            if scalarValue >= 0x20 || hasShortForm || !lowerCaseOnly {
                noteNonCanonical("needless or upper-case \\u escape", at: escapeOffset)
            }
        }
        // The checks above leave only valid scalars.
        let scalar = Unicode.Scalar(scalarValue).unsafelyUnwrapped
        scratch.append(contentsOf: UTF8.encode(scalar).unsafelyUnwrapped)
    }

    /// Reads four hex digits; also says whether every letter among them was lower case.
    private mutating func hexQuad() throws(CanonicalJSONError) -> (UInt16, Bool) {
        guard bytes.count - offset >= 4 else { throw invalid("truncated \\u escape", at: offset) }
        var value: UInt16 = 0
        var lowerCaseOnly = true
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                digit = byte - UInt8(ascii: "A") + 10
                lowerCaseOnly = false
            default: throw invalid("bad hex digit in \\u escape", at: offset)
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return (value, lowerCaseOnly)
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(CanonicalJSONError) -> Double {
        let start = offset
        let negative = bytes[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }
        let integerStart = offset
        guard isDigit(peek()) else { throw invalid("expected a digit", at: offset) }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
            if isDigit(peek()) { throw invalid("leading zero", at: integerStart) }
        } else {
            while isDigit(peek()) { offset += 1 }
        }
        let integerDigits = offset - integerStart
        var isPlainInteger = true
        if peek() == UInt8(ascii: ".") {
            isPlainInteger = false
            offset += 1
            guard isDigit(peek()) else { throw invalid("expected a digit after '.'", at: offset) }
            while isDigit(peek()) { offset += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isPlainInteger = false
            offset += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { offset += 1 }
            guard isDigit(peek()) else { throw invalid("expected a digit in the exponent", at: offset) }
            while isDigit(peek()) { offset += 1 }
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<offset])

        // Up to 15 digits an integer converts exactly through Int64, without a string round trip.
        let exactInteger = isPlainInteger && integerDigits <= 15
        let value: Double
        if exactInteger {
            var magnitude: Int64 = 0
            for byte in text[(integerStart - start)...] { magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0")) }
            value = negative ? -Double(magnitude) : Double(magnitude)
        } else {
            guard let parsed = Double(String(decoding: text, as: UTF8.self)) else {
                throw invalid("unreadable number", at: start)
            }
            value = parsed
        }
        guard value.isFinite else {
            throw CanonicalJSONError(code: .nonFiniteNumber, detail: "at byte \(start): number beyond the range of a double")
        }

        if checkingCanonicalForm {
            if exactInteger {
                if negative && value == 0 { noteNonCanonical("-0 is written 0", at: start) }
            } else {
                scratch.removeAll(keepingCapacity: true)
                // Cannot throw: the value is finite.
                try JSONNumberFormat.append(value, to: &scratch)
                if !scratch.elementsEqual(text) { noteNonCanonical("number not in ECMAScript form", at: start) }
            }
        }
        return value
    }

    // MARK: Small pieces

    @inline(__always)
    private func peek() -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if checkingCanonicalForm { noteNonCanonical("whitespace", at: offset) }
                offset += 1
            default:
                return
            }
        }
    }

    /// Keeps the earliest departure: a member name out of order is only seen after its value.
    private mutating func noteNonCanonical(_ reason: String, at position: Int) {
        if let first = firstNonCanonical, first.offset <= position { return }
        firstNonCanonical = (position, reason)
    }

    private func invalid(_ reason: String, at position: Int) -> CanonicalJSONError {
        CanonicalJSONError(code: .invalidJson, detail: "at byte \(position): \(reason)")
    }

    private func hex(_ byte: UInt8) -> String {
        String(byte, radix: 16, uppercase: false)
    }
}
