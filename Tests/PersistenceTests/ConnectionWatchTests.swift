import AuditLog
import Logging
@testable import Persistence
import PDXTesting
import PostgresNIO
import Testing

@Suite("PostgreSQL statements on a connection that closes")
struct ConnectionWatchTests {
    // postgres-nio discards a statement written to a channel that has closed, and its caller would
    // wait forever: the state a connection is in when the network drops between the lease and the
    // first statement. Closing the connection first makes that moment certain.
    @Test("a statement sent on a closed connection is answered database_unavailable, not awaited forever",
          .enabled(if: Backend.postgresURL != nil), .timeLimit(.minutes(1)))
    func closedConnection() async throws {
        let url = try PostgresDatabase.configuration(url: try #require(Backend.postgresURL))
        let logger = Logger(label: "pdx.test.watch")
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: url.host, port: url.port, username: url.username, password: url.password,
                                 database: url.database, tls: .disable),
            id: 1, logger: logger)
        let watch = ConnectionWatch()
        let sql = PostgresSQLConnection(connection: connection, logger: logger, watch: watch)
        #expect(try await sql.query("SELECT 41 + 1", []).first?.values == [.integer(42)])

        try await connection.close()
        for statement in ["SELECT 1", "BEGIN"] {
            let error = await #expect(throws: StorageError.self) { try await sql.execute(statement, []) }
            #expect(error?.code == .databaseUnavailable, "\(String(describing: error))")
        }
        let error = await #expect(throws: StorageError.self) { _ = try await sql.query("SELECT 2", []) }
        #expect(error?.code == .databaseUnavailable)
        #expect(watch.count == 0, "a closed connection is no longer watched")
    }
}
