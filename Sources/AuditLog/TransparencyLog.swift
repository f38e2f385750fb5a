public import Cryptography
public import Foundation
internal import Synchronization

/// When the log signs a checkpoint without being asked.
public struct CheckpointPolicy: Sendable, Equatable {
    /// Sign inside the appending transaction once this many entries are unsigned.
    public var maxEntries: Int
    /// `TransparencyLog/signCheckpointIfDue()` signs once the last checkpoint is this old and
    /// entries are unsigned.
    public var maxAge: Duration

    /// Creates a policy.
    public init(maxEntries: Int = 1000, maxAge: Duration = .seconds(10)) {
        self.maxEntries = max(1, maxEntries)
        self.maxAge = maxAge
    }
}

/// The audit log: appends entries inside the caller's transaction, signs checkpoints, serves
/// entries and proofs, and checks its stored state against its last checkpoint.
///
/// Every module and the server share one instance per database. It keeps no copy of the tree:
/// the head, the entries and the subtree hashes live in the store, so several processes can
/// append to one database. If the integrity check or a consistency check fails, the instance turns
/// read-only and stays so until the process restarts: an operator must look first.
public final class TransparencyLog: Sendable {
    /// The log's origin: the name of the first signer, the first line of every checkpoint.
    public let origin: String
    /// The signers; each checkpoint carries one signature per signer (two during a key rollover).
    public let signers: [NoteSigner]
    /// The verifiers matching `signers`, used to check stored checkpoints.
    public let verifiers: [NoteVerifier]
    /// When checkpoints are signed without being asked.
    public let policy: CheckpointPolicy

    private let database: any LogDatabase
    private let clock: @Sendable () -> Date
    private let readOnlyReason = Mutex<AuditLogError?>(nil)
    private let signedCount = Atomic<Int>(0)

    /// Creates the log over `database`.
    ///
    /// - Parameters:
    ///   - signers: at least one; all must carry the same name, which becomes the origin.
    ///   - clock: the time written into entries and checkpoints.
    public init(
        database: some LogDatabase,
        signers: [NoteSigner],
        policy: CheckpointPolicy = CheckpointPolicy(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws(AuditLogError) {
        guard let first = signers.first else {
            throw AuditLogError(code: .invalidConfiguration, detail: "a log needs at least one signer")
        }
        guard signers.allSatisfy({ $0.name == first.name }) else {
            throw AuditLogError(code: .invalidConfiguration, detail: "every signer must be named after the origin \(first.name)")
        }
        var verifiers: [NoteVerifier] = []
        for signer in signers {
            do {
                verifiers.append(try NoteVerifier(name: signer.name, publicKey: signer.key.publicKey))
            } catch {
                throw AuditLogError(code: .invalidConfiguration, detail: "signer \(signer.name): \(error)")
            }
        }
        self.origin = first.name
        self.signers = signers
        self.verifiers = verifiers
        self.policy = policy
        self.database = database
        self.clock = clock
    }

    /// Why the log refuses writes, or nil while it accepts them.
    public var readOnlyError: AuditLogError? {
        readOnlyReason.withLock { $0 }
    }

    /// How many checkpoints this instance has signed, committed or not: a witness of the latest
    /// checkpoint need only look at the store when this moved.
    public var checkpointsSigned: Int {
        signedCount.load(ordering: .relaxed)
    }

    // MARK: Appending

    /// Appends `records` inside `transaction`, in order, at consecutive indexes after the current
    /// head, and signs a checkpoint in the same transaction once `policy.maxEntries` entries are
    /// unsigned.
    ///
    /// The head stays locked until the caller's transaction ends, so concurrent appenders get
    /// consecutive, gap-free indexes. If the caller rolls back, the entries never existed.
    /// Throws `log_read_only` while the log refuses writes, and `entry_too_large` or
    /// `invalid_record` (before writing anything) for a record that cannot be encoded.
    @discardableResult
    public func append(_ records: [AuditRecord], in transaction: any LogTransaction) async throws -> [AuditEntry] {
        try ensureWritable()
        guard !records.isEmpty else { return [] }
        let head = try await transaction.lockHead()
        var frontier = try restoreFrontier(head)
        let last = try await transaction.latestCheckpoint()
        if let last, last.size > frontier.size {
            // Appending would hand out indexes a signed checkpoint already covers.
            throw inconsistent("the head (size \(frontier.size)) is behind the last checkpoint (size \(last.size))")
        }
        let time = clock()
        let hasher = SHA256()

        var entries: [AuditEntry] = []
        var rows: [StoredEntry] = []
        var nodes: [StoredNode] = []
        entries.reserveCapacity(records.count)
        rows.reserveCapacity(records.count)
        nodes.reserveCapacity(records.count)
        for record in records {
            let entry = AuditEntry(seq: frontier.size, time: time, record: record)
            let body = try entry.encoded()
            let leafHash = MerkleHash.leaf(body, using: hasher)
            for (id, hash) in frontier.append(leafHash: leafHash, using: hasher) where id.level > 0 {
                nodes.append(StoredNode(id: id, hash: hash))
            }
            rows.append(StoredEntry(seq: entry.seq, time: entry.time, action: record.action, leafHash: leafHash, body: body))
            entries.append(entry)
        }
        try await transaction.write(entries: rows, nodes: nodes, head: LogHead(size: frontier.size, frontier: frontier.hashes))

        if frontier.size >= (last?.size ?? 0) + UInt64(policy.maxEntries) {
            _ = try await signLocked(frontier: frontier, last: last, in: transaction)
        }
        return entries
    }

    /// Appends one record inside `transaction`; see ``append(_:in:)``.
    @discardableResult
    public func append(_ record: AuditRecord, in transaction: any LogTransaction) async throws -> AuditEntry {
        try await append([record], in: transaction)[0]
    }

    /// On an empty log, appends entry 0 `log.initialized` announcing the origin and verifier keys,
    /// and signs the first checkpoint, in one transaction. Returns the entry, or nil if the log
    /// already has entries.
    @discardableResult
    public func initializeIfEmpty(actor: String = "system") async throws -> AuditEntry? {
        try ensureWritable()
        return try await write { transaction in
            let head = try await transaction.lockHead()
            guard head.size == 0 else { return nil }
            let record = AuditRecord(
                actor: actor,
                action: "log.initialized",
                subjects: ["log:\(self.origin)"],
                data: [
                    "origin": .string(self.origin),
                    "vkeys": .array(self.verifiers.map { .string($0.verifierKey) }),
                ]
            )
            let entry = try await self.append(record, in: transaction)
            _ = try await self.signCheckpoint(in: transaction)
            return entry
        }
    }

    // MARK: Checkpoints

    /// Signs a checkpoint of the current head in its own transaction, or returns the latest one
    /// if it already covers the head.
    ///
    /// Throws `log_inconsistent` (and turns the log read-only) if the stored tree does not extend
    /// the last signed checkpoint: the log never signs two inconsistent checkpoints. Opens its own
    /// transaction: inside one, use ``signCheckpoint(in:)``, as waiting for the head lock the
    /// caller holds would never end.
    public func signCheckpoint() async throws -> SignedNote {
        try ensureWritable()
        return try await write { transaction in try await self.signCheckpoint(in: transaction) }
    }

    /// Signs a checkpoint of the head inside the caller's transaction, e.g. so that closing a
    /// settlement period commits together with the checkpoint covering its entries. Returns the
    /// latest checkpoint if it already covers the head; throws like ``signCheckpoint()``.
    public func signCheckpoint(in transaction: any LogTransaction) async throws -> SignedNote {
        try ensureWritable()
        let frontier = try restoreFrontier(try await transaction.lockHead())
        return try await signLocked(frontier: frontier, last: try await transaction.latestCheckpoint(), in: transaction)
    }

    /// For a timer: signs a checkpoint when entries are unsigned and the last checkpoint is older
    /// than `policy.maxAge` (or there is none). Returns the new note, or nil if none was due.
    @discardableResult
    public func signCheckpointIfDue() async throws -> SignedNote? {
        try ensureWritable()
        // Look without locking first: a timer fires often and is usually not due.
        let due = try await read { reader in
            self.isDue(size: try await reader.head().size, last: try await reader.latestCheckpoint())
        }
        guard due else { return nil }
        return try await write { transaction in
            let frontier = try self.restoreFrontier(try await transaction.lockHead())
            let last = try await transaction.latestCheckpoint()
            guard self.isDue(size: frontier.size, last: last) else { return nil }
            return try await self.signLocked(frontier: frontier, last: last, in: transaction)
        }
    }

    /// The latest signed checkpoint, or nil before the first.
    public func latestCheckpoint() async throws -> SignedNote? {
        guard let stored = try await read({ try await $0.latestCheckpoint() }) else { return nil }
        return try parseNote(stored)
    }

    /// Stored checkpoints with `size >= start`, by size, at most `limit` (capped at 1,000).
    public func checkpoints(from start: UInt64 = 0, limit: Int = 100) async throws -> [StoredCheckpoint] {
        let limit = min(max(limit, 0), 1000)
        guard limit > 0 else { return [] }
        return try await read { try await $0.checkpoints(from: start, limit: limit) }
    }

    private func isDue(size: UInt64, last: StoredCheckpoint?) -> Bool {
        guard let last else { return size > 0 }
        guard size > last.size else { return false }
        let age = clock().timeIntervalSince(last.signedAt)
        return Duration.seconds(age) >= policy.maxAge
    }

    /// Signs `frontier` with the head locked by the caller, after proving from stored nodes that
    /// it extends `last`; with `chosen`, or else with every signer whose key is in force.
    func signLocked(frontier: MerkleFrontier, last: StoredCheckpoint?,
                    in transaction: any LogTransaction, with chosen: [NoteSigner]? = nil) async throws -> SignedNote {
        let hasher = SHA256()
        let root = frontier.root(using: hasher)
        // Keys first: a process whose keys were all retired elsewhere says so, rather than that the
        // latest checkpoint is signed by a key it does not hold.
        var signing = chosen
        if signing == nil { signing = try await signersInForce(in: transaction) }
        if let last {
            try requireOwnSignature(last)
            guard frontier.size >= last.size else {
                throw inconsistent("the head (size \(frontier.size)) is behind the last checkpoint (size \(last.size))")
            }
            if frontier.size == last.size {
                guard root == last.rootHash else {
                    throw inconsistent("the root at size \(last.size) differs from the last checkpoint's")
                }
                return try parseNote(last)
            }
            if last.size > 0 {
                let proof: [SHA256Digest]
                do {
                    let plan = try MerkleProof.consistencyPlan(oldSize: last.size, newSize: frontier.size)
                    proof = try plan.assemble(try await transaction.nodeHashes(plan.nodes))
                } catch let error as MerkleError {
                    throw inconsistent("no consistency proof from size \(last.size) to \(frontier.size): \(error)")
                }
                guard MerkleProof.verifyConsistency(oldSize: last.size, newSize: frontier.size,
                                                    oldRoot: last.rootHash, newRoot: root, proof: proof)
                else {
                    throw inconsistent("the tree at size \(frontier.size) does not extend the checkpoint at size \(last.size)")
                }
            }
        }
        let checkpoint = Checkpoint(origin: origin, size: frontier.size, rootHash: root)
        let note: SignedNote
        do {
            note = try SignedNote.sign(checkpoint.text, with: signing ?? signers)
        } catch {
            throw AuditLogError(code: .signingFailed, detail: "checkpoint at size \(frontier.size): \(error)")
        }
        try await transaction.insertCheckpoint(
            StoredCheckpoint(size: frontier.size, rootHash: root, note: note.serialized, signedAt: Timestamp.normalized(clock()))
        )
        signedCount.add(1, ordering: .relaxed)
        return note
    }

    /// Throws `signing_key_mismatch` (and turns the log read-only) unless one of this log's keys
    /// signed `last`. Processes sharing a database must share the signing key: one that extended a
    /// checkpoint signed by another key would leave auditors checkpoints that the key announced in
    /// entry 0 does not verify. The start-up check catches a foreign key on a log that has a
    /// checkpoint; this catches the one started on an empty database while another initialized it.
    private func requireOwnSignature(_ last: StoredCheckpoint) throws(AuditLogError) {
        let note = try parseNote(last)
        do {
            _ = try note.verify(with: verifiers)
        } catch {
            let mismatch = AuditLogError(
                code: .signingKeyMismatch,
                detail: "the checkpoint at size \(last.size) is not signed by this log's key (\(error)); every process on one database needs the same signing key")
            markReadOnly(mismatch)
            throw mismatch
        }
    }

    // MARK: Reading and proofs

    /// Up to `limit` entries (capped at 1,000) from index `start`, as stored: index and bytes.
    public func entries(start: UInt64, limit: Int) async throws -> [StoredEntry] {
        let limit = min(max(limit, 0), 1000)
        guard limit > 0 else { return [] }
        return try await read { try await $0.entries(from: start, limit: limit) }
    }

    /// The current head (size and frontier).
    public func head() async throws -> LogHead {
        try await read { try await $0.head() }
    }

    /// RFC 9162 inclusion proof of leaf `leafIndex` in the tree of `treeSize` leaves.
    ///
    /// Throws `size_out_of_range` for a tree larger than the log and `index_out_of_range` for a
    /// leaf outside the tree.
    public func inclusionProof(leafIndex: UInt64, treeSize: UInt64) async throws -> [SHA256Digest] {
        try await read { reader in
            let size = try await reader.head().size
            guard treeSize <= size else {
                throw AuditLogError(code: .sizeOutOfRange, detail: "tree size \(treeSize) exceeds the log size \(size)")
            }
            guard leafIndex < treeSize else {
                throw AuditLogError(code: .indexOutOfRange, detail: "leaf \(leafIndex) is not in a tree of \(treeSize)")
            }
            let plan: MerkleProofPlan
            do {
                plan = try MerkleProof.inclusionPlan(leafIndex: leafIndex, treeSize: treeSize)
            } catch {
                throw AuditLogError(code: .indexOutOfRange, detail: "\(error)")
            }
            return try await self.assemble(plan, from: reader)
        }
    }

    /// RFC 9162 consistency proof from the tree of `oldSize` leaves to that of `newSize`.
    ///
    /// Throws `size_out_of_range` unless `0 < oldSize <= newSize <= ` the log size.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) async throws -> [SHA256Digest] {
        try await read { reader in
            let size = try await reader.head().size
            guard newSize <= size else {
                throw AuditLogError(code: .sizeOutOfRange, detail: "tree size \(newSize) exceeds the log size \(size)")
            }
            guard oldSize > 0, oldSize <= newSize else {
                throw AuditLogError(code: .sizeOutOfRange, detail: "old size \(oldSize) must be in 1...\(newSize)")
            }
            let plan: MerkleProofPlan
            do {
                plan = try MerkleProof.consistencyPlan(oldSize: oldSize, newSize: newSize)
            } catch {
                throw AuditLogError(code: .sizeOutOfRange, detail: "\(error)")
            }
            return try await self.assemble(plan, from: reader)
        }
    }

    /// The RFC 9162 root of the first `treeSize` entries, from stored nodes.
    public func rootHash(treeSize: UInt64) async throws -> SHA256Digest {
        try await read { reader in
            let size = try await reader.head().size
            guard treeSize <= size else {
                throw AuditLogError(code: .sizeOutOfRange, detail: "tree size \(treeSize) exceeds the log size \(size)")
            }
            guard treeSize > 0 else { return MerkleHash.emptyTree }
            let path = try await self.assemble(MerkleProof.rootPlan(size: treeSize), from: reader)
            guard path.count == 1 else {
                throw AuditLogError(code: .logCorrupt, detail: "the root plan for size \(treeSize) gave \(path.count) hashes")
            }
            return path[0]
        }
    }

    private func assemble(_ plan: MerkleProofPlan, from reader: any LogReader) async throws -> [SHA256Digest] {
        let fetched = try await reader.nodeHashes(plan.nodes)
        do {
            return try plan.assemble(fetched)
        } catch {
            throw AuditLogError(code: .logCorrupt, detail: "stored nodes are incomplete: \(error)")
        }
    }

    // MARK: Shared

    func ensureWritable() throws(AuditLogError) {
        if let reason = readOnlyReason.withLock({ $0 }) {
            throw AuditLogError(code: .logReadOnly, detail: "the log refuses writes: \(reason)")
        }
    }

    /// Turns the log read-only; the first reason is kept.
    public func markReadOnly(_ reason: AuditLogError) {
        readOnlyReason.withLock { current in
            if current == nil { current = reason }
        }
    }

    private func inconsistent(_ detail: String) -> AuditLogError {
        let error = AuditLogError(code: .logInconsistent, detail: detail)
        markReadOnly(error)
        return error
    }

    func restoreFrontier(_ head: LogHead) throws(AuditLogError) -> MerkleFrontier {
        guard let frontier = MerkleFrontier(size: head.size, hashes: head.frontier) else {
            throw AuditLogError(
                code: .logCorrupt,
                detail: "the stored head has \(head.frontier.count) frontier hashes for size \(head.size)"
            )
        }
        return frontier
    }

    private func parseNote(_ stored: StoredCheckpoint) throws(AuditLogError) -> SignedNote {
        do {
            return try SignedNote.parse(stored.note)
        } catch {
            throw AuditLogError(code: .logCorrupt, detail: "the checkpoint at size \(stored.size) is not a note: \(error)")
        }
    }

    func write<T>(_ body: (any LogTransaction) async throws -> T) async throws -> T {
        try await Self.write(database, body)
    }

    func read<T>(_ body: (any LogReader) async throws -> T) async throws -> T {
        try await Self.read(database, body)
    }

    // Opening the existential here gives the database's own transaction types to `body` as
    // protocol values.
    private static func write<D: LogDatabase, T>(_ database: D, _ body: (any LogTransaction) async throws -> T) async throws -> T {
        try await database.transaction { transaction in try await body(transaction) }
    }

    private static func read<D: LogDatabase, T>(_ database: D, _ body: (any LogReader) async throws -> T) async throws -> T {
        try await database.read { reader in try await body(reader) }
    }
}
