import Identity
@testable import APIServer
@testable import Marketplace
import Foundation
import HummingbirdTesting
import PDXTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Requests the HTTP/1 parser refuses before any middleware runs still get a problem: sent as raw
/// bytes over a socket, since a test client would encode them first.
@Suite("HTTP: unparsable requests", .serialized)
struct ParseErrorTests {
    /// Sends `bytes` to 127.0.0.1:`port` and reads until the server closes: status, headers (names
    /// lowercased), body.
    static func exchange(_ bytes: [UInt8], port: Int) throws -> (status: Int, headers: [String: String], body: String) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server may answer and close before it has read everything (a header section over the limit).
            if n <= 0 { break }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(socket, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func request(_ target: [UInt8], key: String, extraHeaders: String = "") -> [UInt8] {
        Array("GET ".utf8) + target + Array(" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n\(extraHeaders)\r\n".utf8)
    }

    static func expectProblem(_ response: (status: Int, headers: [String: String], body: String), status: Int, code: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
        #expect(response.headers["content-type"] == "application/problem+json", "\(response)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
        let problem = try #require(object, "\(response)", sourceLocation: sourceLocation)
        #expect(problem["code"] as? String == code, sourceLocation: sourceLocation)
        #expect(problem["status"] as? Int == status, sourceLocation: sourceLocation)
        #expect(response.headers["content-length"] == String(response.body.utf8.count), sourceLocation: sourceLocation)
        return problem["detail"] as? String ?? ""
    }

    @Test("raw UTF-8 in the request target is a 400 problem saying it must be percent-encoded")
    func rawUTF8InTarget() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let admin = try market.adminToken
            let port = try #require(client.port)
            let raw = try Self.exchange(Self.request(Array("/v1/datasets?q=交通".utf8), key: admin), port: port)
            let detail = try Self.expectProblem(raw, status: 400, code: "invalid_request")
            #expect(detail.contains("percent-encoded"))
            let inPath = try Self.exchange(Self.request(Array("/v1/datasets/交通".utf8), key: admin), port: port)
            _ = try Self.expectProblem(inPath, status: 400, code: "invalid_request")
            // Percent-encoded, the same search is answered.
            let encoded = try Self.exchange(Self.request(Array("/v1/datasets?q=%E4%BA%A4%E9%80%9A".utf8), key: admin,
                                                         extraHeaders: "Connection: close\r\n"), port: port)
            #expect(encoded.status == 200, "\(encoded)")
        }
    }

    @Test("a malformed or folded header line, a bad Content-Length or chunk, a bad version or HTTP/2 are 400 problems")
    func malformedRequests() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let admin = try market.adminToken
            let port = try #require(client.port)
            let requests: [[UInt8]] = [
                Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: "Bad Header Line\r\n"),
                Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: "X-Name\u{7F}: 1\r\n"),
                Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: "Content-Length: ten\r\n"),
                Array("GET /v1/datasets HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n".utf8),
                Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
                Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: "Folded: a\r\n b\r\n"),
                Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: "Content-Length: 1\r\nContent-Length: 2\r\n"),
                Array("POST /v1/authorities HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".utf8),
            ]
            for request in requests {
                let response = try Self.exchange(request, port: port)
                _ = try Self.expectProblem(response, status: 400, code: "invalid_request")
            }
        }
    }

    @Test("headers or a request target over the limit are a 431 problem")
    func oversizedHeaders() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let admin = try market.adminToken
            let port = try #require(client.port)
            let big = "X-Filler: " + String(repeating: "a", count: 100 * 1024) + "\r\n"
            let response = try Self.exchange(Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: big), port: port)
            _ = try Self.expectProblem(response, status: 431, code: "headers_too_large")
            let many = (0..<1_200).map { "X-\($0): 1\r\n" }.joined()
            let counted = try Self.exchange(Self.request(Array("/v1/datasets".utf8), key: admin, extraHeaders: many), port: port)
            _ = try Self.expectProblem(counted, status: 431, code: "headers_too_large")
            // The request target counts toward the same limit.
            let target = Array("/v1/datasets?q=".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 100 * 1024)
            let long = try Self.exchange(Self.request(target, key: admin), port: port)
            _ = try Self.expectProblem(long, status: 431, code: "headers_too_large")
        }
    }
}
