import AuditLog
import Cryptography
import Delivery
import Foundation
import Identity
import Licensing
import Logging
import Marketplace
import PDXTesting
import Persistence
import Testing
import Vetting

/// `pdx dataset load` with the real executable, on a data directory prepared through the services.
@Suite("Loading a release from the command line", .serialized)
struct DatasetLoadCommandTests {
    /// A marketplace with authority `bj`, a reviewer of it, and dataset `bj-flow`; the reviewer's id.
    static func prepare(_ location: StoreLocation) async throws -> String {
        let runtime = try await Runtime.open(location, logger: Logger(label: "pdx.test"))
        do {
            try await runtime.bootstrapAdmin(logger: Logger(label: "pdx.test"))
            let admin = try #require(try await runtime.database.read { try await $0.principals() }.first { $0.role == .admin })
            let context = ServiceContext(database: runtime.database, log: runtime.log, clock: runtime.clock, random: runtime.random)
            let identity = IdentityService(context)
            _ = try await identity.createAuthority(id: "bj", name: "北京市大数据中心", region: "110000", by: admin)
            let (reviewer, _) = try await identity.createPrincipal(
                .init(name: "Wang Fang", role: .authorityReviewer, authorityID: "bj", email: nil, expiresAt: nil), by: admin)
            let catalog = CatalogService(context, catalog: Catalog(), grants: GrantService(context, lifecycle: GrantLifecycle(), agreements: .builtIn))
            _ = try await catalog.publish(DatasetDraft(
                title: "Road flow", description: "", theme: "traffic", openness: .open, grade: .general,
                fields: [.init(name: "station", type: "string", sensitive: false), .init(name: "hour", type: "integer", sensitive: false)],
                units: ["call"], currency: "CNY", ceilingPrices: ["call": "0.05"], revenueShareBPS: 3000),
                id: "bj-flow", authorityID: "bj", by: Reviewer(principal: reviewer))
            await runtime.close()
            return reviewer.id
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test(arguments: Backend.available)
    func loadsAFileAndRefusesABadOne(backend: Backend) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-load-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data").path
        var storage = ["--data-dir", data]
        var url: String?
        if backend == .postgres, let base = Backend.postgresURL {
            let schema = "load_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            url = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
            storage += ["--database-url", url!]
        }
        let location = StoreLocation(dataDirectory: data, databaseURL: url)
        let reviewer = try await Self.prepare(location)
        let good = root.appendingPathComponent("flow.csv").path
        var text = "station,hour\n"
        for n in 1...500 { text += "S\(n),\(n % 24)\n" }
        try text.write(toFile: good, atomically: true, encoding: .utf8)

        let loaded = try await Executables.launch("pdx", ["dataset", "load"] + storage + ["--dataset", "bj-flow",
                                                          "--version", "2026-12", "--as", reviewer, good])
        #expect(loaded.status == 0, "\(loaded.error)")
        #expect(loaded.output.contains("published bj-flow release 2026-12: 500 rows"), "\(loaded.output)")
        #expect(loaded.output.contains(SHA256.hash(Array(text.utf8)).hex))
        // Not a terminal: progress as plain lines.
        #expect(loaded.error.contains("500 rows"), "\(loaded.error)")

        let bad = root.appendingPathComponent("bad.ndjson").path
        try "{\"station\":\"A\",\"hour\":1}\n{\"station\":\"B\",\"hour\":\"two\"}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try await Executables.launch("pdx", ["dataset", "load"] + storage + ["--dataset", "bj-flow",
                                                           "--version", "2026-12b", "--as", reviewer, bad])
        #expect(refused.status != 0)
        #expect(refused.error.contains("invalid_value") && refused.error.contains("row 2, column 'hour'"), "\(refused.error)")

        let again = try await Executables.launch("pdx", ["dataset", "load"] + storage + ["--dataset", "bj-flow",
                                                         "--version", "2026-12", "--as", reviewer, good])
        #expect(again.status != 0)
        #expect(again.error.contains("release_exists"), "\(again.error)")

        let runtime = try await Runtime.open(location, logger: Logger(label: "pdx.test"))
        let releases = try await runtime.database.read { try await $0.releases(datasetID: "bj-flow") }
        await runtime.close()
        #expect(releases.map(\.version) == ["2026-12"])
        #expect(releases.first?.rows == 500)
    }
}
