public import Foundation
import Synchronization
import AuditLog

/// The server's notion of now: the system clock, or with `--test-clock` a settable clock whose time is
/// stored with the data (meta key `test_clock.now`) so it survives restarts and is shared by instances.
public final class ServerClock: Sendable {
    /// The meta key under which the test clock's time is stored.
    public static let metaKey = "test_clock.now"

    private let settable: Bool
    private let time: Mutex<Date>

    private init(settable: Date?) {
        self.settable = settable != nil
        self.time = Mutex(settable ?? .distantPast)
    }

    /// The system clock.
    public static var system: ServerClock { ServerClock(settable: nil) }

    /// A test clock starting at `start`.
    public static func test(startingAt start: Date) -> ServerClock { ServerClock(settable: start) }

    /// True for a test clock.
    public var isTestClock: Bool { settable }

    /// The current time.
    public func now() -> Date {
        settable ? time.withLock { $0 } : Date()
    }

    /// Adopts a time read from the store if it is later than ours (another instance moved the clock).
    public func observe(_ stored: Date) {
        guard settable else { return }
        time.withLock { current in
            if stored > current { current = stored }
        }
    }

    /// Throws `clock_backwards` unless `target` is now or later.
    package func checkForward(to target: Date) throws(MarketplaceError) {
        guard settable else { throw MarketplaceError(.notFound, "The test clock is not enabled (start with --test-clock).") }
        let current = now()
        guard target >= current else {
            throw MarketplaceError(.clockBackwards, "The test clock only moves forward; it is at \(RFC3339.format(current)).")
        }
    }
}

/// Where the test clock's time is kept, so that it survives restarts and every instance shares it.
package protocol TestClockStore: Sendable {
    func loadTestClock() async throws -> Date?
    /// Stores `time` if it is later than the stored one, and logs the move as `actor`.
    func saveTestClock(_ time: Date, actor: String) async throws
}
