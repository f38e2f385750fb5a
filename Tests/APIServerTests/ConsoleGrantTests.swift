import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

/// Reviewers' grant pages: the inbox, a grant's co-approval and sensitive fields, decide, suspend, reinstate.
@Suite("Console: grant requests for reviewers")
struct ConsoleGrantTests {
    typealias Browser = ConsoleTests.Browser

    /// A request for bj-open's `plate` (sensitive, with a reason) and tj-open's `flow`.
    static func request(_ m: LicensingMarket, _ client: any TestClientProtocol) async throws -> String {
        try await m.publish("bj-open", by: "bj-a", client)
        try await m.publish("tj-open", by: "tj-a", client)
        let body = """
        {"purpose":"Congestion forecasting","scenario":"industry",
         "starts_at":"\(RFC3339.format(Date().addingTimeInterval(-3_600)))","ends_at":"\(RFC3339.format(Date().addingTimeInterval(90 * 86_400)))",
         "agreement":{"id":"standard-data-use","version":"1"},"datasets":[
          {"id":"bj-open","fields":["flow","plate"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":1000},
           "justifications":{"plate":"match <fleet> vehicles to congestion events"}},
          {"id":"tj-open","fields":["flow"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":1000}}]}
        """
        let grant = try await m.requestGrant("acme", body, client)
        #expect(grant["status"] as? String == "pending")
        return try #require(grant["id"] as? String)
    }

    @Test("a reviewer decides for its authority, sees the sensitive field and why, then suspends and reinstates",
          arguments: Backend.available)
    func decideSuspendReinstate(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let id = try await Self.request(m, client)
            let bj = Browser(client, language: "en")
            #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
            let inbox = try await bj.send(.get, "/console/review/grants")
            #expect(inbox.text.contains(#"href="/console/review/grants/\#(id)""#))
            #expect(inbox.text.contains(#"<strong class="sensitive">1</strong>"#))
            let tj = Browser(client)
            #expect(try await tj.signIn(m.actors["tj-a"]).status == .seeOther)
            #expect(!(try await tj.send(.get, "/console/review/grants").text.contains(id)), "tj-open is open: tj is not asked")

            let page = try await bj.send(.get, "/console/review/grants/\(id)")
            #expect(page.text.contains("<code>plate</code> (sensitive)"))
            #expect(page.text.contains("Why: match &lt;fleet&gt; vehicles to congestion events"))
            #expect(page.text.contains("<td><code>bj</code></td><td>awaiting</td>"))
            #expect(page.text.contains("/decision\""))
            let csrf = try Browser.csrf(page)
            let size = try await runtime.log.head().size
            let noReason = try await bj.send(.post, "/console/review/grants/\(id)/decision", form: [("csrf", csrf), ("decision", "reject")])
            #expect(noReason.status == .unprocessableContent)
            #expect(noReason.text.contains("role=\"alert\""))
            #expect(try await runtime.log.head().size == size)

            let approved = try await bj.send(.post, "/console/review/grants/\(id)/decision",
                                             form: [("csrf", csrf), ("decision", "approve"), ("reason", "fleet use justified")])
            #expect(approved.status == .seeOther)
            let active = try await bj.send(.get, "/console/review/grants/\(id)?done=1")
            #expect(active.text.contains(#"<dd id="grant-status">active</dd>"#))
            #expect(active.text.contains("fleet use justified"))
            #expect(!active.text.contains("/decision\""), "decided: no form")
            #expect(try await bj.send(.get, "/console/review/grants").text.contains(#"id="inbox-empty""#))
            for inbox in ["/console/review/grants", "/console/review/operators"] {
                let forged = try await bj.send(.get, "\(inbox)?cursor=not-a-cursor")
                #expect(forged.status == .badRequest, "\(inbox)")
                #expect(forged.text.contains("The page link is not valid"), "\(inbox)")
            }

            #expect(try await bj.send(.post, "/console/review/grants/\(id)/suspend", form: [("csrf", csrf)]).status == .unprocessableContent,
                    "a suspension needs a reason")
            #expect(try await bj.send(.post, "/console/review/grants/\(id)/suspend",
                                      form: [("csrf", csrf), ("reason", "audit of fleet use")]).status == .seeOther)
            let suspended = try await client.request(.get, "/v1/grants/\(id)", key: m.actors.admin).json()
            #expect(suspended["status"] as? String == "suspended")
            #expect(try await bj.send(.post, "/console/review/grants/\(id)/reinstate",
                                      form: [("csrf", csrf), ("reason", "audit closed")]).status == .seeOther)
            #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors.admin).json()["status"] as? String == "active")
        }
    }

    @Test("another authority's reviewer cannot see or act on a grant it takes no part in", arguments: Backend.available)
    func otherAuthorities(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let id = try await Self.request(m, client)
            let hb = Browser(client)
            #expect(try await hb.signIn(m.actors["hb-a"]).status == .seeOther)
            #expect(try await hb.send(.get, "/console/review/grants/\(id)").status == .notFound)
            let home = try await hb.send(.get, "/console/")
            let size = try await runtime.log.head().size
            let refused = try await hb.send(.post, "/console/review/grants/\(id)/decision",
                                            form: [("csrf", try Browser.csrf(home)), ("decision", "approve")])
            #expect((400..<500).contains(Int(refused.status.code)))
            #expect(try await runtime.log.head().size == size)
            #expect(try await hb.send(.post, "/console/review/grants/\(id)/bogus", form: [("csrf", try Browser.csrf(home))]).status == .notFound)
            let acme = Browser(client)
            #expect(try await acme.signIn(m.actors["acme"]).status == .seeOther)
            #expect(try await acme.send(.get, "/console/review/grants").status == .forbidden)
            #expect(try await acme.send(.get, "/console/review/grants/\(id)").status == .forbidden)
        }
    }
}
