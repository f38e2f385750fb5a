@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import PDXTesting
import Persistence
import Replay
import Testing

/// `PATCH /v1/datasets/{id}` with a new title, description or field sensitivity: what is logged,
/// what is refused, and what marking a field sensitive does to the grants that read it.
@Suite("HTTP: describing a dataset anew and changing its fields' sensitivity")
struct DatasetEditTests {
    /// The whole log of `runtime`, decoded.
    static func entries(_ runtime: Runtime) async throws -> [AuditEntry] {
        try await runtime.log.entries(start: 0, limit: 1000).map { try AuditEntry(decoding: $0.body) }
    }

    /// The findings of replaying the whole log, notices left out.
    static func findings(_ runtime: Runtime) async throws -> [ReplayFinding] {
        var replay = LogReplay()
        for entry in try await entries(runtime) { replay.apply(entry) }
        replay.finish()
        return replay.findings.filter { !$0.isNotice }
    }

    @Test("a new title and description is dataset.described with both texts, touches no grant, and replays", arguments: Backend.available)
    func describe(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let grant = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")]), client)
            let start = try await runtime.log.head().size
            let body = #"{"title":"道路流量 <b>","description":"Counts per hour.\nFrom loop detectors.","reason":"Say where the counts come from"}"#
            let patched = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"], body: body,
                                                   headers: [(.ifMatch, "\"1\"")])
            #expect(patched.status == .ok, "\(patched.text)")
            let json = try patched.json()
            #expect(json["stricter"] as? Bool == false)
            #expect((json["affected_grants"] as? [Any])?.isEmpty == true)
            let dataset = try #require(json["dataset"] as? [String: Any])
            #expect(dataset["title"] as? String == "道路流量 <b>")
            #expect(dataset["description"] as? String == "Counts per hour.\nFrom loop detectors.")
            #expect(dataset["version"] as? Int == 2)
            #expect(patched.headers[.eTag] == "\"2\"")

            let read = try await client.request(.get, "/v1/datasets/bj-open", key: m.actors["acme"])
            #expect(try read.json()["title"] as? String == "道路流量 <b>", "every role reads the new title")
            let logged = try await Self.entries(runtime).dropFirst(Int(start))
            #expect(logged.map(\.record.action) == ["dataset.described"])
            let record = try #require(logged.first?.record)
            #expect(record.actor == m.actors.ids["bj-a"])
            #expect(record.data["reason"] == "Say where the counts come from")
            #expect(record.data["stricter"] == false)
            #expect(record.data["changes"] == [
                "title": ["from": "bj-open title", "to": "道路流量 <b>"],
                "description": ["from": "Hourly flow per road segment", "to": "Counts per hour.\nFrom loop detectors."],
            ])
            let still = try await client.request(.get, "/v1/grants/\(try #require(grant["id"] as? String))", key: m.actors["acme"])
            #expect(try still.json()["status"] as? String == "active")
            #expect(try await Self.findings(runtime) == [])
        }
    }

    @Test("refusals: same text no_change, stale If-Match 412, another authority's reviewer 403, bad input 4xx; none writes",
          arguments: Backend.available)
    func refusals(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let size = try await runtime.log.head().size
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"title":"bj-open title","description":"Hourly flow per road segment","reason":"r"}"#, .unprocessableContent, "no_change"),
                (#"{"fields":[{"name":"plate","sensitive":true}],"reason":"r"}"#, .unprocessableContent, "no_change"),
                (#"{"title":"","reason":"r"}"#, .unprocessableContent, "invalid_title"),
                (#"{"title":" padded","reason":"r"}"#, .unprocessableContent, "invalid_title"),
                (#"{"title":"\#(String(repeating: "长", count: 201))","reason":"r"}"#, .unprocessableContent, "invalid_title"),
                (#"{"description":"bell \u0007","reason":"r"}"#, .unprocessableContent, "invalid_description"),
                (#"{"description":"\#(String(repeating: "x", count: 4001))","reason":"r"}"#, .unprocessableContent, "invalid_description"),
                (#"{"fields":[{"name":"speed","sensitive":true}],"reason":"r"}"#, .unprocessableContent, "unknown_field"),
                (#"{"fields":[{"name":"flow","sensitive":true},{"name":"flow","sensitive":false}],"reason":"r"}"#,
                 .unprocessableContent, "duplicate_field"),
                (#"{"fields":[],"reason":"r"}"#, .unprocessableContent, "fields_required"),
                (#"{"title":"New","reason":" "}"#, .unprocessableContent, "reason_required"),
                (#"{"title":42,"reason":"r"}"#, .badRequest, "invalid_request"),
                (#"{"fields":[{"name":"flow"}],"reason":"r"}"#, .badRequest, "invalid_request"),
                (#"{"fields":[{"name":"flow","sensitive":true,"secret":1}],"reason":"r"}"#, .badRequest, "invalid_request"),
            ]
            for (body, status, code) in cases {
                let response = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"], body: body)
                #expect(response.status == status, "\(body.prefix(80)): \(response.text)")
                #expect(try response.problem()["code"] as? String == code, "\(body.prefix(80))")
            }
            let foreign = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["tj-a"], body: #"{"title":"Mine","reason":"r"}"#)
            #expect(foreign.status == .forbidden)
            #expect(try foreign.problem()["code"] as? String == "authority_not_party")
            let byOperator = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["acme"], body: #"{"title":"Mine","reason":"r"}"#)
            #expect(byOperator.status == .forbidden)

            // Judged on version 1; a change in between makes it stale.
            let first = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-b"], body: #"{"title":"First","reason":"r"}"#,
                                                 headers: [(.ifMatch, "\"1\"")])
            #expect(first.status == .ok, "\(first.text)")
            let stale = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"], body: #"{"title":"Second","reason":"r"}"#,
                                                 headers: [(.ifMatch, "\"1\"")])
            #expect(stale.status == .preconditionFailed)
            #expect(try stale.problem()["code"] as? String == "precondition_failed")
            #expect(try await client.request(.get, "/v1/datasets/bj-open", key: m.actors["bj-a"]).json()["title"] as? String == "First")
            #expect(try await runtime.log.head().size == size + 1, "only the one accepted change is logged")
        }
    }

    @Test("marking a field sensitive suspends the grants reading it without a justification; unmarking it is not stricter",
          arguments: Backend.available)
    func markSensitive(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let m = try await LicensingMarket.setUp(market, client)
            try await m.publish("bj-open", by: "bj-a", client)
            let reading = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-open", "0.04")], fields: ["road_id", "flow"]), client)
            let other = try await m.requestGrant("big", LicensingMarket.grantBody([("bj-open", "0.04")], fields: ["road_id"]), client)
            let readingID = try #require(reading["id"] as? String), otherID = try #require(other["id"] as? String)
            #expect(reading["status"] as? String == "active")
            let start = try await runtime.log.head().size

            let marked = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                  body: #"{"fields":[{"name":"flow","sensitive":true}],"reason":"Flow on private roads identifies residents"}"#)
            #expect(marked.status == .ok, "\(marked.text)")
            let json = try marked.json()
            #expect(json["stricter"] as? Bool == true)
            let affected = try #require(json["affected_grants"] as? [[String: Any]])
            #expect(affected.compactMap { $0["id"] as? String } == [readingID], "only the grant that reads the field")
            #expect(affected.first?["status"] as? String == "suspended")
            #expect(affected.first.map(reasonCodes) == ["field_sensitive"])
            let fields = try #require((json["dataset"] as? [String: Any])?["fields"] as? [[String: Any]])
            #expect(fields.first { $0["name"] as? String == "flow" }?["sensitive"] as? Bool == true)
            let logged = try await Self.entries(runtime).dropFirst(Int(start))
            #expect(logged.map(\.record.action) == ["dataset.reclassified", "grant.suspended"])
            #expect(logged.first?.record.data["changes"] == ["fields": ["flow": ["sensitive": ["from": false, "to": true]]]])
            #expect(try await client.request(.get, "/v1/grants/\(otherID)", key: m.actors["big"]).json()["status"] as? String == "active")

            // Reinstating it is refused while it reads the field without a justification.
            let reinstate = try await client.request(.post, "/v1/grants/\(readingID)/reinstate", key: m.actors["bj-a"], body: "{}")
            #expect(reinstate.status == .unprocessableContent)
            #expect(try reinstate.problem()["code"] as? String == "field_sensitive")

            // Unmarking is not stricter and changes no grant by itself; the grant may be reinstated then.
            let unmarked = try await client.request(.patch, "/v1/datasets/bj-open", key: m.actors["bj-a"],
                                                    body: #"{"fields":[{"name":"flow","sensitive":false}],"reason":"Aggregated upstream now"}"#)
            #expect(unmarked.status == .ok, "\(unmarked.text)")
            #expect(try unmarked.json()["stricter"] as? Bool == false)
            #expect((try unmarked.json()["affected_grants"] as? [Any])?.isEmpty == true)
            #expect(try await client.request(.get, "/v1/grants/\(readingID)", key: m.actors["acme"]).json()["status"] as? String == "suspended")
            let again = try await client.request(.post, "/v1/grants/\(readingID)/reinstate", key: m.actors["bj-a"], body: "{}")
            #expect(again.status == .ok, "\(again.text)")
            #expect(try await Self.findings(runtime) == [])
        }
    }
}
