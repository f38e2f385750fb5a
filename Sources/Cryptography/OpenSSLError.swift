internal import COpenSSL

/// A failure inside OpenSSL, carrying the text of OpenSSL's error queue.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The operation that failed, e.g. `EVP_DigestSign`.
    public var operation: String
    /// The lines OpenSSL queued for this failure, oldest first.
    public var queue: [String]

    public init(operation: String, queue: [String]) {
        self.operation = operation
        self.queue = queue
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.operation == rhs.operation }

    public var description: String {
        queue.isEmpty ? "\(operation) failed" : "\(operation) failed: \(queue.joined(separator: "; "))"
    }

    /// Drains OpenSSL's thread-local error queue into an error for `operation`.
    static func drain(_ operation: String) -> OpenSSLError {
        var lines: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            lines.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(operation: operation, queue: lines)
    }
}

/// Throws the drained error queue when an OpenSSL call did not return 1.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(OpenSSLError) {
    if result != 1 { throw OpenSSLError.drain(operation()) }
}
