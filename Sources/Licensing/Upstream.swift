public import AuditLog

/// Where PDX forwards the calls of an `upstream` dataset: the authority's own interface and the name
/// of the header that carries the credential. The credential itself is not part of a dataset: it
/// is write-only, kept sealed apart from it, and never appears in a value a store, a log or an
/// answer is made from.
public struct UpstreamEndpoint: Sendable, Hashable {
    /// The base URL, without a trailing slash: `http(s)://host[:port][/path]`.
    public let baseURL: String
    /// The HTTP field name PDX sends the secret in, e.g. `X-Api-Key` or `Authorization`.
    public let credentialHeader: String

    /// Recreates an endpoint as a store or a log holds it; nothing is checked.
    public init(baseURL: String, credentialHeader: String) {
        self.baseURL = baseURL
        self.credentialHeader = credentialHeader
    }

    /// The endpoint as logged and stored: `{"base_url", "credential_header"}`.
    public var json: JSONValue {
        ["base_url": .string(baseURL), "credential_header": .string(credentialHeader)]
    }

    /// Fields PDX sets itself or that change how a message is framed or routed: a credential may
    /// not be sent in one of them.
    static let reservedHeaders: Set<String> = [
        "host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive",
        "proxy-authorization", "proxy-connection", "expect", "accept", "accept-encoding", "user-agent",
        "x-request-id", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
    ]

    /// `text` as a base URL, normalized (scheme and host in lower case, no trailing slash); throws
    /// `invalid_upstream_url` naming what is wrong.
    public static func baseURL(_ text: String) throws(LicensingError) -> String {
        func invalid(_ why: String) -> LicensingError { LicensingError(code: .invalidUpstreamURL, detail: "upstream.base_url \(why)") }
        guard (1...2048).contains(text.utf8.count) else { throw invalid("is empty or longer than 2048 bytes") }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw invalid("holds a space, a control or a non-ASCII character")
        }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else {
            throw invalid("is not an http:// or https:// URL")
        }
        let rest = text.dropFirst(scheme.count + 3)
        guard !rest.contains("?") else { throw invalid("has a query") }
        guard !rest.contains("#") else { throw invalid("has a fragment") }
        guard !rest.contains("\\") else { throw invalid("holds a backslash") }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        guard !authority.contains("@") else { throw invalid("has user information") }
        guard !authority.isEmpty else { throw invalid("has no host") }

        var host = Substring(authority)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw invalid("has an unclosed IPv6 literal") }
            let literal = host[host.index(after: host.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw invalid("has an invalid IPv6 literal")
            }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("has text after its IPv6 literal") }
                port = after.dropFirst()
            }
            host = host[...close]
        } else {
            if let colon = host.firstIndex(of: ":") {
                port = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            guard !host.isEmpty else { throw invalid("has no host") }
            guard host.utf8.count <= 253,
                  host.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." }),
                  !host.hasPrefix("."), !host.hasPrefix("-"), !host.contains("..")
            else { throw invalid("has an invalid host") }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port),
                  (1...65535).contains(number)
            else { throw invalid("has an invalid port") }
        }
        while path.hasSuffix("/") { path.removeLast() }
        if !path.isEmpty {
            let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            for segment in segments {
                guard !segment.isEmpty else { throw invalid("has an empty path segment (//)") }
                guard segment != ".", segment != ".." else { throw invalid("has a dot segment in its path") }
                guard segment.allSatisfy(Self.isPathCharacter) else { throw invalid("has a character not allowed in a path") }
                let lowered = segment.lowercased()
                guard !lowered.contains("%2f"), !lowered.contains("%5c"), !lowered.contains("%2e") else {
                    throw invalid("has an encoded slash, backslash or dot in its path")
                }
            }
        }
        return scheme + "://" + host.lowercased() + (port.map { ":" + $0 } ?? "") + path
    }

    /// A character RFC 3986 allows in a path segment unencoded, or `%` of an escape.
    static func isPathCharacter(_ c: Character) -> Bool {
        guard c.isASCII else { return false }
        if c.isLetter || c.isNumber { return true }
        return "-._~!$&'()*+,;=:@%".contains(c)
    }

    /// `name` as a credential header name; throws `invalid_upstream_credential`.
    public static func credentialHeader(_ name: String) throws(LicensingError) -> String {
        let tchar = Set("!#$%&'*+-.^_`|~")
        guard (1...64).contains(name.utf8.count), name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || tchar.contains($0) }) else {
            throw LicensingError(code: .invalidUpstreamCredential, detail: "upstream.credential_header is not an HTTP field name of 1 to 64 characters")
        }
        guard !reservedHeaders.contains(name.lowercased()) else {
            throw LicensingError(code: .invalidUpstreamCredential, detail: "upstream.credential_header '\(name)' is a field PDX sets itself")
        }
        return name
    }

    /// Throws `invalid_upstream_credential` unless `secret` can be sent as a field value: 1 to 4096
    /// visible ASCII characters or inner spaces. The detail never quotes the secret.
    public static func checkSecret(_ secret: String) throws(LicensingError) {
        let bytes = Array(secret.utf8)
        guard (1...4096).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
              bytes.first != 0x20, bytes.last != 0x20
        else {
            throw LicensingError(code: .invalidUpstreamCredential,
                                 detail: "upstream.secret must be 1 to 4096 visible ASCII characters (inner spaces allowed)")
        }
    }
}

/// An upstream endpoint as received on a publication or an update; nil members stay as they are.
public struct UpstreamDraft: Sendable, Hashable {
    public var baseURL: String?
    public var credentialHeader: String?
    /// True when the request carries a new secret (which the caller keeps and stores sealed).
    public var setsSecret: Bool

    /// Creates a draft.
    public init(baseURL: String?, credentialHeader: String?, setsSecret: Bool) {
        self.baseURL = baseURL
        self.credentialHeader = credentialHeader
        self.setsSecret = setsSecret
    }
}
