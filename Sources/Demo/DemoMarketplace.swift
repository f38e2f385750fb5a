import Identity
import APIServer
import Marketplace
import AuditLog
import Cryptography
public import Foundation
import Logging
public import Metering
import Persistence
import Prometheus
public import Settlement

/// `pdx demo`: builds a fresh marketplace in a directory and walks it through two months on the real
/// code paths — the router `pdx serve` runs (in process, see ``DemoClient``), the SQLite store, the
/// signed audit log — then writes the closed periods' reports and audit exports beside it.
///
/// The demo runs on a test clock starting at ``start``, with randomness from its seed instead of
/// the system's: the same seed gives byte-identical reports, the same log (the same checkpoint)
/// and the same printed text on every run and every day. The scenario is in ``DemoScenario``.
public enum DemoMarketplace {
    /// The test clock at the start: the demo's dates never depend on the day it runs.
    public static let start = RFC3339.parse("2026-09-28T00:00:00+08:00")!
    /// The month walked first, closed, and corrected in the second.
    public static let firstPeriod = Period(year: 2026, month: 10)!
    /// The second month, with the correction; closed too.
    public static let secondPeriod = Period(year: 2026, month: 11)!
    /// The default number of usage events reported for the first month (the second gets a third).
    public static let defaultEvents = 10_000
    /// How the log origin of every demo marketplace starts: its keys and randomness follow from a
    /// printed seed, so `pdx serve` serves such a data directory on loopback only.
    public static let originPrefix = Runtime.demoOriginPrefix
    /// The authorities whose witnesses cosign the demo's final checkpoint.
    public static let witnessAuthorities = ["bj", "tj", "he"]

    /// The file that marks a directory as the demo's own, listing the entries it wrote.
    static let markerName = ".pdx-demo"

    /// Builds the demo marketplace in `out` (replacing a previous demo there) and returns what it
    /// made. Refuses a directory that exists, is not empty and holds no previous demo, and a
    /// previous demo's directory that holds files the demo did not write.
    ///
    /// - Parameters:
    ///   - seed: the seed of every id, key and usage event.
    ///   - events: roughly how many usage events the first month gets.
    public static func run(out: String, seed: UInt64 = 1, events: Int = defaultEvents) async throws -> DemoSummary {
        let paths = DemoSummary.Paths(root: out)
        try prepare(paths)
        var logger = Logger(label: "pdx.demo")
        logger.logLevel = .warning

        let random = DemoRandom(seed: seed)
        var options = Runtime.Options()
        options.testClock = true
        options.testClockStart = start
        options.logOrigin = originPrefix + String(seed)
        options.random = random
        let location = StoreLocation(dataDirectory: paths.data)
        let runtime = try await Runtime.open(location, options: options, logger: logger)
        do {
            guard let admin = try await runtime.bootstrapAdmin(logger: logger) else {
                throw DemoError("\(paths.data) already had an admin; the demo needs a fresh data directory")
            }
            var configuration = ServerConfiguration(store: location)
            configuration.testClock = true
            // Scripted clients in this process, not callers of a served API: no rate limit.
            configuration.rateLimit = 0
            // Its upstream interface is on this machine (127.0.0.1).
            configuration.upstreamAllowPrivate = true
            // No CheckpointService and no GrantExpiryService: their timers would bring the wall
            // clock into the log. Checkpoints come every 1,000 entries, at each close and at each
            // export; grants expire when the test clock moves past them.
            // Beijing's signal-timing interface, behind PDX: a real HTTP server in this process.
            let upstream = try await DemoUpstream.start()
            var dependencies = runtime.serverDependencies(metrics: PrometheusCollectorRegistry())
            dependencies.upstreamHosts = [DemoUpstream.host: upstream.address]
            let router = try buildRouter(configuration: configuration, dependencies: dependencies)
            var scenario = DemoScenario(
                client: DemoClient(router: router, logger: logger), runtime: runtime, paths: paths,
                // A stream of its own, so that the usage does not depend on how many ids were drawn.
                random: DemoRandom(seed: seed ^ 0x0DE3_05A6_E5EE_D000), events: events,
                adminKey: admin.presented, seed: seed)
            let summary: DemoSummary
            do {
                summary = try await scenario.play()
                await upstream.stop()
            } catch {
                await upstream.stop()
                throw error
            }
            await runtime.close()
            return summary
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// Makes `paths.root` an empty directory holding only the marker. A previous demo's entries
    /// are removed one by one, never the directory itself, and only when the marker lists them all.
    static func prepare(_ paths: DemoSummary.Paths) throws {
        let files = FileManager.default
        let root = paths.root
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw DemoError("\(root) exists and is not a directory") }
            let entries = try files.contentsOfDirectory(atPath: root)
            if !entries.isEmpty {
                guard entries.contains(markerName),
                      let marker = files.contents(atPath: paths.marker).map({ String(decoding: $0, as: UTF8.self) })
                else {
                    throw DemoError("\(root) is not empty and holds no previous demo; choose another --out or empty it first")
                }
                let ours = Set(marker.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
                let foreign = entries.filter { !ours.contains($0) }.sorted()
                guard foreign.isEmpty else {
                    throw DemoError("\(root) holds a previous demo but also \(foreign.joined(separator: ", ")), which the demo did not write; move them away or choose another --out")
                }
                for entry in entries.sorted() where entry != markerName {
                    try files.removeItem(atPath: "\(root)/\(entry)")
                }
            }
        } else {
            try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        let marker = "# written by `pdx demo`; a later `pdx demo --out` here replaces these entries\n"
            + paths.entries.joined(separator: "\n") + "\n"
        guard files.createFile(atPath: paths.marker, contents: Data(marker.utf8)) else {
            throw DemoError("cannot write \(paths.marker)")
        }
    }
}

/// What `pdx demo` built, and where it put it.
public struct DemoSummary: Sendable {
    /// The files and directories of a demo.
    public struct Paths: Sendable {
        /// The demo directory (`--out`).
        public let root: String

        public init(root: String) {
            self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        }

        /// The data directory: SQLite database, signing key, admin.token (`pdx serve --data-dir`).
        public var data: String { "\(root)/data" }
        /// The closed periods' reports and a statement.
        public var reports: String { "\(root)/reports" }
        /// The audit export taken at the end.
        public var audit: String { "\(root)/audit" }
        /// The audit export taken right after the first close, for `pdx-verify --previous`.
        public var firstAudit: String { "\(root)/audit-\(DemoMarketplace.firstPeriod)" }
        /// The log's verifier key, as `pdx audit vkey` prints it, for `pdx-verify --vkey`.
        public var vkey: String { "\(root)/vkey" }
        /// The state directories of the three regional witnesses, one per authority.
        public var witnesses: String { "\(root)/witnesses" }
        /// Their cosignature verifier keys, one per line, for `pdx-verify --witness`.
        public var witnessKeys: String { "\(root)/witness-keys" }
        /// The demo principals' API keys, to try the served demo with (mode 0600).
        public var keys: String { "\(root)/api-keys.txt" }
        var marker: String { "\(root)/\(DemoMarketplace.markerName)" }

        /// Every entry the demo writes into `root`.
        var entries: [String] {
            [DemoMarketplace.markerName, "data", "reports", "audit", "audit-\(DemoMarketplace.firstPeriod)", "vkey", "api-keys.txt",
             "witnesses", "witness-keys"]
        }

        /// The report of `period` in `format` (`json`, `csv`, `xlsx`).
        public func report(_ period: Period, _ format: String) -> String { "\(reports)/\(period).\(format)" }
        /// The parties' totals of `period` as CSV.
        public func parties(_ period: Period) -> String { "\(reports)/\(period)-parties.csv" }
        /// One operator's own statement of `period`, as CSV.
        public func statement(_ period: Period, operatorID: String) -> String { "\(reports)/\(period)-statement-\(operatorID).csv" }
    }

    /// Usage events reported for one period, by outcome.
    public struct Usage: Sendable {
        public let period: Period
        /// Events sent, resends included.
        public var sent = 0
        public var accepted = 0
        public var duplicates = 0
        /// Rejected events by reason code.
        public var rejected: [String: Int] = [:]
        /// Accepted events sent after the period ended (within the grace).
        public var lateAccepted = 0
        /// Distinct event ids accepted (operator and id), from the answers.
        public var distinctAccepted = 0
        /// Data API calls made to datasets PDX serves.
        public var calls = 0
        /// Calls served, each metered at the source.
        public var served = 0
        /// Records those calls served.
        public var records = 0
        /// The usage events PDX generated for the calls it served.
        public var gatewayEvents = 0
        /// Usage events PDX metered for calls forwarded to the upstream dataset's interface.
        public var upstreamEvents = 0
        /// Refused calls by problem code (nothing served, nothing metered).
        public var refused: [String: Int] = [:]
    }

    /// A closed period as its close answered.
    public struct Closed: Sendable {
        public let period: Period
        /// The index of its `settlement.closed` log entry.
        public let logIndex: UInt64
        public let totals: SettlementTotals
        public let parties: [PartyAmount]
        /// What revenue caps moved from operators to authorities (its clawback lines).
        public let clawbackMinor: Int64
        /// The SHA-256 of each report format, as logged.
        public let digests: [String: String]
    }

    public let seed: UInt64
    public let paths: Paths
    public internal(set) var usage: [Usage] = []
    public internal(set) var closed: [Closed] = []
    /// The first period's reconciliation of declared against provider-reported usage, one line of
    /// text per line that has a provider figure, and how many lines had none.
    public internal(set) var reconciliation: [String] = []
    public internal(set) var unreportedLines = 0
    /// The operator whose statements are written.
    public internal(set) var statementOperator = ""
    /// The final export's checkpoint: tree size and root hash (base64).
    public internal(set) var logSize: UInt64 = 0
    public internal(set) var rootBase64 = ""
    /// What `pdx demo` prints.
    public internal(set) var text = ""

    /// The command that verifies the exports and reports offline.
    public var verifyCommand: String {
        "swift run pdx-verify \(paths.audit) --vkey \(paths.vkey)"
            + closed.map { " --settlement \(paths.report($0.period, "json"))" }.joined()
            + " --previous \(paths.firstAudit)"
            + " --witness \(paths.witnessKeys) --min-witnesses 2"
    }
}
