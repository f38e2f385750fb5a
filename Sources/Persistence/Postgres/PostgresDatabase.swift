import AuditLog
internal import Foundation
public import Logging
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

/// The marketplace database on PostgreSQL, for production and for several server processes
/// sharing one database.
///
/// Wraps a postgres-nio `PostgresClient` whose `run()` loop this object starts in a task it owns
/// at `init` and stops in ``close()``; no service lifecycle is needed. Appenders lock the log's
/// head row (`SELECT … FOR UPDATE`), so processes appending at once get consecutive, gap-free
/// indexes and one tree.
public final class PostgresDatabase: Database {
    /// The address without its password.
    public let redactedURL: String

    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let acquireTimeout: Duration
    private let logger: Logger
    private let isClosed = Mutex(false)
    private let watch = ConnectionWatch()

    /// Connects to the database at `url` and brings its schema up to date.
    ///
    /// `url` is `postgres://user:password@host:port/database?sslmode=…&schema=…`:
    /// - `sslmode`: `disable`, `prefer` (the default: TLS when the server offers it, without
    ///   certificate checks), `require` (TLS without certificate checks), `verify-ca` (TLS with a
    ///   certificate checked against the trusted roots), `verify-full` (also its host name).
    /// - `sslrootcert`: a PEM file of the roots a `verify-ca`/`verify-full` server certificate must
    ///   chain to (e.g. the organisation's own CA); without it, the system's trusted roots.
    /// - `schema`: keep every table in this schema, created if missing (one database can then
    ///   hold several independent marketplaces, e.g. one per test).
    ///
    /// - Parameters:
    ///   - acquireTimeout: how long a transaction waits for a connection before throwing
    ///     `database_unavailable` (the pool alone would wait up to a minute for a down server).
    ///   - maxConnections: the pool's size.
    /// - Throws: `StorageError` `invalid_configuration` for a bad URL, `database_unavailable` when
    ///   the server cannot be reached, `migration_failed` when the schema cannot be updated.
    public init(url: String, acquireTimeout: Duration = .seconds(5), maxConnections: Int = 10,
                logger: Logger = Logger(label: "pdx.persistence.postgres")) async throws {
        let parsed = try Self.configuration(url: url)
        var configuration = parsed.clientConfiguration
        configuration.options.maximumConnections = max(1, maxConnections)
        configuration.options.connectTimeout = min(configuration.options.connectTimeout, acquireTimeout)
        if let schema = parsed.schema {
            configuration.options.additionalStartupParameters.append(("search_path", Self.quoted(schema)))
        }
        let client = PostgresClient(configuration: configuration)
        self.client = client
        self.runTask = Task { await client.run() }
        self.acquireTimeout = acquireTimeout
        self.logger = logger
        self.redactedURL = parsed.redacted
        do {
            try await migrate(schema: parsed.schema)
        } catch {
            // Not awaiting the client's shutdown: the caller learns of the failure now, the run loop
            // winds down on its own.
            isClosed.withLock { $0 = true }
            runTask.cancel()
            throw error
        }
    }

    deinit {
        runTask.cancel()
    }

    /// Stops the client: running transactions fail, later ones throw `database_unavailable`.
    ///
    /// Waits for the pool's run loop to wind down, but no longer than the acquire timeout: with the
    /// server gone, the pool may wait for a connection lease it can never serve (a lease whose
    /// caller gave up is not always withdrawn while every connection attempt fails), and a stop
    /// must not wait on that forever.
    public func close() async {
        isClosed.withLock { $0 = true }
        runTask.cancel()
        let done = Gate()
        let run = runTask
        let finished = Task {
            await run.value
            done.open()
        }
        let timer = Task {
            try? await Task.sleep(for: acquireTimeout)
            done.open()
        }
        await done.wait()
        timer.cancel()
        _ = finished
    }

    /// Runs `body` in a read-committed transaction; the log head lock orders appenders.
    nonisolated(nonsending) public func transaction<T>(
        _ body: nonisolated(nonsending) (DatabaseTransaction) async throws -> T
    ) async throws -> T {
        try await withTransaction(begin: "BEGIN") { context in
            try await body(DatabaseTransaction(context: context))
        }
    }

    /// Runs `body` in a repeatable-read, read-only transaction.
    nonisolated(nonsending) public func read<T>(
        _ body: nonisolated(nonsending) (DatabaseReader) async throws -> T
    ) async throws -> T {
        // One snapshot for the whole read, so a long scan (the integrity check) sees one log.
        try await withTransaction(begin: "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY") { context in
            try await body(DatabaseReader(context: context))
        }
    }

    private func migrate(schema: String?) async throws {
        try await withTransaction(begin: "BEGIN") { context in
            // Transaction-scoped, so it is released at commit or rollback even if this process dies.
            // One lock per schema: migrations of one marketplace are serialized, while marketplaces
            // in other schemas of the same database (one per test, one per tenant) never wait on it.
            // The schema is a plain identifier (checked when the URL was read).
            try await context.execute("SELECT pg_advisory_xact_lock(730419, hashtext('\(schema ?? "public")'))")
            if let schema {
                try await context.execute("CREATE SCHEMA IF NOT EXISTS \(Self.quoted(schema))")
            }
            try await Migrations.apply(on: context.connection)
        }
    }

    /// Runs `body` between `begin` and COMMIT on a leased connection; rolls back if it throws or
    /// a statement failed.
    nonisolated(nonsending) private func withTransaction<T>(
        begin: String, _ body: nonisolated(nonsending) (SQLTransactionContext) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            let sql = PostgresSQLConnection(connection: connection, logger: logger, watch: watch)
            let spans = TransactionSpans(system: "postgresql", readOnly: begin.hasSuffix("READ ONLY"))
            do {
                try await sql.execute(begin, [])
            } catch {
                spans.end(failure: error)
                throw error
            }
            let context = SQLTransactionContext(sql)
            do {
                let result = try await body(context)
                context.close()
                if let failure = context.failure {
                    throw StorageError.aborted(after: failure)
                }
                try await spans.commit { try await sql.execute("COMMIT", []) }
                spans.end()
                return result
            } catch {
                spans.end(failure: error)
                context.close()
                if (error as? StorageError)?.code == .databaseUnavailable {
                    // The connection is gone, and the server rolls back a transaction whose
                    // connection ended; a ROLLBACK sent on a closing connection may never be answered.
                    // Closing (not waiting for it) keeps the pool from handing it out mid-transaction.
                    Task { try? await connection.close() }
                } else {
                    try? await sql.execute("ROLLBACK", [])
                }
                throw error
            }
        }
    }

    /// Leases a connection for `body`, giving up after `acquireTimeout`.
    ///
    /// The pool's own `withConnection` would run `body` inside its lease and wait up to a minute
    /// for a down server. Here a task holds the lease and hands the connection over; the caller's
    /// task runs `body` on its own executor and a timer bounds the wait. Both are unstructured: a
    /// caller that gives up returns at once, whether or not the pool honours cancellation of a
    /// lease it cannot serve (it may not while every connection attempt fails); a connection the
    /// pool hands over later is given straight back.
    nonisolated(nonsending) private func withConnection<T>(
        _ body: nonisolated(nonsending) (PostgresConnection) async throws -> T
    ) async throws -> T {
        if isClosed.withLock({ $0 }) { throw StorageError.unavailable("the PostgreSQL client is closed") }
        let (connections, handOver) = AsyncThrowingStream<PostgresConnection, any Error>.makeStream()
        let released = Gate()
        defer { released.open() }
        let client = self.client
        let timeout = self.acquireTimeout
        let lease = Task {
            do {
                try await client.withConnection { connection in
                    handOver.yield(connection)
                    await released.wait()
                }
            } catch {
                handOver.finish(throwing: error)
            }
        }
        let timer = Task {
            do {
                try await Task.sleep(for: timeout)
            } catch {
                return  // the connection came first
            }
            handOver.finish(throwing: StorageError.unavailable("no PostgreSQL connection within \(timeout)"))
        }
        defer { timer.cancel() }
        var iterator = connections.makeAsyncIterator()
        let connection: PostgresConnection
        do {
            guard let leased = try await iterator.next() else {
                throw StorageError.unavailable("the PostgreSQL client stopped")
            }
            connection = leased
        } catch {
            lease.cancel()
            throw PostgresSQLConnection.storageError(error)
        }
        timer.cancel()
        return try await body(connection)
    }

    /// Runs statements outside the store's API in one transaction, e.g. to inspect or repair.
    func withContext<T>(_ body: (SQLTransactionContext) async throws -> T) async throws -> T {
        try await withTransaction(begin: "BEGIN", body)
    }

    // MARK: Configuration

    /// A database URL taken apart.
    struct ParsedURL {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String?
        var sslMode: String
        var sslRootCertificate: String?
        var schema: String?
        var redacted: String

        /// How much of the server's certificate `sslmode` checks.
        enum CertificateCheck: Sendable, Equatable {
            /// Nothing: the connection is encrypted, but to whoever answers.
            case none
            /// That it chains to a trusted root (`verify-ca`).
            case chain
            /// That, and that it names the host connected to (`verify-full`).
            case chainAndHost
        }

        /// Whether TLS is refused (`disable`), tried (`allow`, `prefer`) or required.
        var requiresTLS: Bool { !["disable", "allow", "prefer"].contains(sslMode) }

        var certificateCheck: CertificateCheck {
            switch sslMode {
            case "verify-full": .chainAndHost
            case "verify-ca": .chain
            default: .none
            }
        }

        var clientConfiguration: PostgresClient.Configuration {
            var settings = TLSConfiguration.makeClientConfiguration()
            switch certificateCheck {
            case .none: settings.certificateVerification = .none
            case .chain: settings.certificateVerification = .noHostnameVerification
            case .chainAndHost: settings.certificateVerification = .fullVerification
            }
            if let sslRootCertificate { settings.trustRoots = .file(sslRootCertificate) }
            let tls: PostgresClient.Configuration.TLS = sslMode == "disable" ? .disable
                : requiresTLS ? .require(settings) : .prefer(settings)
            return PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls
            )
        }
    }

    static func configuration(url: String) throws(StorageError) -> ParsedURL {
        func invalid(_ detail: String) -> StorageError {
            StorageError(code: .invalidConfiguration, detail: detail)
        }
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw invalid("a PostgreSQL URL starts with postgres://") }
        guard let user = components.user, !user.isEmpty else { throw invalid("the URL names no user") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var parsed = ParsedURL(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost",
            port: components.port ?? 5432,
            username: user,
            password: components.password,
            database: path.isEmpty ? nil : path,
            sslMode: "prefer",
            sslRootCertificate: nil,
            schema: nil,
            redacted: ""
        )
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
                guard let value = item.value, modes.contains(value) else {
                    throw invalid("sslmode must be one of \(modes.joined(separator: ", "))")
                }
                parsed.sslMode = value
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw invalid("sslrootcert names no file") }
                guard FileManager.default.isReadableFile(atPath: value) else {
                    throw invalid("sslrootcert \(value) is not a readable file")
                }
                parsed.sslRootCertificate = value
            case "schema":
                guard let value = item.value, value.range(of: "^[A-Za-z_][A-Za-z0-9_]{0,62}$", options: .regularExpression) != nil
                else { throw invalid("schema must be a plain identifier") }
                parsed.schema = value
            default: throw invalid("unknown URL parameter \(item.name)")
            }
        }
        if parsed.sslRootCertificate != nil, !["verify-ca", "verify-full"].contains(parsed.sslMode) {
            throw invalid("sslrootcert needs sslmode=verify-ca or verify-full: other modes do not check the certificate")
        }
        var redacted = components
        if redacted.password != nil { redacted.password = "***" }
        parsed.redacted = redacted.string ?? "postgres://"
        return parsed
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A one-shot latch: `wait()` returns once `open()` was called, cancelled or not.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isOpen = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }
}
