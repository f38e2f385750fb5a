import APIServer
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import OpenAPIRuntime
import PDXClient
import PDXTesting
import Synchronization
import Testing

/// A transport in front of another that a test can make lose answers, and that records what was sent.
final class FlakyTransport: ClientTransport, Sendable {
    /// What each attempt sent: the operation and its `Idempotency-Key`.
    struct Sent: Sendable, Equatable {
        var operation: String
        var idempotencyKey: String?
    }

    struct LostAnswer: Error {}

    let inner: any ClientTransport
    /// How many answers to lose, per operation: the request reaches the server, its answer does not
    /// reach the client.
    let losing: Mutex<[String: Int]>
    let sent = Mutex<[Sent]>([])

    init(_ inner: any ClientTransport, losing: [String: Int] = [:]) {
        self.inner = inner
        self.losing = Mutex(losing)
    }

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        sent.withLock { $0.append(Sent(operation: operationID, idempotencyKey: request.headerFields[HTTPField.Name("Idempotency-Key")!])) }
        let answer = try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
        let lose = losing.withLock { losing in
            guard let left = losing[operationID], left > 0 else { return false }
            losing[operationID] = left - 1
            return true
        }
        if lose {
            if let body = answer.1 { _ = try? await Data(collecting: body, upTo: 1 << 20) }
            throw LostAnswer()
        }
        return answer
    }

    func attempts(of operation: String) -> [Sent] { sent.withLock { $0.filter { $0.operation == operation } } }
}

@Suite("PDXClient: the operators' client against a live server")
struct PDXClientTests {
    /// The transport `PDXClient` uses by default.
    static func transport() -> any ClientTransport { PDXClient.transport(timeout: .seconds(30)) }

    static func client(port: Int, key: String?, transport: any ClientTransport,
                       retries: RetryPolicy = RetryPolicy(attempts: 4, initialDelay: .milliseconds(20))) -> PDXClient {
        PDXClient(serverURL: URL(string: "http://127.0.0.1:\(port)")!, apiKey: key ?? "", retries: retries, transport: transport)
    }

    /// `bj-roads` published by Beijing with a release of `rows` rows; acme, an approved operator.
    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol, rows: Int) async throws -> LicensingMarket {
        let m = try await LicensingMarket.setUp(market, client)
        let published = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
            {"id":"bj-roads","title":"Road flow","theme":"traffic","openness":"open","grade":"general",
             "fields":\(DataMarket.fields),"units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},
             "revenue_share_bps":3000}
            """)
        #expect(published.status == .created, "\(published.text)")
        let loaded = try await client.request(.put, "/v1/datasets/bj-roads/releases/2026-09", key: m.actors["bj-a"],
                                              body: DataMarket.csv(rows: rows), contentType: "text/csv")
        #expect(loaded.status == .created, "\(loaded.text)")
        return m
    }

    static func grantRequest(fields: [String] = ["road_id", "flow"]) -> Components.Schemas.GrantRequest {
        Components.Schemas.GrantRequest(
            purpose: "Congestion forecasting for logistics routing",
            scenario: .industry,
            startsAt: Date().addingTimeInterval(-86_400),
            endsAt: Date().addingTimeInterval(90 * 86_400),
            agreement: .init(id: "standard-data-use", version: "1"),
            datasets: [.init(id: "bj-roads", fields: fields,
                             unitPrices: .init(additionalProperties: ["call": "0.01", "record": "0.001"]),
                             quotaPerPeriod: .init(additionalProperties: ["call": 1_000_000, "record": 1_000_000]))])
    }

    @Test("an operator requests a grant, reads it back and reads every record page by page, each cut to the granted fields",
          arguments: Backend.available)
    func operatorFlow(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await Self.setUp(market, client, rows: 25)
            let port = try #require(client.port)
            let pdx = Self.client(port: port, key: m.actors["acme"], transport: Self.transport())

            let grant = try await pdx.api.requestGrant(body: .json(Self.grantRequest())).created.body.json
            #expect(grant.status == .active)
            #expect(grant.datasets.map(\.datasetId) == ["bj-roads"])
            let read = try await pdx.api.getGrant(path: .init(id: grant.id)).ok.body.json
            #expect(read.id == grant.id)
            #expect(abs(read.startsAt.timeIntervalSince(grant.startsAt)) < 0.001)

            let records = try await pdx.items(
                from: { cursor in
                    try await pdx.api.readRecords(path: .init(datasetId: "bj-roads"),
                                                  query: .init(grantId: grant.id, limit: 10, cursor: cursor)).ok.body.json
                },
                items: \.records, next: \.nextCursor)
            #expect(records.count == 25)
            #expect(records.allSatisfy { Set($0.additionalProperties.value.keys) == ["road_id", "flow"] })
            let flows = records.compactMap { $0.additionalProperties.value["flow"] as? Int }
            #expect(flows.sorted() == Array(1...25))
        }
    }

    @Test("filters are sent as the plain FIELD=VALUE parameters the data API reads, and a refused filter is a typed 400",
          arguments: Backend.available)
    func filtersReachTheDataAPI(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await Self.setUp(market, client, rows: 25)
            let port = try #require(client.port)
            let pdx = Self.client(port: port, key: m.actors["acme"], transport: Self.transport())
            let grant = try await pdx.api.requestGrant(body: .json(Self.grantRequest())).created.body.json

            // Rows n = 1…25 with road R<n % 3>: R1 is rows 1, 4, …, 25.
            let page = try await pdx.api.readRecords(
                path: .init(datasetId: "bj-roads"),
                query: .init(grantId: grant.id, limit: 100, filters: .init(additionalProperties: ["road_id": "R1"]))).ok.body.json
            #expect(page.records.count == 9)
            #expect(page.records.allSatisfy { $0.additionalProperties.value["road_id"] as? String == "R1" })
            let flows = page.records.compactMap { $0.additionalProperties.value["flow"] as? Int }
            #expect(flows == Array(stride(from: 1, through: 25, by: 3)))

            // `flow` is an integer: a word is refused, and the refusal comes back as the contract's typed problem.
            let refused = try await pdx.api.readRecords(
                path: .init(datasetId: "bj-roads"),
                query: .init(grantId: grant.id, filters: .init(additionalProperties: ["flow": "many"])))
            #expect(try refused.badRequest.body.applicationProblemJson.code == .invalidFilter)

            // Another role with the same filters: answered by the role check, not by the filters.
            let reviewer = Self.client(port: port, key: m.actors["bj-a"], transport: Self.transport())
            let forbidden = try await reviewer.api.readRecords(
                path: .init(datasetId: "bj-roads"),
                query: .init(grantId: grant.id, filters: .init(additionalProperties: ["road_id": "R1"])))
            #expect(try forbidden.forbidden.body.applicationProblemJson.code == .forbidden)
        }
    }

    @Test("a creating POST whose answer was lost is sent again under the same key: one grant, the first answer replayed",
          arguments: Backend.available)
    func lostAnswerIsRetriedOnce(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await Self.setUp(market, client, rows: 3)
            let port = try #require(client.port)
            let flaky = FlakyTransport(Self.transport(), losing: ["requestGrant": 1])
            let pdx = Self.client(port: port, key: m.actors["acme"], transport: flaky)

            let grant = try await pdx.api.requestGrant(body: .json(Self.grantRequest())).created.body.json
            let attempts = flaky.attempts(of: "requestGrant")
            #expect(attempts.count == 2)
            let key = try #require(attempts.first?.idempotencyKey)
            #expect(attempts.allSatisfy { $0.idempotencyKey == key })

            let listed = try await client.request(.get, "/v1/grants", key: m.actors["acme"])
            let grants = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(grants.compactMap { $0["id"] as? String } == [grant.id], "one grant, the one answered")
        }
    }

    @Test("a decision whose answer was lost is not sent again: it is not safe to repeat, the caller is told",
          arguments: Backend.available)
    func unkeyedPostIsNotRetried(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await Self.setUp(market, client, rows: 3)
            let port = try #require(client.port)
            // A sensitive field waits for Beijing's decision.
            var request = Self.grantRequest(fields: ["road_id", "plate"])
            request.datasets[0].justifications = .init(additionalProperties: ["plate": "Matching deliveries to registered vehicles"])
            let operatorClient = Self.client(port: port, key: m.actors["acme"], transport: Self.transport())
            let grant = try await operatorClient.api.requestGrant(body: .json(request)).created.body.json
            #expect(grant.status == .pending)

            let flaky = FlakyTransport(Self.transport(), losing: ["decideGrant": 1])
            let reviewer = Self.client(port: port, key: m.actors["bj-a"], transport: flaky)
            await #expect(throws: (any Error).self) {
                _ = try await reviewer.api.decideGrant(path: .init(id: grant.id), body: .json(.init(decision: .approve)))
            }
            #expect(flaky.attempts(of: "decideGrant").count == 1)
            #expect(flaky.attempts(of: "decideGrant").first?.idempotencyKey == nil)
            // It did take effect: reading tells.
            let now = try await reviewer.api.getGrant(path: .init(id: grant.id)).ok.body.json
            #expect(now.status == .active)
        }
    }

    @Test("a read whose answer was lost is read again; a wrong key is 401 at once, not retried", arguments: [Backend.sqlite])
    func readsRetryOnlyWhatMayPass(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await Self.setUp(market, client, rows: 3)
            let port = try #require(client.port)
            let flaky = FlakyTransport(Self.transport(), losing: ["listGrants": 2])
            let pdx = Self.client(port: port, key: m.actors["acme"], transport: flaky)
            let grants = try await pdx.api.listGrants().ok.body.json
            #expect(grants.items.isEmpty)
            #expect(flaky.attempts(of: "listGrants").count == 3)

            let stranger = FlakyTransport(Self.transport())
            let wrong = Self.client(port: port, key: "pdx_not_a_key", transport: stranger)
            let answer = try await wrong.api.listGrants()
            // 401 is a documented answer with its problem, whose `code` is the contract's enum.
            guard case .unauthorized(let refusal) = answer, case .applicationProblemJson(let problem) = refusal.body,
                  problem.code == .unauthenticated else {
                Issue.record("expected 401, got \(answer)")
                return
            }
            #expect(stranger.attempts(of: "listGrants").count == 1)
        }
    }
}
