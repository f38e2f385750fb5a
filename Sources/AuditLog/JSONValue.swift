/// A JSON value (RFC 8259) restricted to I-JSON (RFC 7493): numbers are IEEE 754 doubles.
///
/// Object keys are Swift strings, so two keys that are canonically equivalent Unicode (say a precomposed
/// and a decomposed "é") are the same key: parsing text that holds both fails with `duplicate_key`.
/// The bytes of every string are kept as written, so canonical output reproduces them exactly.
public indirect enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number; must be finite to have a JSON form.
    case number(Double)
    /// A string of Unicode scalars (JSON text with lone surrogates is refused when parsing).
    case string(String)
    /// An ordered list.
    case array([JSONValue])
    /// Members by name; JSON text gives them no order, canonical form sorts them.
    case object([String: JSONValue])
}

/// A value that cannot be put into canonical form, or text that is not valid JSON.
public typealias CanonicalJSONError = ModuleError<CanonicalJSONErrorCode>

/// The stable codes of ``CanonicalJSONError``: the raw value is what a problem+json `code` says.
public enum CanonicalJSONErrorCode: String, Sendable, CaseIterable {
    case invalidJson = "invalid_json"
    case duplicateKey = "duplicate_key"
    case tooDeep = "too_deep"
    case nonFiniteNumber = "non_finite_number"
    case notCanonical = "not_canonical"
}

extension JSONValue {
    /// RFC 8785 (JCS) serialization: sorted keys, ES6 number form, minimal escaping, UTF-8.
    ///
    /// Throws `non_finite_number` for NaN or an infinity anywhere in the value.
    public func canonicalBytes() throws(CanonicalJSONError) -> [UInt8] {
        var writer = CanonicalJSONWriter()
        try writer.write(self)
        return writer.output
    }

    /// The canonical form as a string; see ``canonicalBytes()``.
    public func canonicalString() throws(CanonicalJSONError) -> String {
        String(decoding: try canonicalBytes(), as: UTF8.self)
    }

    /// Parses strict JSON (RFC 8259, I-JSON: no duplicate keys, valid UTF-8).
    ///
    /// Rejects a byte order mark, comments, trailing commas, leading zeros, lone surrogate escapes,
    /// raw control characters in strings, numbers beyond the double range, nesting deeper than
    /// ``JSONValue/maximumDepth`` and anything after the value. Errors name the byte offset.
    public static func parse(_ bytes: some Collection<UInt8>) throws(CanonicalJSONError) -> JSONValue {
        try JSONParser.parse(bytes, checkingCanonicalForm: false)
    }

    /// How many arrays and objects may nest inside each other; deeper text fails with `too_deep`.
    ///
    /// A bound keeps hostile input from exhausting the stack; audit entries are shallow.
    public static let maximumDepth = 64
}

/// Checks for RFC 8785 canonical form.
public enum CanonicalJSON {
    /// Parses `bytes` and throws unless re-serializing them canonically gives back exactly `bytes`.
    ///
    /// Invalid JSON fails with the parser's code; valid but non-canonical JSON with `not_canonical`,
    /// naming the offset of the first byte that differs from canonical form. Checks in one pass,
    /// without re-serializing, so that verifying a large log stays cheap.
    public static func validate(_ bytes: some Collection<UInt8>) throws(CanonicalJSONError) -> JSONValue {
        try JSONParser.parse(bytes, checkingCanonicalForm: true)
    }
}

// MARK: - Building values in code

extension JSONValue: ExpressibleByNilLiteral {
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// `true` and `false`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// An integer literal, as a double.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// An array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// An object literal; like a Swift dictionary literal, a repeated key is a programming error and traps.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}

extension JSONValue {
    /// A boolean.
    public init(_ value: Bool) { self = .bool(value) }

    /// A string.
    public init(_ value: String) { self = .string(value) }

    /// A number. NaN and infinities are accepted here but fail canonical serialization.
    public init(_ value: Double) { self = .number(value) }

    /// An integer; exact up to ±2^53, rounded to the nearest double beyond (I-JSON has only doubles).
    public init(_ value: Int) { self = .number(Double(value)) }

    /// An integer; exact up to ±2^53, rounded to the nearest double beyond.
    public init(_ value: Int64) { self = .number(Double(value)) }

    /// An unsigned integer; exact up to 2^53, rounded to the nearest double beyond.
    public init(_ value: UInt64) { self = .number(Double(value)) }

    /// An array.
    public init(_ elements: [JSONValue]) { self = .array(elements) }

    /// An object.
    public init(_ members: [String: JSONValue]) { self = .object(members) }
}

// MARK: - Reading values

extension JSONValue {
    /// The member named `key` of an object; nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The element at `index` of an array; nil when out of bounds or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The boolean, if this is one.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The number, if this is one.
    public var doubleValue: Double? {
        guard case .number(let value) = self else { return nil }
        return value
    }

    /// The number as an integer, only if it is integral and within ±2^53, where doubles are exact.
    ///
    /// Larger magnitudes may already have been rounded, so reading them as integers would mislead.
    public var integerValue: Int? {
        guard case .number(let value) = self, value.isFinite, value.rounded(.towardZero) == value,
              value.magnitude <= 9_007_199_254_740_992
        else { return nil }
        return Int(value)
    }

    /// The string, if this is one.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        guard case .object(let value) = self else { return nil }
        return value
    }
}
