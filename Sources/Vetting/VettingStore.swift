/// One page of operators.
public struct OperatorPage: Sendable, Hashable {
    /// The operators, in the store's listing order.
    public var operators: [Operator]
    /// The cursor for the next page; nil on the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(operators: [Operator], nextCursor: String?) {
        self.operators = operators
        self.nextCursor = nextCursor
    }
}

/// What the Vetting module needs from a database transaction. The storage module implements it for
/// SQLite and PostgreSQL; the same transaction appends the audit records of each change, so a change
/// and its records are stored together or not at all.
///
/// A typical step: read the operator, ask ``OperatorLifecycle`` for the change, then
/// ``update(_:)`` it, append ``LifecycleChange/records`` to the log and apply
/// ``LifecycleChange/cascade`` to grants and keys — all in one transaction.
public protocol VettingStore {
    /// Stores a new operator. Throws ``VettingError`` `operator_exists` when the id is taken.
    func insert(_ operator: Operator) async throws

    /// Replaces the stored operator with the same id by `operator`, whose
    /// ``Operator/revision`` must be exactly one more than the stored one; throws ``VettingError``
    /// `concurrent_update` otherwise (another transaction changed it since it was read) and
    /// `operator_not_found` when there is none.
    func update(_ operator: Operator) async throws

    /// The operator with `id`, or nil.
    func operatorByID(_ id: String) async throws -> Operator?

    /// Operators in order of submission time, then id; only those with `status` when it is given.
    ///
    /// - Parameters:
    ///   - cursor: nil for the first page, else a ``OperatorPage/nextCursor`` from the same query.
    ///   - limit: at most this many, at least 1 (the caller caps it).
    func operators(status: OperatorStatus?, after cursor: String?, limit: Int) async throws -> OperatorPage

    /// The most recently submitted operator whose applicant principal is `principalID`, or nil.
    func latestOperator(appliedBy principalID: String) async throws -> Operator?

    /// The most recently submitted operator with the unified social credit code `uscc`, or nil.
    func latestOperator(uscc: USCC) async throws -> Operator?
}
