import AuditLog
import Testing
import Vetting

@Suite("Unified social credit code (GB 32100-2015)")
struct USCCTests {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")

    @Test("published codes of real companies validate")
    func publishedCodesValidate() throws {
        let codes = try Vectors.validUSCCs()
        #expect(codes.count >= 3)
        for text in codes {
            let code = try USCC(validating: text)
            #expect(code.value == text)
            #expect(code.description == text)
        }
    }

    @Test("the parts of a code are read by position")
    func parts() throws {
        let code = try USCC(validating: "914403001922038216")
        #expect(code.registrationAuthorityCode == "9")
        #expect(code.categoryCode == "1")
        #expect(code.regionCode == "440300")
        #expect(code.subjectIdentifier == "192203821")
        #expect(code.checkCharacter == "6")
    }

    @Test("the check character is recomputed from the first 17 characters")
    func checkCharacterForPrefix() throws {
        for text in try Vectors.validUSCCs() {
            #expect(USCC.checkCharacter(forPrefix: String(text.prefix(17))) == text.last)
        }
        #expect(USCC.checkCharacter(forPrefix: "9144030070846113") == nil)
        #expect(USCC.checkCharacter(forPrefix: "9144030070846113O") == nil)
    }

    @Test("a sum that leaves no remainder gives check character 0, and 30 gives Y")
    func checkCharacterBoundaries() throws {
        // Constructed codes, not real ones: their weighted sums are ≡ 0 and ≡ 1 (mod 31).
        #expect(USCC.checkCharacter(forPrefix: "91110000MA01ABCDR") == "0")
        #expect(USCC.checkCharacter(forPrefix: "91110000MA01ABCD4") == "Y")
        _ = try USCC(validating: "91110000MA01ABCDR0")
        _ = try USCC(validating: "91110000MA01ABCD4Y")
        #expect(throws: VettingError(code: .usccCheckCharacter, detail: "")) {
            try USCC(validating: "91110000MA01ABCDRY")
        }
    }

    @Test("the weights are powers of 3 modulo 31")
    func weights() {
        var power = 1
        for weight in USCC.weights {
            #expect(weight == power)
            power = power * 3 % 31
        }
        #expect(USCC.weights.count == 17)
        #expect(USCC.alphabet == Self.alphabet)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let input: String
        let code: VettingError.Code
        var testDescription: String { "\(input.debugDescription) → \(code.rawValue)" }
    }

    static func vectorRefusals() throws -> [Refusal] {
        try Vectors.lines("uscc/invalid.txt").map { line in
            let fields = line.split(separator: "\t")
            return Refusal(input: String(fields[0]), code: try #require(VettingError.Code(rawValue: String(fields[1]))))
        }
    }

    @Test("golden invalid inputs are refused with their code", arguments: try vectorRefusals())
    func goldenRefusals(_ refusal: Refusal) {
        #expect(throws: VettingError(code: refusal.code, detail: "")) {
            try USCC(validating: refusal.input)
        }
    }

    @Test("bad input is refused with a precise code", arguments: [
        Refusal(input: "", code: .usccLength),
        Refusal(input: " 914403001922038216", code: .usccLength),
        Refusal(input: "914403001922038216\n", code: .usccLength),
        Refusal(input: "9144 0300 1922 0382 16", code: .usccLength),
        Refusal(input: "91440300192203821 ", code: .usccForbiddenCharacter),
        // Full-width digits look alike but are other characters.
        Refusal(input: "９１４４０３００１９２２０３８２１６", code: .usccForbiddenCharacter),
        Refusal(input: "91440300192203821\u{0}", code: .usccForbiddenCharacter),
        Refusal(input: "91440300192203821é", code: .usccForbiddenCharacter),
        // A decomposed é is two scalars: 19 in all.
        Refusal(input: "91440300192203821e\u{301}", code: .usccLength),
        Refusal(input: "91440300708461136t", code: .usccLowercase),
        Refusal(input: "a14403001922038216", code: .usccLowercase),
        Refusal(input: "9144030019220382i6", code: .usccLowercase),
        Refusal(input: "914403001922038I16", code: .usccForbiddenCharacter),
        Refusal(input: "914403001922038O16", code: .usccForbiddenCharacter),
        Refusal(input: "914403001922038S16", code: .usccForbiddenCharacter),
        Refusal(input: "914403001922038V16", code: .usccForbiddenCharacter),
        Refusal(input: "914403001922038Z16", code: .usccForbiddenCharacter),
        Refusal(input: "91440A001922038216", code: .usccRegionCode),
        Refusal(input: "914403001922038215", code: .usccCheckCharacter),
    ])
    func badInput(_ refusal: Refusal) {
        #expect(throws: VettingError(code: refusal.code, detail: "")) {
            try USCC(validating: refusal.input)
        }
    }

    /// The rule that fails first for a code whose characters are all in the alphabet.
    static func expectedCode(forAlphabetOnly characters: [Character]) -> VettingError.Code {
        characters[2..<8].allSatisfy(\.isNumber) ? .usccCheckCharacter : .usccRegionCode
    }

    @Test("every single-character substitution of a real code is refused")
    func everySubstitutionIsRefused() throws {
        var tried = 0
        for text in try Vectors.validUSCCs() {
            let original = Array(text)
            for position in original.indices {
                let replacements = Self.alphabet + Array("IOSVZ") + Array("abcdefghjklmnpqrtuwxy") + ["-", " "]
                for replacement in replacements where replacement != original[position] {
                    var corrupted = original
                    corrupted[position] = replacement
                    let expected: VettingError.Code = if Self.alphabet.contains(replacement) {
                        Self.expectedCode(forAlphabetOnly: corrupted)
                    } else if replacement.isLowercase {
                        .usccLowercase
                    } else {
                        .usccForbiddenCharacter
                    }
                    #expect(throws: VettingError(code: expected, detail: ""), "\(String(corrupted))") {
                        try USCC(validating: String(corrupted))
                    }
                    tried += 1
                }
            }
        }
        // 3 codes × 18 positions × (30 other alphabet characters + 5 forbidden + 21 lower case + 2 symbols).
        #expect(tried == 3 * 18 * 58)
    }

    @Test("every adjacent transposition of two different characters is refused")
    func everyTranspositionIsRefused() throws {
        var tried = 0
        for text in try Vectors.validUSCCs() {
            let original = Array(text)
            for position in 0..<(original.count - 1) where original[position] != original[position + 1] {
                var swapped = original
                swapped.swapAt(position, position + 1)
                #expect(
                    throws: VettingError(code: Self.expectedCode(forAlphabetOnly: swapped), detail: ""),
                    "\(String(swapped))"
                ) {
                    try USCC(validating: String(swapped))
                }
                tried += 1
            }
        }
        #expect(tried > 40)
    }

    @Test("every truncation and every extension by one character is refused for length")
    func lengthChanges() throws {
        for text in try Vectors.validUSCCs() {
            for length in 0..<18 {
                #expect(throws: VettingError(code: .usccLength, detail: "")) {
                    try USCC(validating: String(text.prefix(length)))
                }
            }
            #expect(throws: VettingError(code: .usccLength, detail: "")) {
                try USCC(validating: text + "0")
            }
        }
    }

    @Test("the error detail names the position, never the submitted code")
    func detailHasNoValue() throws {
        let error = try #require(throws: VettingError.self) {
            try USCC(validating: "91440300708461136U")
        }
        #expect(!error.detail.contains("91440300708461136"))
        let position = try #require(throws: VettingError.self) {
            try USCC(validating: "914403001922O38216")
        }
        #expect(position.detail.contains("character 13"))
    }
}
