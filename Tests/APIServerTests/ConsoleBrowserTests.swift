@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HummingbirdTesting
import PDXTesting
import Testing

/// The console in Chromium with scripting off (`Tests/Browser/console_flow.py`, Playwright).
///
/// It needs `/usr/bin/chromium` and Python's `playwright`, which `.ci/run` installs. Without them the
/// test is skipped here, unless `PDX_BROWSER_TESTS=required` (CI sets it), where their absence fails.
@Suite("Console: in a real browser")
struct ConsoleBrowserTests {
    static let chromium = "/usr/bin/chromium"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser/console_flow.py").path

    static var required: Bool { ProcessInfo.processInfo.environment["PDX_BROWSER_TESTS"] == "required" }

    static var available: Bool {
        get async throws {
            guard FileManager.default.isExecutableFile(atPath: chromium) else { return false }
            let probe = try await Executables.launchTool("/usr/bin/env", ["python3", "-c", "import playwright.sync_api"])
            return probe.status == 0
        }
    }

    @Test("sign in, read the audit page, switch to English and sign out, with scripting off", arguments: Backend.available)
    func signInAuditSignOut(backend: Backend) async throws {
        guard try await Self.available else {
            #expect(!Self.required, "PDX_BROWSER_TESTS=required, but Chromium or Playwright is missing")
            return
        }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { runtime, client in
            let port = try #require(client.port)
            let size = try await runtime.log.head().size
            let run = try await Executables.launchTool("/usr/bin/env", [
                "python3", Self.script, "--base", "http://127.0.0.1:\(port)", "--key", try market.adminToken,
                "--log-size", String(size), "--chromium", Self.chromium,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: signing out leads to the sign-in page"))
        }
    }
}
