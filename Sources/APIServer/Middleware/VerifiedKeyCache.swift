import Identity
import Synchronization

/// Verified API keys in memory, so that authenticating a request costs one read of the principal
/// generation instead of the principal and its operator.
///
/// An entry is trusted only while the stored generation is the one it was read at: every change to
/// principals or operators, on any instance sharing the database, moves the generation on, and the
/// first request to see the new value empties the cache. Only keys whose secret matched enter it,
/// never unknown key ids or wrong secrets, so guessing keys cannot grow it; and it holds at most
/// `capacity` keys. Expiry is not the cache's business: the authenticator compares each key's
/// `expires_at` with the clock on every request. Design: `Docs/design/0026-verified-key-cache.md`.
final class VerifiedKeyCache: Sendable {
    private struct State {
        /// The generation the entries were read at; -1 before the first read.
        var generation: Int64 = -1
        var entries: [String: PrincipalCredential] = [:]
    }

    private let state = Mutex(State())
    /// The most keys held.
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// The cached credential of `keyID` if the cache is at `generation`. A newer generation empties
    /// the cache first; an older one (a read that started before another request's) finds nothing.
    func credential(keyID: String, at generation: Int64) -> PrincipalCredential? {
        state.withLock { state in
            if generation > state.generation {
                state.generation = generation
                state.entries.removeAll()
                return nil
            }
            return generation == state.generation ? state.entries[keyID] : nil
        }
    }

    /// Keeps `credential`, read at `generation`, if that is still the cache's generation (or a newer
    /// one, which empties it). When full, an arbitrary entry makes room: a key evicted is read again
    /// on its next request.
    func insert(_ credential: PrincipalCredential, keyID: String, at generation: Int64) {
        state.withLock { state in
            if generation > state.generation {
                state.generation = generation
                state.entries.removeAll()
            }
            guard generation == state.generation else { return }
            if state.entries[keyID] == nil, state.entries.count >= capacity, let victim = state.entries.keys.first {
                state.entries[victim] = nil
            }
            state.entries[keyID] = credential
        }
    }

    /// How many keys are held.
    var count: Int { state.withLock { $0.entries.count } }
}
