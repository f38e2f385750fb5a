public import Cryptography
public import Foundation

// The storage the log needs, as protocols: AuditLog knows no database. A storage module implements
// them with SQL; tests implement them in memory.
//
// The log appends inside the caller's transaction, so a domain change and the entry that records
// it commit or roll back together. A storage module's transaction type therefore conforms to
// `LogTransaction` and to each domain module's own store protocol, and a domain module can ask for
// a database whose `Transaction` conforms to both.

/// The log's head: its size and the right edge of its tree, enough to append and to compute the
/// root without reading any leaf.
public struct LogHead: Sendable, Equatable {
    /// Number of entries.
    public var size: UInt64
    /// Perfect-subtree roots, largest first; one per set bit of `size` (see `MerkleFrontier`).
    public var frontier: [SHA256Digest]

    /// Creates a head.
    public init(size: UInt64, frontier: [SHA256Digest]) {
        self.size = size
        self.frontier = frontier
    }

    /// The head of the empty log.
    public static let empty = LogHead(size: 0, frontier: [])
}

/// One stored entry.
public struct StoredEntry: Sendable, Equatable {
    /// Leaf index.
    public var seq: UInt64
    /// When it was appended (millisecond precision).
    public var time: Date
    /// The entry's action, kept beside the bytes so stores can index it.
    public var action: String
    /// `MerkleHash.leaf(body)`.
    public var leafHash: SHA256Digest
    /// The canonical JSON encoding of the entry: the bytes the tree commits to.
    public var body: [UInt8]

    /// Creates a stored entry.
    public init(seq: UInt64, time: Date, action: String, leafHash: SHA256Digest, body: [UInt8]) {
        self.seq = seq
        self.time = time
        self.action = action
        self.leafHash = leafHash
        self.body = body
    }
}

/// The hash of a perfect subtree of the log's tree.
public struct StoredNode: Sendable, Equatable {
    /// Which subtree.
    public var id: MerkleNodeID
    /// Its RFC 9162 hash.
    public var hash: SHA256Digest

    /// Creates a stored node.
    public init(id: MerkleNodeID, hash: SHA256Digest) {
        self.id = id
        self.hash = hash
    }
}

/// A signed checkpoint as stored.
public struct StoredCheckpoint: Sendable, Equatable {
    /// The tree size it commits to.
    public var size: UInt64
    /// The root hash at that size.
    public var rootHash: SHA256Digest
    /// The serialized signed note.
    public var note: String
    /// When it was signed (millisecond precision).
    public var signedAt: Date

    /// Creates a stored checkpoint.
    public init(size: UInt64, rootHash: SHA256Digest, note: String, signedAt: Date) {
        self.size = size
        self.rootHash = rootHash
        self.note = note
        self.signedAt = signedAt
    }
}

/// Reads of the log's storage, inside one transaction (a consistent snapshot where the store offers
/// one).
public protocol LogReader: Sendable {
    /// The head as last committed (or as written earlier in this transaction), without locking it.
    func head() async throws -> LogHead
    /// Up to `limit` entries with `seq >= start`, in `seq` order.
    func entries(from start: UInt64, limit: Int) async throws -> [StoredEntry]
    /// The stored hashes of the given subtrees, in one round trip. Level-0 nodes are the entries'
    /// leaf hashes. Unknown ids are left out of the result.
    func nodeHashes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: SHA256Digest]
    /// The checkpoint with the largest size, if any.
    func latestCheckpoint() async throws -> StoredCheckpoint?
    /// Up to `limit` checkpoints with `size >= start`, by size.
    func checkpoints(from start: UInt64, limit: Int) async throws -> [StoredCheckpoint]
    /// A value from the key/value table.
    func metaValue(forKey key: String) async throws -> String?
}

/// Writes to the log's storage, inside one read-write transaction that the caller commits.
public protocol LogTransaction: LogReader {
    /// Locks the head until the transaction ends, so concurrent appenders (also in other processes)
    /// queue up behind each other, and returns it as committed by the previous holder.
    func lockHead() async throws -> LogHead
    /// Inserts entries; their `seq`s are new.
    func insertEntries(_ entries: [StoredEntry]) async throws
    /// Inserts subtree hashes of level 1 and above; level 0 lives in the entries.
    func insertNodes(_ nodes: [StoredNode]) async throws
    /// Replaces the head.
    func updateHead(_ head: LogHead) async throws
    /// Inserts `entries` and `nodes` and replaces the head with `head`: what one append writes,
    /// which a store may send as one statement.
    func write(entries: [StoredEntry], nodes: [StoredNode], head: LogHead) async throws
    /// Inserts a checkpoint; its size is new.
    func insertCheckpoint(_ checkpoint: StoredCheckpoint) async throws
    /// Sets a value in the key/value table.
    func setMetaValue(_ value: String, forKey key: String) async throws
}

extension LogTransaction {
    /// Inserts the entries, then the nodes (if any), then replaces the head.
    public func write(entries: [StoredEntry], nodes: [StoredNode], head: LogHead) async throws {
        try await insertEntries(entries)
        if !nodes.isEmpty {
            try await insertNodes(nodes)
        }
        try await updateHead(head)
    }
}

/// A database that hands out transactions of the log's storage.
///
/// A transaction commits when `body` returns and rolls back when it throws. Both run `body` on the
/// caller's executor, so an actor can pass its own state in.
public protocol LogDatabase: Sendable {
    /// The read-write transaction type; storage modules let it conform to more store protocols.
    associatedtype Transaction: LogTransaction
    /// The read-only transaction type.
    associatedtype Reader: LogReader

    /// Runs `body` in a read-write transaction.
    nonisolated(nonsending) func transaction<T>(
        _ body: nonisolated(nonsending) (Transaction) async throws -> T
    ) async throws -> T

    /// Runs `body` in a read-only transaction.
    nonisolated(nonsending) func read<T>(
        _ body: nonisolated(nonsending) (Reader) async throws -> T
    ) async throws -> T
}
