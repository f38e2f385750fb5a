public import Foundation

/// State that a benchmark's setup hands to its iterations and teardown, which the harness runs one
/// after another, never at once.
public final class Shared<Value>: @unchecked Sendable {
    public var value: Value?

    public init() {}
}

/// A fresh directory under the system's temporary directory; teardown removes it.
public func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// The PostgreSQL the benchmarks run on besides SQLite: `PDX_TEST_POSTGRES_URL`, as for the tests.
/// Each benchmark keeps its tables in a schema of its own, which teardown drops.
public enum BenchmarkPostgres {
    /// The server's URL, or nil when the variable is unset: then the PostgreSQL benchmarks are not registered.
    public static var url: String? {
        ProcessInfo.processInfo.environment["PDX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A schema name no other run uses.
    public static func newSchemaName() -> String {
        "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// `url` with its tables in `schema` (the `schema` parameter `PostgresDatabase` and `pdx serve` read).
    public static func url(_ url: String, schema: String) -> String {
        url + (url.contains("?") ? "&" : "?") + "schema=" + schema
    }

    /// Drops `schema` through `psql`, since the storage layer offers no such statement. Best effort: a
    /// schema left behind only costs disk space in a benchmark database.
    public static func dropSchema(_ schema: String, url: String) {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", url, "-q", "-c", "SET client_min_messages = warning", "-c", "DROP SCHEMA IF EXISTS \(schema) CASCADE"]
        psql.standardOutput = FileHandle.nullDevice
        do {
            try psql.run()
            psql.waitUntilExit()
        } catch {
            print("could not run psql to drop schema \(schema): \(error)")
        }
    }
}
