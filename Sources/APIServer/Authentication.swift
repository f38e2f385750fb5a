public import Cryptography
public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// What a principal may do. The authorization table (`Authorization.swift`) is written in these terms.
public enum Role: String, Sendable, CaseIterable, Codable {
    case admin
    case authorityReviewer = "authority_reviewer"
    case `operator`
    case auditor
    case finance
}

/// An authenticated caller.
public struct Principal: Sendable, Equatable {
    public var id: String
    /// Display name; nil once erased.
    public var name: String?
    public var role: Role
    /// The authority a reviewer acts for; nil for other roles.
    public var authorityID: String?
    /// The operator an operator principal applied as; nil before it applies and for other roles.
    public var operatorID: String?
    /// True for an operator principal whose operator is suspended or revoked: it may still read its
    /// own record, nothing else.
    public var operatorBlocked = false

    public init(id: String, name: String?, role: Role, authorityID: String? = nil, operatorID: String? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.authorityID = authorityID
        self.operatorID = operatorID
    }
}

/// An API key: `pdx_<key id>_<secret>`. Only the key id and SHA-256 of the secret are ever stored; the
/// whole key is shown once, when it is issued.
public struct APIKey: Sendable, Equatable, CustomStringConvertible {
    /// 16 hex digits; names the stored record, not secret.
    public var keyID: String
    /// 43 characters of base64url (32 random bytes).
    public var secret: String

    /// Issues a new key from `random`.
    public static func generate(using random: any RandomSource = SecureRandom()) throws -> APIKey {
        let id = Hex.encode(try random.bytes(8))
        let secret = Base64.encode(try random.bytes(32))
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return APIKey(keyID: id, secret: secret)
    }

    /// Parses the presented form; nil when it is not shaped like a PDX key.
    public init?(presented: some StringProtocol) {
        let parts = presented.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "pdx", parts[1].count == 16, Hex.decode(parts[1]) != nil,
              parts[2].count == 43,
              parts[2].utf8.allSatisfy({ Self.isBase64URL($0) })
        else { return nil }
        self.init(keyID: String(parts[1]), secret: String(parts[2]))
    }

    public init(keyID: String, secret: String) {
        self.keyID = keyID
        self.secret = secret
    }

    /// The whole key as the caller presents it.
    public var presented: String { "pdx_\(keyID)_\(secret)" }

    /// What is stored: SHA-256 of the secret.
    public var secretHash: SHA256Digest { SHA256.hash(Array(secret.utf8)) }

    /// Never prints the secret.
    public var description: String { "pdx_\(keyID)_…" }

    private static func isBase64URL(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }
}

/// A stored principal with its key record, as the authenticator needs it.
public struct PrincipalCredential: Sendable {
    public var principal: Principal
    public var secretHash: SHA256Digest
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(principal: Principal, secretHash: SHA256Digest, expiresAt: Date?, revokedAt: Date?) {
        self.principal = principal
        self.secretHash = secretHash
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// Finds the credential for a key id.
public protocol CredentialLookup: Sendable {
    func credential(keyID: String) async throws -> PrincipalCredential?
}

/// Checks presented API keys: by key id, then the secret's hash compared in constant time.
public struct Authenticator: Sendable {
    let lookup: any CredentialLookup
    let now: @Sendable () -> Date

    public init(lookup: any CredentialLookup, now: @escaping @Sendable () -> Date) {
        self.lookup = lookup
        self.now = now
    }

    /// The principal for `presented`, or a 401 problem saying why not (without saying whether the key
    /// id exists: unknown and wrong secret read the same).
    public func authenticate(_ presented: String) async throws -> Principal {
        try await authenticate(try Self.key(presented))
    }

    /// The presented key parsed, or 401 when it is not shaped like one.
    static func key(_ presented: String) throws -> APIKey {
        guard let key = APIKey(presented: presented) else {
            throw Problem.unauthenticated("The bearer token is not a PDX API key.")
        }
        return key
    }

    /// The principal holding `key`, or a 401 problem.
    func authenticate(_ key: APIKey) async throws -> Principal {
        let credential = try await lookup.credential(keyID: key.keyID)
        let storedHash = credential?.secretHash ?? SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))!
        // Compare even when the key id is unknown, so timing does not tell which key ids exist.
        let matches = ConstantTime.equals(key.secretHash.bytes, storedHash.bytes)
        guard let credential, matches else {
            throw Problem.unauthenticated("The API key is not valid.")
        }
        if credential.revokedAt != nil {
            throw Problem.unauthenticated("The API key has been revoked.")
        }
        if let expiresAt = credential.expiresAt, expiresAt <= now() {
            throw Problem.unauthenticated("The API key has expired.")
        }
        return credential.principal
    }
}

/// The principal of the request being handled. Generated handlers cannot see the Hummingbird
/// context, so the authentication middleware binds the principal here for the handler's task.
enum RequestPrincipal {
    @TaskLocal static var current: Principal?

    /// The caller, or 401 if the route was reached without authentication.
    static func require() throws -> Principal {
        guard let current else { throw Problem.unauthenticated("Authentication is required.") }
        return current
    }
}

/// Requires a valid bearer API key on every `/v1` route, takes one token from the key's rate-limit
/// bucket (429 `rate_limited` when it is empty, before any handler or write), and binds the principal
/// for the handler.
///
/// Failed authentications of well-formed keys are counted per client address: once an address has
/// used up `failedAuthentications`' burst, its requests get 429 `authentication_rate_limited` before
/// any key is parsed or looked up, until the bucket refills. A malformed key costs no database read.
struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: Authenticator
    let rateLimiter: RateLimiter
    let failedAuthentications: RateLimiter
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1" else {
            return try await next(request, context)
        }
        let client = Self.address(of: context)
        if case .refused(let retryAfter) = failedAuthentications.peek(client) {
            metrics.rateLimited.increment()
            throw Problem(.tooManyRequests, code: "authentication_rate_limited",
                          detail: "Too many failed authentications from this address; retry after \(retryAfter) s.",
                          retryAfter: retryAfter)
        }
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthenticated("Send 'Authorization: Bearer <api key>'.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthenticated("The Authorization header must use the Bearer scheme.")
        }
        let key = try Authenticator.key(String(parts[1]).trimmingCharacters(in: .whitespaces))
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(key)
        } catch let problem as Problem where problem.status == .unauthorized {
            // A well-formed key that fails is a guess (or a stale key); malformed ones cost nothing.
            _ = failedAuthentications.acquire(client)
            throw problem
        }
        RequestRecord.current?.principalID = principal.id
        if case .refused(let retryAfter) = rateLimiter.acquire(key.keyID) {
            metrics.rateLimited.increment()
            throw Problem(.tooManyRequests, code: "rate_limited",
                          detail: "Too many requests for this API key; retry after \(retryAfter) s.", retryAfter: retryAfter)
        }
        return try await RequestPrincipal.$current.withValue(principal) {
            try await next(request, context)
        }
    }
}

extension AuthenticationMiddleware {
    /// The client's IP address, or one shared name for requests without one.
    static func address(of context: Context) -> String {
        guard let address = (context as? any RemoteAddressRequestContext)?.remoteAddress else { return "unknown" }
        return address.ipAddress ?? "unknown"
    }
}
