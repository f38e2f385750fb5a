import AuditLog
import Cryptography
import Foundation
import Identity
import Logging
import Marketplace
import PDXTesting
import Persistence
import Testing

/// A fresh marketplace opened as `pdx serve` opens it, with its services and no HTTP: a data
/// directory of its own and, on PostgreSQL, a schema of its own.
struct ServiceFixture: Sendable {
    let runtime: Runtime
    let admin: Principal

    static func with<T: Sendable>(_ backend: Backend, _ body: (ServiceFixture) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pdx-services-\(UUID().uuidString.prefix(8))").path
        var url: String?
        if backend == .postgres, let base = Backend.postgresURL {
            let schema = "s_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            url = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Runtime.Options()
        options.testClock = true
        options.testClockStart = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01T00:00:00Z
        let runtime = try await Runtime.open(StoreLocation(dataDirectory: directory, databaseURL: url), options: options,
                                             logger: Logger(label: "pdx.test"))
        do {
            try await runtime.bootstrapAdmin(logger: Logger(label: "pdx.test"))
            let admin = try #require(try await runtime.database.read { try await $0.principals() }.first { $0.role == .admin })
            let result = try await body(ServiceFixture(runtime: runtime, admin: admin))
            await runtime.close()
            return result
        } catch {
            await runtime.close()
            throw error
        }
    }

    var context: ServiceContext {
        ServiceContext(database: runtime.database, log: runtime.log, clock: runtime.clock, random: runtime.random)
    }

    /// How many entries the log holds.
    func logSize() async throws -> UInt64 { try await runtime.log.head().size }

    /// The actions of the entries from `start` on.
    func actions(from start: UInt64) async throws -> [String] {
        try await runtime.log.entries(start: start, limit: 1000).map { entry in
            let record = try JSONValue.parse(entry.body)
            return record["action"]?.stringValue ?? ""
        }
    }
}
