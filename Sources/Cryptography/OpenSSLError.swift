internal import COpenSSL

/// A failure inside OpenSSL, carrying the text of OpenSSL's error queue.
///
/// A ``CodedError`` (the conformance is declared in `AuditLog`, which owns the protocol): equal when
/// the codes are; the description is the text it has always had, the operation and the queue.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, CaseIterable {
        /// Key material that is not an Ed25519 key: a seed or raw key of the wrong length, a PEM
        /// text OpenSSL cannot read or one holding another kind of key.
        case invalidKey = "invalid_key"
        /// Any other OpenSSL call that did not succeed.
        case operationFailed = "openssl_failed"
    }

    /// The stable code.
    public var code: Code
    /// The operation that failed, e.g. `EVP_DigestSign`.
    public var operation: String
    /// The lines OpenSSL queued for this failure, oldest first.
    public var queue: [String]

    public init(_ code: Code = .operationFailed, operation: String, queue: [String]) {
        self.code = code
        self.operation = operation
        self.queue = queue
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// What failed and what OpenSSL said, for people.
    public var detail: String {
        queue.isEmpty ? "\(operation) failed" : "\(operation) failed: \(queue.joined(separator: "; "))"
    }

    public var description: String { detail }

    /// Drains OpenSSL's thread-local error queue into an error for `operation`.
    static func drain(_ operation: String, _ code: Code = .operationFailed) -> OpenSSLError {
        var lines: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            lines.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(code, operation: operation, queue: lines)
    }
}

/// Throws the drained error queue when an OpenSSL call did not return 1.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(OpenSSLError) {
    if result != 1 { throw OpenSSLError.drain(operation()) }
}
