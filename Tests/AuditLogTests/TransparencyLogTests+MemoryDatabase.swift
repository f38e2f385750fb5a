import AuditLog
import Cryptography
import Foundation
import Synchronization

/// The log's storage in memory, for tests of the log alone: transactions work on a copy of the
/// state that replaces it on commit, and one writer at a time holds the head.
final class MemoryLogDatabase: LogDatabase {
    struct State: Sendable {
        var head = LogHead.empty
        var entries: [UInt64: StoredEntry] = [:]
        var nodes: [MerkleNodeID: SHA256Digest] = [:]
        var checkpoints: [UInt64: StoredCheckpoint] = [:]
        var meta: [String: String] = [:]
    }

    private let state = Mutex(State())
    private let writer = WriterLock()

    /// Changes the stored state directly, as someone with access to the database files could.
    func tamper(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
    }

    var snapshot: State { state.withLock { $0 } }

    nonisolated(nonsending) func transaction<T>(
        _ body: nonisolated(nonsending) (MemoryTransaction) async throws -> T
    ) async throws -> T {
        await writer.lock()
        defer { writer.unlock() }
        let transaction = MemoryTransaction(state: snapshot)
        let result = try await body(transaction)
        let committed = transaction.finish()
        state.withLock { $0 = committed }
        return result
    }

    nonisolated(nonsending) func read<T>(
        _ body: nonisolated(nonsending) (MemoryTransaction) async throws -> T
    ) async throws -> T {
        let transaction = MemoryTransaction(state: snapshot)
        defer { _ = transaction.finish() }
        return try await body(transaction)
    }
}

/// A FIFO lock that suspends instead of blocking a thread.
final class WriterLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

final class MemoryTransaction: LogTransaction {
    private let state: Mutex<MemoryLogDatabase.State?>

    init(state: MemoryLogDatabase.State) {
        self.state = Mutex(state)
    }

    func finish() -> MemoryLogDatabase.State {
        state.withLock { current in
            defer { current = nil }
            return current!
        }
    }

    private func with<R>(_ body: (inout MemoryLogDatabase.State) throws -> R) throws -> R {
        try state.withLock { current in
            guard current != nil else { throw MemoryStoreError(detail: "transaction used after it ended") }
            return try body(&current!)
        }
    }

    func head() async throws -> LogHead { try with { $0.head } }

    func entries(from start: UInt64, limit: Int) async throws -> [StoredEntry] {
        try with { state in
            state.entries.keys.filter { $0 >= start }.sorted().prefix(limit).map { state.entries[$0]! }
        }
    }

    func nodeHashes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: SHA256Digest] {
        try with { state in
            var result: [MerkleNodeID: SHA256Digest] = [:]
            for id in ids {
                if id.level == 0 {
                    if let entry = state.entries[id.index] { result[id] = entry.leafHash }
                } else if let hash = state.nodes[id] {
                    result[id] = hash
                }
            }
            return result
        }
    }

    func latestCheckpoint() async throws -> StoredCheckpoint? {
        try with { state in state.checkpoints.keys.max().map { state.checkpoints[$0]! } }
    }

    func checkpoints(from start: UInt64, limit: Int) async throws -> [StoredCheckpoint] {
        try with { state in
            state.checkpoints.keys.filter { $0 >= start }.sorted().prefix(limit).map { state.checkpoints[$0]! }
        }
    }

    func metaValue(forKey key: String) async throws -> String? { try with { $0.meta[key] } }

    func lockHead() async throws -> LogHead { try with { $0.head } }

    func insertEntries(_ entries: [StoredEntry]) async throws {
        try with { state in
            for entry in entries {
                guard state.entries[entry.seq] == nil else { throw MemoryStoreError(detail: "entry \(entry.seq) exists") }
                state.entries[entry.seq] = entry
            }
        }
    }

    func insertNodes(_ nodes: [StoredNode]) async throws {
        try with { state in
            for node in nodes {
                guard state.nodes[node.id] == nil else { throw MemoryStoreError(detail: "node \(node.id) exists") }
                state.nodes[node.id] = node.hash
            }
        }
    }

    func updateHead(_ head: LogHead) async throws { try with { $0.head = head } }

    func insertCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try with { state in
            guard state.checkpoints[checkpoint.size] == nil else {
                throw MemoryStoreError(detail: "checkpoint \(checkpoint.size) exists")
            }
            state.checkpoints[checkpoint.size] = checkpoint
        }
    }

    func setMetaValue(_ value: String, forKey key: String) async throws { try with { $0.meta[key] = value } }
}

struct MemoryStoreError: Error {
    var detail: String
}
