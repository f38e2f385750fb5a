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

/// The dataset page's edit form: title, description and fields' sensitivity, through the same
/// preview and confirmation as a reclassification.
@Suite("Console: editing a dataset's description and its fields' sensitivity")
struct ConsoleDatasetEditTests {
    typealias Browser = ConsoleTests.Browser

    @Test("marking a field sensitive is previewed with the grants it would suspend; a new description alone suspends none",
          arguments: Backend.available)
    func editThroughPreview(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-flow", by: "bj-a", title: "Flow <i>", client).status == .created)
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-flow", "0.04")], fields: ["road_id", "flow"]), client)
            let grantID = try #require(grant["id"] as? String)

            let bj = Browser(client, language: "en")
            #expect(try await bj.signIn(m.actors["bj-a"]).status == .seeOther)
            let page = try await bj.send(.get, "/console/catalogue/bj-flow")
            #expect(page.text.contains(#"name="title" maxlength="200" required value="Flow &lt;i&gt;""#), "the title as it is, escaped")
            #expect(page.text.contains(#"name="sensitive_plate" value="1" checked>"#))
            #expect(page.text.contains(#"name="sensitive_flow" value="1">"#))
            let csrf = try Browser.csrf(page)
            // What the form sends: every field of the form, the flow box ticked, the plate box still ticked.
            let form = [("csrf", csrf), ("title", "Flow <script>"), ("description", "Per hour.\r\nFrom loops."), ("fields_shown", "1"),
                        ("sensitive_plate", "1"), ("sensitive_flow", "1"), ("openness", "open"), ("grade", "general"),
                        ("price_call", "0.05"), ("price_record", "0.001"), ("reason", "Flow identifies residents")]
            let size = try await runtime.log.head().size
            let preview = try await bj.send(.post, "/console/catalogue/bj-flow/preview", form: form)
            #expect(preview.status == .ok, "\(preview.text)")
            #expect(preview.text.contains("<td class=\"text\">flow (not sensitive)</td><td class=\"text\">flow (sensitive)</td>"))
            #expect(preview.text.contains("Flow &lt;script&gt;") && !preview.text.contains("Flow <script>"))
            #expect(preview.text.contains(#"href="/console/review/grants/\#(grantID)""#))
            #expect(preview.text.contains(#"<strong class="sensitive">suspended</strong>"#))
            #expect(try await runtime.log.head().size == size, "a preview writes nothing")

            let confirm = form + [("once", try ConsoleCatalogueTests.field("once", preview)),
                                  ("version", try ConsoleCatalogueTests.field("version", preview))]
            #expect(try await bj.send(.post, "/console/catalogue/bj-flow/confirm", form: confirm).status == .seeOther)
            #expect(try await actions(runtime, from: size) == ["dataset.reclassified", "grant.suspended"])
            let dataset = try await client.request(.get, "/v1/datasets/bj-flow", key: m.actors["acme"]).json()
            #expect(dataset["title"] as? String == "Flow <script>")
            #expect(dataset["description"] as? String == "Per hour.\nFrom loops.", "a browser's CR LF is kept as a line feed")
            #expect(try await client.request(.get, "/v1/grants/\(grantID)", key: m.actors.admin).json()["status"] as? String == "suspended")

            // A new description alone, in Chinese: not stricter, logged as dataset.described.
            let zh = Browser(client, language: "zh-CN")
            #expect(try await zh.signIn(m.actors["bj-b"]).status == .seeOther)
            let zhPage = try await zh.send(.get, "/console/catalogue/bj-flow")
            #expect(zhPage.text.contains("变更说明、分类或价格"))
            let describe = [("csrf", try Browser.csrf(zhPage)), ("title", "Flow <script>"), ("description", "每小时流量"),
                            ("fields_shown", "1"), ("sensitive_plate", "1"), ("sensitive_flow", "1"), ("openness", "open"),
                            ("grade", "general"), ("reason", "中文说明")]
            let zhPreview = try await zh.send(.post, "/console/catalogue/bj-flow/preview", form: describe)
            #expect(zhPreview.status == .ok)
            #expect(zhPreview.text.contains(#"id="no-affected""#))
            let next = try await runtime.log.head().size
            let done = try await zh.send(.post, "/console/catalogue/bj-flow/confirm",
                                         form: describe + [("once", try ConsoleCatalogueTests.field("once", zhPreview)),
                                                           ("version", try ConsoleCatalogueTests.field("version", zhPreview))])
            #expect(done.status == .seeOther)
            #expect(try await actions(runtime, from: next) == ["dataset.described"])

            // The same form again changes nothing: the page says so, and nothing is written.
            let unchanged = try await zh.send(.post, "/console/catalogue/bj-flow/preview", form: describe)
            #expect(unchanged.status == .unprocessableContent)
            #expect(unchanged.text.contains("no_change"))
            #expect(try await runtime.log.head().size == next + 1)
        }
    }
}
