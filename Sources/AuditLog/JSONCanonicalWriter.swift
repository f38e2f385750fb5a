/// Writes a `JSONValue` in RFC 8785 canonical form into a byte buffer.
struct CanonicalJSONWriter {
    private(set) var output: [UInt8] = []

    init() {
        output.reserveCapacity(256)
    }

    mutating func write(_ value: JSONValue) throws(CanonicalJSONError) {
        switch value {
        case .null:
            output.append(contentsOf: JSONLiteral.null)
        case .bool(let flag):
            output.append(contentsOf: flag ? JSONLiteral.true : JSONLiteral.false)
        case .number(let number):
            try JSONNumberFormat.append(number, to: &output)
        case .string(let string):
            JSONStringFormat.append(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                try write(element)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members.sorted(by: { JSONKeyOrder.precedes($0.key, $1.key) }) {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                JSONStringFormat.append(key, to: &output)
                output.append(UInt8(ascii: ":"))
                try write(member)
            }
            output.append(UInt8(ascii: "}"))
        }
    }
}

enum JSONLiteral {
    static let null = Array("null".utf8)
    static let `true` = Array("true".utf8)
    static let `false` = Array("false".utf8)
}

/// RFC 8785 §3.2.3: members are ordered by the UTF-16 code units of their names, as ECMAScript
/// compares strings, not by Unicode scalars and not by locale.
enum JSONKeyOrder {
    /// True when `a` sorts strictly before `b`.
    ///
    /// Walks UTF-8 rather than transcoding: at the first differing byte, UTF-8 order is code point
    /// order, which agrees with UTF-16 order except that U+E000–U+FFFF (lead bytes 0xEE, 0xEF)
    /// sort after the supplementary planes (lead bytes 0xF0–0xF4), whose surrogates are 0xD800–0xDFFF.
    /// Both strings share the prefix before the difference, so both bytes sit at the same position
    /// in a scalar: both lead bytes or both continuation bytes of same-length sequences.
    static func precedes(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil):
                return false
            case (nil, _):
                return true
            case (_, nil):
                return false
            case let (x?, y?):
                if x == y { continue }
                if x >= 0xEE && y >= 0xEE {
                    let xSupplementary = x >= 0xF0
                    let ySupplementary = y >= 0xF0
                    if xSupplementary != ySupplementary { return xSupplementary }
                }
                return x < y
            }
        }
    }
}

/// RFC 8785 §3.2.2.2 string form: only `"`, `\` and U+0000–U+001F are escaped, the five with a
/// short form as `\b \t \n \f \r`, the rest as `\u00xx` in lower-case hex; everything else is literal UTF-8.
enum JSONStringFormat {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// True when `byte` cannot appear literally inside a string.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    static func append(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            // Most strings need no escape at all: copy them in one go rather than byte by byte.
            if bytes.contains(where: needsEscape) {
                appendBody(bytes, to: &output)
            } else {
                output.append(contentsOf: bytes)
            }
        }
        if done == nil {
            appendBody(Array(string.utf8), to: &output)
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendBody(_ bytes: some Collection<UInt8>, to output: inout [UInt8]) {
        for byte in bytes {
            if needsEscape(byte) {
                appendEscape(byte, to: &output)
            } else {
                output.append(byte)
            }
        }
    }

    static func appendEscape(_ byte: UInt8, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case 0x08: output.append(UInt8(ascii: "b"))
        case 0x09: output.append(UInt8(ascii: "t"))
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0C: output.append(UInt8(ascii: "f"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        default:
            output.append(UInt8(ascii: "u"))
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "0"))
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
    }
}

/// RFC 8785 §3.2.2.3 number form: ECMAScript `Number.prototype.toString` (ECMA-262 Number::toString).
enum JSONNumberFormat {
    /// 2^53: up to here every integer is a double, and ECMAScript prints it digit for digit.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992

    static func append(_ value: Double, to output: inout [UInt8]) throws(CanonicalJSONError) {
        guard value.isFinite else {
            throw CanonicalJSONError(code: .nonFiniteNumber, detail: "\(value) has no JSON form")
        }
        // Integers are the common case (sequence numbers, amounts in minor units) and need no digit search.
        if value.magnitude <= exactIntegerLimit, value.rounded(.towardZero) == value {
            appendInteger(Int64(value), to: &output)
            return
        }
        if value < 0 { output.append(UInt8(ascii: "-")) }
        appendShortest(value.magnitude, to: &output)
    }

    static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        // -0.0 converts to 0 here, which is what ECMAScript prints for it.
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude == 0 {
            output.append(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            output.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Lays out the shortest round-trip digits of a positive finite `value` by ECMA-262's rules.
    static func appendShortest(_ value: Double, to output: inout [UInt8]) {
        ECMAScriptNumber.appendShortest(value) { output.append($0) }
    }
}
