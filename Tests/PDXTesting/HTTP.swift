package import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON over HTTP/1.1 to a port on 127.0.0.1, as an operator's system would send it: one
/// connection per request (`Connection: close`), so a balancer spreads requests, and a blocking
/// socket on a thread of its own with a 60-second bound on every read and write — plain enough that
/// a request without an answer can only be the server's doing. The bound finds hangs, it measures
/// nothing: a 4,000-event batch on PostgreSQL took over 20 s while the whole suite shared two cores.
package enum HTTP {
    /// The bound, in seconds, on every read and write.
    package static let timeoutSeconds = 60

    /// Sends a request; throws ``NoAnswer`` only when no HTTP answer came (refused, reset, timed out).
    ///
    /// - Parameter source: the loopback address the connection comes from (any of 127.0.0.0/8 on
    ///   Linux), for tests of what the server counts per client address; nil lets the system choose.
    package static func send(_ method: String, port: Int, _ path: String, key: String?, body: String? = nil,
                             from source: String? = nil) async throws -> (Int, Data) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let key { head += "Authorization: Bearer \(key)\r\n" }
        let payload = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + payload
        let started = ContinuousClock.now
        do {
            return try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(with: Result { try exchange(request, port: port, from: source) })
                }
            }
        } catch {
            throw NoAnswer(request: "\(method) :\(port)\(path)", after: ContinuousClock.now - started, error: error)
        }
    }

    /// A request that got no HTTP answer, and which one it was.
    package struct NoAnswer: Error, CustomStringConvertible {
        package var request: String
        package var after: Duration
        package var error: any Error
        package var description: String { "\(request): no answer after \(after): \(error)" }
    }

    /// Writes `request` on a new connection and reads the answer to its end.
    private static func exchange(_ request: [UInt8], port: Int, from source: String?) throws -> (Int, Data) {
        let fd = socket(AF_INET, RoundRobinProxy.streamType, 0)
        guard fd >= 0 else { throw ProxyError("socket: errno \(errno)") }
        defer { close(fd) }
        if let source {
            var local = RoundRobinProxy.loopback(port: 0)
            guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else { throw ProxyError("not an IPv4 address: \(source)") }
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard bound else { throw ProxyError("bind \(source): errno \(errno)") }
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = RoundRobinProxy.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw ProxyError("connect: errno \(errno)") }
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { write(fd, $0.baseAddress! + sent, request.count - sent) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ProxyError("write: errno \(errno)") }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw ProxyError("read: errno \(errno)") }
            if n == 0 { break }
            answer += buffer[..<n]
        }
        return try parse(answer)
    }

    /// Status and body of a whole HTTP/1.1 answer (body to the end, or chunked).
    private static func parse(_ answer: [UInt8]) throws -> (Int, Data) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = answer.firstRange(of: separator) else { throw ProxyError("no complete answer (\(answer.count) bytes)") }
        let head = String(decoding: answer[..<end.lowerBound], as: UTF8.self).lowercased()
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ProxyError("bad status line \(statusLine)") }
        var body = Array(answer[end.upperBound...])
        if head.contains("transfer-encoding: chunked") {
            var decoded: [UInt8] = []
            var rest = body[...]
            while let line = rest.firstRange(of: Array("\r\n".utf8)),
                  let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self), radix: 16), size > 0 {
                let start = line.upperBound
                decoded += rest[start..<(start + size)]
                rest = rest[(start + size + 2)...]
            }
            body = decoded
        }
        return (status, Data(body))
    }

    /// Sends a request that must answer `expected`; returns the JSON object it answered.
    @discardableResult
    package static func expect(_ expected: Int, _ method: String, port: Int, _ path: String, key: String?,
                       body: String? = nil) async throws -> [String: Any] {
        let (status, data) = try await send(method, port: port, path, key: key, body: body)
        let text = String(decoding: data, as: UTF8.self)
        try #require(status == expected, "\(method) \(path) answered \(status): \(text)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(text)")
    }
}
