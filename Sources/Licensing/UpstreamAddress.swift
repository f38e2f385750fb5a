#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address an upstream host names or resolves to, and the ranges PDX does not
/// forward to unless the server runs with `--upstream-allow-private`: an authority's interface is
/// on the public internet, and a base URL (or a host name) that leads to the server's own machine
/// or network would let an authority use PDX to reach what only the server can reach.
public struct UpstreamAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), in network order.
    public let bytes: [UInt8]

    /// An address of 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// The address as text: dotted quad, or RFC 5952 IPv6 text (without brackets).
    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: 64)
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address `host` is written as, or nil for a host name. Takes every IPv4 form a resolver
    /// reads as an address (`127.1`, `0x7f.0.0.1`, `2130706433`), not only the dotted quad, and an
    /// IPv6 literal with or without its brackets.
    public static func literal(_ host: String) -> UpstreamAddress? {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard !text.isEmpty, text.utf8.count < 64, !text.utf8.contains(0) else { return nil }
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            return UpstreamAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) })
        }
        var raw = in_addr()
        guard inet_aton(text, &raw) != 0 else { return nil }
        return UpstreamAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) })
    }

    /// The name of the non-public range `address` is in, or nil for a public address. IPv4:
    /// 0.0.0.0/8 unspecified, 10/8, 172.16/12, 192.168/16 private, 100.64/10 shared, 127/8
    /// loopback, 169.254/16 link-local, 192.0.0/24 protocol assignments, 198.18/15 benchmarking,
    /// 224/4 multicast, 240/4 reserved and broadcast. IPv6: `::` unspecified, `::1` loopback,
    /// fe80::/10 link-local, fec0::/10 site-local, fc00::/7 unique-local, ff00::/8 multicast, and
    /// the IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 (64:ff9b::/96) address.
    public static func forbiddenRange(_ address: UpstreamAddress) -> String? {
        let b = address.bytes
        if address.isIPv4 {
            switch (b[0], b[1], b[2]) {
            case (0, _, _): return "unspecified"
            case (10, _, _), (172, 16...31, _), (192, 168, _): return "private"
            case (100, 64...127, _): return "shared (carrier-grade NAT)"
            case (127, _, _): return "loopback"
            case (169, 254, _): return "link-local"
            case (192, 0, 0): return "protocol-assignment"
            case (198, 18...19, _): return "benchmarking"
            case (224...239, _, _): return "multicast"
            case (240...255, _, _): return "reserved"
            default: return nil
            }
        }
        let embedded = Array(b[12...])
        if b[0..<12].allSatisfy({ $0 == 0 }) {
            if embedded == [0, 0, 0, 0] { return "unspecified" }
            if embedded == [0, 0, 0, 1] { return "loopback" }
            return forbiddenRange(UpstreamAddress(bytes: embedded)!) // IPv4-compatible
        }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
            return forbiddenRange(UpstreamAddress(bytes: embedded)!) // IPv4-mapped
        }
        if b[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] {
            return forbiddenRange(UpstreamAddress(bytes: embedded)!) // NAT64
        }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "link-local" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return "site-local" }
        if b[0] & 0xFE == 0xFC { return "unique-local" }
        if b[0] == 0xFF { return "multicast" }
        return nil
    }
}

extension UpstreamEndpoint {
    /// The host of a base URL as ``baseURL(_:)`` normalizes it (IPv6 literals without their
    /// brackets), or nil for text that is not one.
    public static func host(of baseURL: String) -> String? {
        authority(of: baseURL)?.host
    }

    /// The scheme, host (IPv6 without brackets), port (the scheme's default when none is written)
    /// and the authority as written (`host[:port]`) of a normalized `http(s)://…` URL.
    public static func authority(of url: String) -> (scheme: String, host: String, port: Int, written: String, rest: Substring)? {
        let scheme: String
        if url.hasPrefix("https://") { scheme = "https" } else if url.hasPrefix("http://") { scheme = "http" } else { return nil }
        let afterScheme = url.dropFirst(scheme.count + 3)
        let written = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let rest = afterScheme.dropFirst(written.count)
        var host = Substring(written)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        let number: Int
        if let port {
            guard let parsed = Int(port), (1...65535).contains(parsed) else { return nil }
            number = parsed
        } else {
            number = scheme == "https" ? 443 : 80
        }
        return (scheme, String(host), number, String(written), rest)
    }
}
