@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import Metering
import Persistence
import PDXTesting
import Replay
import Settlement
import Testing

/// An amendment body: the version read, and each dataset item given in full.
private func amendment(version: Int, _ items: [(id: String, fields: [String], price: String, quota: Int)] = [], endsAt: Date? = nil,
                       justifications: [String: String]? = nil, reason: String? = nil) -> String {
    var members = [#""version":\#(version)"#]
    if let endsAt { members.append(#""ends_at":"\#(RFC3339.format(endsAt))""#) }
    if !items.isEmpty {
        let list = items.map { item in
            var text = #"{"id":"\#(item.id)","fields":[\#(item.fields.map { "\"\($0)\"" }.joined(separator: ","))],"unit_prices":{"call":"\#(item.price)"},"quota_per_period":{"call":\#(item.quota)}"#
            if let justifications {
                text += #","justifications":{\#(justifications.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ","))}"#
            }
            return text + "}"
        }
        members.append(#""datasets":[\#(list.joined(separator: ","))]"#)
    }
    if let reason { members.append(#""reason":"\#(reason)""#) }
    return "{\(members.joined(separator: ","))}"
}

/// Every entry of the log, in order.
private func allEntries(_ runtime: Runtime) async throws -> [AuditEntry] {
    let size = try await runtime.log.head().size
    var entries: [AuditEntry] = []
    while UInt64(entries.count) < size {
        entries += try await runtime.log.entries(start: UInt64(entries.count), limit: 500).map { try AuditEntry(decoding: $0.body) }
    }
    return entries
}

private func approvalSlots(_ grant: [String: Any]) -> [String] {
    (grant["approvals"] as? [[String: Any]] ?? []).map { "\($0["authority_id"] as? String ?? "?"):\($0["decision"] as? String ?? "-")" }
}

@Suite("HTTP: grant amendments, versions, and the stranded grant")
struct GrantAmendmentTests {
    @Test("an open grant suspended by a reclassification is amended, approved by its authority, and active again under its first terms",
          arguments: Backend.available)
    func strandedGrantComesBack(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let s = try await SettlementMarket.setUp(market, client)
            let grant = s.acmeGrant
            let acme = s.m.actors["acme"]
            #expect(try await s.use("acme", grant: grant, [("a-1", 1_000, s.start.addingTimeInterval(60))], client) == ["accepted"])

            // The fee rises after the grant was activated at 500 bps; then its dataset becomes conditional.
            try await s.advance(to: s.start.addingTimeInterval(600), client)
            let fee = try await client.request(.put, "/v1/marketplace/platform-fee", key: s.m.actors.admin,
                                               body: #"{"platform_fee_bps":800,"reason":"2027 fee schedule"}"#)
            #expect(fee.status == .ok, "\(fee.text)")
            let patched = try await client.request(.patch, "/v1/datasets/bj-open", key: s.m.actors["bj-a"],
                                                   body: #"{"openness":"conditional","reason":"road data now released on application only"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let suspended = try await client.request(.get, "/v1/grants/\(grant)", key: acme).json()
            #expect(suspended["status"] as? String == "suspended")
            #expect(reasonCodes(suspended) == ["approval_required"])
            #expect(suspended["version"] as? Int == 1)
            #expect(approvalSlots(suspended).isEmpty, "an all-open grant had no approval slot")
            // Stranded without an amendment: the rules want an approval nobody can give.
            let reinstate = try await client.request(.post, "/v1/grants/\(grant)/reinstate", key: s.m.actors["bj-a"], body: "{}")
            #expect(try reinstate.problem()["code"] as? String == "approval_required")

            // The operator narrows the fields and asks again.
            let start = try await runtime.log.head().size
            let amended = try await client.request(.post, "/v1/grants/\(grant)/amendments", key: acme,
                                                   body: amendment(version: 1, [("bj-open", ["flow"], "0.04", 500_000)],
                                                                   reason: "flow only, for the conditional release"))
            #expect(amended.status == .ok, "\(amended.text)")
            let pending = try amended.json()
            #expect(pending["status"] as? String == "pending")
            #expect(pending["version"] as? Int == 2)
            #expect(approvalSlots(pending) == ["bj:-"], "the providing authority is asked")
            #expect((pending["datasets"] as? [[String: Any]])?.first?["fields"] as? [String] == ["flow"])
            let queue = try await client.request(.get, "/v1/grants?awaiting=me", key: s.m.actors["bj-a"]).json()
            #expect((queue["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.contains(grant) == true)
            // Not in force while pending: usage now is refused.
            try await s.advance(to: s.start.addingTimeInterval(900), client)
            #expect(try await s.use("acme", grant: grant, [("a-2", 1, s.start.addingTimeInterval(900))], client).first?.hasPrefix("rejected") == true)

            try await s.advance(to: s.start.addingTimeInterval(1200), client)
            let approved = try await client.request(.post, "/v1/grants/\(grant)/decisions", key: s.m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(approved.status == .ok, "\(approved.text)")
            let active = try approved.json()
            #expect(active["status"] as? String == "active")
            let terms = try #require(active["terms"] as? [[String: Any]])
            #expect(terms.first?["platform_fee_bps"] as? Int == 500, "the terms of its first activation, not the 800 in force now")
            #expect(terms.first?["revenue_share_bps"] as? Int == 3000)
            try await s.advance(to: s.start.addingTimeInterval(1400), client)
            #expect(try await s.use("acme", grant: grant, [("a-3", 2_000, s.start.addingTimeInterval(1300))], client) == ["accepted"])

            let logged = try await allEntries(runtime)[Int(start)...].map(\.record).filter { $0.action != "test_clock.advanced" }
            #expect(logged.map(\.action) == ["grant.amended", "grant.decided", "grant.activated", "usage.recorded"])
            let data = logged[0].data
            #expect(data["version"] == JSONValue(2))
            #expect(data["from_status"] == "suspended")
            #expect(data["changes"] == ["datasets.bj-open.fields", "datasets.bj-open.quota_per_period"])
            #expect(data["approvals_required"] == ["bj"])
            #expect(data["outcome"] == "pending")
            #expect(data["reason"] == "flow only, for the conditional release")
            #expect(logged[0].actor == (try await client.request(.get, "/v1/grants/\(grant)", key: acme).json()["requested_by"] as? String))

            // Both versions are kept, each with its own approvals.
            let versions = try await client.request(.get, "/v1/grants/\(grant)/versions", key: s.m.actors["bj-a"])
            #expect(versions.status == .ok, "\(versions.text)")
            let items = try #require(try versions.json()["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["version"] as? Int } == [1, 2])
            #expect((items[0]["datasets"] as? [[String: Any]])?.first?["fields"] as? [String] == ["road_id", "flow"])
            #expect(approvalSlots(items[0]).isEmpty)
            #expect(approvalSlots(items[1]) == ["bj:approve"])
            #expect(items[1]["reason"] as? String == "flow only, for the conditional release")
            let other = try await client.request(.get, "/v1/grants/\(grant)/versions", key: s.m.actors["big"])
            #expect(other.status == .notFound, "another operator does not see it")

            // The close rates the grant by its first terms; the log replays to the same grant.
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            let closed = try await s.close(period, client)
            #expect(closed.status == .ok, "\(closed.text)")
            let line = try #require(lines(try await s.report(period, client).json()).first {
                $0["grant_id"] as? String == grant && $0["kind"] as? String == "usage"
            })
            #expect(line["quantity"] as? Int == 3_000)
            #expect(line["platform_bps"] as? Int == 500)

            let replay = ReplayScenario.replay(try await allEntries(runtime))
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            let replayed = try #require(replay.state.grants[grant]?.grant)
            try await runtime.database.read { tx in
                let live = try #require(try await tx.grant(id: grant))
                #expect(replayed.version == live.version)
                #expect(replayed.items == live.items)
                #expect(replayed.endsAt == live.endsAt)
                #expect(replayed.status == live.status)
                #expect(replayed.terms == live.terms)
                #expect(replayed.activeSpans == live.activeSpans)
                #expect(live.earlierVersions.map(\.version) == [1])
            }
        }
    }

    @Test("an amendment voids the approvals given to the version before; a stale one is refused", arguments: Backend.available)
    func approvalsVoided(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client)
            try await m.publish("tj-cond", by: "tj-a", openness: "conditional", client)
            let requested = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04"), ("tj-cond", "0.02")]), client)
            let id = try #require(requested["id"] as? String)
            let first = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(approvalSlots(try first.json()) == ["bj:approve", "tj:-"])

            // A pending grant never in force may change its prices, within the ceiling.
            let shorter = Date().addingTimeInterval(60 * 86_400)
            let amended = try await client.request(.post, "/v1/grants/\(id)/amendments", key: m.actors["acme"],
                                                   body: amendment(version: 1, [("tj-cond", ["road_id"], "0.01", 500)], endsAt: shorter))
            #expect(amended.status == .ok, "\(amended.text)")
            let body = try amended.json()
            #expect(body["version"] as? Int == 2)
            #expect(approvalSlots(body) == ["bj:-", "tj:-"], "bj's approval of version 1 counts for nothing")

            let size = try await runtime.log.head().size
            let stale = try await client.request(.post, "/v1/grants/\(id)/amendments", key: m.actors["acme"],
                                                 body: amendment(version: 1, endsAt: shorter.addingTimeInterval(86_400)))
            #expect(stale.status == .conflict)
            #expect(try stale.problem()["code"] as? String == "stale_version")
            #expect(try await runtime.log.head().size == size, "nothing logged")

            let tj = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["tj-a"], body: #"{"decision":"approve"}"#)
            #expect(try tj.json()["status"] as? String == "pending", "still waiting for bj on version 2")
            let bj = try await client.request(.post, "/v1/grants/\(id)/decisions", key: m.actors["bj-a"], body: #"{"decision":"approve"}"#)
            #expect(bj.status == .ok, "\(bj.text)")
            #expect(try bj.json()["status"] as? String == "active")

            // The verifier agrees; a log in which version 2's activation rests on bj's approval of
            // version 1 (its second decision removed) is a finding, and so is an amendment that asks nobody.
            let entries = try await allEntries(runtime)
            #expect(ReplayScenario.replay(entries).findings.isEmpty, "\(ReplayScenario.replay(entries).findings)")
            let lastDecision = try #require(entries.lastIndex {
                $0.record.action == "grant.decided" && $0.record.data["authority_id"] == "bj"
            })
            var forged = entries
            forged.remove(at: lastDecision)
            #expect(ReplayScenario.replay(forged).findings.map(\.code).contains(.activatedWithoutApproval))
            let amendIndex = try #require(entries.firstIndex { $0.record.action == "grant.amended" })
            var askingNobody = entries
            var record = askingNobody[amendIndex].record
            record.data["approvals_required"] = []
            askingNobody[amendIndex] = AuditEntry(seq: askingNobody[amendIndex].seq, time: askingNobody[amendIndex].time, record: record)
            #expect(ReplayScenario.replay(askingNobody).findings.map(\.code).contains(.grantStepInvalid))
        }
    }

    @Test("refusals: the wrong state, party, dataset, price or term; each a stable code and nothing written", arguments: Backend.available)
    func refusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client)
            let active = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)["id"] as? String)
            let pending = try #require(try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04")]), client)["id"] as? String)
            let size = try await runtime.log.head().size
            let valid = amendment(version: 1, [("bj-cond", ["flow"], "0.04", 100)])
            let cases: [(String, String, String, HTTPResponse.Status, String?)] = [
                (active, "acme", amendment(version: 1, [("bj-open", ["flow"], "0.04", 100)]), .conflict, "grant_not_amendable"),
                (pending, "big", valid, .notFound, nil),
                (pending, "bj-a", valid, .forbidden, nil),
                (pending, "acme", amendment(version: 1, [("bj-open", ["flow"], "0.04", 100)]), .unprocessableContent, "dataset_not_in_grant"),
                (pending, "acme", amendment(version: 1), .unprocessableContent, "no_change"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["road_id", "flow"], "0.04", 1_000_000)]), .unprocessableContent, "no_change"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["flow"], "0.09", 100)]), .unprocessableContent, "price_above_ceiling"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["flow", "plate"], "0.04", 100)]), .unprocessableContent, "justification_required"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["flow"], "0.04", 0)]), .unprocessableContent, "invalid_quota"),
                (pending, "acme", amendment(version: 1, endsAt: Date().addingTimeInterval(400 * 86_400)), .unprocessableContent, "term_too_long"),
                (pending, "acme", amendment(version: 1, endsAt: Date().addingTimeInterval(-86_400)), .unprocessableContent, "invalid_term"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["nope"], "0.04", 100)]), .unprocessableContent, "unknown_field"),
                (pending, "acme", amendment(version: 1, [("bj-cond", ["flow"], "0.04", 100), ("bj-cond", ["flow"], "0.04", 100)]),
                 .unprocessableContent, "duplicate_dataset"),
                ("gr_missing", "acme", valid, .notFound, nil),
            ]
            for (grant, caller, body, status, code) in cases {
                let refused = try await client.request(.post, "/v1/grants/\(grant)/amendments", key: m.actors[caller], body: body)
                #expect(refused.status == status, "\(caller) \(body): \(refused.text)")
                if let code { #expect(try refused.problem()["code"] as? String == code, "\(body)") }
            }
            let malformed = try await client.request(.post, "/v1/grants/\(pending)/amendments", key: m.actors["acme"], body: #"{"version":1,"datasets":"x"}"#)
            #expect(malformed.status == .badRequest || malformed.status == .unprocessableContent, "\(malformed.text)")
            #expect(try await runtime.log.head().size == size, "no refusal wrote to the log")
            let unchanged = try await client.request(.get, "/v1/grants/\(pending)", key: m.actors["acme"]).json()
            #expect(unchanged["version"] as? Int == 1)
            #expect(unchanged["revision"] as? Int == 1)

            // A grant that has been in force keeps its prices.
            let patched = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                   body: #"{"openness":"conditional","reason":"on application only"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let repriced = try await client.request(.post, "/v1/grants/\(active)/amendments", key: m.actors["acme"],
                                                    body: amendment(version: 1, [("bj-open", ["flow"], "0.03", 100)]))
            #expect(repriced.status == .conflict)
            #expect(try repriced.problem()["code"] as? String == "prices_fixed")
        }
    }

    @Test("a pending grant amended to need nobody's approval is active at once, like a request; a retry with its key amends once",
          arguments: Backend.available)
    func automaticAndIdempotent(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let requested = try await m.requestGrant("acme", """
            {"purpose":"Fleet matching","scenario":"industry",
             "starts_at":"\(RFC3339.format(Date().addingTimeInterval(86_400)))","ends_at":"\(RFC3339.format(Date().addingTimeInterval(90 * 86_400)))",
             "agreement":{"id":"standard-data-use","version":"1"},
             "datasets":[{"id":"bj-open","fields":["flow","plate"],"unit_prices":{"call":"0.01"},"quota_per_period":{"call":1000},
                          "justifications":{"plate":"match fleet vehicles"}}]}
            """, client)
            let id = try #require(requested["id"] as? String)
            #expect(requested["status"] as? String == "pending")
            let start = try await runtime.log.head().size
            let body = amendment(version: 1, [("bj-open", ["flow"], "0.01", 1000)], reason: "the plate is not needed after all")
            let first = try await IdempotencyTests.post(client, "/v1/grants/\(id)/amendments", key: m.actors["acme"], idempotencyKey: "amend-1", body: body)
            #expect(first.status == .ok, "\(first.text)")
            let active = try first.json()
            #expect(active["status"] as? String == "active", "no sensitive field of an open dataset: nobody must approve")
            #expect(active["version"] as? Int == 2)
            #expect((active["terms"] as? [[String: Any]])?.first?["platform_fee_bps"] as? Int == 500)
            let retry = try await IdempotencyTests.post(client, "/v1/grants/\(id)/amendments", key: m.actors["acme"], idempotencyKey: "amend-1", body: body)
            #expect(retry.status == .ok)
            #expect(retry.text == first.text)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let logged = try await allEntries(runtime)[Int(start)...].map(\.record).filter { $0.action != "test_clock.advanced" }
            #expect(logged.map(\.action) == ["grant.amended", "grant.activated"])
            #expect(logged[0].data["outcome"] == "active")
            #expect(logged[0].data["approvals_required"] == [])
            #expect(logged[1].data["via"] == "automatic")
            // Active now: no further amendment.
            let again = try await client.request(.post, "/v1/grants/\(id)/amendments", key: m.actors["acme"],
                                                 body: amendment(version: 2, endsAt: Date().addingTimeInterval(30 * 86_400)))
            #expect(try again.problem()["code"] as? String == "grant_not_amendable")
            #expect(ReplayScenario.replay(try await allEntries(runtime)).findings.isEmpty)
        }
    }
}
