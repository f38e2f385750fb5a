public import AuditLog
public import Cryptography
public import Foundation
public import Logging
public import Persistence
package import Vetting

/// An opened marketplace: the database, the signed log on it, the clock. `pdx serve` and the
/// `pdx audit` commands share this, so every entry point checks the log the same way.
public final class Runtime: Sendable {
    /// The meta key holding the log's origin, fixed on first start.
    static let originKey = "log.origin"
    /// How the log origin of a marketplace made by `pdx demo` begins: its keys follow from its seed.
    public static let demoOriginPrefix = "demo.pdx.local/"

    public let dataDirectory: DataDirectory
    public let database: any Database
    public let log: TransparencyLog
    public let clock: ServerClock
    /// The result of the start-up integrity check.
    public let integrity: IntegrityReport
    /// Where new ids and API keys get their randomness.
    public let random: any RandomSource
    /// Keeps `checkpoint.witness` up to date with the checkpoints this process signs.
    public let witness: CheckpointWitness
    /// Seals the credentials of upstream datasets: the data directory's `upstream-key`, created on
    /// first start; nil when a command opened a directory that has none (it then forwards nothing).
    public let upstreamKey: AESGCMKey?

    private init(dataDirectory: DataDirectory, database: any Database, log: TransparencyLog,
                 clock: ServerClock, integrity: IntegrityReport, random: any RandomSource, upstreamKey: AESGCMKey?) {
        self.upstreamKey = upstreamKey
        self.dataDirectory = dataDirectory
        self.database = database
        self.log = log
        self.clock = clock
        self.integrity = integrity
        self.random = random
        self.witness = CheckpointWitness(directory: dataDirectory, log: log)
    }

    /// True while the log accepts writes: it passed its integrity check and is not older than
    /// the witness.
    public var isWritable: Bool { log.readOnlyError == nil }

    /// What to do on open.
    public struct Options: Sendable {
        /// Create the data directory, the signing key and the first entries if missing (`serve`);
        /// otherwise refuse to open a location that holds no log yet (`audit` commands).
        public var createIfMissing = true
        public var testClock = false
        /// The test clock's time when the data has none yet (first start); default: now. A demo
        /// sets it so that its dates do not depend on the day it runs.
        public var testClockStart: Date?
        public var logOrigin: String?
        public var checkpointPolicy = CheckpointPolicy()
        /// Randomness for the signing key, the log origin, ids and API keys. Anything but the
        /// default ``SecureRandom`` makes them predictable: for demos only.
        public var random: any RandomSource = SecureRandom()
        /// Which disagreements between the key files and the log's keys are allowed: none, except
        /// for the rotation commands, which repair them.
        public var keyFiles: KeyFileCheck = .strict

        public init() {}
    }

    /// Opens (and on first start creates) the marketplace at `location`, then checks the stored log
    /// against its last checkpoint. A failed check does not throw: the log turns read-only and
    /// `integrity` says why, so the server can still answer reads and `/readyz`.
    public static func open(_ location: StoreLocation, options: Options = Options(), logger: Logger) async throws -> Runtime {
        let directory = DataDirectory(path: location.dataDirectory)
        if options.createIfMissing {
            if let tightened = try directory.create() { logger.warning("\(tightened)") }
        } else {
            guard FileManager.default.fileExists(atPath: directory.path) else {
                throw RuntimeError("no PDX data directory at \(directory.path) (start `pdx serve` there first, or pass --data-dir)")
            }
            if location.databaseURL == nil, !FileManager.default.fileExists(atPath: directory.databasePath) {
                throw RuntimeError("no PDX database at \(directory.databasePath)")
            }
        }
        let key: Ed25519PrivateKey
        if options.createIfMissing {
            key = try directory.loadOrCreateSigningKey(using: options.random)
        } else {
            guard let existing = try directory.loadSigningKey() else {
                throw RuntimeError("the log's signing key is not in \(directory.path) (signing-key.pem)")
            }
            key = existing
        }

        let next = try directory.loadNextSigningKey()
        // Always from the CSPRNG: unlike the signing key, nothing a demo prints depends on it.
        let upstreamKey: AESGCMKey? = if options.createIfMissing {
            try directory.loadOrCreateUpstreamKey()
        } else {
            try directory.loadUpstreamKey()
        }

        let database: any Database
        if let url = location.databaseURL {
            database = try await PostgresDatabase(url: url, acquireTimeout: location.databaseTimeout, logger: logger)
        } else {
            database = try await SQLiteDatabase(path: directory.databasePath, busyTimeout: location.databaseTimeout)
        }
        do {
            let origin = try await Self.origin(in: database, configured: options.logOrigin, create: options.createIfMissing,
                                               random: options.random)
            let clock = try await Self.clock(in: database, testClock: options.testClock, start: options.testClockStart)
            var signers = [try NoteSigner(name: origin, key: key)]
            if let next { signers.append(try NoteSigner(name: origin, key: next)) }
            let log = try TransparencyLog(
                database: database, signers: signers, policy: options.checkpointPolicy,
                clock: { [clock] in clock.now() })
            var integrity = try await log.verifyIntegrity()
            if integrity.isIntact, options.createIfMissing, try await log.initializeIfEmpty(actor: "system") == nil,
               integrity.checkpointSize == nil {
                // Another process on this database initialized the log since the check: its first
                // checkpoint must verify with this process's key too, or writes are refused now
                // rather than at the first checkpoint this process would sign.
                integrity = try await log.verifyIntegrity()
            }
            try KeyFileCheck.check(signers: log.verifiers, against: integrity, mode: options.keyFiles)
            if integrity.isIntact {
                logger.info("audit log verified", metadata: [
                    "origin": "\(origin)", "size": "\(integrity.treeSize)",
                    "checkpoint": "\(integrity.checkpointSize.map(String.init) ?? "none")",
                    "signing_keys": "\(log.verifiers.map(\.keyDescription).joined(separator: ", "))",
                ])
                try await Self.compare(log, withWitnessIn: directory, logger: logger)
            } else {
                logger.critical("audit log failed its integrity check; writes are refused", metadata: [
                    "report": "\(integrity)",
                ])
            }
            let runtime = Runtime(dataDirectory: directory, database: database, log: log, clock: clock, integrity: integrity,
                                  random: options.random, upstreamKey: upstreamKey)
            if runtime.isWritable {
                if options.createIfMissing { _ = try await log.initializeIfEmpty(actor: "system") }
                // What this process verified is now what the directory has seen.
                try await runtime.witness.record()
            }
            return runtime
        } catch {
            await database.close()
            throw error
        }
    }

    /// Records the latest checkpoint in the witness (a clean shutdown), then releases the database.
    public func close() async {
        await witness.recordIfSigned()
        await database.close()
    }

    /// Opens the marketplace at `location` for one command on the server host, runs `work` on it and
    /// closes it, whether `work` returns or throws. Nothing is created: a location without a log is
    /// refused. The command's log (labelled `label`) speaks only of problems.
    package static func withExisting<T: Sendable>(
        _ location: StoreLocation, label: String, keyFiles: KeyFileCheck = .strict,
        _ work: (Runtime) async throws -> T
    ) async throws -> T {
        var options = Options()
        options.createIfMissing = false
        options.keyFiles = keyFiles
        var logger = Logger(label: label)
        logger.logLevel = .warning
        let runtime = try await open(location, options: options, logger: logger)
        do {
            let result = try await work(runtime)
            await runtime.close()
            return result
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// Throws unless the stored log passed its integrity check, so that a command appends nothing
    /// to a log that is not intact.
    package func requireIntactLog() throws {
        guard integrity.isIntact else {
            throw RuntimeError("the stored log failed its integrity check, so nothing is appended: \(integrity)")
        }
    }

    /// Turns the log read-only with `log_rolled_back` if the database is older than the checkpoint
    /// in `checkpoint.witness`; a directory without a witness (first start, an upgraded install)
    /// passes and gets one.
    private static func compare(_ log: TransparencyLog, withWitnessIn directory: DataDirectory, logger: Logger) async throws {
        guard let text = try directory.witness() else { return }
        let witnessed: Checkpoint
        do {
            witnessed = try Checkpoint.parse(try SignedNote.parse(text).text)
        } catch {
            // Our own file, written atomically: unreadable means damaged, which must not pass silently.
            logger.critical("checkpoint.witness is not a checkpoint note; writes are refused until it is restored or removed", metadata: [
                "witness": "\(directory.witnessPath)", "error": "\(error)",
            ])
            log.markReadOnly(AuditLogError(code: .logRolledBack, detail: "\(directory.witnessPath) is not a checkpoint note: \(error)"))
            return
        }
        guard let problem = try await log.checkWitness(witnessed) else { return }
        let size = try await log.head().size
        logger.critical("""
            the database is older than the checkpoint this data directory last saw: it holds \(size) entries, \
            the witness (\(directory.witnessPath)) a checkpoint of \(witnessed.size); writes are refused. \
            Restore a newer backup or recover to a later point in time; only if the loss is accepted, \
            remove the witness knowingly (see Docs/operations.md, Backups and restores)
            """, metadata: ["code": "\(problem.code.rawValue)", "detail": "\(problem.detail)"])
    }

    /// The origin stored with the log; created on first start from `configured` or a random name.
    private static func origin(in database: any Database, configured: String?, create: Bool,
                               random: any RandomSource) async throws -> String {
        try await database.transaction { tx in
            // The head lock serializes instances that start together on one PostgreSQL.
            _ = try await tx.lockHead()
            if let stored = try await tx.metaValue(forKey: originKey) {
                if let configured, configured != stored {
                    throw RuntimeError("this log's origin is \(stored); --log-origin cannot change it")
                }
                return stored
            }
            guard create else { throw RuntimeError("the database holds no PDX log yet") }
            let origin = try configured ?? "pdx.local/\(Hex.encode(random.bytes(4)))"
            try await tx.setMetaValue(origin, forKey: originKey)
            return origin
        }
    }

    /// The system clock, or the test clock at its stored time (first start: `start`, or now).
    private static func clock(in database: any Database, testClock: Bool, start: Date?) async throws -> ServerClock {
        guard testClock else { return .system }
        let store = DatabaseClockStore(database: database)
        if let stored = try await store.loadTestClock() { return .test(startingAt: stored) }
        let now = start ?? Date()
        try await database.transaction { tx in
            // The head lock serializes instances that start together; a log with entries and no
            // test clock is a marketplace that has run on real time, whose clock never moves.
            let head = try await tx.lockHead()
            if try await tx.metaValue(forKey: ServerClock.metaKey) == nil {
                guard head.size == 0 else {
                    throw RuntimeError("""
                        this database was created without --test-clock and its log holds \(head.size) entries: \
                        a test clock is only for a marketplace that starts on one (a fresh --data-dir or database)
                        """)
                }
                try await tx.setMetaValue(RFC3339.format(now), forKey: ServerClock.metaKey)
            }
        }
        return .test(startingAt: try await store.loadTestClock() ?? now)
    }
}

/// A data directory or database that cannot be opened as asked.
public typealias RuntimeError = PlainCodedError<RuntimeErrorCode>

/// The code of ``RuntimeError``.
public enum RuntimeErrorCode: String, Sendable, CaseIterable {
    /// The data directory or database cannot be opened as asked.
    case cannotOpen = "cannot_open"
}

extension RuntimeError {
    /// An error with `detail`, printed as it is.
    package init(_ detail: String) { self.init(.cannotOpen, detail) }
}

/// The test clock's time in the meta table; every move is logged.
package struct DatabaseClockStore: TestClockStore {
    package let database: any Database
    package var log: TransparencyLog?

    package init(database: any Database, log: TransparencyLog? = nil) {
        self.database = database
        self.log = log
    }

    package func loadTestClock() async throws -> Date? {
        try await database.read { try await $0.metaValue(forKey: ServerClock.metaKey) }.flatMap(RFC3339.parse)
    }

    package func saveTestClock(_ time: Date, actor: String) async throws {
        try await database.transaction { tx in
            _ = try await tx.lockHead()
            let stored = try await tx.metaValue(forKey: ServerClock.metaKey).flatMap(RFC3339.parse)
            if let stored, stored >= time { return }
            try await tx.setMetaValue(RFC3339.format(time), forKey: ServerClock.metaKey)
            if let log {
                try await log.append(AuditRecord(
                    actor: actor, action: "test_clock.advanced",
                    data: ["from": stored.map { .string(RFC3339.format($0)) } ?? .null, "to": .string(RFC3339.format(time))]
                ), in: tx)
            }
        }
    }
}
