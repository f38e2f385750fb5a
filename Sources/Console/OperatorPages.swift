import AuditLog
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Licensing
import Marketplace
import Metering
import Persistence
import Settlement

/// An operator's own pages, read-only: its grants with the quota used this period, and its
/// statements of the year's closed periods (served by the finance download, which gives an operator
/// its own statement and nothing else, as the API does) of the last twelve periods.
extension ConsoleRoutes {
    static var operatorHomePath: String { "/console/operator" }

    func operatorHome(_ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> Response {
        let principal = session.principal
        guard principal.role == .operator else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        guard let operatorID = principal.operatorID else {
            let body = "<p id=\"not-applied\">\(t(.notAppliedYet))</p>"
            return html(Page(language: language, title: .operatorHomeTitle, body: body, session: session), status: .ok)
        }
        let period = MarketCalendar().period(of: dependencies.now())
        let page = try await dependencies.database.read { try await $0.grants(GrantFilter(operatorID: operatorID), after: nil, limit: 200) }
        let keys = page.grants.flatMap { grant in
            grant.items.flatMap { item in item.quotas.keys.map { CounterKey(grantID: grant.id, datasetID: item.datasetID, unit: $0, period: period) } }
        }
        let used = keys.isEmpty ? [:] : try await dependencies.database.read { try await $0.usageQuantities(keys) }
        var body = "<p>\(t(.operatorHomeIntro)) <strong>\(period)</strong></p>"
        body += "<table id=\"my-grants\"><thead><tr><th>\(t(.grantLabel))</th><th>\(t(.statusLabel))</th><th>\(t(.termLabel))</th>"
            + "<th>\(t(.datasetLabel))</th><th>\(t(.quotaUsedLabel))</th></tr></thead><tbody>"
        for grant in page.grants {
            for (index, item) in grant.items.enumerated() {
                let quotas = item.quotas.keys.sorted().map { unit -> String in
                    let key = CounterKey(grantID: grant.id, datasetID: item.datasetID, unit: unit, period: period)
                    return "\(escape(unit.rawValue)): <span class=\"used\">\(used[key] ?? 0)</span> / \(item.quotas[unit] ?? 0)"
                }
                let head = index == 0
                    ? "<td><code>\(escape(grant.id))</code></td><td>\(escape(grant.status.rawValue))</td>"
                        + "<td>\(escape(RFC3339.format(grant.startsAt))) – \(escape(RFC3339.format(grant.endsAt)))</td>"
                    : "<td></td><td></td><td></td>"
                body += "<tr>\(head)<td><code>\(escape(item.datasetID))</code></td><td>\(quotas.joined(separator: "<br>"))</td></tr>"
            }
        }
        if page.grants.isEmpty { body += "<tr><td colspan=\"5\">\(t(.noGrants))</td></tr>" }
        body += "</tbody></table>"

        body += "<h2>\(t(.statementsTitle))</h2><ul id=\"statements\">"
        var any = false
        for back in 0..<12 {
            let months = period.year * 12 + period.month - 1 - back
            let closed = Period(year: months / 12, month: months % 12 + 1)!
            guard try await dependencies.settlements.stored(closed) != nil else { continue }
            any = true
            let party = EntryBrowser.Filter.encode("operator:\(operatorID)")
            body += "<li>\(closed): " + ReportFormat.allCases.map {
                "<a href=\"\(Self.financePath)/\(closed)/report?format=\($0.rawValue)&amp;party=\(party)\">\($0.rawValue.uppercased())</a>"
            }.joined(separator: " ") + "</li>"
        }
        if !any { body += "<li>\(t(.noStatements))</li>" }
        body += "</ul>"
        return html(Page(language: language, title: .operatorHomeTitle, body: body, session: session), status: .ok)
    }
}
