public import AuditLog
public import Cryptography
public import Foundation
public import Hummingbird
public import Identity
public import Marketplace
public import Persistence
import HTTPTypes
public import Settlement
import Vetting
import NIOCore

/// What the server that mounts the console hands it.
public struct ConsoleDependencies: Sendable {
    /// The principal holding a presented API key; nil when the key is malformed, unknown, revoked or
    /// expired (the console does not say which).
    public var signIn: @Sendable (String) async throws -> Principal?
    /// The principal holding key `keyID` now; nil once the key is revoked or expired.
    public var principal: @Sendable (_ keyID: String) async throws -> Principal?
    /// Whether a client address may try to sign in now: nil, or the seconds it must wait.
    public var signInWait: @Sendable (_ address: String) -> Int?
    /// Counts a failed sign-in against a client address.
    public var signInFailed: @Sendable (_ address: String) -> Void
    /// The audit log, for the auditor's pages.
    public var log: TransparencyLog
    /// The store pages read from.
    public var database: any Database
    /// Operators' reviews, through the service the API uses.
    public var vetting: VettingService
    /// Grant decisions, suspensions and reinstatements, through the service the API uses.
    public var grants: GrantService
    /// Closing periods and reading their reports, through the desk the API uses.
    public var settlements: SettlementDesk
    /// Publishing datasets and changing them, with the preview of what a change does to grants,
    /// through the service the API uses.
    public var catalog: CatalogService
    /// A period's report (or a party's statement, `authority:<id>`, `platform`, `operator:<id>`)
    /// rendered as the API renders it for the caller, with the API's refusals.
    public var report: @Sendable (Principal, String, ReportFormat, String?) async throws -> [UInt8]
    /// The API's role table: may `role` call the operation with this `operationId`?
    public var permitted: @Sendable (Role, String) -> Bool
    /// How the API would refuse `error` (status, code, detail); nil for an error that is not a refusal.
    public var refusal: @Sendable (any Error) -> ConsoleRefusal?
    public var now: @Sendable () -> Date
    public var random: any RandomSource
    /// Mark cookies `Secure`: the server speaks TLS.
    public var secureCookies: Bool
    /// The largest form body the console reads; a larger post is answered 413 with a page in the
    /// person's language, and nothing is done.
    public var maxFormBytes: Int
    /// The default form limit: the publish form at its longest, in Chinese, percent-encoded (nine bytes
    /// a character), with room to spare.
    public static let defaultMaxFormBytes = 128 * 1024
    /// How long a session lives without a request, and at most.
    public var idleTimeout: TimeInterval = 15 * 60
    public var lifetime: TimeInterval = 8 * 60 * 60

    public init(signIn: @escaping @Sendable (String) async throws -> Principal?,
                principal: @escaping @Sendable (String) async throws -> Principal?,
                signInWait: @escaping @Sendable (String) -> Int?,
                signInFailed: @escaping @Sendable (String) -> Void,
                log: TransparencyLog, database: any Database, vetting: VettingService, grants: GrantService,
                settlements: SettlementDesk, catalog: CatalogService,
                report: @escaping @Sendable (Principal, String, ReportFormat, String?) async throws -> [UInt8],
                permitted: @escaping @Sendable (Role, String) -> Bool,
                refusal: @escaping @Sendable (any Error) -> ConsoleRefusal?,
                now: @escaping @Sendable () -> Date, random: any RandomSource, secureCookies: Bool,
                maxFormBytes: Int = ConsoleDependencies.defaultMaxFormBytes) {
        self.maxFormBytes = maxFormBytes
        self.signIn = signIn
        self.principal = principal
        self.signInWait = signInWait
        self.signInFailed = signInFailed
        self.log = log
        self.database = database
        self.vetting = vetting
        self.grants = grants
        self.settlements = settlements
        self.catalog = catalog
        self.report = report
        self.permitted = permitted
        self.refusal = refusal
        self.now = now
        self.random = random
        self.secureCookies = secureCookies
    }
}

/// Answers every path under `/console`; other paths go on to the API.
public struct ConsoleRoutes<Context: RequestContext>: RouterMiddleware {
    let dependencies: ConsoleDependencies
    let sessions: ConsoleSessions

    public init(_ dependencies: ConsoleDependencies) {
        self.dependencies = dependencies
        sessions = ConsoleSessions(database: dependencies.database, idleTimeout: dependencies.idleTimeout,
                                   lifetime: dependencies.lifetime)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/console" || path.hasPrefix("/console/") else { return try await next(request, context) }
        let cookies = Cookies(request.headers)
        let language = ConsoleLanguage.negotiate(cookie: cookies[Cookies.language],
                                                 acceptLanguage: request.headers[.acceptLanguage])
        var response: Response
        do {
            var request = request
            if request.method != .get && request.method != .head {
                // Read once, up to the limit, before any page looks at the form.
                if let declared = request.headers[.contentLength].flatMap(Int.init), declared > dependencies.maxFormBytes {
                    throw FormTooLarge()
                }
                do {
                    _ = try await request.collectBody(upTo: dependencies.maxFormBytes)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw FormTooLarge()
                }
            }
            var exchange = Exchange(request: request, cookies: cookies, language: language, address: Self.address(of: context))
            response = try await route(path: path, &exchange)
        } catch is FormTooLarge {
            response = errorPage(.contentTooLarge, .formTooLargeTitle, .formTooLargeText, language)
        } catch let error as HTTPError where (400..<500).contains(error.status.code) {
            response = errorPage(error.status, .notFoundTitle, .formExpired, language)
        } catch {
            response = errorPage(.serviceUnavailable, .unavailableTitle, .unavailableText, language)
        }
        Self.secure(&response.headers, language: language)
        return response
    }

    /// A form post over ``ConsoleDependencies/maxFormBytes``.
    struct FormTooLarge: Error {}

    /// One request's parts as the pages need them.
    struct Exchange {
        let request: Request
        let cookies: Cookies
        let language: ConsoleLanguage
        let address: String
    }

    func route(path: String, _ exchange: inout Exchange) async throws -> Response {
        let method = exchange.request.method
        switch (method, path) {
        case (.get, "/console"):
            return Self.redirect("/console/")
        case (.get, "/console/style.css"):
            var headers = HTTPFields()
            headers[.contentType] = "text/css; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: stylesheet)))
        case (.get, "/console/language"):
            let chosen = exchange.request.uri.queryParameters["to"].flatMap { ConsoleLanguage(switchValue: String($0)) }
                ?? exchange.language
            var response = Self.redirect("/console/")
            response.headers.append(cookie(Cookies.language, chosen.switchValue, maxAge: 365 * 24 * 3600))
            return response
        case (.get, "/console/sign-in"):
            let notice: Phrase? = exchange.request.uri.queryParameters["ended"] != nil ? .sessionEnded : nil
            return try signInPage(exchange.language, status: .ok, error: notice)
        case (.post, "/console/sign-in"):
            return try await signIn(exchange)
        case (.post, "/console/sign-out"):
            return try await signOut(exchange)
        case (.get, "/console/"), (.get, "/console/audit"), (.get, "/console/audit/entries"), (.get, Self.exportPath):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            switch path {
            case "/console/": return home(session, exchange.language)
            case "/console/audit": return try await audit(session, exchange.language)
            case Self.exportPath: return try await export(session, exchange.language)
            default: return try await entries(session, exchange)
            }
        case (.get, Self.operatorsPath):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await operatorInbox(session, exchange)
        case (.get, _) where path.hasPrefix(Self.operatorsPath + "/"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            let id = String(path.dropFirst(Self.operatorsPath.count + 1))
            let notice = exchange.request.uri.queryParameters["reviewed"] != nil ? text(.reviewRecorded, exchange.language) : nil
            return try await operatorPage(id, session, exchange.language, notice: notice)
        case (.post, _) where path.hasPrefix(Self.operatorsPath + "/") && path.hasSuffix("/review"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            let id = String(path.dropFirst(Self.operatorsPath.count + 1).dropLast("/review".count))
            return try await reviewOperator(id, session, exchange)
        case (.get, Self.operatorHomePath):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await operatorHome(session, exchange.language)
        case (.get, Self.grantsPath):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await grantInbox(session, exchange)
        case (_, _) where path.hasPrefix(Self.grantsPath + "/"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            let rest = path.dropFirst(Self.grantsPath.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            switch (method, rest.count) {
            case (.get, 1):
                let notice: Phrase? = exchange.request.uri.queryParameters["done"] != nil ? .actionRecorded : nil
                return try await grantPage(rest[0], session, exchange.language, notice: notice)
            case (.post, 2): return try await grantAction(rest[0], rest[1], session, exchange)
            default: return errorPage(.notFound, .notFoundTitle, .notFoundText, exchange.language, session: session)
            }
        case (.get, Self.financePath):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await financeYear(session, exchange)
        case (_, _) where path.hasPrefix(Self.financePath + "/"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            let rest = path.dropFirst(Self.financePath.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            switch (method, rest.count, rest.last) {
            case (.get, 1, _):
                let query = exchange.request.uri.queryParameters
                let notice: Phrase? = query["closed"] != nil ? .periodClosedNotice : query["booked"] != nil ? .adjustmentBooked : nil
                return try await financePeriod(rest[0], session, exchange.language, notice: notice)
            case (.get, 2, "close"): return try await confirmClose(rest[0], session, exchange.language)
            case (.post, 2, "close"): return try await close(rest[0], session, exchange)
            case (.post, 2, "adjustments"): return try await addAdjustment(rest[0], session, exchange)
            case (.get, 2, "report"): return try await download(rest[0], session, exchange)
            default: return errorPage(.notFound, .notFoundTitle, .notFoundText, exchange.language, session: session)
            }
        case (_, _) where path == Self.cataloguePath || path.hasPrefix(Self.cataloguePath + "/"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await catalogue(path, session, exchange)
        case (.get, _) where path.hasPrefix("/console/audit/entries/"):
            guard let session = try await session(exchange) else { return signInAgain(exchange) }
            return try await entry(path.dropFirst("/console/audit/entries/".count), session, exchange.language)
        case (_, "/console"), (_, "/console/"), (_, "/console/style.css"), (_, "/console/language"), (_, "/console/sign-in"),
             (_, "/console/sign-out"), (_, "/console/audit"), (_, "/console/audit/entries"), (_, Self.exportPath):
            var response = errorPage(.methodNotAllowed, .notFoundTitle, .notFoundText, exchange.language)
            response.headers[.allow] = path == "/console/sign-in" ? "GET, POST" : path == "/console/sign-out" ? "POST" : "GET"
            return response
        default:
            return errorPage(.notFound, .notFoundTitle, .notFoundText, exchange.language)
        }
    }

    /// To the sign-in page; saying the session ended when the browser sent one.
    func signInAgain(_ exchange: Exchange) -> Response {
        guard exchange.cookies[Cookies.session] != nil else { return Self.redirect("/console/sign-in") }
        var response = Self.redirect("/console/sign-in?ended=1")
        response.headers.append(expired(Cookies.session))
        return response
    }

    // MARK: Sessions

    /// The request's live session, with the principal read again; nil if there is none, it ended, or
    /// its key no longer holds.
    func session(_ exchange: Exchange) async throws -> ConsoleSession? {
        guard let id = exchange.cookies[Cookies.session], let stored = try await sessions.resume(id, now: dependencies.now()) else {
            return nil
        }
        guard let principal = try await dependencies.principal(stored.keyID) else {
            try await sessions.end(id)
            return nil
        }
        return ConsoleSession(id: id, stored: stored, principal: principal)
    }

    func signIn(_ exchange: Exchange) async throws -> Response {
        if let wait = dependencies.signInWait(exchange.address) {
            var response = try signInPage(exchange.language, status: .tooManyRequests, error: .signInRateLimited)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let form = try await Form(exchange.request)
        guard let sent = form["csrf"], let expected = exchange.cookies[Cookies.signIn],
              ConstantTime.equals(Array(sent.utf8), Array(expected.utf8)) else {
            return try signInPage(exchange.language, status: .forbidden, error: .formExpired)
        }
        let key = (form["api_key"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, key.utf8.count <= 512, let principal = try await dependencies.signIn(key) else {
            dependencies.signInFailed(exchange.address)
            return try signInPage(exchange.language, status: .unauthorized, error: .signInFailed)
        }
        let session = try await sessions.start(principal, now: dependencies.now(), random: dependencies.random)
        var response = Self.redirect("/console/")
        response.headers.append(cookie(Cookies.session, session.id, maxAge: nil))
        response.headers.append(expired(Cookies.signIn))
        return response
    }

    func signOut(_ exchange: Exchange) async throws -> Response {
        guard let session = try await session(exchange) else {
            var response = Self.redirect("/console/sign-in?ended=1")
            response.headers.append(expired(Cookies.session))
            return response
        }
        let form = try await Form(exchange.request)
        guard let sent = form["csrf"], ConstantTime.equals(Array(sent.utf8), Array(session.csrfToken.utf8)) else {
            return errorPage(.forbidden, .forbiddenTitle, .formExpired, exchange.language, session: session)
        }
        try await sessions.end(session.id)
        var response = Self.redirect("/console/sign-in")
        response.headers.append(expired(Cookies.session))
        return response
    }

    // MARK: Pages

    /// The sign-in form, with a fresh CSRF token in its cookie and in the form.
    func signInPage(_ language: ConsoleLanguage, status: HTTPResponse.Status, error: Phrase?) throws -> Response {
        let token = Hex.encode(try dependencies.random.bytes(32))
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = ""
        if let error { body += "<p class=\"error\" role=\"alert\">\(t(error))</p>" }
        body += """
            <p>\(t(.signInIntro))</p>
            <form method="post" action="/console/sign-in" autocomplete="off">
            <input type="hidden" name="csrf" value="\(token)">
            <label for="api_key">\(t(.apiKeyLabel))</label>
            <input type="password" id="api_key" name="api_key" required maxlength="512" autocomplete="off">
            <p><button type="submit">\(t(.signInButton))</button></p>
            </form>
            """
        var response = html(Page(language: language, title: .signInTitle, body: body), status: status)
        response.headers.append(cookie(Cookies.signIn, token, maxAge: 3600))
        return response
    }

    func home(_ session: ConsoleSession, _ language: ConsoleLanguage) -> Response {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let principal = session.principal
        var rows = [
            (t(.signedInAs), escape(session.displayName)),
            (t(.principalLabel), "<code>\(escape(principal.id))</code>"),
            (t(.roleLabel), t(Self.phrase(principal.role))),
        ]
        if let authority = principal.authorityID { rows.append((t(.authorityLabel), "<code>\(escape(authority))</code>")) }
        var links: [(String, Phrase)] = [("/console/audit", .auditTitle)]
        if EntryBrowser.roles.contains(principal.role) { links.append(("/console/audit/entries", .entriesTitle)) }
        if Self.seesFinance(principal.role, dependencies.permitted) { links.append((Self.financePath, .financeTitle)) }
        if principal.role == .authorityReviewer || principal.role == .admin { links.append((Self.operatorsPath, .operatorInboxTitle)) }
        if principal.role == .authorityReviewer, principal.authorityID != nil { links.append((Self.grantsPath, .grantInboxTitle)) }
        if principal.role == .authorityReviewer, principal.authorityID != nil { links.append((Self.cataloguePath, .catalogueTitle)) }
        if principal.role == .operator { links.append((Self.operatorHomePath, .operatorHomeTitle)) }
        let list: [String] = rows.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }
        let items: [String] = links.map { "<li><a href=\"\($0.0)\">\(t($0.1))</a></li>" }
        let body = "<dl>" + list.joined() + "</dl><ul>" + items.joined() + "</ul>"
        return html(Page(language: language, title: .homeTitle, body: body, session: session), status: .ok)
    }

    func audit(_ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> Response {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let head = try await dependencies.log.head()
        var body = "<p>\(t(.auditIntro))</p><dl><dt>\(t(.logSizeLabel))</dt><dd id=\"log-size\">\(head.size)</dd></dl>"
        body += "<h2>\(t(.checkpointLabel))</h2>"
        if let note = try await dependencies.log.latestCheckpoint(), let checkpoint = try? Checkpoint.parse(note.text) {
            body += """
                <dl><dt>\(t(.originLabel))</dt><dd><code>\(escape(checkpoint.origin))</code></dd>\
                <dt>\(t(.logSizeLabel))</dt><dd id="checkpoint-size">\(checkpoint.size)</dd>\
                <dt>\(t(.rootHashLabel))</dt><dd><code>\(Hex.encode(checkpoint.rootHash.bytes))</code></dd></dl>
                <pre id="checkpoint">\(escape(note.serialized))</pre>
                """
        } else {
            body += "<p>\(t(.noCheckpoint))</p>"
        }
        if EntryBrowser.roles.contains(session.principal.role) {
            body += "<p><a href=\"/console/audit/entries\">\(t(.entriesTitle))</a></p>"
        }
        body += """
            <h2>\(t(.verifyTitle))</h2>
            <p>\(t(.verifyIntro))</p>
            <pre>pdx audit export --out AUDIT-DIR
            pdx-verify AUDIT-DIR --vkey VKEY-FILE</pre>
            """
        if EntryBrowser.roles.contains(session.principal.role) {
            body += try await exportSection(language)
        }
        return html(Page(language: language, title: .auditTitle, body: body, session: session), status: .ok)
    }

    func errorPage(_ status: HTTPResponse.Status, _ title: Phrase, _ message: Phrase, _ language: ConsoleLanguage,
                   session: ConsoleSession? = nil) -> Response {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        let body = "<p>\(t(message))</p><p><a href=\"/console/\">\(t(.backHome))</a></p>"
        return html(Page(language: language, title: title, body: body, session: session), status: status)
    }

    static func phrase(_ role: Role) -> Phrase {
        switch role {
        case .admin: .roleAdmin
        case .authorityReviewer: .roleReviewer
        case .operator: .roleOperator
        case .auditor: .roleAuditor
        case .finance: .roleFinance
        }
    }

    // MARK: HTTP

    func html(_ page: Page, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page.html)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// A cookie scoped to the console: `HttpOnly`, `SameSite=Strict`, `Secure` under TLS.
    func cookie(_ name: String, _ value: String, maxAge: Int?) -> HTTPField {
        var attributes = "\(name)=\(value); Path=/console; HttpOnly; SameSite=Strict"
        if let maxAge { attributes += "; Max-Age=\(maxAge)" }
        if dependencies.secureCookies { attributes += "; Secure" }
        return HTTPField(name: .setCookie, value: attributes)
    }

    func expired(_ name: String) -> HTTPField {
        cookie(name, "", maxAge: 0)
    }

    /// The headers of every console answer: no script, no framing, no caching, no referrer.
    static func secure(_ headers: inout HTTPFields, language: ConsoleLanguage) {
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[.cacheControl] = "no-store"
        headers[.contentLanguage] = language.tag
        headers[.vary] = "Accept-Language, Cookie"
    }

    static func address(of context: Context) -> String {
        guard let address = (context as? any RemoteAddressRequestContext)?.remoteAddress else { return "unknown" }
        return address.ipAddress ?? "unknown"
    }
}

/// The request's cookies by name (the first of each name).
struct Cookies {
    static let session = "pdx_session"
    static let signIn = "pdx_sign_in"
    static let language = "pdx_lang"

    private var values: [String: String] = [:]

    init(_ headers: HTTPFields) {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if values[name] == nil { values[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
    }

    subscript(name: String) -> String? { values[name] }
}

/// An `application/x-www-form-urlencoded` body of at most 16 KiB.
struct Form {
    private var fields: [String: String] = [:]

    init(_ request: Request) async throws {
        // Collected and limited already by `ConsoleRoutes.handle`.
        let buffer = try await request.body.collect(upTo: .max)
        let body = String(buffer: buffer)
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), fields[name] == nil else { continue }
            fields[name] = parts.count == 2 ? decode(parts[1]) : ""
        }
    }

    subscript(name: String) -> String? { fields[name] }

    /// True when the form's `csrf` field is `token`, compared in constant time.
    func holds(_ token: String) -> Bool {
        guard let sent = fields["csrf"] else { return false }
        return ConstantTime.equals(Array(sent.utf8), Array(token.utf8))
    }
}
