internal import Synchronization

/// A counting semaphore that suspends waiting tasks instead of blocking threads; waiters are served
/// first come, first served. With a count of one it is the writer lock.
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0  // index of the next waiter, so dequeuing does not shift the array
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(available: count))
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    func signal() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiters.count else {
                state.available += 1
                return nil
            }
            let next = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }

    /// Runs `body` holding one unit of the semaphore.
    nonisolated(nonsending) func withPermit<T>(_ body: nonisolated(nonsending) () async throws -> T) async throws -> T {
        await wait()
        defer { signal() }
        return try await body()
    }
}
