public import AuditLog
import Cryptography
import Foundation
import Hummingbird
import HTTPTypes
import Identity

/// The auditor's entry browser: the log newest first, filtered by action, actor and day, each entry
/// with its inclusion proof in the latest checkpoint. Auditors and administrators only, as
/// `GET /v1/audit/entries`.
struct EntryBrowser {
    /// Entries on one page.
    static let pageSize = 50
    /// The most entries one request reads looking for matches; a rarer filter continues on the next page.
    static let scanLimit = 5_000

    static let roles: Set<Role> = [.auditor, .admin]

    /// What the filter form asks for; every field optional.
    struct Filter: Equatable {
        /// An action, or a prefix ending in `.` (`grant.` for every grant action).
        var action: String?
        var actor: String?
        /// Days in UTC, `YYYY-MM-DD`, both included.
        var from: String?
        var to: String?
        /// Read entries below this index (the next page's start).
        var before: UInt64?

        /// The filter from a query; nil if a value is malformed.
        init?(_ query: [String: String]) {
            func value(_ name: String) -> String? {
                guard let text = query[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
                return text
            }
            action = value("action")
            actor = value("actor")
            from = value("from")
            to = value("to")
            for text in [action, actor] { if let text, text.count > 200 || text.unicodeScalars.contains(where: { $0.value < 0x20 }) { return nil } }
            for day in [from, to] { if let day, Self.dayStart(day) == nil { return nil } }
            if let text = value("before") {
                guard let before = UInt64(text) else { return nil }
                self.before = before
            }
        }

        /// Midnight UTC of `day` (`YYYY-MM-DD`), in milliseconds.
        static func dayStart(_ day: String) -> Int64? {
            guard day.count == 10 else { return nil }
            return Timestamp.parse(day + "T00:00:00.000Z")
        }

        func matches(_ entry: StoredEntry, _ decoded: AuditEntry) -> Bool {
            if let action {
                if action.hasSuffix(".") { guard entry.action.hasPrefix(action) else { return false } }
                else if entry.action != action { return false }
            }
            if let actor, decoded.record.actor != actor { return false }
            let time = Timestamp.milliseconds(entry.time)
            if let from, let start = Self.dayStart(from), time < start { return false }
            if let to, let start = Self.dayStart(to), time >= start + 86_400_000 { return false }
            return true
        }

        /// The query of this filter, for links; `before` as given.
        func query(before: UInt64?) -> String {
            var items: [(String, String)] = []
            for (name, value) in [("action", action), ("actor", actor), ("from", from), ("to", to)] {
                if let value { items.append((name, value)) }
            }
            if let before { items.append(("before", String(before))) }
            return items.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }
    }

    /// One page of matches, newest first, and where the next page starts (nil at the log's start).
    static func page(_ log: TransparencyLog, _ filter: Filter) async throws -> (entries: [(StoredEntry, AuditEntry)], next: UInt64?) {
        let size = try await log.head().size
        var end = min(filter.before ?? size, size)
        var matches: [(StoredEntry, AuditEntry)] = []
        var scanned = 0
        while end > 0, matches.count < pageSize, scanned < scanLimit {
            let count = UInt64(min(500, Int(end)))
            let chunk = try await log.entries(start: end - count, limit: Int(count))
            for entry in chunk.reversed() {
                scanned += 1
                end = entry.seq
                guard let decoded = try? AuditEntry(decoding: entry.body), filter.matches(entry, decoded) else { continue }
                matches.append((entry, decoded))
                if matches.count == pageSize { break }
            }
            if chunk.isEmpty { break }
        }
        return (matches, end > 0 ? end : nil)
    }
}

extension ConsoleRoutes {
    func entries(_ session: ConsoleSession, _ exchange: Exchange) async throws -> Response {
        let language = exchange.language
        guard EntryBrowser.roles.contains(session.principal.role) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let query = Dictionary(exchange.request.uri.queryParameters.map { (String($0.key), String($0.value)) },
                               uniquingKeysWith: { first, _ in first })
        guard let filter = EntryBrowser.Filter(query) else {
            let body = "<p class=\"error\" role=\"alert\">\(t(.invalidFilter))</p>" + filterForm(EntryBrowser.Filter([:])!, language)
            return html(Page(language: language, title: .entriesTitle, body: body, session: session), status: .badRequest)
        }
        let (found, next) = try await EntryBrowser.page(dependencies.log, filter)
        var body = "<p>\(t(.entriesIntro))</p>" + filterForm(filter, language)
        if found.isEmpty {
            body += "<p id=\"no-entries\">\(t(.noEntries))</p>"
        } else {
            body += "<table><thead><tr><th>#</th><th>\(t(.timeLabel))</th><th>\(t(.actionLabel))</th>"
                + "<th>\(t(.actorLabel))</th><th>\(t(.subjectsLabel))</th></tr></thead><tbody>"
            for (entry, decoded) in found {
                body += "<tr><td><a href=\"/console/audit/entries/\(entry.seq)\">\(entry.seq)</a></td>"
                    + "<td>\(escape(RFC3339.format(entry.time)))</td><td><code>\(escape(entry.action))</code></td>"
                    + "<td><code>\(escape(decoded.record.actor))</code></td>"
                    + "<td>\(decoded.record.subjects.map { "<code>\(escape($0))</code>" }.joined(separator: " "))</td></tr>"
            }
            body += "</tbody></table>"
        }
        if let next {
            body += "<p><a id=\"older\" href=\"/console/audit/entries?\(escape(filter.query(before: next)))\">\(t(.olderEntries))</a></p>"
        }
        return html(Page(language: language, title: .entriesTitle, body: body, session: session), status: .ok)
    }

    func filterForm(_ filter: EntryBrowser.Filter, _ language: ConsoleLanguage) -> String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        func field(_ name: String, _ label: Phrase, _ value: String?, type: String = "text") -> String {
            "<label for=\"\(name)\">\(t(label))</label><input type=\"\(type)\" id=\"\(name)\" name=\"\(name)\" value=\"\(escape(value ?? ""))\">"
        }
        return "<form method=\"get\" action=\"/console/audit/entries\" class=\"filter\">"
            + field("action", .actionLabel, filter.action) + field("actor", .actorLabel, filter.actor)
            + field("from", .fromLabel, filter.from, type: "date") + field("to", .toLabel, filter.to, type: "date")
            + "<p><button type=\"submit\">\(t(.filterButton))</button></p></form>"
    }

    func entry(_ seqText: Substring, _ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> Response {
        guard EntryBrowser.roles.contains(session.principal.role) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        let log = dependencies.log
        guard let seq = UInt64(seqText), seq < (try await log.head().size),
              let stored = try await log.entries(start: seq, limit: 1).first else {
            return errorPage(.notFound, .notFoundTitle, .notFoundText, language, session: session)
        }
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = """
            <dl><dt>#</dt><dd id="entry-seq">\(stored.seq)</dd>\
            <dt>\(t(.timeLabel))</dt><dd>\(escape(RFC3339.format(stored.time)))</dd>\
            <dt>\(t(.actionLabel))</dt><dd><code>\(escape(stored.action))</code></dd>\
            <dt>\(t(.leafHashLabel))</dt><dd><code id="leaf-hash">\(Hex.encode(stored.leafHash.bytes))</code></dd></dl>
            <h2>\(t(.entryBodyLabel))</h2>
            <pre id="entry-body">\(escape(String(decoding: stored.body, as: UTF8.self)))</pre>
            <h2>\(t(.inclusionTitle))</h2>
            """
        if let note = try await log.latestCheckpoint(), let checkpoint = try? Checkpoint.parse(note.text), seq < checkpoint.size {
            let proof = try await log.inclusionProof(leafIndex: seq, treeSize: checkpoint.size)
            let holds = MerkleProof.verifyInclusion(leafHash: stored.leafHash, leafIndex: seq, treeSize: checkpoint.size,
                                                    proof: proof, root: checkpoint.rootHash)
            body += """
                <p id="inclusion-state">\(t(holds ? .inclusionHolds : .inclusionFails))</p>
                <dl><dt>\(t(.logSizeLabel))</dt><dd>\(checkpoint.size)</dd>\
                <dt>\(t(.rootHashLabel))</dt><dd><code>\(Hex.encode(checkpoint.rootHash.bytes))</code></dd></dl>
                <ol id="inclusion-proof">\(proof.map { "<li><code>\(Hex.encode($0.bytes))</code></li>" }.joined())</ol>
                """
        } else {
            body += "<p id=\"inclusion-state\">\(t(.notYetCheckpointed))</p>"
        }
        body += "<p><a href=\"/console/audit/entries\">\(t(.entriesTitle))</a></p>"
        return html(Page(language: language, title: .entryTitle, body: body, session: session), status: .ok)
    }
}
