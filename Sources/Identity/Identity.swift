public import AuditLog
public import Cryptography
public import Foundation

// Who acts in the marketplace: principals, their roles and their API keys, and the audit records
// of their creation and revocation. Values only: no storage, no HTTP. Imports Cryptography (key
// generation and hashing) and AuditLog (records, commitments, coded errors).

/// What a principal may do. The server's authorization table is written in these terms.
public enum Role: String, Sendable, CaseIterable, Codable {
    case admin
    case authorityReviewer = "authority_reviewer"
    case `operator`
    case auditor
    case finance
}

/// Someone who calls the API with a bearer key: an operator, an authority's reviewer, finance, an
/// auditor, an administrator. The same value is what the store keeps and what authentication
/// hands to the handlers.
///
/// Only the SHA-256 of the key's secret is stored; the secret itself is shown once at creation and
/// never kept. The key id (the non-secret part of the key) finds the record.
public struct Principal: Sendable, Equatable {
    /// Stable id, e.g. `pr_…`.
    public var id: String
    /// Display name; nil once erased. Kept in the personal-data store, never in the log.
    public var name: String?
    /// What the principal may do.
    public var role: Role
    /// The authority a reviewer acts for; nil for other roles.
    public var authorityID: String?
    /// Contact e-mail address, if known and not erased; kept in the personal-data store.
    public var email: String?
    /// The personal-data references of the name and the e-mail address (nil until stored, and
    /// for an address never given).
    public var nameReference: String?
    public var emailReference: String?
    /// The members whose values were erased (`name`, `email`), in that order.
    public var erased: [String] {
        var fields: [String] = []
        if nameReference != nil, name == nil { fields.append("name") }
        if emailReference != nil, email == nil { fields.append("email") }
        return fields
    }
    /// For an `operator` principal, the operator it applied as; nil until it applies.
    public var operatorID: String?
    /// The public part of the API key; unique.
    public var keyID: String
    /// SHA-256 of the API key's secret.
    public var keyHash: SHA256Digest
    /// Creation time (millisecond precision).
    public var createdAt: Date
    /// When the key stops working, if ever.
    public var expiresAt: Date?
    /// When the key was revoked, if it was.
    public var revokedAt: Date?
    /// True for an operator principal whose operator is suspended or revoked: it may still read its
    /// own record, nothing else. Set by authentication, not stored.
    public var operatorBlocked = false

    /// Creates a principal.
    public init(id: String, name: String?, role: Role, authorityID: String? = nil, keyID: String,
                keyHash: SHA256Digest, createdAt: Date, expiresAt: Date? = nil, revokedAt: Date? = nil,
                email: String? = nil, operatorID: String? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.authorityID = authorityID
        self.email = email
        self.operatorID = operatorID
        self.keyID = keyID
        self.keyHash = keyHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// True when the key is neither revoked nor expired at `time`.
    public func isActive(at time: Date) -> Bool {
        if let revokedAt, revokedAt <= time { return false }
        if let expiresAt, expiresAt <= time { return false }
        return true
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

/// Why a principal cannot be created as asked.
public typealias IdentityError = ModuleError<IdentityErrorCode>

/// The stable codes of ``IdentityError``: the raw value is what a problem+json `code` says.
public enum IdentityErrorCode: String, Sendable, CaseIterable {
    /// The name is blank, longer than 200 characters or holds control characters.
    case invalidName = "invalid_name"
    /// An authority reviewer names no authority.
    case authorityRequired = "authority_required"
    /// A principal of another role names an authority.
    case authorityNotAllowed = "authority_not_allowed"
    /// The e-mail address is not one.
    case invalidEmail = "invalid_email"
    /// The key would expire before it is issued.
    case expiryInPast = "expiry_in_past"
}
