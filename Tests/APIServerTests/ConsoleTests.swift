import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PDXTesting
import Persistence
import Testing

/// The console's pages over the real router: sign-in, sessions, CSRF, languages and the audit page.
@Suite("Console: sign-in, sessions and pages")
struct ConsoleTests {
    /// A browser's jar: the cookies the console set, sent back on every request.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var language: String?

        init(_ client: any TestClientProtocol, language: String? = nil) {
            self.client = client
            self.language = language
        }

        @discardableResult
        func send(_ method: HTTPRequest.Method, _ uri: String, form: [(String, String)]? = nil) async throws -> TestResponse {
            var headers = HTTPFields()
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            if let language { headers[.acceptLanguage] = language }
            var body: ByteBuffer?
            if let form {
                headers[.contentType] = "application/x-www-form-urlencoded"
                body = ByteBuffer(string: form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&"))
            }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body) { $0 }
            for header in response.headers[values: .setCookie] {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0])
                let value = pair.count == 2 ? String(pair[1]) : ""
                if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
            }
            return response
        }

        /// The CSRF token of the form on `page`.
        static func csrf(_ page: TestResponse) throws -> String {
            let text = page.text
            let marker = #"name="csrf" value=""#
            let start = try #require(text.range(of: marker)).upperBound
            return String(text[start...].prefix { $0 != "\"" })
        }

        /// Opens the sign-in page and signs in with `key`.
        func signIn(_ key: String) async throws -> TestResponse {
            let page = try await send(.get, "/console/sign-in")
            return try await send(.post, "/console/sign-in", form: [("csrf", try Self.csrf(page)), ("api_key", key)])
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }
    }

    static func setCookie(_ response: TestResponse, _ name: String) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }

    @Test("a signed-out visitor is sent to sign in; every answer forbids script, framing and caching", arguments: Backend.available)
    func signedOutVisitorsSignIn(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let browser = Browser(client)
            let home = try await browser.send(.get, "/console/")
            #expect(home.status == .seeOther)
            #expect(home.headers[.location] == "/console/sign-in")
            let audit = try await browser.send(.get, "/console/audit")
            #expect(audit.status == .seeOther)
            let page = try await browser.send(.get, "/console/sign-in")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'"))
            #expect(!policy.contains("script-src"), "no script may run at all")
            #expect(policy.contains("frame-ancestors 'none'"))
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(!page.text.contains("<script"))
            #expect(page.text.contains(#"<link rel="stylesheet" href="/console/style.css">"#))
            let style = try await browser.send(.get, "/console/style.css")
            #expect(style.status == .ok)
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
            #expect(try await browser.send(.get, "/console/nothing-here").status == .notFound)
            let wrongMethod = try await browser.send(.put, "/console/sign-in")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "GET, POST")
        }
    }

    @Test("Chinese by default, English by Accept-Language or the switch, which is remembered")
    func languages() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let chinese = try await Browser(client).send(.get, "/console/sign-in")
            #expect(chinese.text.contains(#"<html lang="zh-CN">"#))
            #expect(chinese.text.contains("API 密钥"))
            #expect(chinese.headers[.contentLanguage] == "zh-CN")

            let english = try await Browser(client, language: "en-GB,en;q=0.9,zh;q=0.5").send(.get, "/console/sign-in")
            #expect(english.text.contains(#"<html lang="en">"#))
            #expect(english.text.contains("API key"))
            let preferChinese = try await Browser(client, language: "en;q=0.4, zh-CN").send(.get, "/console/sign-in")
            #expect(preferChinese.text.contains(#"<html lang="zh-CN">"#))

            let browser = Browser(client, language: "zh-CN")
            let switched = try await browser.send(.get, "/console/language?to=en")
            #expect(switched.status == .seeOther)
            #expect(browser.cookies["pdx_lang"] == "en")
            #expect(try await browser.send(.get, "/console/sign-in").text.contains(#"<html lang="en">"#))
            _ = try await browser.send(.get, "/console/language?to=zh")
            #expect(try await browser.send(.get, "/console/sign-in").text.contains(#"<html lang="zh-CN">"#))
        }
    }

    @Test("a key is exchanged once for an HttpOnly, SameSite=Strict session; the key is never sent back", arguments: Backend.available)
    func signInMakesASession(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let browser = Browser(client)
            let signedIn = try await browser.signIn(admin)
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.headers[.location] == "/console/")
            let cookie = try #require(Self.setCookie(signedIn, "pdx_session"))
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] { #expect(cookie.contains(attribute)) }
            #expect(!cookie.contains("Secure"), "no TLS here: a Secure cookie would never come back")
            let session = try #require(browser.cookies["pdx_session"])
            #expect(session.count == 64 && Hex.decode(session) != nil)
            #expect(!cookie.contains(admin) && !signedIn.text.contains(admin))

            let home = try await browser.send(.get, "/console/")
            #expect(home.status == .ok)
            #expect(home.text.contains("平台管理员"))
            #expect(!home.text.contains(admin))
            #expect(home.text.contains(#"action="/console/sign-out""#))

            _ = try await runtime.log.signCheckpoint()
            let audit = try await browser.send(.get, "/console/audit")
            #expect(audit.status == .ok)
            let size = try await runtime.log.head().size
            #expect(audit.text.contains(#"<dd id="log-size">\#(size)</dd>"#))
            let note = try #require(try await runtime.log.latestCheckpoint())
            let checkpoint = try Checkpoint.parse(note.text)
            #expect(audit.text.contains(#"<dd id="checkpoint-size">\#(checkpoint.size)</dd>"#))
            #expect(audit.text.contains(Hex.encode(checkpoint.rootHash.bytes)))
            #expect(audit.text.contains("pdx-verify"))
        }
    }

    @Test("a sign-in without the form's token, or with a wrong key, makes no session; failures are rate-limited", arguments: Backend.available)
    func refusedSignIns(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let clock = ManualClock()
        clock.freeze()
        let limiter = RateLimiter(rate: 1, burst: 3, now: clock.now)
        try await market.withServer(failedAuthentications: limiter) { _, client in
            let admin = try market.adminToken
            // A form posted from elsewhere has no token cookie: refused even with a good key.
            let forged = try await Browser(client).send(.post, "/console/sign-in", form: [("csrf", "x"), ("api_key", admin)])
            #expect(forged.status == .forbidden)
            #expect(Self.setCookie(forged, "pdx_session") == nil)
            // A token that is not the page's.
            let browser = Browser(client)
            _ = try await browser.send(.get, "/console/sign-in")
            let mismatched = try await browser.send(.post, "/console/sign-in", form: [("csrf", String(repeating: "0", count: 64)), ("api_key", admin)])
            #expect(mismatched.status == .forbidden)
            #expect(browser.cookies["pdx_session"] == nil)

            let wrong = APIKey(keyID: "0123456789abcdef", secret: String(repeating: "x", count: 43)).presented
            for key in [wrong, "not a key", wrong] {
                let refused = try await browser.signIn(key)
                #expect(refused.status == .unauthorized)
                #expect(refused.text.contains("role=\"alert\""))
                #expect(browser.cookies["pdx_session"] == nil)
            }
            // The address has used up its failures: even the good key waits, through the console and the API.
            let held = try await browser.signIn(admin)
            #expect(held.status == .tooManyRequests)
            #expect(held.headers[.retryAfter].flatMap { Int($0) }.map { $0 >= 1 } == true)
            #expect(browser.cookies["pdx_session"] == nil)
            #expect(try await client.request(.get, "/v1/authorities", key: admin).status == .tooManyRequests)
            clock.advance(seconds: 1)
            #expect(try await browser.signIn(admin).status == .seeOther)
            #expect(browser.cookies["pdx_session"] != nil)
        }
    }

    @Test("sign-out needs the session's token; a revoked key ends its sessions at once", arguments: Backend.available)
    func sessionsEnd(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, client)
            let browser = Browser(client)
            #expect(try await browser.signIn(actors["auditor"]).status == .seeOther)
            let home = try await browser.send(.get, "/console/")
            #expect(home.text.contains("审计人员"))

            let forged = try await browser.send(.post, "/console/sign-out", form: [("csrf", "forged")])
            #expect(forged.status == .forbidden)
            #expect(try await browser.send(.get, "/console/").status == .ok, "a forged sign-out must not end the session")
            let session = try #require(browser.cookies["pdx_session"])
            let signOut = try await browser.send(.post, "/console/sign-out", form: [("csrf", try Browser.csrf(home))])
            #expect(signOut.status == .seeOther)
            #expect(browser.cookies["pdx_session"] == nil)
            // The old id is dead on the server, not only forgotten by the browser.
            browser.cookies["pdx_session"] = session
            let after = try await browser.send(.get, "/console/")
            #expect(after.status == .seeOther)
            #expect(after.headers[.location] == "/console/sign-in?ended=1")

            #expect(try await browser.signIn(actors["auditor"]).status == .seeOther)
            #expect(try await browser.send(.get, "/console/audit").status == .ok)
            let revoke = try await client.request(.post, "/v1/principals/\(actors.ids["auditor"]!)/revoke", key: actors.admin,
                                                  body: #"{"reason":"left the office"}"#)
            #expect(revoke.status == .ok)
            let revoked = try await browser.send(.get, "/console/audit")
            #expect(revoked.status == .seeOther)
            #expect(revoked.headers[.location] == "/console/sign-in?ended=1")
            #expect(try await browser.signIn(actors["auditor"]).status == .unauthorized)
        }
    }

    @Test("what a person's name holds is shown as text, never as markup")
    func namesAreEscaped() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("<b onclick=x>Wang</b>", role: .finance, client)
            let browser = Browser(client, language: "en")
            #expect(try await browser.signIn(actors["<b onclick=x>Wang</b>"]).status == .seeOther)
            let home = try await browser.send(.get, "/console/")
            #expect(home.text.contains("&lt;b onclick=x&gt;Wang&lt;/b&gt;"))
            #expect(!home.text.contains("<b onclick"))
            #expect(home.text.contains("Finance"))
        }
    }

    @Test("a session ends after its idle time and after its lifetime; the database keeps its hash, and purges it",
          arguments: Backend.available)
    func sessionTimes(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let runtime = try await market.open()
        do {
            let sessions = ConsoleSessions(database: runtime.database, idleTimeout: 60, lifetime: 300)
            let principal = Principal(id: "pr_1", name: "Li", role: .auditor, keyID: "k1",
                                      keyHash: SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))!, createdAt: Date())
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let first = try await sessions.start(principal, now: start, random: SecureRandom())
            let stored = try #require(try await runtime.database.read { try await $0.consoleSession(idHash: ConsoleSessions.hash(first.id)) })
            #expect(stored.principalID == "pr_1" && stored.role == "auditor" && stored.csrfToken == first.csrfToken)
            #expect(stored.expiresAt == start.addingTimeInterval(300))
            #expect(stored.idHash == SHA256.hash(Array(first.id.utf8)).bytes, "the id's hash, not the id")
            #expect(try await sessions.resume(first.id, now: start.addingTimeInterval(59)) != nil)
            #expect(try await sessions.resume(first.id, now: start.addingTimeInterval(118)) != nil, "each request restarts the idle time")
            #expect(try await sessions.resume(first.id, now: start.addingTimeInterval(179)) == nil, "idle for 61 s")
            #expect(try await runtime.database.read { try await $0.consoleSession(idHash: ConsoleSessions.hash(first.id)) } == nil,
                    "and deleted")

            let long = try await sessions.start(principal, now: start, random: SecureRandom())
            for minute in 1...4 { #expect(try await sessions.resume(long.id, now: start.addingTimeInterval(Double(minute) * 59)) != nil) }
            #expect(try await sessions.resume(long.id, now: start.addingTimeInterval(300)) == nil, "past its lifetime even in use")

            // A sign-in purges the sessions nobody came back to.
            let forgotten = try await sessions.start(principal, now: start, random: SecureRandom())
            _ = try await sessions.start(principal, now: start.addingTimeInterval(61), random: SecureRandom())
            #expect(try await runtime.database.read { try await $0.consoleSession(idHash: ConsoleSessions.hash(forgotten.id)) } == nil)
            #expect(try await runtime.database.read { try await $0.consoleSessionCount() } == 1)
            #expect(try await sessions.resume("not-a-session", now: start) == nil)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    @Test("a session made through one instance is accepted by another on the same database, and ends on both at sign-out",
          arguments: Backend.available)
    func sessionsAcrossInstances(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, first in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, first)
            let key = actors["auditor"]
            try await market.withServer { _, second in
                for signOutOn in [0, 1] {
                    let one = Browser(first, language: "en")
                    #expect(try await one.signIn(key).status == .seeOther)
                    let two = Browser(second, language: "en")
                    two.cookies["pdx_session"] = try #require(one.cookies["pdx_session"])
                    let page = try await two.send(.get, "/console/audit")
                    #expect(page.status == .ok, "the other instance knows the session")
                    #expect(try Browser.csrf(page) == (try Browser.csrf(try await one.send(.get, "/console/"))), "with its CSRF token")
                    let (ends, other) = signOutOn == 0 ? (one, two) : (two, one)
                    #expect(try await ends.send(.post, "/console/sign-out", form: [("csrf", try Browser.csrf(page))]).status == .seeOther)
                    let after = try await other.send(.get, "/console/audit")
                    #expect(after.status == .seeOther && after.headers[.location] == "/console/sign-in?ended=1",
                            "signed out on one instance, refused by the other")
                }
            }
        }
    }

    @Test("Accept-Language: the console's best match by weight, else Chinese")
    func negotiation() {
        #expect(ConsoleLanguage.negotiate(cookie: nil, acceptLanguage: nil) == .zh)
        #expect(ConsoleLanguage.negotiate(cookie: nil, acceptLanguage: "fr, de") == .zh)
        #expect(ConsoleLanguage.negotiate(cookie: nil, acceptLanguage: "fr, en-US;q=0.8") == .en)
        #expect(ConsoleLanguage.negotiate(cookie: nil, acceptLanguage: "en;q=0, zh-TW") == .zh)
        #expect(ConsoleLanguage.negotiate(cookie: "en", acceptLanguage: "zh-CN") == .en)
        #expect(ConsoleLanguage.negotiate(cookie: "xx", acceptLanguage: "en") == .en)
    }

    @Test("every phrase has a text in both languages")
    func catalogues() {
        for phrase in Phrase.allCases {
            #expect(!text(phrase, .zh).isEmpty && !text(phrase, .en).isEmpty)
        }
        #expect(text(.signInTitle, .zh) != text(.signInTitle, .en))
    }
}
