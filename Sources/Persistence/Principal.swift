public import Identity

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
