public import Licensing
internal import AuditLog

/// How a release's values are checked against their field's type, written into the stored row, and
/// compared by the data API's equality filters.
public enum ReleaseValue {
    /// The text an equality filter on a field of `type` compares, for a value written `text`:
    /// integers without leading zeros (`-0` is `0`), booleans `true` / `false`, dates and strings as
    /// they are. Nil when `text` is no value of `type`, or `type` cannot be filtered on
    /// (``FieldType/isFilterable``).
    ///
    /// The loader indexes each value of a filterable field under this text and the data API
    /// normalizes the value of a query with it, so `007` finds `7`.
    public static func filterKey(for type: FieldType, text: String) -> String? {
        let bytes = Array(text.utf8)[...]
        switch type {
        case .string:
            return bytes.contains(0) ? nil : text
        case .integer:
            return parseInteger(bytes).map { String($0) }
        case .boolean:
            return text == "true" || text == "false" ? text : nil
        case .date:
            return isDate(bytes) ? text : nil
        case .decimal, .datetime, .geometry, .binary:
            return nil
        }
    }

    /// Writes the JSON text of the value written `text` (a CSV cell, or the content of an NDJSON
    /// string, number or boolean) as a value of `type` to `out`; returns what is wrong instead when
    /// it is not one. Strings become JSON strings, integers their shortest digits, decimals their
    /// digits without leading zeros, booleans `true` / `false`, every other type a JSON string of
    /// the text.
    static func encode(_ text: ArraySlice<UInt8>, as type: FieldType, into out: inout [UInt8]) -> String? {
        switch type {
        case .string:
            if text.contains(0) { return "a string may not hold NUL" }
            guard isUTF8(text) else { return "not valid UTF-8" }
            appendJSONString(text, to: &out)
        case .integer:
            guard let value = parseInteger(text) else { return "expected an integer (-?[0-9]+, 64 bits)" }
            out.append(contentsOf: String(value).utf8)
        case .decimal:
            guard appendDecimal(text, to: &out) else { return "expected a decimal (-?digits, optionally .digits)" }
        case .boolean:
            guard text.elementsEqual("true".utf8) || text.elementsEqual("false".utf8) else {
                return "expected a boolean (true or false)"
            }
            out.append(contentsOf: text)
        case .date:
            guard isDate(text) else { return "expected a date (YYYY-MM-DD)" }
            appendQuoted(text, to: &out)
        case .datetime:
            guard text.count <= 64, text.allSatisfy({ $0 < 0x80 }),
                  Timestamp.parseRFC3339(String(decoding: text, as: UTF8.self)) != nil
            else { return "expected an RFC 3339 date-time" }
            appendQuoted(text, to: &out)
        case .geometry:
            guard isGeometry(text) else { return "expected WKT geometry (POINT, LINESTRING, POLYGON, MULTI…, GEOMETRYCOLLECTION)" }
            guard isUTF8(text), !text.contains(0) else { return "not valid UTF-8" }
            appendJSONString(text, to: &out)
        case .binary:
            guard isBase64(text) else { return "expected base64 text" }
            appendQuoted(text, to: &out)
        }
        return nil
    }

    // MARK: Grammar

    static func parseInteger(_ text: ArraySlice<UInt8>) -> Int64? {
        var index = text.startIndex
        let negative = index < text.endIndex && text[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < text.endIndex else { return nil }
        var value: Int64 = 0
        while index < text.endIndex {
            let byte = text[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let digit = Int64(byte - 0x30)
            // Accumulated negatively so that Int64.min parses.
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        guard value != .min else { return nil }
        return -value
    }

    /// Appends `-?digits(.digits)?` without leading zeros in the whole part; false for anything else.
    static func appendDecimal(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) -> Bool {
        var index = text.startIndex
        let negative = index < text.endIndex && text[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let wholeStart = index
        while index < text.endIndex, text[index] >= 0x30, text[index] <= 0x39 { index += 1 }
        let wholeEnd = index
        guard wholeEnd > wholeStart else { return false }
        var fraction: ArraySlice<UInt8> = []
        if index < text.endIndex {
            guard text[index] == UInt8(ascii: ".") else { return false }
            index += 1
            let fractionStart = index
            while index < text.endIndex, text[index] >= 0x30, text[index] <= 0x39 { index += 1 }
            guard index > fractionStart, index == text.endIndex else { return false }
            fraction = text[fractionStart..<index]
        }
        var first = wholeStart
        while first < wholeEnd - 1, text[first] == 0x30 { first += 1 }
        if negative { out.append(UInt8(ascii: "-")) }
        out.append(contentsOf: text[first..<wholeEnd])
        if !fraction.isEmpty {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: fraction)
        }
        return true
    }

    static func isDate(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.count == 10 else { return false }
        let base = text.startIndex  // read in place: no copy per value
        guard text[base + 4] == UInt8(ascii: "-"), text[base + 7] == UInt8(ascii: "-") else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = text[base + index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              year >= 1, (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = switch month {
        case 2: leap ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
        return day <= days
    }

    static let geometryKeywords: [[UInt8]] = [
        "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION",
    ].map { Array($0.utf8) }

    static func isGeometry(_ text: ArraySlice<UInt8>) -> Bool {
        geometryKeywords.contains { keyword in
            guard text.count > keyword.count else { return false }
            let head = text.prefix(keyword.count)
            guard zip(head, keyword).allSatisfy({ ($0 & 0xDF) == $1 }) else { return false }
            // The keyword ends there: a space, a parenthesis, or the Z / M / ZM / EMPTY that follow it.
            let next = text[text.startIndex + keyword.count] & 0xDF
            return next == 0 || next == 0x08 || next == UInt8(ascii: "Z") || next == UInt8(ascii: "M")
                || next == UInt8(ascii: "E")
        }
    }

    static func isBase64(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.count % 4 == 0 else { return false }
        var padding = 0
        for byte in text {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { return false }
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, UInt8(ascii: "+"), UInt8(ascii: "/"): continue
            default: return false
            }
        }
        return padding <= 2
    }

    static func isUTF8(_ text: ArraySlice<UInt8>) -> Bool {
        if text.allSatisfy({ $0 < 0x80 }) { return true }
        return String(validating: text, as: UTF8.self) != nil
    }

    // MARK: JSON text

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendJSONString(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Text known to need no escaping (dates, date-times, base64), in quotes.
    static func appendQuoted(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: text)
        out.append(UInt8(ascii: "\""))
    }
}
