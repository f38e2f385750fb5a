public import Cryptography

/// An error with a stable machine-readable code and a detail for people: what every module's error
/// is, so that each says only which codes it has.
///
/// Errors are equal when their codes are, since the detail is for people, not for branching; the
/// description is `code: detail`, except where an error's text predates its code
/// (``PlainCodedError``). The detail never carries secrets or submitted personal data.
public protocol CodedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The module's codes; the raw value is what a problem+json `code` says.
    associatedtype Code: RawRepresentable, Sendable, Equatable where Code.RawValue == String
    /// The stable code.
    var code: Code { get }
    /// What is wrong and where, for people.
    var detail: String { get }
}

extension CodedError {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    public var description: String { "\(code.rawValue): \(detail)" }
}


/// The one error below this module: `Cryptography` cannot see the protocol, so its conformance is here.
extension OpenSSLError: CodedError {}

/// A module's error: one of the module's codes and a detail. A module declares its codes and names
/// the error, `typealias VettingError = ModuleError<VettingErrorCode>`, so every module's error has
/// the same shape, equality and text without writing them again.
public struct ModuleError<Code>: CodedError where Code: RawRepresentable & Sendable & Equatable, Code.RawValue == String {
    /// The stable code.
    public var code: Code
    /// What is wrong and where, for people.
    public var detail: String

    /// Creates an error.
    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Creates an error: the code, then the detail.
    public init(_ code: Code, _ detail: String) {
        self.init(code: code, detail: detail)
    }
}

/// An error whose text predates its code: what `pdx` and `pdx-verify` print when a data directory,
/// a database, the demo or a disclosure file fails. Its description is the detail alone, as it
/// always was, so nothing an operator reads or a script matches changed.
public struct PlainCodedError<Code>: CodedError where Code: RawRepresentable & Sendable & Equatable, Code.RawValue == String {
    /// The stable code.
    public let code: Code
    /// What is wrong and where, for people.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The detail alone.
    public var description: String { detail }
}
