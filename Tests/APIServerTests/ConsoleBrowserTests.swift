@testable import APIServer
@testable import Marketplace
import AuditLog
import HTTPTypes
import Identity
import Foundation
import HummingbirdTesting
import PDXTesting
import Metering
import Testing

/// The console in Chromium with scripting off (`Tests/Browser/console_flow.py`, Playwright).
///
/// It needs `/usr/bin/chromium` and Python's `playwright`, which `.ci/run` installs. Without them the
/// test is skipped here, unless `PDX_BROWSER_TESTS=required` (CI sets it), where their absence fails.
@Suite("Console: in a real browser")
struct ConsoleBrowserTests {
    static let chromium = "/usr/bin/chromium"
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser")

    static func script(_ name: String) -> String { scripts.appendingPathComponent(name).path }

    static var required: Bool { ProcessInfo.processInfo.environment["PDX_BROWSER_TESTS"] == "required" }

    /// True when Chromium and the Python tools are here; when they are not, a failure if they are required.
    static func ready() async throws -> Bool {
        if try await available { return true }
        #expect(!required, "PDX_BROWSER_TESTS=required, but Chromium, Playwright or axe is missing")
        return false
    }

    /// Runs the browser script `name` in Chromium against the live server on `port`, with `arguments`.
    static func browse(_ name: String, port: Int, _ arguments: [String]) async throws -> Executables.Run {
        try await Executables.launchTool("/usr/bin/env",
                                         ["python3", script(name), "--base", "http://127.0.0.1:\(port)"] + arguments
                                             + ["--chromium", chromium])
    }

    static var available: Bool {
        get async throws {
            guard FileManager.default.isExecutableFile(atPath: chromium) else { return false }
            let probe = try await Executables.launchTool("/usr/bin/env", ["python3", "-c", "import playwright.sync_api, axe_playwright_python"])
            return probe.status == 0
        }
    }

    @Test("sign in, read the audit page, switch to English and sign out, with scripting off", arguments: Backend.available)
    func signInAuditSignOut(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { runtime, client in
            let port = try #require(client.port)
            let size = try await runtime.log.head().size
            let run = try await Self.browse("console_flow.py", port: port, [
                "--key", try market.adminToken,
                "--log-size", String(size),
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: signing out leads to the sign-in page"))
        }
    }

    @Test("a reviewer approves an application with the form, after a refusal shown with its code", arguments: Backend.available)
    func reviewerApproves(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            var actors = Actors(admin: try market.adminToken)
            try await Actors.authority("bj", client, admin: actors.admin)
            try await actors.principal("reviewer", role: .authorityReviewer, authority: "bj", client)
            try await actors.principal("acme", role: .operator, client)
            let applied = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application())
            let id = try #require(try applied.json()["id"] as? String)
            let run = try await Self.browse("console_review.py", port: port, [
                "--key", actors["reviewer"],
                "--operator", id,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: the operator is approved"))
            let status = try await client.request(.get, "/v1/operators/\(id)", key: actors.admin).json()["status"] as? String
            #expect(status == "approved")
        }
    }

    @Test("every page has no serious accessibility violation and fits 360 px", arguments: [Backend.sqlite])
    func accessible(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            let run = try await Self.browse("console_a11y.py", port: port, [
                "--key", try market.adminToken,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: http://127.0.0.1:\(port)/console/finance: fits 360 px"))
        }
    }

    @Test("two reviewers approve an enhanced application, and two authorities co-approve a grant, each in a browser of its own",
          arguments: Backend.available)
    func twoReviewers(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            var m = try await LicensingMarket.setUp(market, client)
            try await m.actors.principal("newco", role: .operator, client)
            let applied = try await client.request(.post, "/v1/operators", key: m.actors["newco"],
                                                   body: application(uscc: "91350100MA2Y00Q1XH", tier: "enhanced"))
            let operatorID = try #require(try applied.json()["id"] as? String)
            #expect(try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client).status == .created)
            #expect(try await m.publish("tj-cond", by: "tj-a", openness: "conditional", client).status == .created)
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04"), ("tj-cond", "0.04")]), client)
            let grantID = try #require(grant["id"] as? String)
            let run = try await Self.browse("console_two_reviewers.py", port: port, [
                "--bj-a", m.actors["bj-a"], "--bj-b", m.actors["bj-b"], "--tj-a", m.actors["tj-a"],
                "--operator", operatorID, "--grant", grantID,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: co-approved by both authorities, the grant is active"))
            #expect(try await client.request(.get, "/v1/operators/\(operatorID)", key: m.actors.admin).json()["status"] as? String == "approved")
            #expect(try await client.request(.get, "/v1/grants/\(grantID)", key: m.actors.admin).json()["status"] as? String == "active")
        }
    }

    @Test("a reviewer previews a reclassification, then confirms it; the catalogue pages pass axe at 360 px",
          arguments: Backend.available)
    func reclassification(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-open", by: "bj-a", client).status == .created)
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)
            let grantID = try #require(grant["id"] as? String)
            let run = try await Self.browse("console_catalogue.py", port: port, [
                "--key", m.actors["bj-a"],
                "--dataset", "bj-open", "--grant", grantID,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: the grant the preview named is suspended"))
            #expect(try await client.request(.get, "/v1/grants/\(grantID)", key: m.actors.admin).json()["status"] as? String == "suspended")
        }
    }

    @Test("finance closes a month and the XLSX it downloads opens with the sealed gross", arguments: Backend.available)
    func financeClosesAndDownloads(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let probe = try await Executables.launchTool("/usr/bin/env", ["python3", "-c", "import openpyxl"])
        guard probe.status == 0 else {
            #expect(!Self.required, "PDX_BROWSER_TESTS=required, but openpyxl is missing")
            return
        }
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 7, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 25, s.start)], client) == ["accepted"])
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let run = try await Self.browse("console_finance.py", port: port, [
                "--key", s.m.actors["fin"],
                "--period", period.description, "--gross-minor", "123",
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("ok: the workbook's gross is 123 fen"))
        }
    }
    /// Where the screenshots go: `Docs/console/` with `PDX_WRITE_SCREENSHOTS=1`, else a directory of the test's own.
    static let docsConsole = scripts.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Docs/console")

    @Test("the screenshots of Docs/console.md are taken from live pages, each small", arguments: [Backend.sqlite])
    func screenshots(backend: Backend) async throws {
        guard try await Self.ready() else { return }
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        let write = ProcessInfo.processInfo.environment["PDX_WRITE_SCREENSHOTS"] == "1"
        let out = write ? Self.docsConsole.path
            : FileManager.default.temporaryDirectory.appendingPathComponent("console-shots-\(UUID().uuidString)").path
        defer { if !write { try? FileManager.default.removeItem(atPath: out) } }
        try await market.withServer(live: true) { _, client in
            let port = try #require(client.port)
            let s = try await SettlementMarket.setUp(market, client)
            #expect(try await s.m.publish("bj-cond", by: "bj-a", openness: "conditional", title: "Signal timing", client).status == .created)
            #expect(try await s.m.publish("tj-cond", by: "tj-a", openness: "conditional", title: "Port traffic", client).status == .created)
            let pending = try await s.m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04"), ("tj-cond", "0.04")]), client)
            let grantID = try #require(pending["id"] as? String)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 7, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 25, s.start)], client) == ["accepted"])
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(period, client).status == .ok)
            let run = try await Self.browse("console_screenshots.py", port: port, [
                "--admin", s.m.actors.admin, "--reviewer", s.m.actors["bj-a"], "--finance", s.m.actors["fin"],
                "--grant", grantID, "--dataset", "bj-open", "--period", period.description, "--entry", "12",
                "--out", out,
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            for name in ["sign-in", "reviewer-inbox", "grant", "catalogue-preview", "finance-period", "audit-entry"] {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(out)/\(name).png")[.size] as? Int) ?? 0
                #expect((1..<400_000).contains(size), "\(name).png: \(size) bytes")
            }
        }
    }
}
