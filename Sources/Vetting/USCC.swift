public import AuditLog
/// A unified social credit code (统一社会信用代码) whose form and check character are valid per
/// GB 32100-2015.
///
/// What is checked, in this order, and the error code when it fails:
/// 1. exactly 18 characters (Unicode scalars) — `uscc_length`;
/// 2. every character is in the 31-character set `0-9 A-H J-N P-R T U W-Y` (no `I O S V Z`):
///    a lower-case ASCII letter gives `uscc_lowercase` (never silently upper-cased), anything else
///    `uscc_forbidden_character`; the first offending position is named;
/// 3. characters 3–8, the registering authority's administrative division code (GB/T 2260), are
///    digits — `uscc_region_code`;
/// 4. the 18th character is the check character of the first 17 (GB/T 17710 style, modulus 31):
///    with each character's value its index in the set, `check = 31 − (Σ valueᵢ × weightᵢ mod 31)`,
///    a result of 31 written as `0`; weights are `3ⁱ mod 31`: 1 3 9 27 19 26 16 17 20 29 25 13 8 24
///    10 30 28 — `uscc_check_character`.
///
/// Not checked: whether the registration authority code (character 1) and category code (character
/// 2) are assigned, and whether the division code exists. Both lists have grown by amendment since
/// 2015, so checking them against a frozen copy would refuse real codes; every single-character
/// error is caught by the check character anyway.
public struct USCC: Sendable, Hashable, CustomStringConvertible {
    /// The characters a code is written with, in value order: the value of a character is its index.
    public static let alphabet: [Character] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")

    /// The weight of each of the first 17 characters in the check sum (`3ⁱ mod 31`).
    public static let weights: [Int] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// The number of characters in a code.
    public static let length = 18

    /// The code as submitted, all 18 characters.
    public let value: String

    /// Validates `text` as a code; see the type's documentation for the checks and their codes.
    public init(validating text: String) throws(VettingError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == Self.length else {
            throw VettingError(
                code: .usccLength,
                detail: "a unified social credit code has \(Self.length) characters, not \(scalars.count)"
            )
        }
        var values: [Int] = []
        values.reserveCapacity(Self.length)
        for (offset, scalar) in scalars.enumerated() {
            if let value = Self.value(of: scalar) {
                values.append(value)
            } else if ("a"..."z").contains(scalar) {
                throw VettingError(
                    code: .usccLowercase,
                    detail: "character \(offset + 1) of the unified social credit code is lower case; codes are upper case"
                )
            } else {
                throw VettingError(
                    code: .usccForbiddenCharacter,
                    detail: "character \(offset + 1) of the unified social credit code is not one of 0-9 A-H J-N P-R T U W-Y"
                )
            }
        }
        if let offset = (2..<8).first(where: { values[$0] > 9 }) {
            throw VettingError(
                code: .usccRegionCode,
                detail: "character \(offset + 1) of the unified social credit code is in the region code (characters 3–8), which is digits only"
            )
        }
        guard Self.checkValue(of: values[0..<17]) == values[17] else {
            throw VettingError(
                code: .usccCheckCharacter,
                detail: "the check character (character 18) of the unified social credit code does not match the first 17"
            )
        }
        self.value = text
    }

    /// The check character for the first 17 characters of a code, or nil when `prefix` is not 17
    /// characters of the code's alphabet.
    ///
    /// For building test data and for telling a user which check character was expected.
    public static func checkCharacter(forPrefix prefix: String) -> Character? {
        let values = prefix.unicodeScalars.map(value(of:))
        guard values.count == 17, values.allSatisfy({ $0 != nil }) else { return nil }
        return alphabet[checkValue(of: values.map { $0! }[...])]
    }

    /// Character 1: the registration management department (登记管理部门代码), e.g. `9` for market
    /// regulation.
    public var registrationAuthorityCode: Character { character(at: 0) }

    /// Character 2: the category of organization within that department (机构类别代码).
    public var categoryCode: Character { character(at: 1) }

    /// Characters 3–8: the administrative division of the registering authority (GB/T 2260).
    public var regionCode: String { String(Array(value)[2..<8]) }

    /// Characters 9–17: the subject identifier, the organization code of GB 11714.
    public var subjectIdentifier: String { String(Array(value)[8..<17]) }

    /// Character 18: the check character.
    public var checkCharacter: Character { character(at: 17) }

    /// The code itself.
    public var description: String { value }

    private func character(at offset: Int) -> Character {
        // A valid code is ASCII, so characters and scalars coincide.
        Array(value)[offset]
    }

    private static func value(of scalar: Unicode.Scalar) -> Int? {
        switch scalar {
        case "0"..."9": Int(scalar.value) - 0x30
        case "A"..."H": Int(scalar.value) - 0x41 + 10
        case "J"..."N": Int(scalar.value) - 0x4A + 18
        case "P"..."R": Int(scalar.value) - 0x50 + 23
        case "T", "U": Int(scalar.value) - 0x54 + 26
        case "W"..."Y": Int(scalar.value) - 0x57 + 28
        default: nil
        }
    }

    private static func checkValue(of values: ArraySlice<Int>) -> Int {
        var sum = 0
        for (value, weight) in zip(values, weights) {
            sum += value * weight
        }
        return (31 - sum % 31) % 31
    }
}
