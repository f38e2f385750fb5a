import AuditLog
import Cryptography
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func canonical(_ value: JSONValue) throws -> String {
    try value.canonicalString()
}

/// The error `body` throws, or nil.
private func caught(_ body: () throws(CanonicalJSONError) -> JSONValue) -> CanonicalJSONError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// `ieee754-hex,expected` lines; an empty expected value means serialization must fail.
private func numberVectors(_ file: String) throws -> [(bits: UInt64, expected: String)] {
    try Vectors.text("jcs/\(file)").split(separator: "\n").map { line in
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        let bits = try #require(UInt64(fields[0], radix: 16))
        return (bits, String(fields[1]))
    }
}

@Suite struct CanonicalJSONVectorTests {
    static let names = ["arrays", "french", "rfc8785-sorting", "rfc8785-values", "structures", "unicode", "weird"]

    @Test func everyInputFileHasACase() throws {
        let inputs = try Vectors.files(in: "jcs", endingWith: ".input.json")
        #expect(inputs == Self.names.map { "\($0).input.json" })
    }

    @Test(arguments: names)
    func inputCanonicalizesToExpectedBytes(name: String) throws {
        let input = try Vectors.bytes("jcs/\(name).input.json")
        let expected = try Vectors.bytes("jcs/\(name).expected.json")
        let value = try JSONValue.parse(input)
        #expect(try value.canonicalBytes() == expected)
        // The expected form is itself canonical and means the same value; the pretty input is not.
        #expect(try CanonicalJSON.validate(expected) == value)
        #expect(caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(input) }?.code.rawValue == "not_canonical")
    }

    @Test func appendixBNumbers() throws {
        let vectors = try numberVectors("numbers.txt")
        #expect(vectors.count == 26)
        for (bits, expected) in vectors {
            let value = JSONValue.number(Double(bitPattern: bits))
            if expected.isEmpty {
                #expect(throws: CanonicalJSONError(code: .nonFiniteNumber, detail: "")) { try value.canonicalBytes() }
            } else {
                #expect(try canonical(value) == expected, "bits \(String(bits, radix: 16))")
            }
        }
    }

    /// Thousands of doubles whose expected text came from a JavaScript engine's `Number.prototype.toString`.
    @Test func ecmascriptNumbers() throws {
        let vectors = try numberVectors("numbers-ecmascript.txt")
        #expect(vectors.count > 3000)
        var mismatches: [String] = []
        for (bits, expected) in vectors {
            let number = Double(bitPattern: bits)
            let text = try canonical(.number(number))
            if text != expected { mismatches.append("\(String(bits, radix: 16)): \(text) != \(expected)") }
            // The canonical text reads back as the very same double and passes validation.
            let reread = try #require(try CanonicalJSON.validate(bytes(expected)).doubleValue)
            if reread.bitPattern != number.bitPattern && !(reread == 0 && number == 0) {
                mismatches.append("\(expected) reads back as \(reread)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }
}

@Suite struct CanonicalSerializationTests {
    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.0, "-1"), (0.5, "0.5"), (-1.5, "-1.5"), (100.0, "100"),
        (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e21, "1.5e+21"), (1e-6, "0.000001"),
        (1e-7, "1e-7"), (1.25e-7, "1.25e-7"), (123456.789, "123456.789"), (0.1, "0.1"), (0.3, "0.3"),
        (0.1 + 0.2, "0.30000000000000004"), (9007199254740993.0, "9007199254740992"),
        (18446744073709551616.0, "18446744073709552000"), (4.35, "4.35"), (-1e-300, "-1e-300"),
    ])
    func numbersFollowECMAScript(number: Double, expected: String) throws {
        #expect(try canonical(.number(number)) == expected)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, .signalingNaN])
    func nonFiniteNumbersAreRefusedAnywhere(number: Double) {
        let nested: JSONValue = ["a": [1, .object(["b": .number(number)])]]
        #expect(throws: CanonicalJSONError(code: .nonFiniteNumber, detail: "")) { try nested.canonicalBytes() }
    }

    @Test func stringsEscapeOnlyWhatRFC8785Requires() throws {
        var expected = "\""
        var raw = ""
        let short: [UInt8: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        for code in UInt8(0)..<0x20 {
            raw.unicodeScalars.append(Unicode.Scalar(code))
            expected += short[code] ?? "\\u00" + String(format2: code)
        }
        raw += "\"\\/\u{7F}\u{80}é€\u{2028}\u{2029}\u{FFFF}😀"
        expected += "\\\"\\\\/\u{7F}\u{80}é€\u{2028}\u{2029}\u{FFFF}😀\""
        #expect(try canonical(.string(raw)) == expected)
    }

    @Test func literalsAndStructureHaveNoWhitespace() throws {
        let value: JSONValue = ["z": [nil, true, false, [], [:]], "a": ["y": "", "x": 0]]
        #expect(try canonical(value) == #"{"a":{"x":0,"y":""},"z":[null,true,false,[],{}]}"#)
    }

    @Test func membersSortByUTF16CodeUnitsNotScalars() throws {
        // U+10000 is the surrogate pair D800 DC00, so it sorts before U+E000 and U+FFFF although its
        // scalar value is larger; a scalar or UTF-8 sort would put it last.
        let value: JSONValue = ["\u{FFFF}": 1, "\u{10000}": 2, "\u{E000}": 3, "\u{D7FF}": 4, "a": 5, "A": 6, "aa": 7, "": 8]
        #expect(try canonical(value) == "{\"\":8,\"A\":6,\"a\":5,\"aa\":7,\"\u{D7FF}\":4,\"\u{10000}\":2,\"\u{E000}\":3,\"\u{FFFF}\":1}")
    }

    @Test func memberOrderMatchesUTF16OrderOnRandomKeys() throws {
        var random = SplitMix64(seed: 8785)
        let alphabet: [Unicode.Scalar] = ["a", "b", "B", "0", "~", "\u{7F}", "\u{80}", "\u{E9}", "\u{7FF}", "\u{800}",
                                          "\u{D7FF}", "\u{E000}", "\u{FB33}", "\u{FFFD}", "\u{FFFF}", "\u{10000}",
                                          "\u{1F600}", "\u{10FFFF}"]
        for _ in 0..<200 {
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 2...12, using: &random) {
                var key = ""
                for _ in 0..<Int.random(in: 0...4, using: &random) {
                    key.unicodeScalars.append(alphabet.randomElement(using: &random)!)
                }
                members[key] = 0
            }
            let order = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            let expected = "{" + order.map { "\"\($0)\":0" }.joined(separator: ",") + "}"
            #expect(try canonical(.object(members)) == expected)
        }
    }
}

@Suite struct JSONParsingTests {
    @Test func parsesEveryKindOfValue() throws {
        let text = " {\"a\" : [1, -2.5e3, 0.125, true, false, null], \"s\":\"x\\u00e9\\ud83d\\ude00\\/\\n\", \"o\":{}}\r\n\t"
        let value = try JSONValue.parse(bytes(text))
        let expected: JSONValue = ["a": [1, -2500, 0.125, true, false, nil], "s": "xé😀/\n", "o": [:]]
        #expect(value == expected)
    }

    @Test func topLevelScalarsAndNegativeZero() throws {
        #expect(try JSONValue.parse(bytes("\"s\"")) == "s")
        #expect(try JSONValue.parse(bytes("null")) == nil)
        let zero = try #require(try JSONValue.parse(bytes("-0")).doubleValue)
        #expect(zero == 0 && zero.sign == .minus)
        #expect(try JSONValue.parse(bytes("1E2")) == 100)
        #expect(try JSONValue.parse(bytes("1e-400")) == 0)
    }

    @Test func longIntegersRoundToTheNearestDouble() throws {
        #expect(try JSONValue.parse(bytes("9007199254740993")) == .number(9007199254740992))
        #expect(try JSONValue.parse(bytes("123456789012345678901234567890")) == .number(1.2345678901234568e29))
    }

    @Test func acceptsSixtyFourLevelsOfNesting() throws {
        let text = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        _ = try JSONValue.parse(bytes(text))
    }

    @Test(arguments: [
        ("", "invalid_json"), (" ", "invalid_json"), ("\u{FEFF}{}", "invalid_json"), ("[1,]", "invalid_json"),
        ("{\"a\":1,}", "invalid_json"), ("// c\n1", "invalid_json"), ("/* c */ 1", "invalid_json"),
        ("01", "invalid_json"), ("-01", "invalid_json"), ("1.", "invalid_json"), (".5", "invalid_json"),
        ("1e", "invalid_json"), ("1e+", "invalid_json"), ("+1", "invalid_json"), ("-", "invalid_json"),
        ("NaN", "invalid_json"), ("Infinity", "invalid_json"), ("0x10", "invalid_json"), ("[1] x", "invalid_json"),
        ("[1][2]", "invalid_json"), ("\"\\ud800\"", "invalid_json"), ("\"\\udc00\"", "invalid_json"),
        ("\"\\ud800\\u0041\"", "invalid_json"), ("\"\\ud800x\"", "invalid_json"), ("\"a\u{1}b\"", "invalid_json"),
        ("\"a\tb\"", "invalid_json"), ("\"\\x\"", "invalid_json"), ("\"\\u12\"", "invalid_json"),
        ("\"\\u12g4\"", "invalid_json"), ("'a'", "invalid_json"), ("{a:1}", "invalid_json"), ("tru", "invalid_json"),
        ("nul", "invalid_json"), ("True", "invalid_json"), ("[", "invalid_json"), ("{", "invalid_json"),
        ("\"abc", "invalid_json"), ("\"abc\\", "invalid_json"), ("{\"a\" 1}", "invalid_json"), ("[1 2]", "invalid_json"),
        ("{\"a\":1,\"a\":2}", "duplicate_key"), ("{\"a\":{\"b\":1,\"b\":1}}", "duplicate_key"),
        ("1e400", "non_finite_number"), ("-1e400", "non_finite_number"),
    ])
    func rejects(text: String, code: String) {
        #expect(caught { () throws(CanonicalJSONError) in try JSONValue.parse(bytes(text)) }?.code.rawValue == code, "\(text)")
    }

    @Test(arguments: [
        [0xC0, 0xAF],  // overlong "/"
        [0xE0, 0x80, 0xAF],  // overlong three-byte form
        [0xED, 0xA0, 0x80],  // UTF-8 encoded surrogate U+D800
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],
        [0xFF],
        [0x80],  // stray continuation byte
        [0xE2, 0x82],  // truncated "€"
        [0xE2, 0x82, 0x41],
    ] as [[UInt8]])
    func rejectsMalformedUTF8InStrings(sequence: [UInt8]) {
        for escaped in [false, true] {
            // Both the in-place path and the path taken after an escape must check UTF-8.
            let body: [UInt8] = (escaped ? bytes("\\n") : []) + sequence
            let text = bytes("[\"") + body + bytes("\"]")
            let error = caught { () throws(CanonicalJSONError) in try JSONValue.parse(text) }
            #expect(error?.code.rawValue == "invalid_json")
            #expect(error?.detail.contains("at byte \(2 + (escaped ? 2 : 0))") == true, "\(String(describing: error))")
        }
    }

    @Test func errorsNameTheByteOffset() {
        let error = caught { () throws(CanonicalJSONError) in try JSONValue.parse(bytes("[1,2,]")) }
        #expect(error?.detail.hasPrefix("at byte 5") == true, "\(String(describing: error))")
        let duplicate = caught { () throws(CanonicalJSONError) in try JSONValue.parse(bytes(#"{"a":1, "a":2}"#)) }
        #expect(duplicate?.detail.hasPrefix("at byte 8") == true, "\(String(describing: duplicate))")
    }

    @Test func refusesNestingBeyondTheLimit() {
        for opener in ["[", "{\"k\":"] {
            let text = String(repeating: opener, count: JSONValue.maximumDepth + 1)
            #expect(caught { () throws(CanonicalJSONError) in try JSONValue.parse(bytes(text)) }?.code.rawValue == "too_deep")
        }
        // Deep hostile input is refused without exhausting the stack.
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(caught { () throws(CanonicalJSONError) in try JSONValue.parse(hostile) }?.code.rawValue == "too_deep")
    }

    @Test func parsesNonContiguousCollections() throws {
        let text = bytes(#"{"a":[1,2]}"#)
        #expect(try JSONValue.parse(text.reversed().reversed()) == ["a": [1, 2]])
    }
}

@Suite struct CanonicalValidationTests {
    @Test(arguments: [
        "0", "-1", "1.5", "1e+21", "1e-7", "0.000001", "\"\"", "\"\\u001f\\b\\\"\\\\/é\"", "[]", "{}",
        #"{"":0,"a":[null,true,false],"b":{"c":"d"}}"#, "{\"\u{10000}\":1,\"\u{E000}\":2}",
    ])
    func acceptsCanonicalText(text: String) throws {
        let value = try CanonicalJSON.validate(bytes(text))
        #expect(try value.canonicalBytes() == bytes(text))
    }

    @Test(arguments: [
        " 1", "1 ", "[1, 2]", "{\"a\": 1}", "{\"b\":1,\"a\":2}", "{\"\u{E000}\":2,\"\u{10000}\":1}", "1.0", "1E2", "-0",
        "0.10", "1e21", "100000000000000000000000", "1e-6", "9007199254740993", "\"\\/\"", "\"\\u0041\"",
        "\"\\u000a\"", "\"\\u001F\"", "\"\\ud83d\\ude00\"", "\"\\u00e9\"",
    ])
    func refusesNonCanonicalText(text: String) {
        #expect(caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(bytes(text)) }?.code.rawValue == "not_canonical")
    }

    @Test func invalidTextKeepsItsOwnErrorEvenIfAlsoNotCanonical() {
        #expect(caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(bytes(" [1,]")) }?.code.rawValue == "invalid_json")
        #expect(caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(bytes("{\"b\":1, \"b\":2}")) }?.code.rawValue == "duplicate_key")
    }

    @Test func reportsTheEarliestDeparture() {
        // The member order problem at byte 7 is only noticed after the value holding the space at byte 14.
        let error = caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(bytes(#"{"b":1,"a":[1, 2]}"#)) }
        #expect(error?.detail.hasPrefix("at byte 7") == true, "\(String(describing: error))")
    }

    /// Canonical output of random values validates back to the same value, and any added whitespace
    /// or re-spelling is refused while still parsing to that value.
    @Test func randomValuesRoundTripAndPerturbationsAreRefused() throws {
        var random = SplitMix64(seed: 2020)
        for _ in 0..<300 {
            let value = randomValue(depth: 0, using: &random)
            let text = try value.canonicalBytes()
            #expect(try CanonicalJSON.validate(text) == value)
            #expect(try JSONValue.parse(text).canonicalBytes() == text)

            let spaced = insertingWhitespace(into: text, using: &random)
            #expect(try JSONValue.parse(spaced).canonicalBytes() == text)
            let error = caught { () throws(CanonicalJSONError) in try CanonicalJSON.validate(spaced) }
            #expect(error?.code.rawValue == "not_canonical")
        }
    }

    /// Validation agrees with its definition, "re-serializing gives back the input", on every
    /// single-byte edit of canonical text that still parses.
    @Test func validationAgreesWithReserializationOnEdits() throws {
        let text = try JSONValue(["k": [1.5, -2, "a\u{1}é", 1e21, ["\u{10000}": true, "\u{E000}": nil]]]).canonicalBytes()
        let replacements: [UInt8] = Array("0123456789.eE+-\" \\/u,:[]{}abfnrtx".utf8)
        var compared = 0
        for position in text.indices {
            for replacement in replacements where replacement != text[position] {
                var edited = text
                edited[position] = replacement
                guard let parsed = try? JSONValue.parse(edited) else { continue }
                compared += 1
                let canonicalAgain = try parsed.canonicalBytes() == edited
                let validated = (try? CanonicalJSON.validate(edited)) != nil
                #expect(validated == canonicalAgain, "\(String(decoding: edited, as: UTF8.self))")
            }
        }
        #expect(compared > 100)
    }

    private func insertingWhitespace(into text: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        // Between tokens only: outside strings, before or after a structural character.
        var output: [UInt8] = []
        var inString = false
        var escaped = false
        var inserted = false
        for byte in text {
            let structural = !inString && "[]{},:".utf8.contains(byte)
            if structural && Bool.random(using: &random) {
                output.append([0x20, 0x09, 0x0A, 0x0D].randomElement(using: &random)!)
                inserted = true
            }
            output.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            }
        }
        if !inserted { output.append(0x20) }
        return output
    }

    private func randomValue(depth: Int, using random: inout SplitMix64) -> JSONValue {
        let scalars: [Unicode.Scalar] = ["a", "Z", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{A}", "\u{1F}", "\u{7F}", "\u{E9}",
                                         "\u{301}", "\u{2028}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{1F600}"]
        func string() -> String {
            var text = ""
            for _ in 0..<Int.random(in: 0...6, using: &random) { text.unicodeScalars.append(scalars.randomElement(using: &random)!) }
            return text
        }
        switch Int.random(in: 0...(depth < 4 ? 7 : 4), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2:
            // Any finite double, integers included.
            var number: Double
            repeat { number = Double(bitPattern: random.next()) } while !number.isFinite
            return Bool.random(using: &random) ? .number(number) : .number(Double(Int32.random(in: .min ... .max, using: &random)))
        case 3, 4: return .string(string())
        case 5: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &random) { members[string()] = randomValue(depth: depth + 1, using: &random) }
            return .object(members)
        }
    }
}

@Suite struct JSONValueConvenienceTests {
    @Test func literalsBuildTheExpectedCases() {
        let value: JSONValue = ["n": nil, "b": true, "i": 42, "d": 2.5, "s": "x", "a": [1, "two"]]
        #expect(value == .object([
            "n": .null, "b": .bool(true), "i": .number(42), "d": .number(2.5), "s": .string("x"),
            "a": .array([.number(1), .string("two")]),
        ]))
        #expect(JSONValue(Int64(-7)) == .number(-7))
        #expect(JSONValue(UInt64(7)) == .number(7))
        #expect(JSONValue("s") == .string("s"))
        #expect(JSONValue(false) == .bool(false))
    }

    @Test func accessorsReadOnlyTheirOwnCase() {
        let value: JSONValue = ["a": [10, "x", nil], "f": 2.5, "big": .number(9007199254740994)]
        #expect(value["a"]?[0]?.integerValue == 10)
        #expect(value["a"]?[1]?.stringValue == "x")
        #expect(value["a"]?[2]?.isNull == true)
        #expect(value["a"]?[3] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["missing"] == nil)
        #expect(value["a"]?["key"] == nil)
        #expect(value["f"]?.integerValue == nil)
        #expect(value["f"]?.doubleValue == 2.5)
        #expect(value["f"]?.stringValue == nil)
        #expect(value["big"]?.integerValue == nil)
        #expect(JSONValue.number(-9007199254740992).integerValue == -9007199254740992)
        #expect(JSONValue.number(.nan).integerValue == nil)
        #expect(value.objectValue?.count == 3)
        #expect(value["a"]?.arrayValue?.count == 3)
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.null.boolValue == nil)
    }
}

extension String {
    /// Two lower-case hex digits.
    fileprivate init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
