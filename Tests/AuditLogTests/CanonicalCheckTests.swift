import AuditLog
import Cryptography
import Foundation
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The error code of `CanonicalJSON.check`, or nil when it accepts.
private func checkCode(_ text: [UInt8]) -> String? {
    text.withUnsafeBytes { buffer in
        do throws(CanonicalJSONError) {
            try CanonicalJSON.check(buffer)
            return nil
        } catch {
            return error.code.rawValue
        }
    }
}

/// The error code of `CanonicalJSON.validate`, or nil when it accepts.
private func validateCode(_ text: [UInt8]) -> String? {
    do throws(CanonicalJSONError) {
        _ = try CanonicalJSON.validate(text)
        return nil
    } catch {
        return error.code.rawValue
    }
}

/// `checkEntry`'s answer for member `seq`: the integer, or the error code.
private func entrySeq(_ text: [UInt8]) -> Result<Int64?, CanonicalJSONError> {
    text.withUnsafeBytes { buffer in
        do throws(CanonicalJSONError) {
            return .success(try CanonicalJSON.checkEntry(buffer, integerMember: "seq"))
        } catch {
            return .failure(error)
        }
    }
}

/// Compares both checks on `text`; returns a description of the disagreement, if any.
private func disagreement(_ text: [UInt8]) -> String? {
    let fast = checkCode(text)
    let reference = validateCode(text)
    if fast == reference { return nil }
    return "check: \(fast ?? "accepts"), validate: \(reference ?? "accepts") for \(String(decoding: text, as: UTF8.self).debugDescription) \(text.map { String($0, radix: 16) })"
}

/// Realistic entries of the audit log, and a few with every feature the checker must handle.
private let sampleEntries: [String] = [
    #"{"action":"grant.approved","actor":{"id":"op-0042","kind":"operator"},"data":{"dataset":"ds-rail-punctuality","grant":"gr-8c1f2a","period":{"end":"2026-12-31","start":"2026-01-01"},"purpose":"research","quota":250000},"seq":1048575,"subjects":["gr-8c1f2a","ds-rail-punctuality"],"time":"2026-11-20T19:45:12.345Z"}"#,
    #"{"action":"usage.metered","actor":{"id":"svc","kind":"system"},"data":{"amount":-1250,"currency":"EUR","rate":0.125,"rows":18446744073709552000,"tiny":1e-7},"seq":7,"subjects":[],"time":"2026-01-01T00:00:00Z"}"#,
    "{\"action\":\"note\",\"actor\":null,\"data\":{\"\":true,\"a\\\"b\":false,\"caf\u{E9}\":\"\u{1F600}\\n\\u001f\",\"\u{10000}\":1,\"\u{E000}\":2},\"seq\":0,\"subjects\":[[1,[2,{\"x\":[]}]],{}],\"time\":\"\u{2028}\"}",
    #"{"a":{"b":{"c":[1.5,-0.001,1e+21,123456789012345680000,9007199254740992]}},"seq":-9007199254740992}"#,
]

@Suite struct CanonicalCheckAgreementTests {
    @Test func agreesWithValidateOnEveryVectorFile() throws {
        let root = Vectors.root
        let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
        var checked = 0
        for file in files.sorted() {
            var isDirectory: ObjCBool = false
            let path = root.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let text = try Vectors.bytes(file)
            #expect(disagreement(text) == nil, "\(file)")
            checked += 1
            // Files of JSON lines (or number vectors) also get compared line by line.
            for line in text.split(separator: UInt8(ascii: "\n")) {
                let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                for candidate in [Array(line)] + (fields.count == 2 ? [Array(fields[1])] : []) {
                    #expect(disagreement(candidate) == nil, "\(file)")
                }
            }
        }
        #expect(checked > 30)
        // The canonical expected outputs are accepted by both, the pretty inputs refused by both.
        #expect(checkCode(try Vectors.bytes("jcs/weird.expected.json")) == nil)
        #expect(checkCode(try Vectors.bytes("jcs/weird.input.json")) == "not_canonical")
    }

    /// Number texts a JavaScript engine produced are canonical; their re-spellings are not, or are invalid.
    @Test func agreesOnNumberVectorsAndTheirRespellings() throws {
        let lines = try Vectors.text("jcs/numbers-ecmascript.txt").split(separator: "\n")
        #expect(lines.count > 3000)
        var accepted = 0
        for line in lines {
            let text = String(line.split(separator: ",")[1])
            if checkCode(bytes(text)) == nil { accepted += 1 }
            let variants = [
                text, "-" + text, text + "0", text.replacingOccurrences(of: "e", with: "E"),
                text.replacingOccurrences(of: "e+", with: "e"), text.contains(".") ? text + "1" : text + ".0",
                "0" + text, text + "e0", text.replacingOccurrences(of: ".", with: ""), "[\(text)]", "{\"seq\":\(text)}",
            ]
            for variant in variants {
                #expect(disagreement(bytes(variant)) == nil)
            }
        }
        #expect(accepted == lines.count)
    }

    /// Every single-byte replacement, deletion and doubling of each sample entry, and every truncation.
    @Test(arguments: sampleEntries.indices)
    func agreesOnEveryEditAndTruncation(entry: Int) throws {
        let text = bytes(sampleEntries[entry])
        #expect(checkCode(text) == nil)
        #expect(validateCode(text) == nil)
        let replacements: [UInt8] = Array("0123456789.eE+-\" \t\\/u,:[]{}abfnrtxAF".utf8)
            + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xEE, 0xF0, 0xF4, 0xFF]
        var failures: [String] = []
        var outcomes: [String: Int] = [:]
        func compare(_ edited: [UInt8]) {
            if let problem = disagreement(edited) { failures.append(problem) }
            outcomes[checkCode(edited) ?? "accepted", default: 0] += 1
        }
        for position in text.indices {
            for replacement in replacements where replacement != text[position] {
                var edited = text
                edited[position] = replacement
                compare(edited)
            }
            var deleted = text
            deleted.remove(at: position)
            compare(deleted)
            var doubled = text
            doubled.insert(text[position], at: position)
            compare(doubled)
        }
        for length in 0..<text.count {
            compare(Array(text[..<length]))
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.prefix(5))")
        // The edits reach every kind of answer, so the agreement is not only on trivial rejections.
        #expect(outcomes["invalid_json", default: 0] > 100)
        #expect(outcomes["not_canonical", default: 0] > 10)
        #expect(outcomes["duplicate_key", default: 0] + outcomes["accepted", default: 0] > 0)
    }

    /// Random values in canonical form are accepted, and random re-spellings are judged like `validate` does.
    @Test func agreesOnRandomValuesAndRespellings() throws {
        var random = SplitMix64(seed: 0x5EED)
        var verdicts: [String: Int] = [:]
        for round in 0..<600 {
            let value = RandomJSON.value(depth: 0, using: &random)
            let canonical = try value.canonicalBytes()
            #expect(checkCode(canonical) == nil, "\(String(decoding: canonical, as: UTF8.self))")
            for _ in 0..<4 {
                let spelled = RandomJSON.spell(value, using: &random, respell: round % 3 != 0)
                if let problem = disagreement(spelled) {
                    Issue.record("\(problem)")
                }
                verdicts[checkCode(spelled) ?? "accepted", default: 0] += 1
            }
        }
        #expect(verdicts["accepted", default: 0] > 100)
        #expect(verdicts["not_canonical", default: 0] > 100)
        #expect(verdicts["duplicate_key", default: 0] > 20)
    }
}

@Suite struct CanonicalCheckCaseTests {
    @Test(arguments: [
        // Canonical equivalence makes these one name for the parser's dictionary, so both report a duplicate.
        ("{\"K\":1,\"\u{212A}\":2}", "duplicate_key"),
        ("{\"e\u{301}\":1,\"f\":2,\"\u{E9}\":3}", "duplicate_key"),
        ("{\"A\u{30A}\":1,\"\u{C5}\":2,\"\u{212B}\":3}", "duplicate_key"),
        // Escapes that spell the same name, far apart or out of order.
        (#"{"a":1,"\u0061":2}"#, "duplicate_key"),
        (#"{"b":1,"c":2,"a":3,"b":4}"#, "duplicate_key"),
        (#"{"b":1,"c":2,"a":3,"d":4}"#, "not_canonical"),
        (#"{"a":{"x":1},"b":{"x":1}}"#, nil),
        ("{\"\u{10000}\":1,\"\u{E000}\":2}", nil),
        ("{\"\u{E000}\":1,\"\u{10000}\":2}", "not_canonical"),
        (#"{"\ud800\udc00":1,"\u00e9":2}"#, "not_canonical"),
        (#"{"\n":1," ":2,"\u001f":3}"#, "not_canonical"),
        (#"{"\n":1,"\u001f":2,"\"":3}"#, nil),
        // A hard error after a duplicate or an order problem still wins, as it does for the parser.
        (#"{"b":1,"a":2,"b":3}"#, "duplicate_key"),
        (#"{"b":1,"a":[1,]}"#, "invalid_json"),
        (#"{"a":1,"a":[1,]}"#, "invalid_json"),
        (#"{"a":1,"a":2,"b":[1,]}"#, "duplicate_key"),
        (#"{"a":1e999}"#, "non_finite_number"),
        (#"[1.0,1e999]"#, "non_finite_number"),
        (#"[-0]"#, "not_canonical"),
        (#"[0,-1,9007199254740992,9007199254740993]"#, "not_canonical"),
        (#"[0,-1,9007199254740992,18014398509481984]"#, nil),
        ("", "invalid_json"), (" ", "invalid_json"), ("\u{FEFF}{}", "invalid_json"), ("{} ", "not_canonical"),
        (#""\/""#, "not_canonical"), (#""\u00E9""#, "not_canonical"), (#""\u001F""#, "not_canonical"),
        (#""\u001f\b""#, nil), ("[true,false,null]", nil), ("[tru]", "invalid_json"), ("[nulL]", "invalid_json"),
    ] as [(String, String?)])
    func agreesOnChosenCases(text: String, code: String?) {
        #expect(checkCode(bytes(text)) == code, "\(text)")
        #expect(validateCode(bytes(text)) == code, "\(text)")
    }

    @Test func refusesNestingBeyondTheLimit() {
        let limit = JSONValue.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(checkCode(bytes(deepest)) == nil)
        #expect(checkCode(bytes("[" + deepest + "]")) == "too_deep")
        #expect(checkCode([UInt8](repeating: UInt8(ascii: "{"), count: 100_000)) == "invalid_json")
        #expect(checkCode(Array(String(repeating: #"{"k":"#, count: 100_000).utf8)) == "too_deep")
    }

    @Test func emptyBufferIsInvalid() throws {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        #expect(throws: CanonicalJSONError(code: .invalidJson, detail: "")) { try CanonicalJSON.check(empty) }
    }

    @Test func reportsTheEarliestDepartureAndItsOffset() {
        let text = bytes(#"{"b":1,"a":[1, 2]}"#)
        let error = text.withUnsafeBytes { buffer -> CanonicalJSONError? in
            do throws(CanonicalJSONError) {
                try CanonicalJSON.check(buffer)
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.code.rawValue == "not_canonical")
        #expect(error?.detail.hasPrefix("at byte 7") == true, "\(String(describing: error))")
    }

    /// Long runs of plain text go eight bytes at a time; a special byte at any position must still be seen.
    @Test func seesSpecialBytesAtEveryPositionOfALongString() {
        for length in 0..<40 {
            for special: UInt8 in [0x00, 0x1F, 0x22, 0x5C, 0x80, 0xC3, 0xFF] {
                for position in 0..<max(length, 1) {
                    var body = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if position < length { body[position] = special }
                    let text = [UInt8(ascii: "\"")] + body + [UInt8(ascii: "\"")]
                    #expect(disagreement(text) == nil)
                }
            }
        }
    }
}

@Suite struct CanonicalEntryMemberTests {
    @Test(arguments: [
        (#"{"seq":42}"#, 42), (#"{"a":1,"seq":-7,"z":[1]}"#, -7), (#"{"seq":0}"#, 0),
        (#"{"seq":9007199254740992}"#, 9_007_199_254_740_992), (#"{"seq":-9007199254740992}"#, -9_007_199_254_740_992),
        (#"{"seq":1.5}"#, nil), (#"{"seq":18014398509481984}"#, nil), (#"{"seq":"42"}"#, nil), (#"{"seq":[42]}"#, nil),
        (#"{"seq":{"seq":42}}"#, nil), (#"{"a":{"seq":42}}"#, nil), (#"{"se":42}"#, nil), (#"{"seqq":42}"#, nil),
        (#"[{"seq":42}]"#, nil), (#"42"#, nil), (#"{"seq":null}"#, nil), (#"{"seq":1e+21}"#, nil),
    ] as [(String, Int64?)])
    func readsTheTopLevelInteger(text: String, expected: Int64?) throws {
        let value = try entrySeq(bytes(text)).get()
        #expect(value == expected, "\(text)")
        // The same answer as reading the parsed value.
        let parsed = try CanonicalJSON.validate(bytes(text))
        #expect(value.map(Int.init) == parsed["seq"]?.integerValue)
    }

    @Test func throwsInsteadOfAnsweringForNonCanonicalEntries() {
        #expect(throws: CanonicalJSONError(code: .notCanonical, detail: "")) { try entrySeq(bytes(#"{"seq":1.0}"#)).get() }
        #expect(throws: CanonicalJSONError(code: .notCanonical, detail: "")) { try entrySeq(bytes(#"{"seq": 1}"#)).get() }
        #expect(throws: CanonicalJSONError(code: .duplicateKey, detail: "")) { try entrySeq(bytes(#"{"seq":1,"seq":2}"#)).get() }
    }

    @Test func readsMembersOfAnyNameThatNeedsNoEscape() throws {
        let text = bytes("{\"a\":3,\"caf\u{E9}\":4}")
        let first = try text.withUnsafeBytes { buffer in try CanonicalJSON.checkEntry(buffer, integerMember: "a") }
        let second = try text.withUnsafeBytes { buffer in try CanonicalJSON.checkEntry(buffer, integerMember: "caf\u{E9}") }
        #expect(first == 3)
        #expect(second == 4)
    }

    static let schema: [StaticString] = ["seq", "time", "actor", "action", "subjects", "data"]

    private func summary(_ text: [UInt8]) throws -> CanonicalEntrySummary {
        try text.withUnsafeBytes { buffer in
            try CanonicalJSON.checkEntry(buffer, integerMember: "seq", requiredMembers: Self.schema)
        }
    }

    @Test func summarizesTheTopLevel() throws {
        for (index, entry) in sampleEntries.enumerated().prefix(3) {
            let result = try summary(bytes(entry))
            #expect(result.isObject)
            #expect(result.firstMissingMember == nil, "\(index)")
        }
        #expect(try summary(bytes(sampleEntries[0])).integerMember == 1_048_575)
        // "time" (index 1) is missing at the top level; one inside "data" does not count.
        let noTime = try summary(bytes(#"{"action":"a","actor":"b","data":{"time":1},"seq":3,"subjects":[]}"#))
        #expect(noTime == CanonicalEntrySummary(isObject: true, integerMember: 3, firstMissingMember: 1))
        let array = try summary(bytes(#"[{"seq":1}]"#))
        #expect(array == CanonicalEntrySummary(isObject: false, integerMember: nil, firstMissingMember: 0))
        let nothingRequired = try bytes(#"{"seq":1}"#).withUnsafeBytes { buffer in
            try CanonicalJSON.checkEntry(buffer, integerMember: "seq", requiredMembers: [])
        }
        #expect(nothingRequired == CanonicalEntrySummary(isObject: true, integerMember: 1, firstMissingMember: nil))
    }

    @Test func summaryAgreesWithTheParsedValue() throws {
        var random = SplitMix64(seed: 64)
        let names = Self.schema.map { "\($0)" }
        for _ in 0..<300 {
            var members: [String: JSONValue] = [:]
            for name in names + ["seqq", "se", "extra"] where Int.random(in: 0..<5, using: &random) != 0 {
                members[name] = name == "seq" && Bool.random(using: &random)
                    ? .number(Double(Int.random(in: -5...5, using: &random))) : RandomJSON.value(depth: 3, using: &random)
            }
            let text = try JSONValue.object(members).canonicalBytes()
            let parsed = try CanonicalJSON.validate(text)
            let result = try summary(text)
            #expect(result.isObject)
            #expect(result.firstMissingMember == names.firstIndex { parsed[$0] == nil })
            #expect(result.integerMember.map(Int.init) == parsed["seq"]?.integerValue)
        }
    }

    @Test func agreesWithTheParsedValueOnSampleAndRandomEntries() throws {
        var random = SplitMix64(seed: 31)
        var entries = sampleEntries.map(bytes)
        for seq in 0..<300 {
            var members: [String: JSONValue] = ["action": "x.y", "data": RandomJSON.value(depth: 1, using: &random)]
            if seq % 5 != 0 { members["seq"] = seq % 7 == 0 ? RandomJSON.value(depth: 3, using: &random) : .number(Double(seq - 100)) }
            entries.append(try JSONValue.object(members).canonicalBytes())
        }
        for entry in entries {
            let expected = try CanonicalJSON.validate(entry)["seq"]?.integerValue
            #expect(try entrySeq(entry).get().map(Int.init) == expected)
        }
    }
}

/// Random JSON values and random, often non-canonical, ways of writing them.
private enum RandomJSON {
    /// Includes names that are canonically equivalent without being equal, and the UTF-16 order traps.
    static let scalars: [Unicode.Scalar] = [
        "a", "b", "K", "A", "e", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{A}", "\u{1F}", "\u{7F}", "\u{E9}", "\u{301}",
        "\u{30A}", "\u{C5}", "\u{212A}", "\u{212B}", "\u{2028}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{1F600}",
    ]

    static func string(using random: inout SplitMix64) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...3, using: &random) { text.unicodeScalars.append(scalars.randomElement(using: &random)!) }
        return text
    }

    static func value(depth: Int, using random: inout SplitMix64) -> JSONValue {
        switch Int.random(in: 0...(depth < 4 ? 8 : 5), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2:
            var number: Double
            repeat { number = Double(bitPattern: random.next()) } while !number.isFinite
            return .number(number)
        case 3:
            let choices: [Double] = [0, -1, 0.5, 1e21, 1e-7, 9_007_199_254_740_992, 9_007_199_254_740_994, 0.1 + 0.2, 123.456]
            return Bool.random(using: &random)
                ? .number(choices.randomElement(using: &random)!)
                : .number(Double(Int64.random(in: -1_000_000_000...1_000_000_000, using: &random)))
        case 4, 5: return .string(string(using: &random))
        case 6: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(depth: depth + 1, using: &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) { members[string(using: &random)] = value(depth: depth + 1, using: &random) }
            return .object(members)
        }
    }

    /// Writes `value` as valid JSON; with `respell`, departs from canonical form at random, and sometimes
    /// repeats a member name (exactly, through an escape, or as a canonically equivalent spelling).
    static func spell(_ value: JSONValue, using random: inout SplitMix64, respell: Bool) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output, using: &random, respell: respell)
        return output
    }

    private static func rarely(_ random: inout SplitMix64, _ respell: Bool) -> Bool {
        respell && Int.random(in: 0..<12, using: &random) == 0
    }

    private static func space(_ output: inout [UInt8], _ random: inout SplitMix64, _ respell: Bool) {
        if rarely(&random, respell) { output.append([0x20, 0x09, 0x0A, 0x0D].randomElement(using: &random)!) }
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8], using random: inout SplitMix64, respell: Bool) {
        space(&output, &random, respell)
        switch value {
        case .null, .bool:
            output += (try? value.canonicalBytes()) ?? []
        case .number(let number):
            output += bytes(numberText(number, using: &random, respell: respell))
        case .string(let string):
            writeString(string, to: &output, using: &random, respell: respell)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output, using: &random, respell: respell)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            var order = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }.map { ($0, $0) }
            if rarely(&random, respell) { order.shuffle(using: &random) }
            if respell, let (name, _) = order.randomElement(using: &random), Int.random(in: 0..<6, using: &random) == 0 {
                // A second member whose name the parser's dictionary treats as the same.
                let twin = twinSpelling(of: name, using: &random)
                order.insert((twin, name), at: Int.random(in: 0...order.count, using: &random))
            }
            output.append(UInt8(ascii: "{"))
            for (index, (name, key)) in order.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                space(&output, &random, respell)
                writeString(name, to: &output, using: &random, respell: respell)
                space(&output, &random, respell)
                output.append(UInt8(ascii: ":"))
                write(members[key]!, to: &output, using: &random, respell: respell)
            }
            space(&output, &random, respell)
            output.append(UInt8(ascii: "}"))
        }
        space(&output, &random, respell)
    }

    private static func twinSpelling(of name: String, using random: inout SplitMix64) -> String {
        let swaps: [(String, String)] = [("\u{212A}", "K"), ("K", "\u{212A}"), ("\u{E9}", "e\u{301}"), ("e\u{301}", "\u{E9}"),
                                         ("\u{C5}", "\u{212B}"), ("\u{212B}", "A\u{30A}")]
        for (from, to) in swaps.shuffled(using: &random) where name.contains(from) {
            return name.replacingOccurrences(of: from, with: to)
        }
        return name
    }

    private static func writeString(_ string: String, to output: inout [UInt8], using random: inout SplitMix64, respell: Bool) {
        output.append(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            let value = scalar.value
            if rarely(&random, respell) {
                // Any character may be written as \u escapes, in either case.
                var units: [UInt16] = []
                units.append(contentsOf: String(scalar).utf16)
                for unit in units {
                    var hex = String(unit, radix: 16)
                    hex = String(repeating: "0", count: 4 - hex.count) + hex
                    output += bytes("\\u" + (Bool.random(using: &random) ? hex.uppercased() : hex))
                }
                continue
            }
            switch value {
            case 0x22: output += bytes("\\\"")
            case 0x5C: output += bytes("\\\\")
            case 0x2F: output += bytes(rarely(&random, respell) ? "\\/" : "/")
            case 0x08: output += bytes("\\b")
            case 0x09: output += bytes("\\t")
            case 0x0A: output += bytes("\\n")
            case 0x0C: output += bytes("\\f")
            case 0x0D: output += bytes("\\r")
            case 0..<0x20: output += bytes("\\u00" + (value < 0x10 ? "0" : "") + String(value, radix: 16))
            default: output += bytes(String(scalar))
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func numberText(_ number: Double, using random: inout SplitMix64, respell: Bool) -> String {
        let canonical = String(decoding: (try? JSONValue.number(number).canonicalBytes()) ?? [], as: UTF8.self)
        guard rarely(&random, respell) || (respell && Int.random(in: 0..<4, using: &random) == 0) else { return canonical }
        switch Int.random(in: 0..<7, using: &random) {
        case 0: return "\(number)"  // Swift's own spelling: sometimes canonical, often not
        case 1: return canonical.contains("e") || canonical.contains(".") ? canonical + "0" : canonical + ".0"
        case 2: return canonical.replacingOccurrences(of: "e", with: "E")
        case 3: return canonical + "e0"
        case 4: return number == 0 ? "-0" : String(format: "%.17g", number)
        case 5: return String(format: "%.3e", number)
        default: return canonical.hasPrefix("-") ? canonical : "-" + canonical
        }
    }
}
