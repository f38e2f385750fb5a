// INTERFACE STUB — owned by the canonical-JSON work; replace the bodies, keep the signatures.

/// A JSON value (RFC 8259) restricted to I-JSON (RFC 7493): numbers are IEEE 754 doubles.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

/// A value that cannot be put into canonical form, or text that is not valid JSON.
public struct CanonicalJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code, e.g. `invalid_json`, `duplicate_key`, `non_finite_number`, `not_canonical`.
    public var code: String
    /// What is wrong and where (byte offset when parsing).
    public var detail: String
    public init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public var description: String { "\(code): \(detail)" }
}

extension JSONValue {
    /// RFC 8785 (JCS) serialization: sorted keys, ES6 number form, minimal escaping, UTF-8.
    public func canonicalBytes() throws(CanonicalJSONError) -> [UInt8] {
        fatalError("stub")
    }

    /// Parses strict JSON (RFC 8259, I-JSON: no duplicate keys, valid UTF-8).
    public static func parse(_ bytes: some Collection<UInt8>) throws(CanonicalJSONError) -> JSONValue {
        fatalError("stub")
    }
}

/// Checks for RFC 8785 canonical form.
public enum CanonicalJSON {
    /// Parses `bytes` and throws unless re-serializing them canonically gives back exactly `bytes`.
    public static func validate(_ bytes: some Collection<UInt8>) throws(CanonicalJSONError) -> JSONValue {
        fatalError("stub")
    }
}
