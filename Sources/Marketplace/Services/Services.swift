public import Persistence

/// Work of the caller that commits in the same transaction as a service's change, after the change
/// is written: the answer an `Idempotency-Key` replays, so the key is answered exactly when the
/// change is made.
public typealias AlsoInTransaction<Value> = @Sendable (Value, DatabaseTransaction) async throws -> Void

/// Nothing more to commit.
public func nothingMore<Value>(_ value: Value, _ tx: DatabaseTransaction) async throws {}
