package import AuditLog
package import Foundation
package import Licensing
package import Logging
package import Persistence
package import ServiceLifecycle

/// Records the end of grants whose term is over (`grant.expired`). The grant check does not wait for
/// it: a grant past its end is refused at once; this puts the end into the log and the grant's
/// history.
package struct GrantExpiry: Sendable {
    package let database: any Database
    package let log: TransparencyLog
    package let lifecycle: GrantLifecycle

    /// Expires every active or suspended grant that ended by `now`, a batch per transaction; how
    /// many it expired.
    @discardableResult
    package init(database: any Database, log: TransparencyLog, lifecycle: GrantLifecycle) {
        self.database = database
        self.log = log
        self.lifecycle = lifecycle
    }

    package func expire(at now: Date, batch: Int = 200) async throws -> Int {
        var total = 0
        while true {
            let count: Int = try await database.transaction { tx in
                var count = 0
                for grant in try await tx.grantsEnding(atOrBefore: now, statuses: [.active, .suspended], limit: batch) {
                    guard let step = lifecycle.expire(grant, at: now) else { continue }
                    // The log first, then the grant: the lock order of every grant writer.
                    _ = try await log.append(step.records, in: tx)
                    try await tx.updateGrant(step.updated)
                    count += 1
                }
                return count
            }
            total += count
            if count < batch { return total }
        }
    }
}

/// Runs ``GrantExpiry`` every `interval` while the server runs.
package struct GrantExpiryService: Service {
    package let expiry: GrantExpiry
    package let clock: ServerClock
    package let interval: Duration
    package let logger: Logger

    package init(expiry: GrantExpiry, clock: ServerClock, interval: Duration, logger: Logger) {
        self.expiry = expiry
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    break
                }
            }
        }
    }

    private func sweep() async {
        guard expiry.log.readOnlyError == nil else { return }
        do {
            let count = try await expiry.expire(at: clock.now())
            if count > 0 { logger.info("recorded expired grants", metadata: ["count": "\(count)"]) }
        } catch {
            logger.warning("grant expiry failed", metadata: ["error": "\(error)"])
        }
    }
}
