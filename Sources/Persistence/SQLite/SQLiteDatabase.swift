internal import Synchronization

/// The marketplace database in one SQLite file: the default for a single server.
///
/// One writer connection, used by one transaction at a time (an in-process lock queues the
/// others), and a few reader connections that see a consistent snapshot beside the writer (WAL).
/// Write transactions start with `BEGIN IMMEDIATE`, so two processes on one file queue for the
/// write lock (up to the busy timeout) instead of failing halfway. Every commit is synced
/// (`synchronous = FULL`): an acknowledged write survives power loss.
public final class SQLiteDatabase: Database {
    /// The file path, or `:memory:`.
    public let path: String

    private let writer: SQLiteConnection
    private let writerLock = AsyncSemaphore(count: 1)
    private let readers: ReaderPool?
    private let isClosed = Mutex(false)

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// - Parameters:
    ///   - readers: reader connections; 0 sends reads through the writer. `:memory:` always uses
    ///     only the writer, since each connection would see its own empty database.
    ///   - busyTimeout: how long to wait for another process's write lock before
    ///     `database_unavailable`.
    /// - Throws: `StorageError` `database_unavailable` when the file cannot be opened,
    ///   `migration_failed` when the schema cannot be brought up to date.
    public init(path: String, readers: Int = 2, busyTimeout: Duration = .seconds(10)) async throws {
        self.path = path
        // Opening waits longer than a request would: a process that starts beside another one
        // migrating the same file waits for that migration to end rather than fail its start.
        let writer = try await SQLiteConnection.open(path: path, busyTimeout: max(busyTimeout, Self.openLockTimeout), readOnly: false)
        do {
            try await writer.perform { try $0.executeScript("BEGIN IMMEDIATE") }
            let connection = SQLiteSQLConnection(connection: writer)
            do {
                try await Migrations.apply(on: connection)
                try await writer.perform { try $0.executeScript("COMMIT") }
                try await writer.perform { $0.setBusyTimeout(busyTimeout) }
            } catch {
                _ = try? await writer.perform { connection in
                    if connection.inTransaction { try connection.executeScript("ROLLBACK") }
                }
                throw error
            }
            let count = path == ":memory:" || path.isEmpty ? 0 : max(0, readers)
            var opened: [SQLiteConnection] = []
            for _ in 0..<count {
                opened.append(try await SQLiteConnection.open(path: path, busyTimeout: busyTimeout, readOnly: true))
            }
            self.readers = opened.isEmpty ? nil : ReaderPool(opened)
        } catch {
            await writer.close()
            throw error
        }
        self.writer = writer
    }

    /// How long opening waits for another process's migration of the same file.
    static let openLockTimeout: Duration = .seconds(120)

    /// Waits for running transactions, then closes every connection; later calls throw
    /// `database_unavailable`.
    public func close() async {
        await writerLock.wait()
        defer { writerLock.signal() }
        guard !isClosed.withLock({ closed in defer { closed = true }; return closed }) else { return }
        await writer.close()
        if let readers { await readers.close() }
    }

    private func ensureOpen() throws(StorageError) {
        if isClosed.withLock({ $0 }) { throw StorageError.unavailable("the SQLite database \(path) is closed") }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction on the writer connection.
    nonisolated(nonsending) public func transaction<T>(
        _ body: nonisolated(nonsending) (DatabaseTransaction) async throws -> T
    ) async throws -> T {
        try await writerLock.withPermit {
            try ensureOpen()
            return try await Self.run(on: writer, begin: "BEGIN IMMEDIATE") { context in
                try await body(DatabaseTransaction(context: context))
            }
        }
    }

    /// Runs `body` in a read transaction on a reader connection: one snapshot throughout.
    nonisolated(nonsending) public func read<T>(
        _ body: nonisolated(nonsending) (DatabaseReader) async throws -> T
    ) async throws -> T {
        guard let readers else {
            return try await writerLock.withPermit {
                try ensureOpen()
                return try await Self.run(on: writer, begin: "BEGIN") { context in
                    try await body(DatabaseReader(context: context))
                }
            }
        }
        try ensureOpen()
        let reader = await readers.take()
        defer { readers.give(reader) }
        // A deferred BEGIN takes its snapshot at the first read and keeps it to the end.
        return try await Self.run(on: reader, begin: "BEGIN") { context in
            try await body(DatabaseReader(context: context))
        }
    }

    /// Runs `body` between `begin` and COMMIT on `connection`; rolls back if it throws or a
    /// statement failed.
    nonisolated(nonsending) private static func run<T>(
        on connection: SQLiteConnection, begin: String,
        _ body: nonisolated(nonsending) (SQLTransactionContext) async throws -> T
    ) async throws -> T {
        let spans = TransactionSpans(system: "sqlite", readOnly: begin == "BEGIN")
        do {
            try await connection.perform { try $0.executeScript(begin) }
        } catch {
            spans.end(failure: error)
            throw error
        }
        let context = SQLTransactionContext(SQLiteSQLConnection(connection: connection))
        do {
            let result = try await body(context)
            context.close()
            if let failure = context.failure {
                throw StorageError.aborted(after: failure)
            }
            try await spans.commit { try await connection.perform { try $0.executeScript("COMMIT") } }
            spans.end()
            return result
        } catch {
            spans.end(failure: error)
            context.close()
            _ = try? await connection.perform { connection in
                if connection.inTransaction { try connection.executeScript("ROLLBACK") }
            }
            throw error
        }
    }

    // MARK: Maintenance

    /// The database's size in pages, as SQLite counts it (WAL content included).
    public func pageCount() async throws -> Int {
        try await pragma("page_count")
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, never below the current
    /// size) for this process's writes; returns the cap in force. A write that would grow the
    /// file past it fails like one on a full disk (`storage_full`), so an operator can bound the
    /// file's growth, and tests can run the full-disk path without filling a disk.
    @discardableResult
    public func limitSize(toPages pages: Int) async throws -> Int {
        try await pragma("max_page_count = \(max(1, pages))")
    }

    /// Refuses writes from this process (SQLite's `query_only`) until called with false: a write
    /// fails like one on a read-only file (`storage_read_only`). For taking a live file out of
    /// service while it is copied, and for tests of the read-only path (which root, who ignores
    /// file modes, cannot otherwise produce).
    public func refuseWrites(_ refuse: Bool) async throws {
        try await withConnection { try $0.executeScript("PRAGMA query_only = \(refuse ? "ON" : "OFF")") }
    }

    private func pragma(_ text: String) async throws -> Int {
        let rows = try await withConnection { try $0.query("PRAGMA \(text)", []) }
        guard let row = rows.first else { throw StorageError.unexpected("PRAGMA \(text) returned no row") }
        return Int(try row.integer(0))
    }

    /// Runs one statement outside the store's API, e.g. to repair or to inspect.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await writerLock.withPermit {
            try ensureOpen()
            return try await writer.perform(body)
        }
    }
}

/// Reader connections handed out one per read transaction.
private final class ReaderPool: Sendable {
    private let connections: Mutex<[SQLiteConnection]>
    private let available: AsyncSemaphore

    init(_ connections: [SQLiteConnection]) {
        self.connections = Mutex(connections)
        self.available = AsyncSemaphore(count: connections.count)
    }

    func take() async -> SQLiteConnection {
        await available.wait()
        return connections.withLock { $0.removeLast() }
    }

    func give(_ connection: SQLiteConnection) {
        connections.withLock { $0.append(connection) }
        available.signal()
    }

    /// Closes the idle connections; one still in use closes when released.
    func close() async {
        for connection in connections.withLock({ $0 }) {
            await connection.close()
        }
    }
}
