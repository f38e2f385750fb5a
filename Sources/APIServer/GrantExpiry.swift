import AuditLog
import Foundation
import Licensing
import Logging
import Persistence
import ServiceLifecycle

/// Records the end of grants whose term is over (`grant.expired`). The grant check does not wait for
/// it: a grant past its end is refused at once; this puts the end into the log and the grant's
/// history.
struct GrantExpiry: Sendable {
    let database: any Database
    let log: TransparencyLog
    let lifecycle: GrantLifecycle

    /// Expires every active or suspended grant that ended by `now`, a batch per transaction; how
    /// many it expired.
    @discardableResult
    func expire(at now: Date, batch: Int = 200) async throws -> Int {
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
struct GrantExpiryService: Service {
    let expiry: GrantExpiry
    let clock: ServerClock
    let interval: Duration
    let logger: Logger

    func run() async throws {
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
