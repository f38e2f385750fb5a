import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PDXTesting
import Persistence
import Prometheus
import Testing

/// A fresh marketplace for one test: its own data directory and, on PostgreSQL, its own schema.
struct TestMarketplace: Sendable {
    let location: StoreLocation
    var configuration: ServerConfiguration

    /// - Parameters:
    ///   - databasePort: on PostgreSQL, connect to this port of the same host instead (a
    ///     ``TCPForwarder`` to the server).
    ///   - databaseTimeout: how long a request waits for the database.
    init(_ backend: Backend, testClock: Bool = false, maxBodyBytes: Int? = nil, databasePort: Int? = nil,
         databaseTimeout: Duration = .seconds(20)) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pdx-test-\(UUID().uuidString.prefix(8))").path
        var url: String?
        if backend == .postgres, let base = Backend.postgresURL {
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            url = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
            if let databasePort, var components = URLComponents(string: url ?? "") {
                components.port = databasePort
                url = components.string
            }
        }
        location = StoreLocation(dataDirectory: directory, databaseURL: url, databaseTimeout: databaseTimeout)
        var configuration = ServerConfiguration(store: location)
        configuration.testClock = testClock
        if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
        self.configuration = configuration
    }

    static let logger = Logger(label: "pdx.test")

    /// Opens the runtime as `pdx serve` does (bootstrap included).
    func open() async throws -> Runtime {
        var options = Runtime.Options()
        options.testClock = configuration.testClock
        let runtime = try await Runtime.open(location, options: options, logger: Self.logger)
        if runtime.isWritable { try await runtime.bootstrapAdmin(logger: Self.logger) }
        return runtime
    }

    /// The admin key written on first start.
    var adminToken: String {
        get throws { try #require(try DataDirectory(path: location.dataDirectory).adminToken()) }
    }

    /// Runs `body` against the real router on a freshly opened runtime, then closes it.
    ///
    /// - Parameters:
    ///   - rateLimiter: replaces the one the configuration makes (e.g. on a hand-moved clock).
    ///   - failedAuthentications: likewise, the per-address limiter of failed authentications.
    ///   - probeNow: the clock `/readyz` and `/metrics` keep their answers for a second by.
    ///   - registry: where the server's metrics go, for tests that scrape `/metrics`.
    ///   - logger: the application's logger, for tests that read what the server logs.
    ///   - live: serve on a real port of 127.0.0.1 with the server's own HTTP/1 channel, for tests of
    ///     what the parser sees (the client's `port`).
    func withServer<T: Sendable>(live: Bool = false,
                                 rateLimiter: RateLimiter? = nil,
                                 failedAuthentications: RateLimiter? = nil,
                                 probeNow: (@Sendable () -> UInt64)? = nil,
                                 registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                                 logger: Logger = Self.logger,
                                 _ body: @Sendable (Runtime, any TestClientProtocol) async throws -> T) async throws -> T {
        let runtime = try await open()
        do {
            var dependencies = runtime.serverDependencies(metrics: registry)
            dependencies.rateLimiter = rateLimiter
            dependencies.failedAuthenticationLimiter = failedAuthentications
            dependencies.probeNow = probeNow
            let router = try buildRouter(configuration: configuration, dependencies: dependencies)
            let app = Application(router: router, server: live ? .http1WithProblems() : .http1(),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            let result = try await app.test(live ? .live : .router) { client in try await body(runtime, client) }
            await runtime.close()
            return result
        } catch {
            await runtime.close()
            throw error
        }
    }

    func removeFiles() {
        try? FileManager.default.removeItem(atPath: location.dataDirectory)
    }
}

extension TestClientProtocol {
    /// A request with the bearer key, if given.
    func request(_ method: HTTPRequest.Method, _ uri: String, key: String? = nil, body: String? = nil,
                 contentType: String = "application/json") async throws -> TestResponse {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: method, headers: headers,
                                 body: body.map { ByteBuffer(string: $0) }) { $0 }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The decoded problem+json body; records an issue when the response is not one.
    func problem() throws -> [String: Any] {
        #expect(headers[.contentType] == "application/problem+json")
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let problem = try #require(object)
        #expect(problem["status"] as? Int == Int(status.code))
        #expect(problem["type"] as? String == "/problems#\(problem["code"] as? String ?? "")")
        return problem
    }

    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
