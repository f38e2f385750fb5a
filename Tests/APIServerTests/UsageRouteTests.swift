import Identity
@testable import APIServer
@testable import Marketplace
import Cryptography
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import AuditLog
import Licensing
import Metering
import NIOCore
import PDXTesting
import Prometheus
import Testing

/// What the generated decoder makes of `body`: its events, or nil when it refuses the body.
private func generatedEvents(_ body: [UInt8]) -> [RawUsageEvent]? {
    guard let batch = try? JSONDecoder().decode(Components.Schemas.UsageBatch.self, from: Data(body)) else { return nil }
    return batch.events.map {
        RawUsageEvent(id: $0.id, grantID: $0.grantId, datasetID: $0.datasetId, unit: $0.unit, quantity: $0.quantity, time: $0.time)
    }
}

private func scanned(_ body: [UInt8]) -> [RawUsageEvent]? {
    body.withUnsafeBytes { UsageBatchScanner.events(in: $0) }
}

private let event = #"{"id":"e-1","grant_id":"gr_1","dataset_id":"bj-open","unit":"call","quantity":3,"time":"2026-11-21T10:00:00.000Z"}"#

@Suite("Usage: the hand-written scanner and writer")
struct UsageScannerTests {
    @Test("reads what the generated decoder reads, to the same events", arguments: [
        #"{"events":[\#(event)]}"#,
        #"{"events":[\#(event),\#(event.replacingOccurrences(of: "e-1", with: "e-2"))]}"#,
        " \n\t{ \"events\" : [ { \"time\" : \"t\" , \"quantity\" : -42 , \"unit\" : \"u\" , \"dataset_id\" : \"d\" , \"grant_id\" : \"g\" , \"id\" : \"i\" } ] } \r\n",
        #"{"events":[]}"#,
        #"{"events":[{"id":"","grant_id":"","dataset_id":"","unit":"","quantity":0,"time":""}]}"#,
        #"{"events":[{"id":"a/b~c'd<>{}[]:,","grant_id":"g","dataset_id":"d","unit":"call","quantity":999999999999999999,"time":"x"}]}"#,
        #"{"events":[{"id":"a","grant_id":"g","dataset_id":"d","unit":"call","quantity":-999999999999999999,"time":"x"}]}"#,
        // One repeated value changed between events: the scanner's reuse of the previous string must not leak.
        #"{"events":[\#(event),\#(event.replacingOccurrences(of: "gr_1", with: "gr_2")),\#(event.replacingOccurrences(of: "call", with: "cal1"))]}"#,
    ])
    func sameEvents(body: String) throws {
        let bytes = Array(body.utf8)
        let expected = try #require(generatedEvents(bytes))
        #expect(scanned(bytes) == expected)
    }

    /// An event with `old` replaced by `new`, in a batch of its own.
    static func changed(_ old: String, _ new: String) -> String {
        "{\"events\":[" + event.replacingOccurrences(of: old, with: new) + "]}"
    }

    static let malformedBodies: [String] = [
        "", " ", "{", "}", "[]", "null", "\"events\"", "{}", #"{"events":null}"#, #"{"events":{}}"#, #"{"events":"x"}"#,
        #"{"events":[1]}"#, #"{"events":[[]]}"#, #"{"events":[null]}"#, "{\"events\":[[" + event + "]]}",
        #"{"events":[{"events":[]}]}"#, "{\"Events\":[" + event + "]}", "{\"events\":[" + event + "],\"more\":1}",
        "{\"more\":1,\"events\":[" + event + "]}", "{\"events\":[" + event + "],\"events\":[" + event + "]}",
        "{\"events\":[" + event + ",]}", "{\"events\":[," + event + "]}", "{\"events\":[" + event + "]}x",
        "{\"events\":[" + event + "]}{}", "{\"events\":[" + event + "]} ,", "{\"events\":[" + event + "]",
        "{\"events\":[" + event + "}",
    ]

    static let badEvents: [String] = [
        changed(#""quantity":3"#, #""quantity":"3""#),
        changed(#""quantity":3"#, #""quantity":3.0"#),
        changed(#""quantity":3"#, #""quantity":3e0"#),
        changed(#""quantity":3"#, #""quantity":03"#),
        changed(#""quantity":3"#, #""quantity":-0"#),
        changed(#""quantity":3"#, #""quantity":-"#),
        changed(#""quantity":3"#, #""quantity":+3"#),
        changed(#""quantity":3"#, #""quantity":9223372036854775807"#),
        changed(#""quantity":3"#, #""quantity":99999999999999999999999"#),
        changed(#""quantity":3"#, #""quantity":null"#),
        changed(#""quantity":3"#, #""quantity":true"#),
        changed(#""quantity":3"#, #""quantity":[3]"#),
        changed(#""quantity":3,"#, ""),
        changed(#""quantity":3"#, #""quantity":3,"quantity":3"#),
        changed(#""id":"e-1""#, #""id":1"#),
        changed(#""id":"e-1""#, #""id":null"#),
        changed(#""id":"e-1""#, #""id":{"a":"b"}"#),
        changed(#""id":"e-1","#, ""),
        changed(#""id":"e-1""#, #""id":"e-\u0031""#),
        changed(#""id":"e-1""#, #""id":"e\"1""#),
        changed(#""id":"e-1""#, #""id":"é""#),
        changed(#""id":"e-1""#, "\"id\":\"e\t1\""),
        changed(#""id":"e-1""#, "\"id\":\"e\u{7F}1\""),
        changed(#""id":"e-1""#, #""id":"e-1","extra":"x""#),
        changed(#""id":"e-1""#, #""i\u0064":"e-1""#),
        changed(#""time":"2026-11-21T10:00:00.000Z""#, #""time":"2026-11-21T10:00:00.000Z"#),
        changed("}", ""),
    ]

    /// Each is left to the generated handler (which answers it as it always did): wrong types,
    /// missing, unknown and repeated members, escapes, non-ASCII text, number forms it does not
    /// read, nesting, `null`, and trailing bytes.
    @Test("leaves every other body to the generated handler", arguments: malformedBodies + badEvents)
    func defers(body: String) {
        #expect(scanned(Array(body.utf8)) == nil)
    }

    @Test("leaves invalid UTF-8 and every truncation to the generated handler")
    func invalidBytes() {
        let valid = Array(#"{"events":[\#(event),\#(event)]}"#.utf8)
        for cut in 0..<valid.count {
            #expect(scanned(Array(valid[..<cut])) == nil, "first \(cut) bytes")
        }
        for bad: [UInt8] in [[0xFF], [0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00]] {
            var body = valid
            body.insert(contentsOf: bad, at: 19) // inside the first id
            #expect(scanned(body) == nil)
        }
    }

    @Test("never disagrees with the generated decoder on mutated bodies")
    func mutations() {
        var random = SplitMix64(seed: 0x5eed)
        let valid = Array(#"{"events":[\#(event),\#(event.replacingOccurrences(of: "e-1", with: "e/2"))]}"#.utf8)
        let alphabet = Array(#"{}[],:"\ -0123456789.eE+aZ/tnul"#.utf8) + [0x80, 0xFF, 0x09, 0x0A, 0x00]
        for _ in 0..<20_000 {
            var body = valid
            for _ in 0...(random.next() % 3) {
                let position = Int(random.next() % UInt64(body.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: body[position] = byte
                case 1: body.insert(byte, at: position)
                default: body.remove(at: position)
                }
            }
            if let events = scanned(body) {
                #expect(events == generatedEvents(body), "\(String(decoding: body, as: UTF8.self))")
            }
        }
    }

    @Test("writes the bytes JSONEncoder writes for the generated answer")
    func sameAnswer() throws {
        let ids = ["e-1", "a/b", "", "x\"y", "back\\slash", "tab\tnew\nline\r", "\u{01}\u{08}\u{0C}\u{1F}", "é漢字🙂", "e-2"]
        let outcomes: [UsageOutcome] = [.accepted, .duplicate, .rejected(.invalidID), .rejected(.invalidID), .rejected(.invalidID),
                                        .rejected(.invalidID), .rejected(.invalidID), .rejected(.invalidID), .rejected(.quotaExceeded)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for count in 0...ids.count {
            let expected = try encoder.encode(API.usageResult(ids: Array(ids[..<count]), outcomes: Array(outcomes[..<count])))
            let written = UsageResultWriter.json(ids: Array(ids[..<count]), outcomes: Array(outcomes[..<count]))
            #expect(String(buffer: written) == String(decoding: expected, as: UTF8.self))
        }
        for scalar in (0...0x7F).compactMap(Unicode.Scalar.init) {
            let id = "a\(Character(scalar))b"
            let expected = try encoder.encode(API.usageResult(ids: [id], outcomes: [.accepted]))
            #expect(String(buffer: UsageResultWriter.json(ids: [id], outcomes: [.accepted])) == String(decoding: expected, as: UTF8.self))
        }
    }
}

@Suite("HTTP: the direct usage route answers as the generated handler")
struct UsageRouteTests {
    /// Runs `body` with two clients on one runtime: the router with the direct usage route, and the
    /// router without it.
    func withBothRoutes(_ market: TestMarketplace,
                        _ body: @Sendable (_ direct: any TestClientProtocol, _ generated: any TestClientProtocol) async throws -> Void) async throws {
        let runtime = try await market.open()
        do {
            let dependencies = try runtime.serverDependencies(metrics: PrometheusCollectorRegistry())
            let direct = Application(router: try buildRouter(configuration: market.configuration, dependencies: dependencies),
                                     logger: TestMarketplace.logger)
            let generated = Application(
                router: try buildRouter(configuration: market.configuration, dependencies: dependencies, directUsageRoute: false),
                logger: TestMarketplace.logger)
            try await direct.test(.router) { directClient in
                try await generated.test(.router) { generatedClient in
                    try await body(directClient, generatedClient)
                }
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test("the same status, headers and bytes for good, bad and refused batches", arguments: Backend.available)
    func sameAnswers(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await withBothRoutes(market) { direct, generated in
            let u = try await UsageMarket.setUp(market, direct)
            let t = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up))
            let good = usageEvent("ok-1", grant: u.grant, time: t)
            let slash = usageEvent("ok/2", grant: u.grant, quantity: 2, time: t)
            let many = (0...10_000).map { usageEvent("m-\($0)", grant: u.grant, time: t) }
            let huge = String(repeating: "x", count: 4 << 20)
            let acme = u.m.actors["acme"]
            typealias Case = (name: String, body: String, key: String?, headers: [(HTTPField.Name, String)], status: HTTPResponse.Status)
            var cases: [Case] = []
            cases.append(("accepted, then duplicate", usageBody([good, slash, good]), acme, [], .ok))
            let rejected = [usageEvent("", grant: u.grant, time: t), usageEvent("r-1", grant: "gr_none", time: t),
                            usageEvent("r-2", grant: u.grant, quantity: -1, time: t), usageEvent("r-3", grant: u.grant, unit: "minute", time: t)]
            cases.append(("rejections", usageBody(rejected), acme, [], .ok))
            cases.append(("an escaped id", usageBody([good.replacingOccurrences(of: "ok-1", with: #"ok-\u0033"#)]), acme, [], .ok))
            cases.append(("a non-ASCII id", usageBody([good.replacingOccurrences(of: "ok-1", with: "ok-é")]), acme, [], .ok))
            cases.append(("Int64.max", usageBody([good.replacingOccurrences(of: #""quantity":1"#, with: #""quantity":9223372036854775807"#)]), acme, [], .ok))
            cases.append(("a fraction", usageBody([good.replacingOccurrences(of: #""quantity":1"#, with: #""quantity":1.5"#)]), acme, [], .badRequest))
            cases.append(("a huge number", usageBody([good.replacingOccurrences(of: #""quantity":1"#, with: #""quantity":99999999999999999999999"#)]), acme, [], .badRequest))
            cases.append(("a string quantity", usageBody([good.replacingOccurrences(of: #""quantity":1"#, with: #""quantity":"1""#)]), acme, [], .badRequest))
            cases.append(("a number id", usageBody([good.replacingOccurrences(of: #""id":"ok-1""#, with: #""id":1"#)]), acme, [], .badRequest))
            cases.append(("a null time", usageBody([good.replacingOccurrences(of: #""time":"\#(RFC3339.format(t))""#, with: #""time":null"#)]), acme, [], .badRequest))
            cases.append(("a missing member", #"{"events":[{"id":"x"}]}"#, acme, [], .badRequest))
            cases.append(("an unknown member", usageBody([good.replacingOccurrences(of: #""id":"ok-1""#, with: #""id":"ok-1","note":"x""#)]), acme, [], .badRequest))
            cases.append(("an unknown top-level member", #"{"events":[\#(good)],"note":1}"#, acme, [], .badRequest))
            cases.append(("nesting", #"{"events":[[\#(good)]]}"#, acme, [], .badRequest))
            cases.append(("deep nesting", #"{"events":"# + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "}", acme, [], .badRequest))
            cases.append(("trailing garbage", usageBody([good]) + "x", acme, [], .badRequest))
            cases.append(("not JSON", "events", acme, [], .badRequest))
            cases.append(("an empty body", "", acme, [], .badRequest))
            cases.append(("invalid UTF-8", usageBody([good.replacingOccurrences(of: "ok-1", with: "ok-\u{FFFD}")]), acme, [], .badRequest))
            cases.append(("no events", usageBody([]), acme, [], .unprocessableContent))
            cases.append(("too many events", usageBody(many), acme, [], .unprocessableContent))
            cases.append(("too large", usageBody([usageEvent(huge, grant: u.grant, time: t)]), acme, [], .contentTooLarge))
            cases.append(("not an operator's key", usageBody([good]), u.m.actors.admin, [], .forbidden))
            cases.append(("no key", usageBody([good]), nil, [], .unauthorized))
            cases.append(("another content type", usageBody([good]), acme, [(.contentType, "text/plain")], .unsupportedMediaType))
            cases.append(("a charset", usageBody([slash]), acme, [(.contentType, "application/json; charset=utf-8")], .ok))
            cases.append(("Accept: */*", usageBody([slash]), acme, [(.accept, "*/*")], .ok))
            cases.append(("an Idempotency-Key", usageBody([slash]), acme, [(IdempotencyMiddleware.header, "k-1")], .ok))
            for c in cases {
                func send(_ client: any TestClientProtocol) async throws -> TestResponse {
                    var headers = HTTPFields()
                    if let key = c.key { headers[.authorization] = "Bearer \(key)" }
                    headers[.contentType] = "application/json"
                    for (name, value) in c.headers { headers[name] = value }
                    // U+FFFD stands for a byte that is not UTF-8.
                    var body = Array(c.body.utf8)
                    while let at = body.firstRange(of: [0xEF, 0xBF, 0xBD]) { body.replaceSubrange(at, with: [0xFF]) }
                    return try await client.execute(uri: "/v1/usage", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { $0 }
                }
                // The first answer may accept events; the next two then see the same state.
                let first = try await send(direct)
                #expect(first.status == c.status, "\(c.name): \(first.text.prefix(300))")
                let viaGenerated = try await send(generated)
                let viaDirect = try await send(direct)
                #expect(viaDirect.status == viaGenerated.status, "\(c.name)")
                #expect(viaDirect.headers[.contentType] == viaGenerated.headers[.contentType], "\(c.name)")
                #expect(viaDirect.text == viaGenerated.text, "\(c.name)")
            }
        }
    }
}
