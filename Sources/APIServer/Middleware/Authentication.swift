import Marketplace
public import Cryptography
public import Foundation
public import Identity
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// Checks presented API keys: by key id, then the secret's hash compared in constant time.
///
/// Verified keys are kept in a ``VerifiedKeyCache``: a request whose key is there costs one read of
/// the principal generation, which tells whether anything about principals or operators changed since
/// (here or on another instance); only then, or for a key not yet seen, are the principal and its
/// operator read.
public struct Authenticator: Sendable {
    let store: any CredentialStore
    let cache: VerifiedKeyCache
    let now: @Sendable () -> Date

    init(store: any CredentialStore, cache: VerifiedKeyCache = VerifiedKeyCache(), now: @escaping @Sendable () -> Date) {
        self.store = store
        self.cache = cache
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
        let generation = try await store.generation()
        if let cached = cache.credential(keyID: key.keyID, at: generation) {
            // Current as of this request's read: what was verified then still holds but the secret
            // (this request's may differ) and the expiry (time has passed).
            guard ConstantTime.equals(key.secretHash.bytes, cached.secretHash.bytes) else {
                throw Problem.unauthenticated("The API key is not valid.")
            }
            try checkExpiry(cached)
            return cached.principal
        }
        let (credential, readAt) = try await store.credential(keyID: key.keyID)
        let storedHash = credential?.secretHash ?? SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))!
        // Compare even when the key id is unknown, so timing does not tell which key ids exist.
        let matches = ConstantTime.equals(key.secretHash.bytes, storedHash.bytes)
        guard let credential, matches else {
            throw Problem.unauthenticated("The API key is not valid.")
        }
        if credential.revokedAt != nil {
            throw Problem.unauthenticated("The API key has been revoked.")
        }
        try checkExpiry(credential)
        cache.insert(credential, keyID: key.keyID, at: readAt)
        return credential.principal
    }

    /// Throws 401 once the key's expiry has come, by the server's clock (never by the cache's age).
    private func checkExpiry(_ credential: PrincipalCredential) throws {
        if let expiresAt = credential.expiresAt, expiresAt <= now() {
            throw Problem.unauthenticated("The API key has expired.")
        }
    }

    /// The principal holding key `keyID` now; nil once the key is revoked or expired. A console
    /// session keeps only its key's id and asks this on every request.
    func current(keyID: String) async throws -> Principal? {
        let generation = try await store.generation()
        let credential: PrincipalCredential
        if let cached = cache.credential(keyID: keyID, at: generation) {
            credential = cached
        } else {
            // Not kept: the cache holds keys whose secret this process has checked.
            guard let stored = try await store.credential(keyID: keyID).credential, stored.revokedAt == nil else { return nil }
            credential = stored
        }
        if let expiresAt = credential.expiresAt, expiresAt <= now() { return nil }
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
            throw Problem(.authenticationRateLimited,
                          "Too many failed authentications from this address; retry after \(retryAfter) s.",
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
            throw Problem(.rateLimited,
                          "Too many requests for this API key; retry after \(retryAfter) s.", retryAfter: retryAfter)
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
