import Synchronization

/// One read shared by the requests that wait for it: each caller gets the result of a read that
/// began after it called, but callers that arrive while a read is under way share the next one.
///
/// The principal generation is read on every authenticated request; under concurrent load most of
/// those reads would return the same row a moment apart. Here at most one read runs at a time and at
/// most one more waits to start, whatever the number of requests, and each request still sees a value
/// read after it arrived — what "at once" in `Docs/design/0026-verified-key-cache.md` relies on.
final class SharedRead<Value: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Value, any Error>

    private struct State {
        /// A read is under way.
        var reading = false
        /// Callers that arrived during it: the next read is theirs.
        var next: [Waiter] = []
    }

    private let state = Mutex(State())
    private let read: @Sendable () async throws -> Value

    init(_ read: @escaping @Sendable () async throws -> Value) {
        self.read = read
    }

    /// The value of a read that began after this call.
    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let start = state.withLock { state -> Bool in
                state.next.append(waiter)
                guard !state.reading else { return false }
                state.reading = true
                return true
            }
            if start { Task { await self.run() } }
        }
    }

    /// Reads for everyone waiting, then again for whoever arrived meanwhile, until no one has.
    private func run() async {
        while true {
            let waiters = state.withLock { state -> [Waiter] in
                defer { state.next = [] }
                return state.next
            }
            // Taken before the read begins: each of them called before it.
            let result: Result<Value, any Error>
            do {
                result = .success(try await read())
            } catch {
                result = .failure(error)
            }
            for waiter in waiters { waiter.resume(with: result) }
            let again = state.withLock { state -> Bool in
                if state.next.isEmpty {
                    state.reading = false
                    return false
                }
                return true
            }
            if !again { return }
        }
    }
}
