public import Cryptography

/// An error with a stable machine-readable code and a detail for people: what every module's error
/// is, so that each says only which codes it has.
///
/// Errors are equal when their codes are, since the detail is for people, not for branching; the
/// description is `code: detail`, except where an error's text predates its code (what `pdx` prints
/// when a data directory, a database or the demo fails): that error keeps its text as its
/// description, so nothing an operator reads or a script matches changed. The detail never carries secrets or submitted personal data.
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
