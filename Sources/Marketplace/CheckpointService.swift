package import AuditLog
package import Logging
package import ServiceLifecycle

/// Signs a checkpoint whenever entries have waited longer than the policy allows, and a final one on
/// graceful shutdown, so the last acknowledged entries are covered by a signature.
///
/// After each signing it updates the data directory's `checkpoint.witness`; the check costs one
/// counter read per tick, and a store read only when this process signed.
package struct CheckpointService: Service {
    package let log: TransparencyLog
    package let witness: CheckpointWitness
    package let interval: Duration
    package let logger: Logger

    package init(log: TransparencyLog, witness: CheckpointWitness, interval: Duration, logger: Logger) {
        self.log = log
        self.witness = witness
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        // Polling at a quarter of the allowed age keeps the worst-case delay near the configured one.
        let tick = max(interval / 4, .milliseconds(100))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: tick)
                } catch {
                    break
                }
                await signIfDue()
                await witness.recordIfSigned()
            }
        }
        guard log.readOnlyError == nil else { return }
        do {
            let note = try await log.signCheckpoint()
            logger.info("signed the final checkpoint", metadata: ["checkpoint": "\(note.text.split(separator: "\n").dropFirst().first ?? "")"])
            do {
                try await witness.record()
            } catch {
                logger.warning("could not update checkpoint.witness", metadata: ["error": "\(error)"])
            }
        } catch {
            logger.error("could not sign the final checkpoint", metadata: ["error": "\(error)"])
        }
    }

    private func signIfDue() async {
        guard log.readOnlyError == nil else { return }
        do {
            _ = try await log.signCheckpointIfDue()
        } catch {
            logger.warning("checkpoint signing failed", metadata: ["error": "\(error)"])
        }
    }
}
