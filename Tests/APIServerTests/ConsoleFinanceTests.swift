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
import Persistence
import Settlement
import Testing

/// Finance's pages: the year, a period, the close after a confirmation, the downloads and the chart.
@Suite("Console: settlement for finance")
struct ConsoleFinanceTests {
    typealias Browser = ConsoleTests.Browser

    @Test("a period closed from the console: refused early with its code, then sealed; downloads equal the API's reports",
          arguments: Backend.available)
    func closeAndDownload(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 7, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 25, s.start)], client) == ["accepted"])

            let fin = Browser(client, language: "en")
            #expect(try await fin.signIn(s.m.actors["fin"]).status == .seeOther)
            #expect(try await fin.send(.get, "/console/").text.contains(#"href="/console/finance""#))
            let year = try await fin.send(.get, "/console/finance?year=\(period.year)")
            #expect(year.status == .ok)
            #expect(year.text.contains(#"<a href="/console/finance/\#(period)">\#(period)</a></td><td>running</td>"#))
            #expect(year.text.contains("No period of this year is closed yet."))

            let open = try await fin.send(.get, "/console/finance/\(period)")
            #expect(open.text.contains(#"href="/console/finance/\#(period)/close""#))
            let confirm = try await fin.send(.get, "/console/finance/\(period)/close")
            #expect(confirm.status == .ok)
            #expect(confirm.text.contains(#"id="close-warning""#))
            let csrf = try Browser.csrf(confirm)

            let size = try await runtime.log.head().size
            #expect(try await fin.send(.post, "/console/finance/\(period)/close", form: [("csrf", "forged")]).status == .forbidden)
            let early = try await fin.send(.post, "/console/finance/\(period)/close", form: [("csrf", csrf)])
            #expect(early.status == .conflict)
            #expect(early.text.contains("<code>period_not_ended</code>"))
            #expect(try await runtime.log.head().size == size, "a refused close writes nothing")

            // A month later on the server's clock the session has long been idle: it is over.
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let idle = try await fin.send(.post, "/console/finance/\(period)/close", form: [("csrf", csrf)])
            #expect(idle.status == .seeOther)
            #expect(idle.headers[.location] == "/console/sign-in?ended=1")
            #expect(try await runtime.log.head().size == size + 1, "only the clock's move was logged")
            #expect(try await fin.signIn(s.m.actors["fin"]).status == .seeOther)
            let again = try Browser.csrf(try await fin.send(.get, "/console/finance/\(period)/close"))
            let closed = try await fin.send(.post, "/console/finance/\(period)/close", form: [("csrf", again)])
            #expect(closed.status == .seeOther)
            #expect(closed.headers[.location] == "/console/finance/\(period)?closed=1")
            let entry = try AuditEntry(decoding: try #require(try await runtime.log.entries(start: size + 1, limit: 1).first).body)
            #expect(entry.record.action == "settlement.closed")
            #expect(entry.record.actor == s.m.actors.ids["fin"], "the close is the signed-in person's")

            let page = try await fin.send(.get, "/console/finance/\(period)?closed=1")
            #expect(page.text.contains("The period is closed."))
            // acme: 7 × 0.04 = 0.28; big: 10 × 0.05 + 15 × 0.03 = 0.95.
            #expect(page.text.contains(#"<dd class="money" id="gross">1.23</dd>"#))
            #expect(page.text.contains("<code>authority:bj</code>"))

            for (query, file) in [("format=csv", "pdx-settlement-\(period).csv"), ("format=xlsx", "pdx-settlement-\(period).xlsx"),
                                  ("format=json&party=authority%3Abj", "pdx-settlement-\(period)-authority-bj.json")] {
                let download = try await fin.send(.get, "/console/finance/\(period)/report?\(query)")
                #expect(download.status == .ok, "\(query)")
                #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(file)\"")
                let api = try await s.report(period, query: query, client)
                #expect(download.body == api.body, "the console serves the API's bytes for \(query)")
            }
            let pdf = try await fin.send(.get, "/console/finance/\(period)/report?format=pdf")
            #expect(pdf.status == .badRequest)
            #expect(pdf.text.contains("Choose JSON, CSV or XLSX"))
            let nobody = try await fin.send(.get, "/console/finance/\(period)/report?format=csv&party=nobody")
            #expect(nobody.status == .unprocessableContent, "as the API answers it")
            #expect(nobody.text.contains("<code>invalid_party</code>"))
            #expect(try await fin.send(.get, "/console/finance/2026-13").status == .notFound)
            #expect(try await fin.send(.get, "/console/finance?year=1999").status == .badRequest)

            // A correction of a closed line is booked into the open period after it.
            let line = try #require(lines(try await s.report(period, client).json()).first?["line_id"] as? String)
            #expect(page.text.contains("<code>\(line)</code>"), "the closed period lists its lines with their ids")
            let next = calendar.period(of: calendar.end(of: period))
            let nextPage = try await fin.send(.get, "/console/finance/\(next)")
            #expect(nextPage.text.contains(#"action="/console/finance/\#(next)/adjustments""#))
            let token = try Browser.csrf(nextPage)
            func once() throws -> String {
                let marker = #"name="once" value=""#
                let start = try #require(nextPage.text.range(of: marker)).upperBound
                return String(nextPage.text[start...].prefix { $0 != "\"" })
            }
            let before = try await runtime.log.head().size
            for (form, status, code) in [
                ([("amount_minor", "1.5"), ("corrects", line), ("reason", "x")], HTTPResponse.Status.badRequest, "invalid_amount"),
                ([("amount_minor", "-5"), ("corrects", line), ("reason", "  ")], .unprocessableContent, "reason_required"),
                ([("amount_minor", "-5"), ("corrects", "ln_nothing"), ("reason", "refund")], .unprocessableContent, "line_not_found"),
            ] {
                // Each post is a newly opened form, with its own one-time token.
                let page = try await fin.send(.get, "/console/finance/\(next)")
                let marker = #"name="once" value=""#
                let onceToken = String(page.text[try #require(page.text.range(of: marker)).upperBound...].prefix { $0 != "\"" })
                let refused = try await fin.send(.post, "/console/finance/\(next)/adjustments",
                                                 form: [("csrf", token), ("once", onceToken)] + form)
                #expect(refused.status == status, "\(code)")
                #expect(refused.text.contains("<code>\(code)</code>"), "\(code)")
            }
            #expect(try await runtime.log.head().size == before, "refused adjustments write nothing")
            let adjustment = [("csrf", token), ("once", try once()), ("amount_minor", "-5"), ("corrects", line),
                              ("reason", "duplicate calls refunded")]
            let booked = try await fin.send(.post, "/console/finance/\(next)/adjustments", form: adjustment)
            #expect(booked.status == .seeOther)
            // A double click sends the same form twice: it books once.
            let twice = try await fin.send(.post, "/console/finance/\(next)/adjustments", form: adjustment)
            #expect(twice.status == .seeOther)
            let noToken = try await fin.send(.post, "/console/finance/\(next)/adjustments", form: Array(adjustment.filter { $0.0 != "once" }))
            #expect(noToken.status == .badRequest)
            let listed = try await client.request(.get, "/v1/settlements/\(next)/adjustments", key: s.m.actors["fin"]).json()
            let items = try #require(listed["items"] as? [[String: Any]])
            #expect(items.count == 1 && items.first?["amount_minor"] as? Int == -5 && items.first?["corrects"] as? String == line)
            let shown = try await fin.send(.get, "/console/finance/\(next)?booked=1")
            #expect(shown.text.contains("The adjustment is booked.") && shown.text.contains("duplicate calls refunded"))
            #expect(shown.text.contains("<code>\(s.m.actors.ids["fin"]!)</code>"), "booked as the signed-in person")

            let chart = try await fin.send(.get, "/console/finance?year=\(period.year)")
            #expect(chart.text.contains(#"<svg id="revenue-chart""#))
            #expect(chart.text.contains("<title>\(period) bj: 0.37</title>"), "bj's 30% of 1.23, by line")
            #expect(chart.text.contains(#"<td>closed</td><td class="money">1.23</td>"#))
        }
    }

    @Test("an auditor reads but does not close; a reviewer and an operator see no finance pages", arguments: Backend.available)
    func roles(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let period = MarketCalendar().period(of: s.start)
            let auditor = Browser(client)
            #expect(try await auditor.signIn(s.m.actors["aud"]).status == .seeOther)
            let page = try await auditor.send(.get, "/console/finance/\(period)")
            #expect(page.status == .ok)
            #expect(!page.text.contains("/close\""))
            #expect(try await auditor.send(.get, "/console/finance/\(period)/close").status == .forbidden)
            let home = try await auditor.send(.get, "/console/")
            let size = try await runtime.log.head().size
            #expect(try await auditor.send(.post, "/console/finance/\(period)/close", form: [("csrf", try Browser.csrf(home))]).status == .forbidden)
            #expect(try await runtime.log.head().size == size)
            for name in ["bj-a", "acme"] {
                let other = Browser(client)
                #expect(try await other.signIn(s.m.actors[name]).status == .seeOther)
                #expect(try await other.send(.get, "/console/finance").status == .forbidden, "\(name)")
                #expect(try await other.send(.get, "/console/finance/\(period)").status == .forbidden, "\(name)")
            }
        }
    }

    @Test("money in yuan with thousands separators, and negative amounts")
    func money() {
        #expect(Money.format(0) == "0.00")
        #expect(Money.format(5) == "0.05")
        #expect(Money.format(123_456_789) == "1,234,567.89")
        #expect(Money.format(-100_000) == "-1,000.00")
        #expect(Money.format(Int64.min) == "-92,233,720,368,547,758.08")
    }
}
