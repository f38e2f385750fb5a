import AuditLog
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Licensing
import Marketplace
import Persistence

/// Reviewers' grant pages: the requests awaiting their authority, a grant with every providing
/// authority's place in the co-approval and the sensitive fields asked for (with why), and the
/// decide, suspend and reinstate forms. Every action is `GrantService`'s, under the API's role table.
extension ConsoleRoutes {
    static var grantsPath: String { "/console/review/grants" }

    func grantInbox(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        let principal = session.principal
        guard principal.role == .authorityReviewer, let authority = principal.authorityID else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let cursor = exchange.request.uri.queryParameters["cursor"].map(String.init)
        let filter = GrantFilter(authorityID: authority, awaitingAuthorityID: authority)
        let page: GrantPage
        do {
            page = try await dependencies.database.read { try await $0.grants(filter, after: cursor, limit: 50) }
        } catch let error where dependencies.refusal(error) != nil {
            return errorPage(.badRequest, .badRequestTitle, .invalidPageLink, language, session: session)
        }
        var body = "<p>\(t(.grantInboxIntro))</p>"
        if page.grants.isEmpty {
            body += "<p id=\"inbox-empty\">\(t(.inboxEmpty))</p>"
        } else {
            body += "<table><thead><tr><th>\(t(.grantLabel))</th><th>\(t(.operatorLabel))</th><th>\(t(.purposeLabel))</th>"
                + "<th>\(t(.datasetsLabel))</th><th>\(t(.sensitiveLabel))</th><th>\(t(.submittedLabel))</th></tr></thead><tbody>"
            for grant in page.grants {
                let sensitive = grant.items.flatMap(\.sensitiveFields)
                body += "<tr><td><a href=\"\(Self.grantsPath)/\(escape(grant.id))\"><code>\(escape(grant.id))</code></a></td>"
                    + "<td><code>\(escape(grant.operatorID))</code></td><td>\(escape(grant.purpose))</td>"
                    + "<td>\(grant.items.map { "<code>\(escape($0.datasetID))</code>" }.joined(separator: " "))</td>"
                    + "<td>\(sensitive.isEmpty ? "" : "<strong class=\"sensitive\">\(sensitive.count)</strong>")</td>"
                    + "<td>\(escape(RFC3339.format(grant.requestedAt)))</td></tr>"
            }
            body += "</tbody></table>"
        }
        if let next = page.nextCursor {
            body += "<p><a href=\"\(Self.grantsPath)?cursor=\(escape(EntryBrowser.Filter.encode(next)))\">\(t(.nextPage))</a></p>"
        }
        return html(Page(language: language, title: .grantInboxTitle, body: body, session: session), status: .ok)
    }

    func grantPage(_ id: String, _ session: ConsoleSession, _ language: ConsoleLanguage, status: HTTPResponse.Status = .ok,
                   notice: Phrase? = nil, error: ConsoleRefusal? = nil) async throws -> Response {
        let principal = session.principal
        guard principal.role != .operator, dependencies.permitted(principal.role, "getGrant") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard id.utf8.count <= 128, let grant = try await dependencies.database.read({ try await $0.grant(id: id) }),
              GrantService.mayRead(grant, principal) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = ""
        if let notice { body += "<p class=\"notice\" role=\"status\">\(t(notice))</p>" }
        if let error { body += error.html(language) }
        body += "<dl><dt>\(t(.operatorLabel))</dt><dd><code>\(escape(grant.operatorID))</code></dd>"
            + "<dt>\(t(.purposeLabel))</dt><dd>\(escape(grant.purpose))</dd>"
            + "<dt>\(t(.scenarioLabel))</dt><dd>\(escape(grant.scenario.rawValue))</dd>"
            + "<dt>\(t(.termLabel))</dt><dd>\(escape(RFC3339.format(grant.startsAt))) – \(escape(RFC3339.format(grant.endsAt)))</dd>"
            + "<dt>\(t(.agreementLabel))</dt><dd><code>\(escape(grant.agreement.id))</code> v\(escape(grant.agreement.version)) "
            + "<code>\(escape(grant.agreement.sha256))</code></dd>"
            + "<dt>\(t(.statusLabel))</dt><dd id=\"grant-status\">\(escape(grant.status.rawValue))</dd></dl>"
        body += "<h2>\(t(.datasetsLabel))</h2><table id=\"items\"><thead><tr><th>\(t(.datasetLabel))</th><th>\(t(.authorityLabel))</th>"
            + "<th>\(t(.fieldsLabel))</th><th>\(t(.pricesLabel))</th><th>\(t(.quotasLabel))</th></tr></thead><tbody>"
        for item in grant.items {
            let fields = item.fields.map { field -> String in
                guard let why = item.justifications[field] else { return "<code>\(escape(field))</code>" }
                return "<div class=\"sensitive\"><strong><code>\(escape(field))</code> \(t(.sensitiveMark))</strong>"
                    + "<br>\(t(.justificationLabel)) \(escape(why))</div>"
            }.joined(separator: " ")
            let prices = item.units.map { "\(escape($0.rawValue)): \(escape(item.unitPrices[$0]?.description ?? ""))" }
                + item.priceTiers.keys.sorted().map { "\(escape($0.rawValue)): \(t(.tieredPrice))" }
            let quotas = item.quotas.keys.sorted().map { "\(escape($0.rawValue)): \(item.quotas[$0] ?? 0)" }
            body += "<tr><td><code>\(escape(item.datasetID))</code></td><td><code>\(escape(item.authorityID))</code></td>"
                + "<td>\(fields)</td><td>\(prices.joined(separator: "<br>"))</td><td>\(quotas.joined(separator: "<br>"))</td></tr>"
        }
        body += "</tbody></table>"
        body += "<h2>\(t(.coApprovalTitle))</h2><table id=\"approvals\"><thead><tr><th>\(t(.authorityLabel))</th><th>\(t(.decisionLabel))</th>"
            + "<th>\(t(.reviewerLabel))</th><th>\(t(.reasonLabel))</th><th>\(t(.timeLabel))</th></tr></thead><tbody>"
        for approval in grant.approvals {
            let decision = approval.decision.map { t($0 == .approve ? .approveChoice : .rejectChoice) } ?? t(.awaitingDecision)
            body += "<tr><td><code>\(escape(approval.authorityID))</code></td><td>\(decision)</td>"
                + "<td><code>\(escape(approval.reviewerID ?? ""))</code></td><td>\(escape(approval.reason ?? ""))</td>"
                + "<td>\(approval.at.map { escape(RFC3339.format($0)) } ?? "")</td></tr>"
        }
        if grant.approvals.isEmpty { body += "<tr><td colspan=\"5\">\(t(.noApprovalNeeded))</td></tr>" }
        body += "</tbody></table>"
        if let authority = principal.authorityID, grant.awaitsDecision(of: authority), dependencies.permitted(principal.role, "decideGrant") {
            body += decisionForm(action: "\(Self.grantsPath)/\(escape(grant.id))/decision", title: .decideTitle, session, language)
        }
        if grant.status == .active, dependencies.permitted(principal.role, "suspendGrant") {
            body += reasonForm("\(Self.grantsPath)/\(escape(grant.id))/suspend", .suspendTitle, session, language)
        }
        if grant.status == .suspended, dependencies.permitted(principal.role, "reinstateGrant") {
            body += reasonForm("\(Self.grantsPath)/\(escape(grant.id))/reinstate", .reinstateTitle, session, language)
        }
        if principal.role == .authorityReviewer {
            body += "<p><a href=\"\(Self.grantsPath)\">\(t(.grantInboxTitle))</a></p>"
        }
        return html(Page(language: language, title: .grantTitle, body: body, session: session), status: status)
    }

    /// Approve or reject with a reason: the form of an operator review and of a grant decision.
    func decisionForm(action: String, title: Phrase, _ session: ConsoleSession, _ language: ConsoleLanguage) -> String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        return """
            <h2>\(t(title))</h2>
            <form method="post" action="\(action)">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <fieldset><legend>\(t(.decisionLabel))</legend>
            <label class="choice"><input type="radio" name="decision" value="approve" required> \(t(.approveChoice))</label>
            <label class="choice"><input type="radio" name="decision" value="reject"> \(t(.rejectChoice))</label>
            </fieldset>
            <label for="reason">\(t(.reasonLabel))</label>
            <textarea id="reason" name="reason" maxlength="2000" rows="3"></textarea>
            <p><button type="submit">\(t(.submitReview))</button></p>
            </form>
            """
    }

    func reasonForm(_ action: String, _ title: Phrase, _ session: ConsoleSession, _ language: ConsoleLanguage) -> String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let id = action.split(separator: "/").last.map(String.init) ?? "action"
        return """
            <h2>\(t(title))</h2>
            <form method="post" action="\(action)">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <label for="\(id)-reason">\(t(.reasonLabel))</label>
            <textarea id="\(id)-reason" name="reason" maxlength="2000" rows="2" required></textarea>
            <p><button type="submit">\(t(title))</button></p>
            </form>
            """
    }

    /// A grant action sent from a form: `decision`, `suspend` or `reinstate`.
    func grantAction(_ id: String, _ action: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        let operation = ["decision": "decideGrant", "suspend": "suspendGrant", "reinstate": "reinstateGrant"][action]
        guard let operation else { return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session) }
        guard dependencies.permitted(session.principal.role, operation) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        let reason = form["reason"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let grants = dependencies.grants
        do {
            switch action {
            case "decision":
                guard let decision = form["decision"].flatMap(GrantDecision.init(rawValue:)) else {
                    let refusal = ConsoleRefusal(status: 400, code: "invalid_decision", detail: text(.chooseDecision, language))
                    return try await grantPage(id, session, language, status: .badRequest, error: refusal)
                }
                _ = try await grants.decide(id, decision: decision, reason: reason, by: session.principal)
            case "suspend":
                _ = try await grants.suspend(id, reason: reason, by: session.principal)
            default:
                _ = try await grants.reinstate(id, reason: reason, by: session.principal)
            }
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            return try await grantPage(id, session, language, status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.grantsPath)/\(id)?done=1")
    }
}
