import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PDXTesting
import Testing

/// Reviewers' catalogue pages and the auditor's export download.
@Suite("Console: the catalogue for reviewers, the export for auditors")
struct ConsoleCatalogueTests {
    typealias Browser = ConsoleTests.Browser

    /// The value of hidden field `name` in the first form on `page` that has one.
    static func field(_ name: String, _ page: TestResponse) throws -> String {
        let marker = #"name="\#(name)" value=""#
        let start = try #require(page.text.range(of: marker)).upperBound
        return String(page.text[start...].prefix { $0 != "\"" })
    }

    static func publishForm(_ page: TestResponse, id: String, title: String, fields: String) throws -> [(String, String)] {
        [("csrf", try Browser.csrf(page)), ("once", try field("once", page)), ("id", id), ("title", title),
         ("description", "Hourly flow"), ("theme", "traffic"), ("openness", "open"), ("grade", "general"), ("delivery", "declared"),
         ("fields", fields), ("unit_call", "1"), ("price_call", "0.05"), ("revenue_share_bps", "3000")]
    }

    @Test("a reviewer publishes, previews a reclassification with the grants it would suspend, and only the confirmation writes",
          arguments: Backend.available)
    func publishPreviewConfirm(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let bj = Browser(client, language: "en")
            #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
            #expect(try await bj.send(.get, "/console/").text.contains(#"href="/console/catalogue""#))
            #expect(try await bj.send(.get, "/console/catalogue").text.contains(#"id="catalogue-empty""#))

            let form = try await bj.send(.get, "/console/catalogue/new")
            #expect(form.status == .ok)
            var size = try await runtime.log.head().size
            let badLine = try await bj.send(.post, "/console/catalogue/new",
                                            form: try Self.publishForm(form, id: "bj-flow", title: "Flow", fields: "road_id"))
            #expect(badLine.status == .badRequest)
            #expect(badLine.text.contains("invalid_field_line"))
            #expect(badLine.text.contains(#"value="bj-flow""#), "a refused form comes back as it was sent")
            let badName = try await bj.send(.post, "/console/catalogue/new",
                                            form: try Self.publishForm(badLine, id: "BJ FLOW", title: "Flow", fields: "road_id string"))
            #expect(badName.status == .unprocessableContent || badName.status == .badRequest)
            #expect(badName.text.contains("invalid_dataset_id"), "the API's code for the same problem")
            #expect(try await runtime.log.head().size == size, "a refused form writes nothing")

            let fresh = try await bj.send(.get, "/console/catalogue/new")
            let good = try Self.publishForm(fresh, id: "bj-flow", title: "<b>Flow</b>",
                                            fields: "road_id string filterable\nflow integer\nplate string sensitive")
            let published = try await bj.send(.post, "/console/catalogue/new", form: good)
            #expect(published.status == .seeOther)
            #expect(published.headers[.location] == "/console/catalogue/bj-flow?published=1")
            #expect(try await bj.send(.post, "/console/catalogue/new", form: good).status == .seeOther, "a double click")
            #expect(try await actions(runtime, from: size) == ["dataset.published"], "published once")
            let page = try await bj.send(.get, "/console/catalogue/bj-flow?published=1")
            #expect(page.text.contains("&lt;b&gt;Flow&lt;/b&gt;"))
            #expect(!page.text.contains("<b>Flow</b>"))
            #expect(page.text.contains(#"<td><code>plate</code></td><td>string</td><td><strong class="sensitive">"#))
            #expect(try await bj.send(.get, "/console/catalogue").text.contains(#"href="/console/catalogue/bj-flow""#))

            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-flow", "0.04")]), client)
            let grantID = try #require(grant["id"] as? String)
            #expect(grant["status"] as? String == "active")

            // The preview lists the grant and writes nothing.
            size = try await runtime.log.head().size
            let csrf = try Browser.csrf(page)
            let preview = try await bj.send(.post, "/console/catalogue/bj-flow/preview",
                                            form: [("csrf", csrf), ("openness", "conditional"), ("grade", "general"),
                                                   ("price_call", "0.05"), ("reason", "needs <review>")])
            #expect(preview.status == .ok)
            #expect(preview.text.contains(#"href="/console/review/grants/\#(grantID)""#))
            #expect(preview.text.contains("<code>\(m.operators["acme"]!)</code></td><td>active</td>"))
            #expect(preview.text.contains(#"<strong class="sensitive">suspended</strong>"#))
            #expect(preview.text.contains("needs &lt;review&gt;"))
            #expect(try await runtime.log.head().size == size, "a preview writes nothing")
            #expect(try await client.request(.get, "/v1/grants/\(grantID)", key: m.actors.admin).json()["status"] as? String == "active")

            // A confirmation without the session's token is refused.
            var confirm = [("once", try Self.field("once", preview)), ("version", try Self.field("version", preview)),
                           ("openness", "conditional"), ("grade", "general"), ("price_call", "0.05"), ("reason", "needs <review>")]
            #expect(try await bj.send(.post, "/console/catalogue/bj-flow/confirm", form: confirm).status == .forbidden)
            #expect(try await runtime.log.head().size == size)
            confirm.insert(("csrf", csrf), at: 0)
            let confirmed = try await bj.send(.post, "/console/catalogue/bj-flow/confirm", form: confirm)
            #expect(confirmed.status == .seeOther)
            #expect(try await bj.send(.post, "/console/catalogue/bj-flow/confirm", form: confirm).status == .seeOther, "a double click")
            #expect(try await actions(runtime, from: size) == ["dataset.reclassified", "grant.suspended"], "changed once")
            #expect(try await client.request(.get, "/v1/grants/\(grantID)", key: m.actors.admin).json()["status"] as? String == "suspended")
            #expect(try await bj.send(.get, "/console/catalogue/bj-flow?done=1").text.contains(#"<dd id="openness">conditional</dd>"#))

            // A preview made stale by a change through the API is not confirmed: a fresh preview instead.
            let stale = try await bj.send(.post, "/console/catalogue/bj-flow/preview",
                                          form: [("csrf", csrf), ("openness", "conditional"), ("grade", "important"),
                                                 ("price_call", "0.05"), ("reason", "sensitive plates")])
            #expect(stale.status == .ok)
            let repriced = try await client.request(.patch, "/v1/datasets/bj-flow", key: m.actors["bj-b"],
                                                    body: #"{"ceiling_prices":{"call":"0.06"},"reason":"new tariff"}"#)
            #expect(repriced.status == .ok, "\(repriced.text)")
            size = try await runtime.log.head().size
            let refused = try await bj.send(.post, "/console/catalogue/bj-flow/confirm",
                                            form: [("csrf", csrf), ("once", try Self.field("once", stale)),
                                                   ("version", try Self.field("version", stale)), ("openness", "conditional"),
                                                   ("grade", "important"), ("price_call", "0.05"), ("reason", "sensitive plates")])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("The dataset changed after your preview"))
            #expect(try Self.field("version", refused) != (try Self.field("version", stale)), "the fresh preview is on the new version")
            #expect(try await runtime.log.head().size == size, "a stale confirmation writes nothing")

            // Another authority's reviewer does not see the dataset; an operator has no catalogue pages.
            let tj = Browser(client)
            #expect(try await tj.signIn(m.actors["tj-a"]).status == .seeOther)
            #expect(try await tj.send(.get, "/console/catalogue/bj-flow").status == .notFound)
            let tjHome = try await tj.send(.get, "/console/")
            #expect(try await tj.send(.post, "/console/catalogue/bj-flow/preview",
                                      form: [("csrf", try Browser.csrf(tjHome)), ("openness", "closed"), ("reason", "x")]).status == .notFound)
            let acme = Browser(client)
            #expect(try await acme.signIn(m.actors["acme"]).status == .seeOther)
            #expect(try await acme.send(.get, "/console/catalogue").status == .forbidden)
            #expect(try await acme.send(.get, "/console/catalogue/new").status == .forbidden)
        }
    }

    @Test("a preview of a change touching more grants than a page lists one page with the count; the change acts on all",
          arguments: Backend.available)
    func previewPages(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-flow", by: "bj-a", client).status == .created)
            #expect(try await m.publish("tj-flow", by: "tj-a", client).status == .created)
            let rows = ConsoleRoutes<BasicRequestContext>.previewRows
            // Grants of two operators, some also on another authority's dataset: each is judged with
            // its own operator and both its datasets.
            var grants: [String] = []
            for n in 0..<(rows + 3) {
                let datasets = n % 2 == 0 ? [("bj-flow", "0.04")] : [("bj-flow", "0.04"), ("tj-flow", "0.04")]
                let grant = try await m.requestGrant(n % 3 == 0 ? "big" : "acme", LicensingMarket.grantBody(datasets), client)
                grants.append(try #require(grant["id"] as? String))
            }
            let bj = Browser(client, language: "en")
            #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
            let csrf = try Browser.csrf(try await bj.send(.get, "/console/catalogue/bj-flow"))
            let change = [("csrf", csrf), ("openness", "conditional"), ("grade", "general"), ("price_call", "0.05"),
                          ("price_record", "0.001"), ("reason", "needs review")]
            func listed(_ page: TestResponse) -> [String] {
                grants.filter { page.text.contains(#"href="/console/review/grants/\#($0)""#) }
            }
            let first = try await bj.send(.post, "/console/catalogue/bj-flow/preview", form: change)
            #expect(first.status == .ok)
            #expect(first.text.contains(#"<dd id="affected-total">\#(rows + 3)</dd>"#))
            #expect(first.text.contains(#"<dd id="affected-shown">1–\#(rows)</dd>"#))
            #expect(listed(first).count == rows)
            #expect(first.text.contains(#"name="page" value="2""#) && !first.text.contains(#"name="page" value="0""#))
            let second = try await bj.send(.post, "/console/catalogue/bj-flow/preview", form: change + [("page", "2")])
            #expect(second.text.contains(#"<dd id="affected-shown">\#(rows + 1)–\#(rows + 3)</dd>"#))
            #expect(Set(listed(second)).isDisjoint(with: listed(first)) && listed(second).count == 3)
            #expect(second.text.contains(#"name="page" value="1""#) && !second.text.contains(#"name="page" value="3""#))
            let beyond = try await bj.send(.post, "/console/catalogue/bj-flow/preview", form: change + [("page", "999999999999999999999")])
            #expect(beyond.status == .ok && listed(beyond).count == rows, "a page that is no number is the first")
            let last = try await bj.send(.post, "/console/catalogue/bj-flow/preview", form: change + [("page", "40")])
            #expect(listed(last) == listed(second), "a page past the end is the last")

            let size = try await runtime.log.head().size
            let confirmed = try await bj.send(.post, "/console/catalogue/bj-flow/confirm",
                                              form: change + [("once", try Self.field("once", second)), ("version", try Self.field("version", second))])
            #expect(confirmed.status == .seeOther)
            let acted = try await actions(runtime, from: size)
            #expect(acted.filter { $0 == "grant.suspended" }.count == rows + 3, "the change suspends every grant, not one page of them")
            for id in grants {
                #expect(try await client.request(.get, "/v1/grants/\(id)", key: m.actors.admin).json()["status"] as? String == "suspended")
            }
        }
    }

    @Test("a form over the console's limit is a 413 page in the person's language, and nothing is done; a long Chinese form fits",
          arguments: Backend.available)
    func formTooLarge(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            let limit = ConsoleDependencies.defaultMaxFormBytes
            for (language, phrase) in [("en", "larger than the console accepts"), ("zh-CN", "超过了控制台可接受的大小")] {
                let bj = Browser(client, language: language)
                #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
                let form = try await bj.send(.get, "/console/catalogue/new")
                let size = try await runtime.log.head().size
                var fields = try Self.publishForm(form, id: "bj-big", title: "Big", fields: "road_id string")
                fields.append(("description", String(repeating: "x", count: limit)))
                let refused = try await bj.send(.post, "/console/catalogue/new", form: fields)
                #expect(refused.status == .contentTooLarge)
                #expect(refused.headers[.contentType]?.hasPrefix("text/html") == true, "the console's page, not problem+json")
                #expect(refused.text.contains(phrase))
                #expect(refused.text.contains(#"<html lang="\#(language == "en" ? "en" : "zh-CN")""#))
                #expect(try await runtime.log.head().size == size, "nothing done")
                #expect(try await client.request(.get, "/v1/datasets/bj-big", key: m.actors.admin).status == .notFound)
                // Before sign-in too: the sign-in form is refused the same way.
                let stranger = Browser(client, language: language)
                let signIn = try await stranger.send(.get, "/console/sign-in")
                let big = try await stranger.send(.post, "/console/sign-in",
                                                  form: [("csrf", try Browser.csrf(signIn)), ("api_key", String(repeating: "k", count: limit))])
                #expect(big.status == .contentTooLarge && big.text.contains(phrase))
                #expect(stranger.cookies["pdx_session"] == nil)
            }
            // The API keeps its own limit and its problem+json.
            let api = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"],
                                               body: String(repeating: " ", count: market.configuration.maxBodyBytes + 1))
            #expect(api.status == .contentTooLarge)
            #expect(try api.problem()["code"] as? String == "payload_too_large")

            // The publish form at its longest in Chinese (nine bytes a character once percent-encoded) fits.
            let bj = Browser(client, language: "zh-CN")
            #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
            var fields = try Self.publishForm(try await bj.send(.get, "/console/catalogue/new"), id: "bj-long", title: "长说明",
                                              fields: "road_id string")
            fields.removeAll { $0.0 == "description" }
            fields.append(("description", String(repeating: "路", count: 4_000)))
            let published = try await bj.send(.post, "/console/catalogue/new", form: fields)
            #expect(published.status == .seeOther, "\(published.text.prefix(400))")
        }
    }

    @Test("an auditor downloads the export of the latest checkpoint as a tar file: the bytes pdx audit export writes",
          arguments: Backend.available)
    func exportDownload(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, client)
            try await actors.principal("finance", role: .finance, client)
            try await ConsoleAuditTests.append(300, action: "test.bulk", actor: "pr_bulk", to: runtime)
            let note = try await runtime.log.signCheckpoint()
            try await ConsoleAuditTests.append(2, action: "test.after", actor: "pr_bulk", to: runtime)
            let size = try Checkpoint.parse(note.text).size

            let auditor = Browser(client, language: "en")
            #expect(try await auditor.signIn(actors["auditor"]).status == .seeOther)
            let audit = try await auditor.send(.get, "/console/audit")
            #expect(audit.text.contains(#"href="/console/audit/export""#))
            #expect(audit.text.contains("pdx-verify pdx-audit-\(size) --vkey pdx.vkey"))
            #expect(audit.text.contains(escape(try await runtime.log.verifierKeysInForce()[0])))

            let download = try await auditor.send(.get, "/console/audit/export")
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "application/x-tar")
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"pdx-audit-\(size).tar\"")

            // Unpacked by the system's tar, it is the export of that checkpoint, file for file.
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("console-export-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: base) }
            try FileManager.default.createDirectory(atPath: base + "/unpacked", withIntermediateDirectories: true)
            try Data(download.body.readableBytesView).write(to: URL(fileURLWithPath: base + "/export.tar"))
            let tar = try await Executables.launchTool("/usr/bin/tar", ["-xf", base + "/export.tar", "-C", base + "/unpacked"])
            #expect(tar.status == 0, "\(tar.error)")
            _ = try await runtime.log.export(checkpoint: note, to: base + "/direct")
            let unpacked = base + "/unpacked/pdx-audit-\(size)"
            let files = try TarFile.files(under: base + "/direct")
            #expect(files.contains("checkpoint") && files.contains("vkey") && files.count > 3)
            #expect(try TarFile.files(under: unpacked) == files)
            for file in files {
                #expect(FileManager.default.contents(atPath: unpacked + "/" + file) == FileManager.default.contents(atPath: base + "/direct/" + file),
                        "\(file)")
            }
            #expect(String(decoding: FileManager.default.contents(atPath: unpacked + "/checkpoint") ?? Data(), as: UTF8.self) == note.serialized)
            // Streamed piece by piece, it is still the one archive of those files, of the length it announced.
            var whole = TarFile()
            for file in files {
                try whole.append("pdx-audit-\(size)/" + file, contents: Array(FileManager.default.contents(atPath: base + "/direct/" + file) ?? Data()))
            }
            #expect(Array(download.body.readableBytesView) == whole.finished())
            #expect(download.headers[.contentLength] == String(download.body.readableBytes))

            let finance = Browser(client)
            #expect(try await finance.signIn(actors["finance"]).status == .seeOther)
            #expect(try await finance.send(.get, "/console/audit/export").status == .forbidden)
            #expect(!(try await finance.send(.get, "/console/audit").text.contains("/console/audit/export")))
        }
    }

    @Test("a tar member name too long for ustar is split at a slash, or refused")
    func tarNames() throws {
        var tar = TarFile()
        let long = String(repeating: "d", count: 80) + "/" + String(repeating: "f", count: 90)
        try tar.append(long, contents: [1, 2, 3])
        let header = Array(tar.finished().prefix(512))
        #expect(String(decoding: header[0..<90], as: UTF8.self) == String(repeating: "f", count: 90))
        #expect(String(decoding: header[345..<425], as: UTF8.self) == String(repeating: "d", count: 80))
        #expect(throws: TarFile.NameTooLong.self) { try tar.append(String(repeating: "x", count: 120), contents: []) }
        #expect(tar.finished().count % 512 == 0)
    }
}
