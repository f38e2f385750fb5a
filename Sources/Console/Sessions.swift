import Cryptography
import Foundation
import Identity

/// A signed-in person: what the console keeps on the server for the session cookie's id.
struct ConsoleSession: Sendable {
    /// The cookie's value: 32 random bytes, hex.
    let id: String
    /// The key signed in with, looked up again on every request so that revocation and expiry end
    /// the session at once. The key's secret is not kept.
    let keyID: String
    /// Who signed in, as of the last request.
    var principal: Principal
    /// Sent with every form and compared with the session's.
    let csrfToken: String
    let startedAt: Date
    var lastSeen: Date
    /// The one-time tokens of forms this session submitted: a second submission of the same form
    /// (a double click, a reload) is not acted on again.
    var usedTokens: [String] = []

    /// The name shown in the header: the person's name, else the principal id.
    var displayName: String { principal.name ?? principal.id }
}

/// The console's sessions, in this process's memory: a person signed in on one instance is signed in
/// on that instance only (see `Docs/operations.md`, "The console").
actor ConsoleSessions {
    /// How long a session lives without a request.
    let idleTimeout: TimeInterval
    /// How long a session lives at most.
    let lifetime: TimeInterval
    /// The most sessions kept; the least recently used goes first.
    let capacity: Int
    private var sessions: [String: ConsoleSession] = [:]

    init(idleTimeout: TimeInterval, lifetime: TimeInterval, capacity: Int = 10_000) {
        self.idleTimeout = idleTimeout
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new session for `principal`, signed in with key `keyID`.
    func start(_ principal: Principal, now: Date, random: any RandomSource) throws -> ConsoleSession {
        removeExpired(now: now)
        if sessions.count >= capacity, let oldest = sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
            sessions[oldest.id] = nil
        }
        let session = ConsoleSession(
            id: Hex.encode(try random.bytes(32)), keyID: principal.keyID, principal: principal,
            csrfToken: Hex.encode(try random.bytes(32)), startedAt: now, lastSeen: now)
        sessions[session.id] = session
        return session
    }

    /// The live session with `id`, its last use moved to `now`; nil (and forgotten) if it is unknown,
    /// idle too long or too old.
    func resume(_ id: String, now: Date) -> ConsoleSession? {
        guard var session = sessions[id] else { return nil }
        guard now.timeIntervalSince(session.lastSeen) < idleTimeout,
              now.timeIntervalSince(session.startedAt) < lifetime else {
            sessions[id] = nil
            return nil
        }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    /// Keeps the principal as it was read on this request.
    func update(_ id: String, principal: Principal) {
        sessions[id]?.principal = principal
    }

    /// Marks a form's one-time token used; false when this session used it before (a double
    /// submission) or the session is gone. A session keeps its last 1,000 tokens.
    func consume(_ id: String, once token: String) -> Bool {
        guard var session = sessions[id], !session.usedTokens.contains(token) else { return false }
        session.usedTokens.append(token)
        if session.usedTokens.count > 1_000 { session.usedTokens.removeFirst() }
        sessions[id] = session
        return true
    }

    /// Ends a session.
    func end(_ id: String) {
        sessions[id] = nil
    }

    /// How many sessions are kept now.
    var count: Int { sessions.count }

    private func removeExpired(now: Date) {
        sessions = sessions.filter {
            now.timeIntervalSince($0.value.lastSeen) < idleTimeout && now.timeIntervalSince($0.value.startedAt) < lifetime
        }
    }
}
