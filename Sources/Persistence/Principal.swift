public import Cryptography
public import Foundation

/// Someone who calls the API with a bearer key: an operator, an authority's staff, an
/// administrator.
///
/// Only the SHA-256 of the key's secret is stored; the secret itself is shown once at creation and
/// never kept. The key id (the non-secret part of the key) finds the row.
public struct Principal: Sendable, Equatable {
    /// Stable id, e.g. `op_1`.
    public var id: String
    /// Display name; nil once erased. Kept in the personal-data store, never in the log.
    public var name: String?
    /// The role the server authorizes by, e.g. `operator`, `authority`, `admin`.
    public var role: String
    /// The authority a principal acts for, if any.
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

    /// Creates a principal.
    public init(id: String, name: String?, role: String, authorityID: String? = nil, keyID: String,
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

/// One page of principals.
public struct PrincipalPage: Sendable, Equatable {
    /// The principals, oldest first (by creation time, then id).
    public var principals: [Principal]
    /// The cursor for the next page; nil on the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(principals: [Principal], nextCursor: String?) {
        self.principals = principals
        self.nextCursor = nextCursor
    }
}
