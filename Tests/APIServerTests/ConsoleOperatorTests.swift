import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import PDXTesting
import Testing

/// An operator's read-only pages: its grants with the quota used, and its own statements.
@Suite("Console: an operator's grants and statements")
struct ConsoleOperatorTests {
    typealias Browser = ConsoleTests.Browser

    @Test("an operator sees its own grants with this period's usage, and downloads its own statement only",
          arguments: Backend.available)
    func ownGrantsAndStatements(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 7, s.start)], client) == ["accepted"])

            let acme = Browser(client, language: "en")
            #expect(try await acme.signIn(s.m.actors["acme"]).status == .seeOther)
            #expect(try await acme.send(.get, "/console/").text.contains(#"href="/console/operator""#))
            let page = try await acme.send(.get, "/console/operator")
            #expect(page.status == .ok)
            #expect(page.text.contains("<code>\(s.acmeGrant)</code>"))
            #expect(!page.text.contains(s.bigGrant), "another operator's grant is not shown")
            #expect(page.text.contains(#"call: <span class="used">7</span> / 1000000"#))
            #expect(page.text.contains("No period of the last twelve months is closed."))

            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(period, client).status == .ok)
            #expect(try await acme.signIn(s.m.actors["acme"]).status == .seeOther, "a month idle: signed in again")
            let after = try await acme.send(.get, "/console/operator")
            let party = "operator%3A\(s.m.operators["acme"]!)"
            #expect(after.text.contains("/console/finance/\(period)/report?format=csv&amp;party=\(party)"))
            #expect(after.text.contains(#"call: <span class="used">0</span>"#), "a new period starts at zero")
            let own = try await acme.send(.get, "/console/finance/\(period)/report?format=csv&party=\(party)")
            #expect(own.status == .ok)
            #expect(own.body == (try await s.report(period, as: "acme", query: "format=csv", client)).body)
            let other = try await acme.send(.get, "/console/finance/\(period)/report?format=csv&party=authority%3Abj")
            #expect(other.status == .forbidden)
            #expect(try await acme.send(.get, "/console/finance/\(period)").status == .forbidden)
        }
    }

    @Test("a key that has not applied yet is told so; other roles have no operator page")
    func notApplied() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("new", role: .operator, client)
            let new = Browser(client)
            #expect(try await new.signIn(actors["new"]).status == .seeOther)
            #expect(try await new.send(.get, "/console/operator").text.contains(#"id="not-applied""#))
            let admin = Browser(client)
            #expect(try await admin.signIn(actors.admin).status == .seeOther)
            #expect(try await admin.send(.get, "/console/operator").status == .forbidden)
        }
    }
}
