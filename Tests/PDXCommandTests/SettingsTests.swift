import APIServer
import ArgumentParser
import Marketplace
import Settlement
import Foundation
@testable import pdx
import Testing

/// `--config FILE`: one reader for flags, environment, file and defaults, shared by `serve` and
/// `settlement`.
@Suite("Settings: flags, environment, config file, defaults")
struct SettingsTests {
    /// A config file in a new temporary directory.
    static func file(_ json: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-settings-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("pdx.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("serve reads the file; a flag overrides it; what neither sets keeps its default")
    func serveFromFile() async throws {
        let path = try Self.file("""
            {"data-dir": "/srv/pdx", "database-url": "postgres://pdx@db/pdx", "host": "0.0.0.0", "port": 8443,
             "rate-limit": 2.5, "log-format": "text"}
            """)
        let serve = try Serve.parse(["--config", path, "--port", "9000"])
        let settings = try await serve.storage.settings(more: serve.flags.merging(serve.settlement.flags) { $1 })
        let configuration = try serve.configuration(settings)
        #expect(configuration.store.dataDirectory == "/srv/pdx")
        #expect(configuration.store.databaseURL == "postgres://pdx@db/pdx")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000, "the flag wins over the file")
        #expect(configuration.settlement.grace == 24 * 3600)
        #expect(configuration.rateLimit == 2.5)
        #expect(configuration.logFormat == .text)
        #expect(configuration.rateLimitBurst == 200 && configuration.shutdownTimeout == .seconds(30), "defaults")
    }

    @Test("settlement close reads the same keys as serve")
    func settlementSharesTheKeys() async throws {
        let path = try Self.file(#"{"data-dir": "/srv/pdx", "settlement-grace-hours": 48}"#)
        let close = try SettlementCommand.Close.parse(["--config", path, "--period", "2026-10", "--actor", "pr_finance"])
        let settings = try await close.storage.settings(more: close.settlement.flags)
        let policy = try close.settlement.policy(settings)
        #expect(policy.grace == 48 * 3600)
        #expect(try close.storage.store(settings).dataDirectory == "/srv/pdx")
    }

    @Test("the platform fee is no setting any more: a flag, a config key or a variable is refused, pointing to the API")
    func platformFeeSettingRefused() async throws {
        let serve = try Serve.parse(["--platform-fee-bps", "300"])
        let fromFlag = try await serve.storage.settings(more: serve.flags.merging(serve.settlement.flags) { $1 })
        let error = #expect(throws: ValidationError.self) { _ = try serve.configuration(fromFlag) }
        #expect(error?.message.contains("PUT /v1/marketplace/platform-fee") == true)
        let path = try Self.file(#"{"platform-fee-bps": 250}"#)
        let close = try SettlementCommand.Close.parse(["--config", path, "--period", "2026-10", "--actor", "pr_finance"])
        let fromFile = try await close.storage.settings(more: close.settlement.flags)
        #expect(throws: ValidationError.self) { _ = try close.settlement.policy(fromFile) }
        let adjust = try SettlementCommand.Adjust.parse([
            "--period", "2026-11", "--corrects", "2026-10/gr_x/d/call", "--amount-minor=-5", "--reason", "r", "--actor", "pr_f",
            "--platform-fee-bps", "1"])
        let fromAdjust = try await adjust.storage.settings(more: adjust.settlement.flags)
        #expect(throws: ValidationError.self) { _ = try adjust.settlement.policy(fromAdjust) }
    }

    @Test("close and adjust require --actor")
    func actorRequired() {
        #expect(throws: (any Error).self) { _ = try SettlementCommand.Close.parse(["--period", "2026-10"]) }
        #expect(throws: (any Error).self) {
            _ = try SettlementCommand.Adjust.parse(["--period", "2026-11", "--corrects", "x", "--amount-minor", "1", "--reason", "r"])
        }
        #expect(throws: (any Error).self) { _ = try SettlementCommand.Close.parse(["--period", "2026-10", "--actor", " "]) }
    }

    @Test("a bad value is refused naming its key and variable, wherever it was set")
    func badValues() async throws {
        let path = try Self.file(#"{"port": 70000, "database-url": "mysql://x"}"#)
        let serve = try Serve.parse(["--config", path])
        let settings = try await serve.storage.settings(more: serve.flags)
        #expect(throws: ValidationError.self) { _ = try serve.configuration(settings) }
        do {
            _ = try serve.configuration(settings)
        } catch {
            #expect("\(error)".contains("PDX_DATABASE_URL") || "\(error)".contains("PDX_PORT"))
        }
        let broken = try Self.file(#"{"port": "#)
        await #expect(throws: ValidationError.self) { _ = try await Settings.load(file: broken, flags: [:]) }
        await #expect(throws: ValidationError.self) { _ = try await Settings.load(file: "/nonexistent/pdx.json", flags: [:]) }
    }

    @Test("--upstream-allow-private is off by default, set by the flag or the file, and refuses a value that is not true or false")
    func upstreamAllowPrivate() async throws {
        func configuration(_ arguments: [String]) async throws -> ServerConfiguration {
            let serve = try Serve.parse(arguments)
            return try serve.configuration(try await serve.storage.settings(more: serve.flags.merging(serve.settlement.flags) { $1 }))
        }
        #expect(try await configuration([]).upstreamAllowPrivate == false)
        #expect(try await configuration(["--upstream-allow-private"]).upstreamAllowPrivate == true)
        #expect(try await configuration(["--config", try Self.file(#"{"upstream-allow-private": true}"#)]).upstreamAllowPrivate == true)
        #expect(try await configuration(["--config", try Self.file(#"{"upstream-allow-private": false}"#)]).upstreamAllowPrivate == false)
        await #expect(throws: ValidationError.self) {
            _ = try await configuration(["--config", try Self.file(#"{"upstream-allow-private": "yes"}"#)])
        }
    }
}
