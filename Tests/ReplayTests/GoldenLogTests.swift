import AuditLog
import Demo
import Foundation
import Logging
import Marketplace
import Licensing
import Metering
import Replay
import Settlement
import Testing

/// `Contracts/vectors/replay/demo-log.jsonl`: the whole log of the seed-1 demo, one entry a line.
enum GoldenLog {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Contracts/vectors/replay/demo-log.jsonl").path

    /// `demo-log-format-1.jsonl`: the same demo's log as servers wrote it before usage sources,
    /// its periods closed in report format 1. Kept as it is: logs are forever.
    static let formatOnePath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("demo-log-format-1.jsonl").path
    /// The log written before the `upstream` source: forwarded calls logged as `gateway`, closes in format 2.
    static let formatTwoPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("demo-log-format-2.jsonl").path

    /// The log written before the XLSX was laid out for its readers: closes in format 3, whose
    /// `xlsx` digests are of the plain workbook.
    static let formatThreePath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("demo-log-format-3.jsonl").path

    /// `demo-log-before-terms.jsonl`: the same demo's log as servers wrote it before grants kept
    /// their terms (no `terms` in `grant.activated`). Kept as it is: logs are forever.
    static let beforeTermsPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("demo-log-before-terms.jsonl").path

    /// Each line's bytes: the entry exactly as hashed.
    static func entries(at path: String = path) throws -> [[UInt8]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: true).map { Array($0.utf8) }
    }

    static func replayed(at path: String = path) throws -> LogReplay {
        var replay = LogReplay()
        for (seq, bytes) in try entries(at: path).enumerated() { replay.apply(bytes: bytes, seq: UInt64(seq)) }
        replay.finish()
        return replay
    }
}

@Suite("Replay of the golden log")
struct GoldenLogTests {
    @Test("the golden log replays without a finding and rebuilds the marketplace it records")
    func lawful() throws {
        let entries = try GoldenLog.entries()
        let replay = try GoldenLog.replayed()
        #expect(replay.findings.isEmpty, "\(replay.findings.prefix(5))")
        // The Hebei bureau's discrepancy, which finance acknowledged before October closed: listed, lawful.
        #expect(replay.notices.map(\.code) == [.discrepancyAcknowledged], "\(replay.notices)")
        #expect(replay.notices.first?.reason.contains("/he-industrial-emissions/record") == true)
        #expect(replay.state.entryCount == UInt64(entries.count))
        #expect(replay.state.authorities.count == 3)
        #expect(replay.state.operatorRecords.count == 5)
        #expect(replay.state.grants.count == 8)
        #expect(replay.state.datasets.count == 10)
        // The upstream dataset, its endpoint read back from its publication.
        #expect(replay.state.datasets["bj-signal-timing"]?.delivery == .upstream)
        #expect(replay.state.datasets["bj-signal-timing"]?.upstream?.baseURL == "http://signals.bj.demo.pdx.local/v1")
        #expect(replay.state.settlements.keys.map(\.description).sorted() == ["2026-10", "2026-11"])
        // Both erasures are known to the replay as commitments whose values are gone from the log.
        #expect(replay.state.personalData.count >= 2)
    }

    @Test("the log written before usage sources still replays without a finding: its closes recompute in report format 1")
    func formatOneLog() throws {
        let replay = try GoldenLog.replayed(at: GoldenLog.formatOnePath)
        #expect(replay.findings.isEmpty, "\(replay.findings.prefix(5))")
        #expect(replay.state.settlements.keys.map(\.description).sorted() == ["2026-10", "2026-11"])
        #expect(replay.state.settlements.values.allSatisfy { $0.report.formatVersion == 1 })
        #expect(replay.state.settlements.values.allSatisfy { $0.report.lines.allSatisfy { $0.source == nil || $0.source == .declared } })
        #expect(replay.state.counters.values.allSatisfy { $0.gatewayQuantity == 0 })
    }

    @Test("the log written before grants kept terms replays without a finding: its grants are rated as its closes were")
    func beforeTermsLog() throws {
        let replay = try GoldenLog.replayed(at: GoldenLog.beforeTermsPath)
        #expect(replay.findings.isEmpty, "\(replay.findings.prefix(5))")
        #expect(replay.state.settlements.keys.map(\.description).sorted() == ["2026-10", "2026-11"])
        #expect(replay.state.grants.values.allSatisfy { $0.grant.terms.isEmpty })
    }

    @Test("every grant the golden log activates carries its terms, and the same closes follow from them")
    func termsInActivations() throws {
        let replay = try GoldenLog.replayed()
        let before = try GoldenLog.replayed(at: GoldenLog.beforeTermsPath)
        let active = replay.state.grants.values.filter { $0.grant.status == .active || $0.grant.status == .suspended }
        #expect(!active.isEmpty && active.allSatisfy { $0.grant.terms.count == $0.grant.items.count })
        #expect(active.allSatisfy { $0.grant.terms.allSatisfy { $0.platformFeeBPS == PlatformFee.initialBPS } })
        // Nothing in the demo changes a share or the fee, so the money is what it was before terms.
        for (period, closed) in replay.state.settlements {
            #expect(closed.report.totals == before.state.settlements[period]?.report.totals, "\(period)")
        }
    }


    @Test("the log written before the upstream source still replays without a finding: forwarded calls stay gateway, closes format 2")
    func formatTwoLog() throws {
        let replay = try GoldenLog.replayed(at: GoldenLog.formatTwoPath)
        #expect(replay.findings.isEmpty, "\(replay.findings.prefix(5))")
        #expect(replay.state.settlements.keys.map(\.description).sorted() == ["2026-10", "2026-11"])
        #expect(replay.state.settlements.values.allSatisfy { $0.report.formatVersion == 2 })
        let forwarded = replay.state.counters.values.filter { $0.key.datasetID == "bj-signal-timing" }
        #expect(!forwarded.isEmpty)
        #expect(forwarded.allSatisfy { $0.gatewayQuantity == $0.quantity && $0.upstreamQuantity == 0 })
        #expect(replay.state.counters.values.allSatisfy { $0.upstreamQuantity == 0 })
    }

    @Test("the log written before the readers' XLSX still replays without a finding: its closes recompute in format 3, XLSX included")
    func formatThreeLog() throws {
        let replay = try GoldenLog.replayed(at: GoldenLog.formatThreePath)
        #expect(replay.findings.isEmpty, "\(replay.findings.prefix(5))")
        #expect(replay.state.settlements.keys.map(\.description).sorted() == ["2026-10", "2026-11"])
        #expect(replay.state.settlements.values.allSatisfy { $0.report.formatVersion == 3 })
        // Same money as the current log; the CSV is the same bytes, the XLSX is not.
        let current = try GoldenLog.replayed()
        for (period, closed) in replay.state.settlements {
            let now = try #require(current.state.settlements[period])
            #expect(closed.report.totals == now.report.totals, "\(period)")
            #expect(closed.digests["csv"] == now.digests["csv"], "\(period)")
            #expect(closed.digests["xlsx"] != now.digests["xlsx"], "\(period)")
        }
    }

    @Test("the golden log closes its periods in the current report format, and its forwarded calls say upstream")
    func currentFormat() throws {
        let replay = try GoldenLog.replayed()
        #expect(replay.state.settlements.values.allSatisfy { $0.report.formatVersion == SettlementReport.currentFormatVersion })
        let forwarded = replay.state.counters.values.filter { $0.key.datasetID == "bj-signal-timing" }
        #expect(!forwarded.isEmpty)
        #expect(forwarded.allSatisfy { $0.upstreamQuantity == $0.quantity && $0.gatewayQuantity == 0 })
        let lines = replay.state.settlements.values.flatMap(\.report.lines).filter { $0.datasetID == "bj-signal-timing" && $0.kind == .usage }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.source == .upstream })
    }

    @Test("the counters the replay rebuilds are the sums of the usage entries, counted independently")
    func counters() throws {
        var sums: [String: (quantity: Int64, events: Int64)] = [:]
        for bytes in try GoldenLog.entries() {
            let entry = try JSONValue.parse(bytes)
            guard entry["action"]?.stringValue == "usage.recorded", case .array(let usage)? = entry["data"]?["usage"] else { continue }
            for item in usage {
                let key = ["grant_id", "dataset_id", "unit", "period"].compactMap { item[$0]?.stringValue }.joined(separator: "/")
                guard case .array(let events)? = item["events"] else { continue }
                for event in events {
                    guard let quantity = event[1]?.integerValue.map(Int64.init) else { continue }
                    sums[key, default: (0, 0)].quantity += quantity
                    sums[key, default: (0, 0)].events += 1
                }
            }
        }
        let replay = try GoldenLog.replayed()
        var rebuilt: [String: (quantity: Int64, events: Int64)] = [:]
        for (key, counter) in replay.state.counters {
            rebuilt["\(key.grantID)/\(key.datasetID)/\(key.unit.rawValue)/\(key.period)"] = (counter.quantity, counter.events)
        }
        #expect(!sums.isEmpty)
        #expect(rebuilt.keys.sorted() == sums.keys.sorted())
        for (key, sum) in sums {
            #expect(rebuilt[key]?.quantity == sum.quantity && rebuilt[key]?.events == sum.events, "\(key)")
        }
        #expect(replay.state.eventCount == sums.values.reduce(0) { $0 + $1.events })
    }

    @Test("the seed-1 demo writes the golden log byte for byte: the code paths behind the API have not changed")
    func demoMatchesTheGoldenLog() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-golden-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let summary = try await DemoMarketplace.run(out: root, seed: 1, events: 100)
        var options = Runtime.Options()
        options.createIfMissing = false
        let runtime = try await Runtime.open(StoreLocation(dataDirectory: summary.paths.data), options: options,
                                             logger: Logger(label: "pdx.test"))
        let golden = try GoldenLog.entries()
        var written: [[UInt8]] = []
        do {
            while written.count < golden.count + 1 {
                let page = try await runtime.log.entries(start: UInt64(written.count), limit: 1000)
                if page.isEmpty { break }
                written += page.map(\.body)
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
        // After an intended change of what the demo logs: PDX_WRITE_GOLDEN_LOG=1 rewrites the file.
        if ProcessInfo.processInfo.environment["PDX_WRITE_GOLDEN_LOG"] == "1" {
            try Data(written.flatMap { $0 + [0x0A] }).write(to: URL(fileURLWithPath: GoldenLog.path))
            return
        }
        #expect(written.count == golden.count)
        for (seq, (mine, theirs)) in zip(written, golden).enumerated() where mine != theirs {
            Issue.record("entry \(seq) differs:\n\(String(decoding: mine, as: UTF8.self))\n\(String(decoding: theirs, as: UTF8.self))")
            break
        }
    }
}
