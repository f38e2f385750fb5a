public import AuditLog
public import Cryptography
public import Persistence

/// Work of the caller that commits in the same transaction as a service's change, after the change
/// is written: the answer an `Idempotency-Key` replays, so the key is answered exactly when the
/// change is made.
public typealias AlsoInTransaction<Value> = @Sendable (Value, DatabaseTransaction) async throws -> Void

/// Nothing more to commit.
public func nothingMore<Value>(_ value: Value, _ tx: DatabaseTransaction) async throws {}

/// What every service works with: the database, the log on it, the clock, and where new ids and
/// keys get their randomness.
public struct ServiceContext: Sendable {
    public let database: any Database
    public let log: TransparencyLog
    public let clock: ServerClock
    public let random: any RandomSource

    public init(database: any Database, log: TransparencyLog, clock: ServerClock, random: any RandomSource) {
        self.database = database
        self.log = log
        self.clock = clock
        self.random = random
    }
}
