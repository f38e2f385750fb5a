import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

/// Reviewers' pages: the inbox of applications, an application, and the review form.
@Suite("Console: reviewing operators")
struct ConsoleReviewTests {
    typealias Browser = ConsoleTests.Browser

    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> (Actors, String) {
        var actors = Actors(admin: try market.adminToken)
        for id in ["bj", "tj"] { try await Actors.authority(id, client, admin: actors.admin) }
        try await actors.principal("reviewer-a", role: .authorityReviewer, authority: "bj", client)
        try await actors.principal("reviewer-b", role: .authorityReviewer, authority: "tj", client)
        try await actors.principal("finance", role: .finance, client)
        try await actors.principal("acme", role: .operator, client)
        let applied = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application(tier: "enhanced"))
        #expect(applied.status == .created, "\(applied.text)")
        return (actors, try #require(try applied.json()["id"] as? String))
    }

    static func status(_ id: String, _ client: any TestClientProtocol, _ key: String) async throws -> String? {
        try await client.request(.get, "/v1/operators/\(id)", key: key).json()["status"] as? String
    }

    @Test("an enhanced application through the inbox: two reviewers approve it, refusals shown with their codes, nothing half-written",
          arguments: Backend.available)
    func reviewThroughTheConsole(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let (actors, id) = try await Self.setUp(market, client)
            let a = Browser(client, language: "en")
            #expect(try await a.signIn(actors["reviewer-a"]).status == .seeOther)
            let inbox = try await a.send(.get, "/console/review/operators")
            #expect(inbox.status == .ok)
            #expect(inbox.text.contains(#"href="/console/review/operators/\#(id)""#))
            #expect(inbox.text.contains("华为技术有限公司"))

            let page = try await a.send(.get, "/console/review/operators/\(id)")
            #expect(page.status == .ok)
            #expect(page.text.contains("914403001922038216"))
            #expect(page.text.contains(String(repeating: "ab", count: 32)), "the documents' digests")
            #expect(page.text.contains("Li Wei"), "a reviewer sees the security officer")
            #expect(page.text.contains(#"<span id="approvals">0 / 2</span>"#))
            #expect(page.text.contains(#"action="/console/review/operators/\#(id)/review""#))
            let csrf = try Browser.csrf(page)
            let size = try await runtime.log.head().size

            // Forged, undecided and unlawful reviews write nothing.
            let forged = try await a.send(.post, "/console/review/operators/\(id)/review", form: [("csrf", "x"), ("decision", "approve")])
            #expect(forged.status == .forbidden)
            let undecided = try await a.send(.post, "/console/review/operators/\(id)/review", form: [("csrf", csrf), ("decision", "maybe")])
            #expect(undecided.status == .badRequest)
            #expect(undecided.text.contains("invalid_decision"))
            let noReason = try await a.send(.post, "/console/review/operators/\(id)/review", form: [("csrf", csrf), ("decision", "reject")])
            #expect(noReason.status == .unprocessableContent)
            #expect(noReason.text.contains("<code>reason_required</code>"))
            #expect(try await runtime.log.head().size == size)
            #expect(try await Self.status(id, client, actors.admin) == "submitted")

            let approved = try await a.send(.post, "/console/review/operators/\(id)/review",
                                            form: [("csrf", csrf), ("decision", "approve"), ("reason", "licence checked")])
            #expect(approved.status == .seeOther)
            #expect(approved.headers[.location] == "/console/review/operators/\(id)?reviewed=1")
            let after = try await a.send(.get, "/console/review/operators/\(id)?reviewed=1")
            #expect(after.text.contains("The decision is recorded."))
            #expect(after.text.contains(#"<span id="approvals">1 / 2</span>"#))
            #expect(after.text.contains("licence checked"))
            #expect(try await runtime.log.head().size > size)
            // The same reviewer again: the two-person rule refuses, as the API does.
            let twice = try await a.send(.post, "/console/review/operators/\(id)/review", form: [("csrf", csrf), ("decision", "approve")])
            #expect(twice.status == .conflict)
            #expect(try await Self.status(id, client, actors.admin) == "submitted")

            let b = Browser(client)
            #expect(try await b.signIn(actors["reviewer-b"]).status == .seeOther)
            let second = try await b.send(.get, "/console/review/operators/\(id)")
            let done = try await b.send(.post, "/console/review/operators/\(id)/review",
                                        form: [("csrf", try Browser.csrf(second)), ("decision", "approve"), ("reason", "MLPS filing checked")])
            #expect(done.status == .seeOther)
            #expect(try await Self.status(id, client, actors.admin) == "approved")
            let final = try await b.send(.get, "/console/review/operators/\(id)")
            #expect(!final.text.contains("/review\""), "a decided application has no form")
            #expect(try await b.send(.get, "/console/review/operators").text.contains(#"id="inbox-empty""#))
        }
    }

    @Test("finance may read an application but not review it; an operator sees no inbox", arguments: Backend.available)
    func rolesFollowTheAPI(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let (actors, id) = try await Self.setUp(market, client)
            let finance = Browser(client)
            #expect(try await finance.signIn(actors["finance"]).status == .seeOther)
            let page = try await finance.send(.get, "/console/review/operators/\(id)")
            #expect(page.status == .ok)
            #expect(!page.text.contains("Li Wei") && !page.text.contains("security@example.com"),
                    "finance does not see the security officer")
            #expect(!page.text.contains("/review\""))
            let home = try await finance.send(.get, "/console/")
            let refused = try await finance.send(.post, "/console/review/operators/\(id)/review",
                                                 form: [("csrf", try Browser.csrf(home)), ("decision", "approve")])
            #expect(refused.status == .forbidden)
            #expect(try await Self.status(id, client, actors.admin) == "submitted")

            let acme = Browser(client)
            #expect(try await acme.signIn(actors["acme"]).status == .seeOther)
            #expect(try await acme.send(.get, "/console/review/operators").status == .forbidden)
            #expect(try await acme.send(.get, "/console/review/operators/\(id)").status == .forbidden)
            #expect(try await acme.send(.get, "/console/review/operators/op_missing").status == .forbidden)
            let admin = Browser(client)
            #expect(try await admin.signIn(actors.admin).status == .seeOther)
            #expect(try await admin.send(.get, "/console/review/operators/op_missing").status == .notFound)
        }
    }
}
