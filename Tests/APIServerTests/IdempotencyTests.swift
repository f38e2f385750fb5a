import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import NIOCore
import PDXTesting
import Persistence
import Settlement
import Testing

@Suite("HTTP: Idempotency-Key")
struct IdempotencyTests {
    static func post(_ client: any TestClientProtocol, _ path: String, key: String, idempotencyKey: String,
                     body: String) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
    }

    @Test(arguments: Backend.available)
    func retriesReplayTheFirstAnswerAndCreateNothing(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let body = #"{"id":"bj","name":"北京市大数据中心","region":"Beijing"}"#
            let first = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1", body: body)
            #expect(first.status == .created)
            let size = try await runtime.log.head().size
            let retry = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1", body: body)
            #expect(retry.status == .created)
            #expect(retry.text == first.text)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await runtime.log.head().size == size, "a replay wrote to the log")

            let other = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-bj-1",
                                            body: #"{"id":"tj","name":"x","region":"y"}"#)
            #expect(other.status == .unprocessableContent)
            #expect(try other.problem()["code"] as? String == "idempotency_key_reused")

            let badKey = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "has space", body: body)
            #expect(try badKey.problem()["code"] as? String == "invalid_request")

            // A failed request does not use up its key: the corrected one goes through.
            let failed = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-tj",
                                             body: #"{"id":"TJ!","name":"x","region":"y"}"#)
            #expect(failed.status == .unprocessableContent)
            let corrected = try await Self.post(client, "/v1/authorities", key: admin, idempotencyKey: "create-tj",
                                                body: #"{"id":"tj","name":"天津市数据局","region":"Tianjin"}"#)
            #expect(corrected.status == .created, "\(corrected.text)")
        }
    }

    @Test(arguments: Backend.available)
    func aReplayedPrincipalNeverShowsTheKeyAgain(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let admin = try market.adminToken
            let body = #"{"name":"Audit Office","role":"auditor"}"#
            let first = try await Self.post(client, "/v1/principals", key: admin, idempotencyKey: "auditor-1", body: body)
            let key = try #require(try first.json()["api_key"] as? String)
            #expect(APIKey(presented: key) != nil)
            let retry = try await Self.post(client, "/v1/principals", key: admin, idempotencyKey: "auditor-1", body: body)
            #expect(retry.status == .created)
            #expect(try retry.json()["id"] as? String == (try first.json()["id"] as? String))
            #expect(!retry.text.contains(key))
            let principals = try await runtime.database.read { try await $0.principals() }
            #expect(principals.filter { $0.role == .auditor }.count == 1)
        }
    }

    // MARK: one effect per key, on every creating POST

    /// Proves `Idempotency-Key` on one operation, counting its effect by the log entries of
    /// `action`: the same key and body twice is one effect and the same bytes; the same key with
    /// `otherBody` is 422 and writes nothing; concurrent sends of `concurrentBody` under a fresh key
    /// are one effect, each answered with that one answer or 409 `idempotency_in_progress`.
    static func expectOneEffectPerKey(
        _ client: any TestClientProtocol, _ runtime: Runtime, path: String, as apiKey: String, status: HTTPResponse.Status,
        body: String, otherBody: String, concurrentBody: String, action: String
    ) async throws {
        func effects() async throws -> Int { try await actions(runtime).filter { $0 == action }.count }
        let before = try await effects()
        let first = try await post(client, path, key: apiKey, idempotencyKey: "first-try", body: body)
        #expect(first.status == status, "\(first.text)")
        #expect(first.headers[replayed] == nil)
        let once = try await effects()
        #expect(once > before, "the request had no effect to count")
        let size = try await runtime.log.head().size

        let retry = try await post(client, path, key: apiKey, idempotencyKey: "first-try", body: body)
        #expect(retry.status == status)
        #expect(retry.body == first.body, "a retry got other bytes: \(retry.text) after \(first.text)")
        #expect(retry.headers[.contentType] == first.headers[.contentType])
        #expect(retry.headers[replayed] == "true")
        #expect(try await runtime.log.head().size == size, "a replay wrote to the log")

        let other = try await post(client, path, key: apiKey, idempotencyKey: "first-try", body: otherBody)
        #expect(other.status == .unprocessableContent)
        #expect(try other.problem()["code"] as? String == "idempotency_key_reused")
        #expect(try await runtime.log.head().size == size, "a reused key wrote to the log")

        let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<6 {
                group.addTask { try await Self.post(client, path, key: apiKey, idempotencyKey: "sent-at-once", body: concurrentBody) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let succeeded = answers.filter { $0.status == status }
        #expect(!succeeded.isEmpty)
        #expect(Set(succeeded.map(\.body)).count == 1, "concurrent duplicates got different answers")
        for refused in answers where refused.status != status {
            #expect(refused.status == .conflict, "\(refused.text)")
            #expect(try refused.problem()["code"] as? String == "idempotency_in_progress")
        }
        #expect(try await effects() - once == once - before, "concurrent duplicates had more than one effect")
        let late = try await post(client, path, key: apiKey, idempotencyKey: "sent-at-once", body: concurrentBody)
        #expect(late.body == succeeded.first?.body)
    }

    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    @Test("a retried grant request makes one grant and gets the same answer", arguments: Backend.available)
    func grantRequest(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-open", by: "bj-a", client).status == .created)
            let startsAt = RFC3339.format(Date().addingTimeInterval(86_400))
            let endsAt = RFC3339.format(Date().addingTimeInterval(90 * 86_400))
            func body(_ price: String) -> String {
                LicensingMarket.grantBody([("bj-open", price)], startsAt: startsAt, endsAt: endsAt)
            }
            try await Self.expectOneEffectPerKey(
                client, runtime, path: "/v1/grants", as: m.actors["acme"], status: .created,
                body: body("0.04"), otherBody: body("0.03"), concurrentBody: body("0.02"), action: "grant.requested")
            let grants = try await client.request(.get, "/v1/grants", key: m.actors["acme"]).json()["items"] as? [[String: Any]]
            #expect(grants?.count == 2)
        }
    }

    @Test("a retried dataset publication publishes once and gets the same answer", arguments: Backend.available)
    func datasetPublication(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await Actors.authority("bj", client, admin: actors.admin)
            try await actors.principal("bj-a", role: .authorityReviewer, authority: "bj", client)
            func body(_ id: String) -> String {
                """
                {"id":"\(id)","title":"Traffic flow","description":"Hourly flow per road segment","theme":"traffic",
                 "openness":"open","grade":"general","fields":[{"name":"road_id","type":"string","sensitive":false}],
                 "units":["call"],"currency":"CNY","ceiling_prices":{"call":"0.05"},"revenue_share_bps":3000,"delivery":"declared"}
                """
            }
            try await Self.expectOneEffectPerKey(
                client, runtime, path: "/v1/datasets", as: actors["bj-a"], status: .created,
                body: body("bj-flow"), otherBody: body("bj-flow-2"), concurrentBody: body("bj-speed"), action: "dataset.published")
            let datasets = try await client.request(.get, "/v1/datasets", key: actors["bj-a"]).json()["items"] as? [[String: Any]]
            #expect(datasets?.compactMap { $0["id"] as? String }.sorted() == ["bj-flow", "bj-speed"])
        }
    }

    @Test("a retried usage batch is answered as the first time (accepted, not duplicate) and counted once",
          arguments: Backend.available)
    func usageBatch(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let u = try await UsageMarket.setUp(market, client)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let body = usageBody([usageEvent("k-1", grant: u.grant, quantity: 3, time: t),
                                  usageEvent("k-2", grant: u.grant, quantity: 4, time: t)])
            let other = usageBody([usageEvent("k-1", grant: u.grant, quantity: 3, time: t)])
            let concurrent = usageBody([usageEvent("k-3", grant: u.grant, quantity: 5, time: t)])
            try await Self.expectOneEffectPerKey(
                client, runtime, path: "/v1/usage", as: u.m.actors["acme"], status: .ok,
                body: body, otherBody: other, concurrentBody: concurrent, action: "usage.recorded")
            let retry = try await Self.post(client, "/v1/usage", key: u.m.actors["acme"], idempotencyKey: "first-try", body: body)
            #expect(try retry.usageStatuses() == ["accepted", "accepted"])
            // The same events under another key are what they always were: duplicates.
            let again = try await Self.post(client, "/v1/usage", key: u.m.actors["acme"], idempotencyKey: "second-try", body: body)
            #expect(try again.usageStatuses() == ["duplicate", "duplicate"])
            let period = MarketCalendar().period(of: t)
            let items = try await client.request(.get, "/v1/usage/summary?period=\(period)", key: u.m.actors["acme"]).json()["items"] as? [[String: Any]]
            #expect(items?.first?["quantity"] as? Int == 3 + 4 + 5)
        }
    }

    @Test("a retried adjustment books the money once and gets the same answer", arguments: Backend.available)
    func adjustment(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let next = calendar.period(of: calendar.end(of: period))
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 30, s.start)], client) == ["accepted"])
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(period, client).status == .ok)
            let line = try #require(lines(try await s.report(period, client).json()).first { $0["grant_id"] as? String == s.acmeGrant })
            let lineID = try #require(line["line_id"] as? String)
            func body(_ amount: Int) -> String {
                #"{"corrects":"\#(lineID)","amount_minor":\#(amount),"reason":"Duplicate billing of a retried call"}"#
            }
            try await Self.expectOneEffectPerKey(
                client, runtime, path: "/v1/settlements/\(next)/adjustments", as: s.m.actors["fin"], status: .created,
                body: body(-10), otherBody: body(-11), concurrentBody: body(-5), action: "settlement.adjusted")

            // The next period's close books exactly the two corrections.
            try await s.advance(to: calendar.end(of: next).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(next, client).status == .ok)
            let booked = lines(try await s.report(next, client).json()).filter { $0["kind"] as? String == "adjustment" }
            #expect(booked.compactMap { $0["amount_minor"] as? Int }.sorted() == [-10, -5])
        }
    }

    @Test("a key whose request died is refused as in progress, then free again after 30 s", arguments: Backend.available)
    func abandonedReservation(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            #expect(try await m.publish("bj-open", by: "bj-a", client).status == .created)
            let clock = try await client.request(.get, "/v1/test-clock", key: m.actors.admin).json()
            let now = try #require((clock["now"] as? String).flatMap(RFC3339.parse))
            let body = LicensingMarket.grantBody([("bj-open", "0.04")], startsAt: RFC3339.format(now.addingTimeInterval(86_400)),
                                                 endsAt: RFC3339.format(now.addingTimeInterval(90 * 86_400)))
            // What a request left behind when its process died before committing anything.
            let hasher = SHA256()
            hasher.update("POST /v1/grants\n")
            hasher.update(Array(body.utf8))
            let reservation = IdempotencyReservation(principalID: try #require(m.actors.ids["acme"]), key: "died",
                                                     requestHash: hasher.finalize().hex)
            #expect(try await runtime.database.transaction {
                try await $0.reserveIdempotencyKey(reservation, at: now, staleAfter: IdempotencyMiddleware.staleAfter)
            } == .new)

            let waiting = try await Self.post(client, "/v1/grants", key: m.actors["acme"], idempotencyKey: "died", body: body)
            #expect(waiting.status == .conflict)
            #expect(try waiting.problem()["code"] as? String == "idempotency_in_progress")
            #expect(waiting.headers[.retryAfter] == "1")
            #expect(try await actions(runtime).filter { $0 == "grant.requested" }.isEmpty)

            let moved = try await client.request(.post, "/v1/test-clock", key: m.actors.admin,
                                                 body: #"{"now":"\#(RFC3339.format(now.addingTimeInterval(31)))"}"#)
            #expect(moved.status == .ok, "\(moved.text)")
            let taken = try await Self.post(client, "/v1/grants", key: m.actors["acme"], idempotencyKey: "died", body: body)
            #expect(taken.status == .created, "\(taken.text)")
            let retry = try await Self.post(client, "/v1/grants", key: m.actors["acme"], idempotencyKey: "died", body: body)
            #expect(retry.body == taken.body)
            #expect(retry.headers[Self.replayed] == "true")
            #expect(try await actions(runtime).filter { $0 == "grant.requested" }.count == 1)
        }
    }

    // MARK: the key's answer commits with the writes

    @Test("a key is answered only with the writes it answers; a second run of the request cannot commit",
          arguments: Backend.available)
    func answerCommitsWithTheWrites(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let runtime = try await market.open()
        do {
            let database = runtime.database
            let request = IdempotencyReservation(principalID: "pr_1", key: "k", requestHash: "h1")
            let answer = IdempotentAnswer(status: 201, contentType: "application/json", body: Array(#"{"id":"x"}"#.utf8))
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(request, at: t0, staleAfter: 30) } == .new)
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(request, at: t0, staleAfter: 30) } == .inProgress)
            let other = IdempotencyReservation(principalID: "pr_1", key: "k", requestHash: "h2")
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(other, at: t0, staleAfter: 30) } == .mismatch)

            // A run that fails after recording its answer rolls the answer back with its writes.
            struct Failed: Error {}
            await #expect(throws: Failed.self) {
                try await database.transaction { tx in
                    try await tx.setMetaValue("1", forKey: "effect-failed")
                    try await tx.recordIdempotentAnswer(answer, for: request, reservedAt: t0)
                    throw Failed()
                }
            }
            #expect(try await database.read { try await $0.idempotentAnswer(for: request) } == nil)

            // A slow run's reservation is taken over after the stale limit; the first run to commit
            // answers, and the other's writes roll back with its answer.
            let later = t0.addingTimeInterval(31)
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(request, at: later, staleAfter: 30) } == .new)
            try await database.transaction { tx in
                try await tx.setMetaValue("1", forKey: "effect-first")
                try await tx.recordIdempotentAnswer(answer, for: request, reservedAt: later)
            }
            await #expect(throws: IdempotentRequestAnswered.self) {
                try await database.transaction { tx in
                    try await tx.setMetaValue("1", forKey: "effect-second")
                    try await tx.recordIdempotentAnswer(
                        IdempotentAnswer(status: 201, contentType: "application/json", body: Array(#"{"id":"y"}"#.utf8)),
                        for: request, reservedAt: t0)
                }
            }
            #expect(try await database.read { try await $0.metaValue(forKey: "effect-first") } == "1")
            #expect(try await database.read { try await $0.metaValue(forKey: "effect-second") } == nil)
            #expect(try await database.read { try await $0.metaValue(forKey: "effect-failed") } == nil)

            // The slow run fails (or its caller saw an error after its commit): releasing the key
            // gives the stored answer, and the key stays answered.
            #expect(try await database.transaction { try await $0.releaseIdempotencyKey(request) } == answer)
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(request, at: later, staleAfter: 30) }
                    == .replay(answer))
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(other, at: later, staleAfter: 30) } == .mismatch)

            // A reservation released without an answer frees the key for another request.
            let fresh = IdempotencyReservation(principalID: "pr_1", key: "k2", requestHash: "h1")
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(fresh, at: t0, staleAfter: 30) } == .new)
            #expect(try await database.transaction { try await $0.releaseIdempotencyKey(fresh) } == nil)
            let corrected = IdempotencyReservation(principalID: "pr_1", key: "k2", requestHash: "h3")
            #expect(try await database.transaction { try await $0.reserveIdempotencyKey(corrected, at: t0, staleAfter: 30) } == .new)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }
}
