import AuditLog
import Cryptography
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Licensing
import Marketplace
import Persistence
import Vetting

/// Reviewers' catalogue: their authority's datasets, publishing one, and changing one's title,
/// description, fields' sensitivity, openness, grade or ceiling prices (what `PATCH /v1/datasets/{id}`
/// changes) behind a preview that lists the grants the change would suspend or deny. Every action is `CatalogService`'s, under the API's role
/// table; only the confirmation writes.
extension ConsoleRoutes {
    static var cataloguePath: String { "/console/catalogue" }

    /// The signed-in reviewer's authority, when the role table lets it do `operation`.
    func catalogueAuthority(_ session: ConsoleSession, _ operation: String) -> String? {
        let principal = session.principal
        guard principal.role == .authorityReviewer, dependencies.permitted(principal.role, operation) else { return nil }
        return principal.authorityID
    }

    func catalogue(_ path: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        let method = exchange.request.method
        let rest = path == Self.cataloguePath ? []
            : path.dropFirst(Self.cataloguePath.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (method, rest.count, rest.last) {
        case (.get, 0, _): return try await datasetList(session, exchange)
        case (.get, 1, "new"): return try publishForm(session, language, values: [:], status: .ok, error: nil)
        case (.post, 1, "new"): return try await publishDataset(session, exchange)
        case (.get, 1, _):
            let notice: Phrase? = exchange.request.uri.queryParameters["published"] != nil ? .datasetPublished
                : exchange.request.uri.queryParameters["done"] != nil ? .actionRecorded : nil
            return try await datasetPage(rest[0], session, language, notice: notice)
        case (.post, 2, "preview"): return try await previewChange(rest[0], session, exchange)
        case (.post, 2, "confirm"): return try await confirmChange(rest[0], session, exchange)
        default: return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
    }

    // MARK: the list

    func datasetList(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard let authority = catalogueAuthority(session, "listDatasets") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let cursor = exchange.request.uri.queryParameters["cursor"].map(String.init)
        let page: DatasetPage
        do {
            page = try await dependencies.database.read { try await $0.datasets(DatasetFilter(authorityID: authority), after: cursor, limit: 50) }
        } catch let error where dependencies.refusal(error) != nil {
            return errorPage(.badRequest, .badRequestTitle, .invalidPageLink, language, session: session)
        }
        var body = "<p>\(t(.catalogueIntro))</p>"
        if catalogueAuthority(session, "publishDataset") != nil {
            body += "<p><a href=\"\(Self.cataloguePath)/new\">\(t(.publishTitle))</a></p>"
        }
        if page.datasets.isEmpty {
            body += "<p id=\"catalogue-empty\">\(t(.noDatasets))</p>"
        } else {
            body += "<table id=\"datasets\"><thead><tr><th>\(t(.datasetLabel))</th><th>\(t(.titleLabel))</th><th>\(t(.opennessLabel))</th>"
                + "<th>\(t(.gradeLabel))</th><th>\(t(.deliveryLabel))</th><th>\(t(.versionLabel))</th></tr></thead><tbody>"
            for dataset in page.datasets {
                body += "<tr><td><a href=\"\(Self.cataloguePath)/\(escape(dataset.id))\"><code>\(escape(dataset.id))</code></a></td>"
                    + "<td>\(escape(dataset.title))</td><td>\(escape(dataset.openness.rawValue))</td><td>\(escape(dataset.grade.rawValue))</td>"
                    + "<td>\(escape(dataset.delivery.rawValue))</td><td>\(dataset.version)</td></tr>"
            }
            body += "</tbody></table>"
        }
        if let next = page.nextCursor {
            body += "<p><a href=\"\(Self.cataloguePath)?cursor=\(escape(EntryBrowser.Filter.encode(next)))\">\(t(.nextPage))</a></p>"
        }
        return html(Page(language: language, title: .catalogueTitle, body: body, session: session), status: .ok)
    }

    // MARK: publishing

    /// The publish form, filled with `values` (a refused form comes back as it was sent).
    func publishForm(_ session: ConsoleSession, _ language: ConsoleLanguage, values: [String: String],
                     status: HTTPResponse.Status, error: ConsoleRefusal?) throws -> Response {
        guard catalogueAuthority(session, "publishDataset") != nil else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let v = { (name: String) in escape(values[name] ?? "") }
        func select(_ name: String, _ label: Phrase, _ options: [String], _ chosen: String?) -> String {
            let items = options.map { "<option value=\"\($0)\"\($0 == chosen ? " selected" : "")>\($0)</option>" }.joined()
            return "<label for=\"\(name)\">\(t(label))</label><select id=\"\(name)\" name=\"\(name)\">\(items)</select>"
        }
        var units = ""
        for unit in MeteringUnit.allCases.map(\.rawValue) {
            let checked = values.isEmpty ? unit == "call" : values["unit_\(unit)"] != nil
            units += "<label class=\"choice\"><input type=\"checkbox\" name=\"unit_\(unit)\" value=\"1\"\(checked ? " checked" : "")> \(unit)</label>"
            units += "<label for=\"price_\(unit)\">\(t(.ceilingLabel)) (\(unit))</label>"
                + "<input type=\"text\" id=\"price_\(unit)\" name=\"price_\(unit)\" maxlength=\"24\" inputmode=\"decimal\" value=\"\(v("price_\(unit)"))\">"
        }
        var body = error?.html(language) ?? ""
        body += """
            <form method="post" action="\(Self.cataloguePath)/new">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <input type="hidden" name="once" value="\(Hex.encode(try dependencies.random.bytes(16)))">
            <label for="id">\(t(.datasetIDLabel))</label>
            <input type="text" id="id" name="id" required maxlength="64" value="\(v("id"))">
            <label for="title">\(t(.titleLabel))</label>
            <input type="text" id="title" name="title" required maxlength="200" value="\(v("title"))">
            <label for="description">\(t(.descriptionLabel))</label>
            <textarea id="description" name="description" maxlength="4000" rows="3">\(v("description"))</textarea>
            <label for="theme">\(t(.themeLabel))</label>
            <input type="text" id="theme" name="theme" required maxlength="40" value="\(v("theme"))">
            \(select("openness", .opennessLabel, Openness.allCases.map(\.rawValue), values["openness"]))
            \(select("grade", .gradeLabel, Grade.allCases.map(\.rawValue), values["grade"]))
            \(select("delivery", .deliveryLabel, [DeliveryMode.gateway.rawValue, DeliveryMode.declared.rawValue], values["delivery"]))
            <label for="fields">\(t(.fieldsLabel))</label>
            <p id="fields-help">\(t(.fieldsHelp))</p>
            <textarea id="fields" name="fields" aria-describedby="fields-help" required maxlength="8000" rows="5">\(v("fields"))</textarea>
            <fieldset><legend>\(t(.unitsLabel))</legend>\(units)</fieldset>
            <label for="revenue_share_bps">\(t(.revenueShareLabel))</label>
            <input type="text" id="revenue_share_bps" name="revenue_share_bps" required inputmode="numeric" maxlength="5" value="\(v("revenue_share_bps"))">
            <p><button type="submit">\(t(.publishButton))</button> <a href="\(Self.cataloguePath)">\(t(.cancel))</a></p>
            </form>
            """
        return html(Page(language: language, title: .publishTitle, body: body, session: session), status: status)
    }

    func publishDataset(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard let authority = catalogueAuthority(session, "publishDataset") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        let names = ["id", "title", "description", "theme", "openness", "grade", "delivery", "fields", "revenue_share_bps"]
            + MeteringUnit.allCases.flatMap { ["unit_\($0.rawValue)", "price_\($0.rawValue)"] }
        var values: [String: String] = [:]
        for name in names { values[name] = form[name] }
        let id = (form["id"] ?? "").trimmingCharacters(in: .whitespaces)
        // A second submission of the same form (a double click) publishes nothing more.
        guard let once = form["once"], once.utf8.count == 32 else {
            return errorPage(.badRequest, .forbiddenTitle, .formExpired, language, session: session)
        }
        guard try await sessions.consume(session.id, once: once, now: dependencies.now()) else {
            return Self.redirect("\(Self.cataloguePath)/\(Self.pathSafe(id))")
        }
        do {
            let draft = try Self.draft(form, language)
            _ = try await dependencies.catalog.publish(draft, id: id, authorityID: authority, by: Reviewer(principal: session.principal))
        } catch {
            let refusal: ConsoleRefusal
            if let own = error as? ConsoleRefusal { refusal = own }
            else if let mapped = dependencies.refusal(error), (400..<500).contains(mapped.status) { refusal = mapped }
            else { throw error }
            return try publishForm(session, language, values: values, status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.cataloguePath)/\(id)?published=1")
    }

    /// The draft a publish form describes. Malformed numbers become values the catalog refuses with
    /// its own code, so the console and the API name the same problem the same way.
    static func draft(_ form: Form, _ language: ConsoleLanguage) throws -> DatasetDraft {
        var fields: [DatasetDraft.Field] = []
        for line in (form["fields"] ?? "").split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard !words.isEmpty else { continue }
            let flags = Set(words.dropFirst(2))
            guard words.count >= 2, flags.isSubset(of: ["sensitive", "filterable"]) else {
                throw ConsoleRefusal(status: 400, code: "invalid_field_line", detail: text(.fieldsHelp, language))
            }
            fields.append(.init(name: words[0], type: words[1], sensitive: flags.contains("sensitive"), filterable: flags.contains("filterable")))
        }
        let units = MeteringUnit.allCases.map(\.rawValue).filter { form["unit_\($0)"] != nil }
        var prices: [String: String] = [:]
        for unit in units { prices[unit] = (form["price_\(unit)"] ?? "").trimmingCharacters(in: .whitespaces) }
        let share = Int((form["revenue_share_bps"] ?? "").trimmingCharacters(in: .whitespaces)) ?? -1
        guard let openness = form["openness"].flatMap(Openness.init(rawValue:)),
              let grade = form["grade"].flatMap(Grade.init(rawValue:)),
              let delivery = form["delivery"].flatMap(DeliveryMode.init(rawValue:)), delivery != .upstream else {
            throw ConsoleRefusal(status: 400, code: "invalid_classification", detail: text(.chooseClassification, language))
        }
        return DatasetDraft(title: (form["title"] ?? "").trimmingCharacters(in: .whitespaces), description: form["description"] ?? "",
                            theme: (form["theme"] ?? "").trimmingCharacters(in: .whitespaces), openness: openness, grade: grade,
                            fields: fields, units: units, currency: "CNY", ceilingPrices: prices, revenueShareBPS: share,
                            delivery: delivery)
    }

    /// `text` made safe for a path segment of a redirect: only what a dataset id may hold.
    static func pathSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }.prefix(64))
    }

    // MARK: a dataset and its change

    func datasetPage(_ id: String, _ session: ConsoleSession, _ language: ConsoleLanguage, status: HTTPResponse.Status = .ok,
                     notice: Phrase? = nil, error: ConsoleRefusal? = nil) async throws -> Response {
        guard let authority = catalogueAuthority(session, "getDataset") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard id.utf8.count <= 64, let dataset = try await dependencies.database.read({ try await $0.dataset(id: id) }),
              dataset.authorityID == authority else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = ""
        if let notice { body += "<p class=\"notice\" role=\"status\">\(t(notice))</p>" }
        if let error { body += error.html(language) }
        let prices = dataset.units.map { "\(escape($0.rawValue)): \(escape(dataset.ceilingPrices[$0]?.description ?? ""))" }
        body += "<dl><dt>\(t(.datasetIDLabel))</dt><dd><code>\(escape(dataset.id))</code></dd>"
            + "<dt>\(t(.titleLabel))</dt><dd>\(escape(dataset.title))</dd>"
            + "<dt>\(t(.descriptionLabel))</dt><dd>\(escape(dataset.description))</dd>"
            + "<dt>\(t(.themeLabel))</dt><dd>\(escape(dataset.theme))</dd>"
            + "<dt>\(t(.opennessLabel))</dt><dd id=\"openness\">\(escape(dataset.openness.rawValue))</dd>"
            + "<dt>\(t(.gradeLabel))</dt><dd id=\"grade\">\(escape(dataset.grade.rawValue))</dd>"
            + "<dt>\(t(.deliveryLabel))</dt><dd>\(escape(dataset.delivery.rawValue))</dd>"
            + "<dt>\(t(.pricesLabel))</dt><dd>\(prices.joined(separator: "<br>"))</dd>"
            + "<dt>\(t(.revenueShareLabel))</dt><dd>\(dataset.revenueShareBPS)</dd>"
            + "<dt>\(t(.versionLabel))</dt><dd id=\"version\">\(dataset.version)</dd></dl>"
        body += "<h2>\(t(.fieldsLabel))</h2><table id=\"fields\"><thead><tr><th>\(t(.fieldNameLabel))</th><th>\(t(.fieldTypeLabel))</th>"
            + "<th>\(t(.sensitiveLabel))</th></tr></thead><tbody>"
        for field in dataset.fields {
            body += "<tr><td><code>\(escape(field.name))</code></td><td>\(escape(field.type.rawValue))</td>"
                + "<td>\(field.sensitive ? "<strong class=\"sensitive\">\(t(.sensitiveMark))</strong>" : "")</td></tr>"
        }
        body += "</tbody></table>"
        if catalogueAuthority(session, "updateDataset") != nil {
            body += changeForm(dataset, session, language)
        }
        body += "<p><a href=\"\(Self.cataloguePath)\">\(t(.catalogueTitle))</a></p>"
        return html(Page(language: language, title: .datasetTitle, body: body, session: session), status: status)
    }

    /// The change form: title, description, each field's sensitivity, openness, grade and ceilings as
    /// they are, and a reason; it asks for a preview.
    func changeForm(_ dataset: Dataset, _ session: ConsoleSession, _ language: ConsoleLanguage) -> String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        func select(_ name: String, _ label: Phrase, _ options: [String], _ chosen: String) -> String {
            let items = options.map { "<option value=\"\($0)\"\($0 == chosen ? " selected" : "")>\($0)</option>" }.joined()
            return "<label for=\"change-\(name)\">\(t(label))</label><select id=\"change-\(name)\" name=\"\(name)\">\(items)</select>"
        }
        let prices = dataset.units.map { unit in
            "<label for=\"change-price-\(unit.rawValue)\">\(t(.ceilingLabel)) (\(unit.rawValue))</label>"
                + "<input type=\"text\" id=\"change-price-\(unit.rawValue)\" name=\"price_\(unit.rawValue)\" maxlength=\"24\" "
                + "inputmode=\"decimal\" value=\"\(escape(dataset.ceilingPrices[unit]?.description ?? ""))\">"
        }.joined()
        // `fields_shown` tells an unticked box (not sensitive) from a form without the boxes.
        let sensitivity = dataset.fields.map { field in
            "<label><input type=\"checkbox\" name=\"sensitive_\(escape(field.name))\" value=\"1\"\(field.sensitive ? " checked" : "")> "
                + "<code>\(escape(field.name))</code></label>"
        }.joined(separator: "<br>")
        return """
            <h2>\(t(.changeTitle))</h2>
            <p>\(t(.changeIntro))</p>
            <form method="post" action="\(Self.cataloguePath)/\(escape(dataset.id))/preview">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <label for="change-title">\(t(.titleLabel))</label>
            <input type="text" id="change-title" name="title" maxlength="200" required value="\(escape(dataset.title))">
            <label for="change-description">\(t(.descriptionLabel))</label>
            <textarea id="change-description" name="description" maxlength="4000" rows="4">\(escape(dataset.description))</textarea>
            <fieldset id="change-sensitivity"><legend>\(t(.markSensitiveLabel))</legend>
            <p>\(t(.sensitivityHelp))</p>
            <input type="hidden" name="fields_shown" value="1">
            \(sensitivity)
            </fieldset>
            \(select("openness", .opennessLabel, Openness.allCases.map(\.rawValue), dataset.openness.rawValue))
            \(select("grade", .gradeLabel, Grade.allCases.map(\.rawValue), dataset.grade.rawValue))
            \(prices)
            <label for="change-reason">\(t(.reasonLabel))</label>
            <textarea id="change-reason" name="reason" maxlength="2000" rows="2" required></textarea>
            <p><button type="submit">\(t(.previewButton))</button></p>
            </form>
            """
    }

    /// The update a change form (or its confirmation) describes against `current`: only what differs
    /// is named, as a PATCH would name it.
    static func update(_ form: Form, against current: Dataset) -> DatasetUpdate {
        let openness = form["openness"].flatMap(Openness.init(rawValue:))
        let grade = form["grade"].flatMap(Grade.init(rawValue:))
        var prices: [String: String] = [:]
        for unit in current.units {
            guard let sent = form["price_\(unit.rawValue)"]?.trimmingCharacters(in: .whitespaces), !sent.isEmpty else { continue }
            if sent != current.ceilingPrices[unit]?.description { prices[unit.rawValue] = sent }
        }
        let title = form["title"]?.trimmingCharacters(in: .whitespaces)
        // Browsers send a textarea's line breaks as CR LF; the catalogue keeps line feeds.
        let description = form["description"].map(Self.lineFeeds)
        var fields: [DatasetUpdate.FieldChange] = []
        if form["fields_shown"] == "1" {
            for field in current.fields where (form["sensitive_\(field.name)"] == "1") != field.sensitive {
                fields.append(DatasetUpdate.FieldChange(name: field.name, sensitive: !field.sensitive))
            }
        }
        return DatasetUpdate(title: title == current.title ? nil : title,
                             description: description == current.description ? nil : description,
                             fields: fields.isEmpty ? nil : fields,
                             openness: openness == current.openness ? nil : openness, grade: grade == current.grade ? nil : grade,
                             ceilingPrices: prices.isEmpty ? nil : prices, reason: form["reason"])
    }

    /// `text` with each CR LF or lone CR as a line feed.
    static func lineFeeds(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    /// The affected grants a preview page lists; the count and the other pages are a click away.
    static var previewRows: Int { 50 }

    func previewChange(_ id: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard catalogueAuthority(session, "updateDataset") != nil else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        return try await preview(id, form, session, language, status: .ok, notice: nil)
    }

    /// The preview of the change `form` describes, on the dataset as it is now.
    func preview(_ id: String, _ form: Form, _ session: ConsoleSession, _ language: ConsoleLanguage,
                 status: HTTPResponse.Status, notice: Phrase?) async throws -> Response {
        guard id.utf8.count <= 64, let current = try await dependencies.database.read({ try await $0.dataset(id: id) }),
              current.authorityID == session.principal.authorityID else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let update = Self.update(form, against: current)
        let preview: CatalogPreview
        do {
            preview = try await dependencies.catalog.preview(id, with: update, by: Reviewer(principal: session.principal))
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            return try await datasetPage(id, session, language, status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let before = preview.current, after = preview.change.updated
        var body = ""
        if let notice { body += "<p class=\"error\" role=\"alert\">\(t(notice))</p>" }
        body += "<p>\(t(.previewIntro))</p><table id=\"changes\"><thead><tr><th></th><th>\(t(.beforeLabel))</th><th>\(t(.afterLabel))</th>"
            + "</tr></thead><tbody>"
        var rows: [(Phrase, String, String)] = []
        if before.title != after.title { rows.append((.titleLabel, before.title, after.title)) }
        if before.description != after.description { rows.append((.descriptionLabel, before.description, after.description)) }
        for (was, will) in zip(before.fields, after.fields) where was.sensitive != will.sensitive {
            func flag(_ field: DatasetField) -> String { "\(field.name) \(text(field.sensitive ? .sensitiveMark : .notSensitiveMark, language))" }
            rows.append((.fieldsLabel, flag(was), flag(will)))
        }
        if before.openness != after.openness { rows.append((.opennessLabel, before.openness.rawValue, after.openness.rawValue)) }
        if before.grade != after.grade { rows.append((.gradeLabel, before.grade.rawValue, after.grade.rawValue)) }
        for unit in before.units where before.ceilingPrices[unit] != after.ceilingPrices[unit] {
            rows.append((.ceilingLabel, "\(unit.rawValue): \(before.ceilingPrices[unit]?.description ?? "")",
                         "\(unit.rawValue): \(after.ceilingPrices[unit]?.description ?? "")"))
        }
        for (label, was, will) in rows {
            body += "<tr><th scope=\"row\">\(t(label))</th><td class=\"text\">\(escape(was))</td><td class=\"text\">\(escape(will))</td></tr>"
        }
        body += "</tbody></table>"
        body += "<dl><dt>\(t(.reasonLabel))</dt><dd>\(escape(TextRules.trimmed(update.reason) ?? ""))</dd></dl>"
        body += "<h2>\(t(.affectedGrantsTitle))</h2>"
        // The change acts on every affected grant; the page lists one page of them, with the count.
        let total = preview.affected.count
        let pages = max(1, (total + Self.previewRows - 1) / Self.previewRows)
        let pageNumber = min(max(1, form["page"].flatMap { Int($0) } ?? 1), pages)
        let shown = preview.affected.dropFirst((pageNumber - 1) * Self.previewRows).prefix(Self.previewRows)
        if preview.affected.isEmpty {
            body += "<p id=\"no-affected\">\(t(preview.change.isStricter ? .noAffectedGrants : .notStricter))</p>"
        } else {
            let first = (pageNumber - 1) * Self.previewRows + 1
            body += "<p>\(t(.affectedGrantsIntro))</p><dl><dt>\(t(.affectedTotalLabel))</dt><dd id=\"affected-total\">\(total)</dd>"
                + "<dt>\(t(.rowsShownLabel))</dt><dd id=\"affected-shown\">\(first)–\(first + shown.count - 1)</dd></dl>"
                + "<table id=\"affected\"><thead><tr><th>\(t(.grantLabel))</th><th>\(t(.operatorLabel))</th>"
                + "<th>\(t(.beforeLabel))</th><th>\(t(.afterLabel))</th></tr></thead><tbody>"
            for (before, grant) in shown {
                body += "<tr><td><a href=\"\(Self.grantsPath)/\(escape(grant.id))\"><code>\(escape(grant.id))</code></a></td>"
                    + "<td><code>\(escape(grant.operatorID))</code></td><td>\(escape(before.rawValue))</td>"
                    + "<td><strong class=\"sensitive\">\(escape(grant.status.rawValue))</strong></td></tr>"
            }
            body += "</tbody></table>"
        }
        // The change as the form describes it; the confirmation and the other pages of the preview send it again.
        var change = "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(session.csrfToken))\">"
            + "<input type=\"hidden\" name=\"openness\" value=\"\(escape(after.openness.rawValue))\">"
            + "<input type=\"hidden\" name=\"grade\" value=\"\(escape(after.grade.rawValue))\">"
            + "<input type=\"hidden\" name=\"reason\" value=\"\(escape(update.reason ?? ""))\">"
            + "<input type=\"hidden\" name=\"title\" value=\"\(escape(after.title))\">"
            + "<input type=\"hidden\" name=\"description\" value=\"\(escape(after.description))\">"
            + "<input type=\"hidden\" name=\"fields_shown\" value=\"1\">"
        for field in after.fields where field.sensitive {
            change += "<input type=\"hidden\" name=\"sensitive_\(escape(field.name))\" value=\"1\">"
        }
        for unit in after.units {
            change += "<input type=\"hidden\" name=\"price_\(unit.rawValue)\" value=\"\(escape(after.ceilingPrices[unit]?.description ?? ""))\">"
        }
        if pages > 1 {
            var links = ""
            for (target, label) in [(pageNumber - 1, Phrase.previousPage), (pageNumber + 1, .nextPage)] where (1...pages).contains(target) {
                links += "<form class=\"inline\" method=\"post\" action=\"\(Self.cataloguePath)/\(escape(id))/preview\">\(change)"
                    + "<input type=\"hidden\" name=\"page\" value=\"\(target)\"><button type=\"submit\">\(t(label))</button></form> "
            }
            body += "<p id=\"affected-pages\">\(links)</p>"
        }
        let hidden = change + "<input type=\"hidden\" name=\"once\" value=\"\(Hex.encode(try dependencies.random.bytes(16)))\">"
            + "<input type=\"hidden\" name=\"version\" value=\"\(before.version)\">"
        body += """
            <form method="post" action="\(Self.cataloguePath)/\(escape(id))/confirm">\(hidden)
            <p><button type="submit">\(t(.confirmChange))</button> <a href="\(Self.cataloguePath)/\(escape(id))">\(t(.cancel))</a></p>
            </form>
            """
        return html(Page(language: language, title: .previewTitle, body: body, session: session), status: status)
    }

    func confirmChange(_ id: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard catalogueAuthority(session, "updateDataset") != nil else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        guard let once = form["once"], once.utf8.count == 32, let version = form["version"].flatMap(Int.init) else {
            return errorPage(.badRequest, .forbiddenTitle, .formExpired, language, session: session)
        }
        // A second submission of the same confirmation (a double click, a reload) changes nothing more.
        guard try await sessions.consume(session.id, once: once, now: dependencies.now()) else {
            return Self.redirect("\(Self.cataloguePath)/\(Self.pathSafe(id))?done=1")
        }
        guard id.utf8.count <= 64, let current = try await dependencies.database.read({ try await $0.dataset(id: id) }),
              current.authorityID == session.principal.authorityID else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let update = Self.update(form, against: current)
        do {
            _ = try await dependencies.catalog.update(id, with: update, by: Reviewer(principal: session.principal), expectedVersion: version)
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            if refusal.code == "concurrent_update" {
                // Judged on a dataset that has changed since: show what the change would do now.
                return try await preview(id, form, session, language, status: .conflict, notice: .changedSincePreview)
            }
            return try await datasetPage(id, session, language, status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.cataloguePath)/\(id)?done=1")
    }
}
