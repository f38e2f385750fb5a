import Identity
@testable import APIServer
@testable import Demo
@testable import Marketplace
import AuditLog
import Foundation
import Licensing
import Logging
import Metering
import Persistence
import Replay
import Settlement
import Testing

/// A small demo in a fresh temporary directory; removed by `remove()`.
struct DemoRun {
    let root: String
    let summary: DemoSummary

    static let size = 600

    static func make(seed: UInt64 = 1, in root: String? = nil) async throws -> DemoRun {
        let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("pdx-demo-\(UUID().uuidString.prefix(8))").path
        return DemoRun(root: root, summary: try await DemoMarketplace.run(out: root, seed: seed, events: size))
    }

    var paths: DemoSummary.Paths { summary.paths }

    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every report file, by name.
    func reports() throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: paths.reports) {
            files[name] = try bytes("\(paths.reports)/\(name)")
        }
        return files
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

@Suite("pdx demo")
struct DemoTests {
    let periods = [DemoMarketplace.firstPeriod, DemoMarketplace.secondPeriod]

    @Test("a small demo finishes and writes every promised file")
    func writesEveryFile() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        let paths = run.paths
        var expected = [paths.data + "/pdx.sqlite", paths.data + "/signing-key.pem", paths.data + "/admin.token",
                        paths.audit + "/checkpoint", paths.audit + "/vkey", paths.firstAudit + "/checkpoint", paths.vkey, paths.keys]
        for period in periods {
            expected += ["json", "csv", "xlsx"].map { paths.report(period, $0) }
            expected += [paths.parties(period), paths.statement(period, operatorID: run.summary.statementOperator)]
        }
        for file in expected {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
        }
        #expect(run.summary.closed.map(\.period) == periods)
        // The demo's keys and the admin token are for their owner's eyes only.
        for secret in [paths.keys, paths.data + "/admin.token", paths.data + "/signing-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o777 } == 0o600, "\(secret)")
        }
        #expect(run.summary.text.contains(
            "swift run pdx-verify \(run.root)/audit --vkey \(run.root)/vkey --settlement \(run.root)/reports/2026-10.json "
            + "--settlement \(run.root)/reports/2026-11.json --previous \(run.root)/audit-2026-10 "
            + "--witness \(run.root)/witness-keys --min-witnesses 2\n"))
        #expect(run.summary.text.contains("swift run pdx serve --data-dir \(run.root)/data --test-clock"))
        // The vkey is what `pdx audit vkey` prints for the data directory.
        let vkeys = try await verifierKeys(of: StoreLocation(dataDirectory: paths.data))
        #expect(vkeys.count == 1)
        #expect(String(decoding: try run.bytes(paths.vkey), as: UTF8.self) == vkeys.map { $0 + "\n" }.joined())
    }

    @Test("no exported log or report holds a person's name or e-mail address")
    func exportsHoldNoPersonalData() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        let people = DemoScenario.personalData
        #expect(people.count == 20)
        var checked = 0
        for directory in [run.paths.audit, run.paths.firstAudit, run.paths.reports] {
            let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
            while let relative = enumerator.nextObject() as? String {
                let path = directory + "/" + relative
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                let bytes = try run.bytes(path)
                checked += 1
                for person in people {
                    let needle = Array(person.utf8)
                    let found = bytes.count >= needle.count && (0...(bytes.count - needle.count)).contains {
                        bytes[$0..<($0 + needle.count)].elementsEqual(needle)
                    }
                    #expect(!found, "\(path) holds \(person)")
                }
            }
        }
        #expect(checked > 10, "the exports and reports were read")
    }

    @Test("the same seed gives the same reports, log and text; another seed another log")
    func deterministic() async throws {
        let first = try await DemoRun.make(seed: 7)
        let second = try await DemoRun.make(seed: 7)
        let other = try await DemoRun.make(seed: 8)
        defer { [first, second, other].forEach { $0.remove() } }

        #expect(try first.reports() == second.reports())
        #expect(try first.reports().count == 10)
        for directory in [\DemoSummary.Paths.audit, \.firstAudit] {
            #expect(try first.bytes(first.paths[keyPath: directory] + "/checkpoint")
                    == second.bytes(second.paths[keyPath: directory] + "/checkpoint"))
        }
        #expect(try first.bytes(first.paths.vkey) == second.bytes(second.paths.vkey))
        #expect(first.summary.rootBase64 == second.summary.rootBase64)
        #expect(first.summary.rootBase64 != other.summary.rootBase64)
        #expect(try first.bytes(first.paths.vkey) != other.bytes(other.paths.vkey))

        // Run again in the first one's directory: it is replaced, and says the same.
        let again = try await DemoRun.make(seed: 7, in: first.root)
        #expect(again.summary.text == first.summary.text)
        #expect(try again.reports() == first.reports())
    }

    @Test("the replay of the demo's export equals the live marketplace, and confirms every report")
    func replayEqualsLiveState() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        var replay = LogReplay()
        let verdict = ExportVerifier(directory: run.paths.audit, keys: .exportVerifierKey).verify(entry: { seq, bytes in
            replay.apply(bytes: bytes, seq: seq)
        })
        guard case .verified = verdict else { Issue.record("\(verdict)"); return }
        replay.finish()
        #expect(replay.findings.isEmpty, "\(replay.findings)")
        let state = replay.state
        #expect(state.entryCount == run.summary.logSize)
        var options = Runtime.Options()
        options.testClock = true
        let runtime = try await Runtime.open(StoreLocation(dataDirectory: run.paths.data), options: options, logger: Logger(label: "pdx.test"))
        do {
            try await runtime.database.read { tx in
                #expect(!state.grants.isEmpty)
                for (id, replayed) in state.grants {
                    let live = try #require(try await tx.grant(id: id))
                    #expect(replayed.grant.status == live.status, "\(id)")
                    #expect(replayed.grant.activeSpans == live.activeSpans, "\(id)")
                }
                for period in periods {
                    let live = Set(try await tx.usageCounters(period: period, filter: UsageFilter()))
                    #expect(Set(state.counters.values.filter { $0.key.period == period }) == live, "\(period)")
                    let stored = try #require(try await tx.settlement(period))
                    #expect(state.settlements[period]?.report == (try SettlementReport(json: stored.document)))
                    #expect(state.settlements[period]?.digests == stored.digests)
                }
                for id in state.operatorRecords.keys {
                    var copy = replay
                    #expect(copy.currentOperator(id) == (try await tx.operatorByID(id)), "\(id)")
                }
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
        #expect(state.eventCount == Int64(run.summary.usage.reduce(0) { $0 + $1.accepted + $1.gatewayEvents + $1.upstreamEvents }))
        for (name, bytes) in try run.reports() where !name.hasSuffix("-parties.csv") {
            switch replay.checkReport(bytes, name: name) {
            case .success(let confirmation): #expect(confirmation.digestLogged == !name.contains("statement"), "\(name)")
            case .failure(let finding): Issue.record("\(finding)")
            }
        }
    }

    @Test("both exports verify with the pinned key; the first is an earlier state of the log")
    func exportsVerify() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        let key = try NoteVerifier(verifierKey: String(decoding: try run.bytes(run.paths.vkey), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        var sizes: [UInt64] = []
        for directory in [run.paths.firstAudit, run.paths.audit] {
            switch ExportVerifier(directory: directory, keys: .pinned([key])).verify() {
            case .verified(let summary):
                #expect(summary.keyIsPinned)
                #expect(summary.checkpoint.origin == "demo.pdx.local/1")
                sizes.append(summary.checkpoint.size)
            case .failed(let finding):
                Issue.record("\(directory): \(finding)")
            }
        }
        #expect(sizes == [run.summary.closed[0].logIndex + 1, run.summary.logSize])
    }

    @Test("the final checkpoint is cosigned by the bj, tj and he witnesses, and the verify command asks for two")
    func finalCheckpointIsWitnessed() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        let witnesses = try CosignatureVerifier.list(from: String(decoding: try run.bytes(run.paths.witnessKeys), as: UTF8.self))
        #expect(witnesses.map(\.name) == ["witness.bj.pdx-demo.example", "witness.tj.pdx-demo.example", "witness.he.pdx-demo.example"])
        let note = try SignedNote.parse(bytes: try run.bytes(run.paths.audit + "/checkpoint"))
        let found = note.cosignatures(by: witnesses)
        #expect(found.valid.count == 3 && found.invalid.isEmpty)
        #expect(try Checkpoint.parse(note.text).size == run.summary.logSize)
        #expect(run.summary.verifyCommand.hasSuffix("--witness \(run.paths.witnessKeys) --min-witnesses 2"))
        // Each witness kept what it cosigned.
        for authority in DemoMarketplace.witnessAuthorities {
            let state = try WitnessStateFile(directory: "\(run.paths.witnesses)/\(authority)").load()
            #expect(state["demo.pdx.local/1"]?.size == run.summary.logSize)
        }
    }

    @Test("the reports reconcile: strict JSON, parties CSV, statement, clawback and adjustment")
    func reportsReconcile() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        for (period, closed) in zip(periods, run.summary.closed) {
            let report = try SettlementReport(json: try run.bytes(run.paths.report(period, "json")))
            #expect(report.totals == closed.totals)
            #expect(report.parties.map(\.amountMinor).reduce(0, +) == report.totals.grossMinor)

            let rows = String(decoding: try run.bytes(run.paths.parties(period)), as: UTF8.self)
                .split(separator: "\r\n").dropFirst().map { $0.split(separator: ",") }
            #expect(rows.map { String($0[2]) } == report.parties.map(\.party.description))
            #expect(rows.compactMap { Int64($0[4]) }.reduce(0, +) == report.totals.grossMinor)

            // The statement holds the operator's own lines only, and its cap's clawback.
            let statement = String(decoding: try run.bytes(run.paths.statement(period, operatorID: run.summary.statementOperator)), as: UTF8.self)
            let statementRows = statement.split(separator: "\r\n").dropFirst()
            #expect(!statementRows.isEmpty)
            #expect(statementRows.allSatisfy { $0.contains(",\(run.summary.statementOperator),") })
            #expect(report.lines.contains { $0.kind == .clawback && $0.operatorID == run.summary.statementOperator })
        }
        let second = try SettlementReport(json: try run.bytes(run.paths.report(DemoMarketplace.secondPeriod, "json")))
        let adjustment = try #require(second.lines.first { $0.kind == .adjustment })
        #expect(adjustment.corrects?.hasPrefix("\(DemoMarketplace.firstPeriod)/") == true)
        #expect(adjustment.amountMinor < 0)
    }

    @Test("duplicates are not counted twice; late, rejected and refused events are as told")
    func usageCounts() async throws {
        let run = try await DemoRun.make()
        defer { run.remove() }
        for (usage, closed) in zip(run.summary.usage, run.summary.closed) {
            #expect(usage.duplicates > 0)
            #expect(usage.lateAccepted > 0)
            #expect(usage.distinctAccepted == usage.accepted)
            #expect(closed.totals.eventCount == Int64(usage.distinctAccepted + usage.gatewayEvents + usage.upstreamEvents))
            #expect(usage.sent == usage.accepted + usage.duplicates + usage.rejected.values.reduce(0, +))
            #expect(usage.calls == usage.served + usage.refused.values.reduce(0, +))
            #expect(usage.served > 0 && usage.records > 0)
            // The served datasets' grants price calls only: one event a served call.
            #expect(usage.gatewayEvents == usage.served)
        }
        let october = run.summary.usage[0]
        for code in ["conflict", "period_closed"] {
            #expect(october.rejected[code, default: 0] > 0, "\(code)")
        }
        // At the source: the port quota runs out, and a suspended operator is refused.
        for code in ["quota_exceeded", "operator_suspended"] {
            #expect(october.refused[code, default: 0] > 0, "\(code)")
        }
    }

    @Test("a directory that is not a previous demo is left alone")
    func refusesForeignDirectories() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-demo-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let mine = root + "/notes.txt"
        #expect(FileManager.default.createFile(atPath: mine, contents: Data("keep me".utf8)))
        await #expect(throws: DemoError.self) { try await DemoMarketplace.run(out: root, events: 100) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["notes.txt"])

        // A previous demo with a file of someone else's in it: refused, nothing deleted.
        try FileManager.default.removeItem(atPath: mine)
        _ = try await DemoMarketplace.run(out: root, events: 100)
        #expect(FileManager.default.createFile(atPath: mine, contents: Data("keep me".utf8)))
        await #expect(throws: DemoError.self) { try await DemoMarketplace.run(out: root, events: 100) }
        #expect(FileManager.default.fileExists(atPath: mine))
        #expect(FileManager.default.fileExists(atPath: root + "/data/pdx.sqlite"))
    }
}
