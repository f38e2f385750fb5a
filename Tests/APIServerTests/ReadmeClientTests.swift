import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXClient
import PDXTesting
import Testing

/// The README's "Call it from Swift", compiled and run against a live server: the lines between the
/// markers in ``example(serverURL:apiKey:)`` are the README's Swift block, line for line, except the
/// server's URL (a test's port, not 8080) and the imports.
@Suite("The README's PDXClient example")
struct ReadmeClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let readmeURL = #"URL(string: "http://127.0.0.1:8080")!"#

    static func example(serverURL: URL, apiKey: String) async throws -> (id: String, status: String, records: Int) {
        // README begin
        let pdx = PDXClient(serverURL: serverURL, apiKey: apiKey)

        // Ask for two fields of an open dataset; an open dataset's plain fields are granted at once,
        // anything else waits for the providing authority (status "pending").
        let request = Components.Schemas.GrantRequest(
            purpose: "Congestion forecasting for logistics routing", scenario: .industry,
            startsAt: Date(), endsAt: Date().addingTimeInterval(90 * 86_400),
            agreement: .init(id: "standard-data-use", version: "1"),
            datasets: [.init(id: "bj-traffic-flow", fields: ["road_id", "flow"],
                             unitPrices: .init(additionalProperties: ["call": "0.01", "record": "0.001"]),
                             quotaPerPeriod: .init(additionalProperties: ["call": 100_000, "record": 10_000_000]))])
        let grant = try await pdx.api.requestGrant(body: .json(request)).created.body.json
        print(grant.id, grant.status)

        // Every record of the latest release, page after page; each call is metered by PDX.
        let records = try await pdx.items(
            from: { cursor in
                try await pdx.api.readRecords(path: .init(datasetId: "bj-traffic-flow"),
                                              query: .init(grantId: grant.id, limit: 1000, cursor: cursor)).ok.body.json
            },
            items: \.records, next: \.nextCursor)
        print(records.count, "records")
        // README end
        return (grant.id, grant.status.rawValue, records.count)
    }

    /// The README's Swift block, without its imports and blank lines at either end.
    static func readmeBlock() throws -> [String] {
        let text = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "```swift"), "README.md has a Swift block")
        let end = try #require(lines[(start + 1)...].firstIndex(of: "```"))
        return trimmed(lines[(start + 1)..<end].filter { !$0.hasPrefix("import ") })
    }

    /// The lines between the markers of this file, unindented, the README's URL put back.
    static func testedBlock() throws -> [String] {
        let text = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasSuffix("// README begin") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// README end") })
        return trimmed(lines[(start + 1)..<end].map { line in
            String(line.dropFirst(min(8, line.prefix { $0 == " " }.count)))
                .replacingOccurrences(of: "PDXClient(serverURL: serverURL,", with: "PDXClient(serverURL: \(readmeURL),")
        })
    }

    static func trimmed(_ lines: some Collection<String>) -> [String] {
        Array(lines.drop { $0.isEmpty }.reversed().drop { $0.isEmpty }.reversed())
    }

    @Test("the README's Swift block is the one this test compiles and runs")
    func readmeShowsTheTestedCode() throws {
        let readme = try Self.readmeBlock()
        let tested = try Self.testedBlock()
        #expect(readme.count > 10)
        #expect(readme == tested, "README.md's Swift block and ReadmeClientTests.example differ: change both")
    }

    @Test("the README's example requests a grant and reads every record", arguments: Backend.available)
    func readmeExampleRuns(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer(live: true) { _, client in
            let m = try await LicensingMarket.setUp(market, client)
            let published = try await client.request(.post, "/v1/datasets", key: m.actors["bj-a"], body: """
                {"id":"bj-traffic-flow","title":"北京市道路交通流量","theme":"traffic","openness":"open","grade":"general",
                 "fields":\(DataMarket.fields),"units":["call","record"],"ceiling_prices":{"call":"0.05","record":"0.001"},
                 "revenue_share_bps":3000}
                """)
            #expect(published.status == .created, "\(published.text)")
            let loaded = try await client.request(.put, "/v1/datasets/bj-traffic-flow/releases/2026-09", key: m.actors["bj-a"],
                                                  body: DataMarket.csv(rows: 1_205), contentType: "text/csv")
            #expect(loaded.status == .created, "\(loaded.text)")
            let port = try #require(client.port)
            let key = try #require(m.actors["acme"])

            let outcome = try await Self.example(serverURL: URL(string: "http://127.0.0.1:\(port)")!, apiKey: key)
            #expect(outcome.id.hasPrefix("gr_"))
            #expect(outcome.status == "active", "an open dataset's plain fields are granted at once")
            #expect(outcome.records == 1_205, "two pages of 1000, every record once")
        }
    }
}
