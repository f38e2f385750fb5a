import AuditLog
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Marketplace
import Persistence
import Vetting

/// The reviewer's inbox of operator applications: what is waiting, each application with what a
/// reviewer checks, and the approve-or-reject form. The decision is the API's: the same
/// `VettingService.review` and the same role table (`reviewOperator`).
extension ConsoleRoutes {
    static var operatorsPath: String { "/console/review/operators" }

    func operatorInbox(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard dependencies.permitted(session.principal.role, "listOperators"),
              session.principal.role != .operator else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let cursor = exchange.request.uri.queryParameters["cursor"].map(String.init)
        let page: OperatorPage
        do {
            page = try await dependencies.database.read { try await $0.operators(status: .submitted, after: cursor, limit: 50) }
        } catch let error where dependencies.refusal(error) != nil {
            return errorPage(.badRequest, .badRequestTitle, .invalidPageLink, language, session: session)
        }
        var body = "<p>\(t(.operatorInboxIntro))</p>"
        if page.operators.isEmpty {
            body += "<p id=\"inbox-empty\">\(t(.inboxEmpty))</p>"
        } else {
            body += "<table><thead><tr><th>\(t(.legalNameLabel))</th><th>\(t(.usccLabel))</th><th>\(t(.tierLabel))</th>"
                + "<th>\(t(.mlpsLabel))</th><th>\(t(.submittedLabel))</th><th>\(t(.approvalsLabel))</th></tr></thead><tbody>"
            for op in page.operators {
                let required = dependencies.vetting.lifecycle.policy.requiredApprovals(for: op.application.tier)
                body += "<tr><td><a href=\"\(Self.operatorsPath)/\(escape(op.id))\">\(escape(op.application.legalName))</a></td>"
                    + "<td><code>\(escape(op.application.uscc.description))</code></td>"
                    + "<td>\(escape(op.application.tier.rawValue))</td><td>\(op.application.mlpsLevel)</td>"
                    + "<td>\(escape(RFC3339.format(op.submittedAt)))</td>"
                    + "<td>\(op.pendingApprovals.count) / \(required)</td></tr>"
            }
            body += "</tbody></table>"
        }
        if let next = page.nextCursor {
            body += "<p><a href=\"\(Self.operatorsPath)?cursor=\(escape(EntryBrowser.Filter.encode(next)))\">\(t(.nextPage))</a></p>"
        }
        return html(Page(language: language, title: .operatorInboxTitle, body: body, session: session), status: .ok)
    }

    /// One application, with the review form when the caller may review it now.
    func operatorPage(_ id: String, _ session: ConsoleSession, _ language: ConsoleLanguage,
                      status: HTTPResponse.Status = .ok, notice: String? = nil, error: ConsoleRefusal? = nil) async throws -> Response {
        guard dependencies.permitted(session.principal.role, "getOperator"), session.principal.role != .operator else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard id.utf8.count <= 128, let op = try await dependencies.database.read({ try await $0.operatorByID(id) }) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let application = op.application
        let officer = application.securityOfficer
        let mayReadOfficer = VettingService.officerReaders.contains(session.principal.role)
        let personal = mayReadOfficer
            ? try await dependencies.database.read { try await $0.personalData(ids: [officer.name.id, officer.email.id]) } : [:]
        let absent = text(mayReadOfficer ? .erasedValue : .withheldValue, language)
        let required = dependencies.vetting.lifecycle.policy.requiredApprovals(for: application.tier)
        var body = ""
        if let notice { body += "<p class=\"notice\" role=\"status\">\(escape(notice))</p>" }
        if let error { body += error.html(language) }
        func row(_ label: Phrase, _ value: String) -> String { "<dt>\(t(label))</dt><dd>\(value)</dd>" }
        body += "<dl>"
            + row(.legalNameLabel, escape(application.legalName))
            + row(.usccLabel, "<code>\(escape(application.uscc.description))</code> · \(t(.usccChecked))")
            + row(.tierLabel, escape(application.tier.rawValue))
            + row(.mlpsLabel, String(application.mlpsLevel))
            + row(.certificationsLabel, application.certifications.map(escape).joined(separator: ", "))
            + row(.officerLabel, escape(personal[officer.name.id]?.value ?? absent) + " · "
                  + escape(personal[officer.email.id]?.value ?? absent))
            + row(.submittedLabel, escape(RFC3339.format(op.submittedAt)))
            + row(.statusLabel, "<span id=\"operator-status\">\(escape(op.status.rawValue))</span>")
            + row(.approvalsLabel, "<span id=\"approvals\">\(op.pendingApprovals.count) / \(required)</span> · \(t(.twoPersonRule))")
            + "</dl>"
        body += "<h2>\(t(.documentsLabel))</h2><table><thead><tr><th>\(t(.documentNameLabel))</th><th>SHA-256</th></tr></thead><tbody>"
            + application.documents.map { "<tr><td>\(escape($0.name))</td><td><code>\(escape($0.sha256))</code></td></tr>" }.joined()
            + "</tbody></table>"
        if !op.reviews.isEmpty {
            body += "<h2>\(t(.reviewsLabel))</h2><table><thead><tr><th>\(t(.reviewerLabel))</th><th>\(t(.authorityLabel))</th>"
                + "<th>\(t(.decisionLabel))</th><th>\(t(.reasonLabel))</th><th>\(t(.timeLabel))</th></tr></thead><tbody>"
                + op.reviews.map {
                    "<tr><td><code>\(escape($0.reviewer))</code></td><td><code>\(escape($0.authority))</code></td>"
                        + "<td>\(t($0.decision == .approve ? .approveChoice : .rejectChoice))</td>"
                        + "<td>\(escape($0.reason ?? ""))</td><td>\(escape(RFC3339.format($0.at)))</td></tr>"
                }.joined()
                + "</tbody></table>"
        }
        if op.status == .submitted, dependencies.permitted(session.principal.role, "reviewOperator") {
            body += decisionForm(action: "\(Self.operatorsPath)/\(escape(op.id))/review", title: .reviewTitle, session, language)
        }
        body += "<p><a href=\"\(Self.operatorsPath)\">\(t(.operatorInboxTitle))</a></p>"
        return html(Page(language: language, title: .operatorTitle, body: body, session: session), status: status)
    }

    /// A review sent from the form: the service decides, as for `POST /v1/operators/{id}/reviews`.
    func reviewOperator(_ id: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard dependencies.permitted(session.principal.role, "reviewOperator") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        guard let decision = form["decision"].flatMap(ReviewDecision.init(rawValue:)) else {
            let refusal = ConsoleRefusal(status: 400, code: "invalid_decision", detail: text(.chooseDecision, language))
            return try await operatorPage(id, session, language, status: .badRequest, error: refusal)
        }
        let reason = form["reason"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        do {
            _ = try await dependencies.vetting.review(id, decision: decision, reason: reason, by: Reviewer(principal: session.principal))
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            return try await operatorPage(id, session, language, status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.operatorsPath)/\(id)?reviewed=1")
    }
}

/// A refusal as the API would answer it: its status, stable code, detail and every reason.
public struct ConsoleRefusal: Error, Sendable {
    public var status: Int
    public var code: String
    public var detail: String
    public var reasons: [(code: String, detail: String)]

    public init(status: Int, code: String, detail: String, reasons: [(code: String, detail: String)] = []) {
        self.status = status
        self.code = code
        self.detail = detail
        self.reasons = reasons
    }

    /// The refusal on a page: the detail, then every reason with its code.
    func html(_ language: ConsoleLanguage) -> String {
        var out = "<div class=\"error\" role=\"alert\"><p>\(escape(text(.refused, language))) <code>\(escape(code))</code>: \(escape(detail))</p>"
        let others = reasons.filter { $0.code != code || $0.detail != detail }
        if !others.isEmpty {
            out += "<ul>" + others.map { "<li><code>\(escape($0.code))</code>: \(escape($0.detail))</li>" }.joined() + "</ul>"
        }
        return out + "</div>"
    }
}
