internal import NIOCore
internal import PostgresNIO
internal import Synchronization

/// Answers the statements waiting on a connection whose channel closed under them.
///
/// postgres-nio writes a statement to its channel without a promise for the write. A statement
/// sent in the instant the channel closes (the server went away, the network dropped) reaches a
/// pipeline whose handlers are already gone: it is discarded, and its answer is awaited forever.
/// So every statement runs in a task of its own while its caller waits for whichever comes first,
/// the answer or the end of the connection; a statement lost that way is abandoned, and its caller
/// gets `database_unavailable` like any other caller of a dropped connection.
///
/// The close of each connection is watched once (a callback on its `closeFuture`, registered the
/// first time a statement runs on it), not once a statement, so a long-lived pooled connection does
/// not gather a callback per statement it ever ran.
final class ConnectionWatch: Sendable {
    private struct Watched {
        /// Whom to tell, by token, when the connection closes.
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }

    private let watched = Mutex<[PostgresConnection.ID: Watched]>([:])
    private let tokens = Atomic<UInt64>(0)

    /// Runs `work` on `connection`; throws `database_unavailable` if the connection closes before
    /// `work` is answered.
    func run<T: Sendable>(on connection: PostgresConnection,
                          _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let caller = Caller(continuation)
            let token = watch(connection) {
                caller.resume(with: .failure(StorageError.unavailable("the PostgreSQL connection closed")))
            }
            Task {
                let result: Result<T, any Error>
                do {
                    result = .success(try await work())
                } catch {
                    result = .failure(error)
                }
                self.unwatch(connection.id, token: token)
                caller.resume(with: result)
            }
        }
    }

    /// How many connections are watched now (for tests: closed ones are forgotten).
    var count: Int { watched.withLock { $0.count } }

    private func watch(_ connection: PostgresConnection, _ waiter: @escaping @Sendable () -> Void) -> UInt64 {
        let token = tokens.add(1, ordering: .relaxed).newValue
        let isNew = watched.withLock { watched in
            let isNew = watched[connection.id] == nil
            watched[connection.id, default: Watched()].waiters[token] = waiter
            return isNew
        }
        if isNew {
            // Runs at once if the connection is closed already. A statement that comes after this
            // ran finds no entry and registers again, so none is missed.
            let id = connection.id
            connection.closeFuture.whenComplete { [weak self] _ in
                guard let self else { return }
                let waiters = self.watched.withLock { $0.removeValue(forKey: id)?.waiters.values } ?? [:].values
                for waiter in waiters { waiter() }
            }
        }
        return token
    }

    private func unwatch(_ id: PostgresConnection.ID, token: UInt64) {
        watched.withLock { watched in
            _ = watched[id]?.waiters.removeValue(forKey: token)
        }
    }
}

/// A continuation resumed by the first of two outcomes.
private final class Caller<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        let waiting = continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
    }
}
