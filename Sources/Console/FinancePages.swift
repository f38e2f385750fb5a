import AuditLog
import Cryptography
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Licensing
import Marketplace
import Metering
import NIOCore
import Settlement

/// Finance's pages: the year's periods with their totals and a chart of revenue returned to each
/// authority, a period's report and downloads, and the close after a confirmation. The close and the
/// reports go through `SettlementDesk` and the API's report rendering, under the API's role table.
extension ConsoleRoutes {
    static var financePath: String { "/console/finance" }
    /// The roles that see the finance pages: those the API lets read a whole settlement.
    static func seesFinance(_ role: Role, _ permitted: (Role, String) -> Bool) -> Bool {
        role != .operator && role != .authorityReviewer && permitted(role, "getSettlement")
    }

    func financeYear(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard Self.seesFinance(session.principal.role, dependencies.permitted) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let current = MarketCalendar().period(of: dependencies.now())
        let yearText = exchange.request.uri.queryParameters["year"].map(String.init)
        guard let year = yearText.map({ Int($0) }) ?? current.year, (2000...current.year).contains(year) else {
            return errorPage(.badRequest, .notFoundTitle, .invalidYear, language, session: session)
        }
        let last = year == current.year ? current.month : 12
        var months: [(Period, SettlementReport?)] = []
        for month in 1...last {
            let period = Period(year: year, month: month)!
            months.append((period, try await dependencies.settlements.stored(period)?.report))
        }
        var body = "<p>\(t(.financeIntro))</p>"
        body += "<p>" + [year - 1, year + 1].filter { (2000...current.year).contains($0) }
            .map { "<a href=\"\(Self.financePath)?year=\($0)\">\($0)</a>" }.joined(separator: " · ") + "</p>"
        body += "<table id=\"periods\"><thead><tr><th>\(t(.periodLabel))</th><th>\(t(.statusLabel))</th><th>\(t(.grossLabel))</th>"
            + "<th>\(t(.authoritiesLabel))</th><th>\(t(.platformLabel))</th><th>\(t(.operatorsLabel))</th></tr></thead><tbody>"
        for (period, report) in months {
            let link = "<a href=\"\(Self.financePath)/\(period)\">\(period)</a>"
            if let report {
                let totals = report.totals
                body += "<tr><td>\(link)</td><td>\(t(.closedStatus))</td><td class=\"money\">\(Money.format(totals.grossMinor))</td>"
                    + "<td class=\"money\">\(Money.format(totals.authorityMinor))</td><td class=\"money\">\(Money.format(totals.platformMinor))</td>"
                    + "<td class=\"money\">\(Money.format(totals.operatorMinor))</td></tr>"
            } else {
                body += "<tr><td>\(link)</td><td>\(t(period == current ? .runningStatus : .openStatus))</td><td></td><td></td><td></td><td></td></tr>"
            }
        }
        body += "</tbody></table>"
        body += "<h2>\(t(.chartTitle))</h2>" + RevenueChart(year: year, months: months, language: language).svg
        return html(Page(language: language, title: .financeTitle, body: body, session: session), status: .ok)
    }

    func financePeriod(_ periodText: String, _ session: ConsoleSession, _ language: ConsoleLanguage,
                       status: HTTPResponse.Status = .ok, notice: Phrase? = nil, error: ConsoleRefusal? = nil) async throws -> Response {
        guard Self.seesFinance(session.principal.role, dependencies.permitted) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard let period = Period(periodText) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = ""
        if let notice { body += "<p class=\"notice\" role=\"status\">\(t(notice))</p>" }
        if let error { body += error.html(language) }
        guard let closed = try await dependencies.settlements.stored(period) else {
            body += "<p id=\"period-state\">\(t(.periodOpenText))</p>"
            if dependencies.permitted(session.principal.role, "closeSettlement") {
                body += "<p><a href=\"\(Self.financePath)/\(period)/close\">\(t(.closeAction))</a></p>"
            }
            body += try await adjustmentsSection(period, session, language)
            body += "<p><a href=\"\(Self.financePath)?year=\(period.year)\">\(t(.financeTitle))</a></p>"
            return html(Page(language: language, title: .periodTitle, body: body, session: session), status: status)
        }
        let report = closed.report
        let totals = report.totals
        body += "<p id=\"period-state\">\(t(.periodClosedText)) \(escape(RFC3339.format(report.closedAt)))</p><dl>"
            + "<dt>\(t(.grossLabel))</dt><dd class=\"money\" id=\"gross\">\(Money.format(totals.grossMinor))</dd>"
            + "<dt>\(t(.authoritiesLabel))</dt><dd class=\"money\">\(Money.format(totals.authorityMinor))</dd>"
            + "<dt>\(t(.platformLabel))</dt><dd class=\"money\">\(Money.format(totals.platformMinor))</dd>"
            + "<dt>\(t(.operatorsLabel))</dt><dd class=\"money\">\(Money.format(totals.operatorMinor))</dd>"
            + "<dt>\(t(.linesLabel))</dt><dd>\(totals.lineCount)</dd>"
            + "<dt>\(t(.logEntryLabel))</dt><dd><code>\(closed.logIndex)</code></dd></dl>"
        body += "<h2>\(t(.downloadsTitle))</h2><ul id=\"downloads\">"
            + ReportFormat.allCases.map { "<li><a href=\"\(Self.financePath)/\(period)/report?format=\($0.rawValue)\">\($0.rawValue.uppercased())</a> "
                + "<code>\(escape(closed.digests[$0.rawValue] ?? ""))</code></li>" }.joined()
            + "</ul>"
        body += "<h2>\(t(.partiesTitle))</h2><table id=\"parties\"><thead><tr><th>\(t(.partyLabel))</th><th>\(t(.amountLabel))</th>"
            + "<th>\(t(.statementLabel))</th></tr></thead><tbody>"
        for party in report.parties {
            let name = escape(party.party.description)
            let links = ReportFormat.allCases.map {
                "<a href=\"\(Self.financePath)/\(period)/report?format=\($0.rawValue)&amp;party=\(escape(EntryBrowser.Filter.encode(party.party.description)))\">\($0.rawValue.uppercased())</a>"
            }.joined(separator: " ")
            body += "<tr><td><code>\(name)</code></td><td class=\"money\">\(Money.format(party.amountMinor))</td><td>\(links)</td></tr>"
        }
        body += "</tbody></table>"
        body += "<h2>\(t(.linesTitle))</h2><table id=\"lines\"><thead><tr><th>\(t(.lineLabel))</th><th>\(t(.operatorLabel))</th>"
            + "<th>\(t(.datasetLabel))</th><th>\(t(.sourceLabel))</th><th>\(t(.quantityLabel))</th><th>\(t(.amountLabel))</th></tr></thead><tbody>"
        for line in report.lines.prefix(500) {
            body += "<tr><td><code>\(escape(line.id))</code></td><td><code>\(escape(line.operatorID))</code></td>"
                + "<td><code>\(escape(line.datasetID ?? ""))</code> \(escape(line.unit?.rawValue ?? ""))</td>"
                + "<td>\(escape(line.source?.rawValue ?? line.kind.rawValue))</td><td>\(line.quantity)</td>"
                + "<td class=\"money\">\(Money.format(line.amountMinor))</td></tr>"
        }
        body += "</tbody></table>"
        if report.lines.count > 500 { body += "<p>\(t(.moreLinesInReport))</p>" }
        body += "<p><a href=\"\(Self.financePath)?year=\(period.year)\">\(t(.financeTitle))</a></p>"
        return html(Page(language: language, title: .periodTitle, body: body, session: session), status: status)
    }

    /// The adjustments booked into an open period, and finance's form to book one.
    func adjustmentsSection(_ period: Period, _ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> String {
        guard dependencies.permitted(session.principal.role, "listAdjustments") else { return "" }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let booked = try await dependencies.settlements.adjustments(in: period)
        var body = "<h2>\(t(.adjustmentsTitle))</h2><table id=\"adjustments\"><thead><tr><th>\(t(.adjustmentLabel))</th>"
            + "<th>\(t(.correctsLabel))</th><th>\(t(.amountLabel))</th><th>\(t(.reasonLabel))</th><th>\(t(.actorLabel))</th></tr></thead><tbody>"
        for adjustment in booked {
            body += "<tr><td><code>\(escape(adjustment.id))</code></td><td><code>\(escape(adjustment.corrected.id))</code></td>"
                + "<td class=\"money\">\(Money.format(adjustment.amountMinor))</td><td>\(escape(adjustment.reason))</td>"
                + "<td><code>\(escape(adjustment.actor))</code></td></tr>"
        }
        if booked.isEmpty { body += "<tr><td colspan=\"5\">\(t(.noAdjustments))</td></tr>" }
        body += "</tbody></table>"
        guard dependencies.permitted(session.principal.role, "addAdjustment") else { return body }
        return body + """
            <h3>\(t(.bookAdjustment))</h3>
            <form method="post" action="\(Self.financePath)/\(period)/adjustments">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <input type="hidden" name="once" value="\(Hex.encode(try dependencies.random.bytes(16)))">
            <label for="corrects">\(t(.correctsLabel))</label>
            <input type="text" id="corrects" name="corrects" required maxlength="200">
            <label for="amount_minor">\(t(.amountMinorLabel))</label>
            <input type="text" id="amount_minor" name="amount_minor" required inputmode="numeric" pattern="-?[0-9]+" maxlength="20">
            <label for="adjustment-reason">\(t(.reasonLabel))</label>
            <textarea id="adjustment-reason" name="reason" maxlength="2000" rows="2" required></textarea>
            <p><button type="submit">\(t(.bookAdjustment))</button></p>
            </form>
            """
    }

    /// An adjustment booked from the form into an open period, as `POST /v1/settlements/{period}/adjustments`.
    func addAdjustment(_ periodText: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard dependencies.permitted(session.principal.role, "addAdjustment") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard let period = Period(periodText) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let form = try await Form(exchange.request)
        guard form.holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        // A second submission of the same form (a double click) books nothing more.
        guard let once = form["once"], once.utf8.count == 32 else {
            return errorPage(.badRequest, .forbiddenTitle, .formExpired, language, session: session)
        }
        guard try await sessions.consume(session.id, once: once, now: dependencies.now()) else {
            return Self.redirect("\(Self.financePath)/\(period)?booked=1")
        }
        do {
            guard let amount = form["amount_minor"].flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) }) else {
                throw ConsoleRefusal(status: 400, code: "invalid_amount", detail: text(.amountMinorLabel, language))
            }
            let reason = try SettlementDesk.reason(form["reason"] ?? "")
            let corrects = (form["corrects"] ?? "").trimmingCharacters(in: .whitespaces)
            _ = try await dependencies.settlements.adjust(corrects, by: amount, in: period, reason: reason,
                                                          actor: session.principal.id, at: dependencies.now())
        } catch {
            let refusal = (error as? ConsoleRefusal) ?? dependencies.refusal(error)
            guard let refusal, (400..<500).contains(refusal.status) else { throw error }
            return try await financePeriod(period.description, session, language,
                                           status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.financePath)/\(period)?booked=1")
    }

    /// What a close will do, and the form that does it.
    func confirmClose(_ periodText: String, _ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> Response {
        guard dependencies.permitted(session.principal.role, "closeSettlement") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard let period = Period(periodText) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        if try await dependencies.settlements.stored(period) != nil {
            return Self.redirect("\(Self.financePath)/\(period)")
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let body = """
            <p id="close-warning">\(t(.closeWarning))</p>
            <dl><dt>\(t(.periodLabel))</dt><dd>\(period)</dd></dl>
            <form method="post" action="\(Self.financePath)/\(period)/close">
            <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
            <p><button type="submit">\(t(.confirmClose))</button> <a href="\(Self.financePath)/\(period)">\(t(.cancel))</a></p>
            </form>
            """
        return html(Page(language: language, title: .closeTitle, body: body, session: session), status: .ok)
    }

    func close(_ periodText: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard dependencies.permitted(session.principal.role, "closeSettlement") else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard let period = Period(periodText) else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        guard try await Form(exchange.request).holds(session.csrfToken) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, language, session: session)
        }
        do {
            _ = try await dependencies.settlements.close(period, actor: session.principal.id, at: dependencies.now())
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            return try await financePeriod(period.description, session, language,
                                           status: HTTPResponse.Status(code: refusal.status), error: refusal)
        }
        return Self.redirect("\(Self.financePath)/\(period)?closed=1")
    }

    /// A report or a party's statement, rendered by the API's own code, as a download.
    func download(_ periodText: String, _ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        let query = exchange.request.uri.queryParameters
        guard let format = query["format"].flatMap({ ReportFormat(rawValue: String($0)) }), Period(periodText) != nil else {
            return errorPage(.badRequest, .badRequestTitle, .invalidDownload, language, session: session)
        }
        let party = query["party"].map(String.init)
        let bytes: [UInt8]
        do {
            bytes = try await dependencies.report(session.principal, periodText, format, party)
        } catch {
            guard let refusal = dependencies.refusal(error), (400..<500).contains(refusal.status) else { throw error }
            let body = refusal.html(language) + "<p><a href=\"\(Self.financePath)/\(escape(periodText))\">\(text(.periodTitle, language))</a></p>"
            return html(Page(language: language, title: .periodTitle, body: body, session: session), status: HTTPResponse.Status(code: refusal.status))
        }
        var name = "pdx-settlement-\(periodText)"
        if let party { name += "-" + party.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" } }
        var headers = HTTPFields()
        headers[.contentType] = format.mediaType
        headers[.contentDisposition] = "attachment; filename=\"\(name).\(format.rawValue)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Amounts in minor units (fen) shown as yuan: `1,234,567.89`.
enum Money {
    static func format(_ minor: Int64) -> String {
        let negative = minor < 0
        let magnitude = minor.magnitude
        let whole = String(magnitude / 100)
        let cents = magnitude % 100
        var grouped = ""
        for (index, digit) in whole.reversed().enumerated() {
            if index > 0, index % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (negative ? "-" : "") + String(grouped.reversed()) + "." + (cents < 10 ? "0" : "") + String(cents)
    }
}

/// Revenue returned to each authority per month of a year, as stacked bars in SVG: written by the
/// server, no script, readable with styles off (every bar has a title).
struct RevenueChart {
    let year: Int
    let months: [(Period, SettlementReport?)]
    let language: ConsoleLanguage

    static let palette = ["#b3261e", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c2185b"]

    var svg: String {
        var byMonth: [Int: [String: Int64]] = [:]
        var authorities = Set<String>()
        for (period, report) in months {
            for party in report?.parties ?? [] {
                guard case .authority(let id) = party.party else { continue }
                byMonth[period.month, default: [:]][id, default: 0] += party.amountMinor
                authorities.insert(id)
            }
        }
        let order = authorities.sorted()
        let top = max(1, byMonth.values.map { $0.values.reduce(0, +) }.max() ?? 1)
        let (width, height, left, bottom, barWidth) = (720, 260, 90, 30, 40)
        let plot = height - bottom - 10
        var out = "<svg id=\"revenue-chart\" role=\"img\" width=\"\(width)\" height=\"\(height + 20 * ((order.count + 2) / 3))\" "
            + "viewBox=\"0 0 \(width) \(height + 20 * ((order.count + 2) / 3))\" xmlns=\"http://www.w3.org/2000/svg\">"
            + "<title>\(escape(text(.chartTitle, language))) \(year)</title>"
        out += "<text x=\"\(left - 8)\" y=\"16\" text-anchor=\"end\" font-size=\"11\">\(Money.format(top))</text>"
        out += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 10)\" y2=\"\(height - bottom)\" stroke=\"#5b6776\"/>"
        for month in 1...12 {
            let x = left + (month - 1) * (barWidth + 12) + 6
            var y = height - bottom
            for (index, id) in order.enumerated() {
                guard let amount = byMonth[month]?[id], amount > 0 else { continue }
                let h = max(1, Int(Double(amount) / Double(top) * Double(plot)))
                y -= h
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barWidth)\" height=\"\(h)\" fill=\"\(Self.palette[index % Self.palette.count])\">"
                    + "<title>\(year)-\(month < 10 ? "0" : "")\(month) \(escape(id)): \(Money.format(amount))</title></rect>"
            }
            out += "<text x=\"\(x + barWidth / 2)\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\" font-size=\"11\">\(month)</text>"
        }
        for (index, id) in order.enumerated() {
            let x = left + (index % 3) * 200
            let y = height + 4 + (index / 3) * 20
            out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"12\" height=\"12\" fill=\"\(Self.palette[index % Self.palette.count])\"/>"
                + "<text x=\"\(x + 18)\" y=\"\(y + 11)\" font-size=\"12\">\(escape(id))</text>"
        }
        if order.isEmpty {
            out += "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" font-size=\"13\">\(escape(text(.chartEmpty, language)))</text>"
        }
        return out + "</svg>"
    }
}
