import Foundation
import Testing

/// The storage back ends a test runs on: SQLite always, PostgreSQL when `PDX_TEST_POSTGRES_URL`
/// names a server.
package enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The server's URL, from `PDX_TEST_POSTGRES_URL`; nil when unset or empty.
    package static let postgresURL = ProcessInfo.processInfo.environment["PDX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The back ends this run can test.
    package static var available: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    package var testDescription: String { rawValue }
}
