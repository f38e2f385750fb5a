public import AuditLog
public import Foundation

/// A public data authority (数据主管部门): it provides datasets, employs the reviewers who vet
/// operators and co-approve grants, and receives its share of the revenue.
public struct Authority: Sendable, Hashable {
    /// The longest id accepted, in characters.
    public static let maxIDLength = 32
    /// The longest name accepted, in characters.
    public static let maxNameLength = 200
    /// The longest region accepted, in characters.
    public static let maxRegionLength = 100

    /// Stable id chosen by the administrator, e.g. `bj`; it appears in dataset, grant and settlement
    /// records (`authority:bj`), so it never changes.
    public var id: String
    /// Display name, e.g. `北京市大数据中心`.
    public var name: String
    /// The region it serves, e.g. `Beijing`.
    public var region: String
    /// When it was created, to the millisecond.
    public var createdAt: Date

    /// Creates an authority without checking its fields; see ``validate(id:name:region:)``.
    public init(id: String, name: String, region: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.region = region
        self.createdAt = createdAt
    }

    /// Checks the fields of a new authority, in the order id, name, region, and throws the first
    /// problem.
    ///
    /// - `invalid_authority_id`: not 2–32 characters of `a-z 0-9 -`, or not starting with a letter.
    ///   Ids go into subject strings and settlement party names (`authority:<id>`), so they keep to
    ///   characters that need no quoting anywhere.
    /// - `invalid_name`: empty, over ``maxNameLength`` characters, control characters or outer white
    ///   space.
    /// - `invalid_region`: the same rules with ``maxRegionLength``.
    public static func validate(id: String, name: String, region: String) throws(VettingError) {
        let bytes = Array(id.utf8)
        let isLowerLetter = { (byte: UInt8) in (0x61...0x7A).contains(byte) }
        let isAllowed = { (byte: UInt8) in
            isLowerLetter(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "-")
        }
        guard (2...maxIDLength).contains(bytes.count), isLowerLetter(bytes[0]), bytes.allSatisfy(isAllowed) else {
            throw VettingError(
                code: .invalidAuthorityID,
                detail: "an authority id is 2 to \(maxIDLength) characters of a-z, 0-9 and -, starting with a letter"
            )
        }
        if name.isEmpty {
            throw VettingError(code: .invalidName, detail: "name is empty")
        }
        if let problem = TextRules.problem(in: name, maxLength: maxNameLength) {
            throw VettingError(code: .invalidName, detail: "name \(problem)")
        }
        if region.isEmpty {
            throw VettingError(code: .invalidRegion, detail: "region is empty")
        }
        if let problem = TextRules.problem(in: region, maxLength: maxRegionLength) {
            throw VettingError(code: .invalidRegion, detail: "region \(problem)")
        }
    }
}

/// One page of authorities.
public struct AuthorityPage: Sendable, Hashable {
    /// The authorities, by id.
    public var authorities: [Authority]
    /// The cursor for the next page; nil on the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(authorities: [Authority], nextCursor: String?) {
        self.authorities = authorities
        self.nextCursor = nextCursor
    }
}

/// Where authorities are kept. The storage module implements it for SQLite and PostgreSQL, inside the
/// transaction that also appends the audit record of the change.
public protocol AuthorityStore {
    /// Stores a new authority. Throws ``VettingError`` `authority_exists` when the id is taken.
    func insertAuthority(_ authority: Authority) async throws

    /// The authority with `id`, or nil.
    func authority(id: String) async throws -> Authority?

    /// Authorities in order of id.
    ///
    /// - Parameters:
    ///   - cursor: nil for the first page, else a ``AuthorityPage/nextCursor`` from this listing;
    ///     anything else throws ``VettingError`` `invalid_cursor`.
    ///   - limit: at most this many, at least 1 (the caller caps it).
    func authorities(after cursor: String?, limit: Int) async throws -> AuthorityPage
}
