import AuditLog
import Cryptography
import Foundation
import PDXTesting
@testable import pdx_verify
import Replay
import Settlement
import Testing

/// The log a fuzz case starts from: the golden demo log in `Contracts/vectors/replay/`, written by
/// `pdx demo` through the real code paths, or, where it is missing, the fixture's.
enum BaseLog {
    static let goldenPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Contracts/vectors/replay/demo-log.jsonl").path

    /// Each entry's canonical bytes, in log order.
    static func entries() throws -> [[UInt8]] {
        if let text = try? String(contentsOfFile: goldenPath, encoding: .utf8) {
            return text.split(separator: "\n").map { Array($0.utf8) }
        }
        var log = try LogFixture()
        let t = LogFixture.octoberStart.addingTimeInterval(3600)
        log.usage([("e-1", 5, t), ("e-2", 7, t)], at: t)
        return try log.encoded()
    }
}

/// An export written from entries and signed with a fixed test key.
struct SignedExport {
    static let signer: NoteSigner = {
        // A fixed test key, named like the golden log's origin: the fuzz cases must be reproducible
        // from their seed alone.
        try! NoteSigner(name: "demo.pdx.local/1", key: Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32)))
    }()

    let directory: String
    let keyFile: String

    /// Writes `entries` into a new `directory`, tiles recomputed, checkpoint signed; nil when an
    /// entry does not fit a bundle's 16-bit length.
    static func write(_ entries: [[UInt8]], to directory: String) throws -> SignedExport? {
        guard entries.allSatisfy({ $0.count <= ExportLayout.maximumEntrySize }) else { return nil }
        try? FileManager.default.removeItem(atPath: directory)
        let writer = try TlogTilesWriter(directory: directory)
        var builder = TileBuilder()
        for entry in entries {
            try writer.append(entry: entry)
            _ = builder.append(entry: entry)
        }
        let checkpoint = Checkpoint(origin: signer.name, size: UInt64(entries.count), rootHash: builder.root())
        try writer.finish(checkpoint: try checkpoint.sign(with: [signer]), verifierKey: signer.verifierKey)
        let keyFile = directory + ".vkey"
        try (signer.verifierKey + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        return SignedExport(directory: directory, keyFile: keyFile)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: keyFile)
    }
}

/// Seeded mutations of a log, each one a thing a forger might try: numbers at their extremes,
/// records duplicated, reordered or dropped, members truncated, made huge, nested deep, of the
/// wrong type or missing, actions swapped, controls and bidirectional overrides in strings.
struct LogMutator {
    var random: SplitMix64

    static let extremes: [JSONValue] = [
        0, -1, 1, .number(9_007_199_254_740_992), .number(-9_007_199_254_740_992), .number(9_007_199_254_740_991),
        .number(4.5), .number(1e300), .number(-1e300), .number(1e-7), .number(18_446_744_073_709_551_616),
    ]
    static let strings: [String] = [
        "", "\u{202E}gnp.exe", "\u{85}\u{9B}31m", "\u{1B}[2J", "\u{2066}x\u{2069}", "\u{200F}\u{061C}", "0000-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z", "1970-01", "9999-12", "NaN", "-0", String(repeating: "9", count: 40),
    ]
    static let actions = ActionCatalog.actions.keys.sorted() + ["grant.approved", "x", "\u{202E}grant.revoked"]

    mutating func int(_ bound: Int) -> Int { Int(random.next() % UInt64(max(bound, 1))) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }

    /// Applies one to four mutations to `entries` (canonical bytes), then renumbers `seq` unless
    /// told not to. Entries a mutation does not touch keep their bytes: only edited ones are parsed
    /// and encoded again.
    mutating func mutate(_ entries: [[UInt8]]) -> [[UInt8]] {
        var entries = entries
        for _ in 0...int(4) where !entries.isEmpty {
            let index = int(entries.count)
            switch int(12) {
            case 0: entries.insert(entries[int(entries.count)], at: index)
            case 1: entries.swapAt(index, int(entries.count))
            case 2: entries.remove(at: index)
            case 3: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        value.isNumber ? Self.extremes[mutator.int(Self.extremes.count)] : nil } }
            case 4: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        guard let text = value.stringValue else { return nil }
                        return .string(String(text.prefix(mutator.int(text.count + 1)))) } }
            case 5: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        value.stringValue == nil ? nil : .string(String(repeating: "长", count: 1000 + mutator.int(20_000))) } }
            case 6: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        guard let elements = value.arrayValue, let first = elements.first else { return nil }
                        return .array(Array(repeating: first, count: 100 + mutator.int(3000))) } }
            case 7: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        var nested = value
                        for _ in 0..<(1 + mutator.int(100)) { nested = .array([nested]) }
                        return nested } }
            case 8: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { _, mutator in
                        [JSONValue.null, "x", .object([:]), .array([]), .bool(true), 0][mutator.int(6)] } }
            case 9: edit(&entries[index]) { entry, mutator in
                    mutator.editData(entry) { value, mutator in
                        value.stringValue == nil ? nil : .string(Self.strings[mutator.int(Self.strings.count)]) } }
            case 10: edit(&entries[index]) { entry, mutator in
                    mutator.set(entry, "action", .string(Self.actions[mutator.int(Self.actions.count)])) }
            default: edit(&entries[index]) { entry, mutator in mutator.removeMember(entry) }
            }
        }
        guard chance(90) else { return entries }
        return entries.enumerated().map { Self.renumbered($0.element, seq: $0.offset) }
    }

    /// `entry` parsed, changed and encoded again; unchanged when it does not parse or encode.
    mutating func edit(_ entry: inout [UInt8], _ change: (JSONValue, inout LogMutator) -> JSONValue) {
        guard let value = try? JSONValue.parse(entry), let bytes = try? change(value, &self).canonicalBytes() else { return }
        entry = bytes
    }

    /// `entry` with its `seq` set: the last `,"seq":` of canonical bytes is the entry's own, as
    /// no string can hold an unescaped quote and `subjects` and `time` follow it.
    static func renumbered(_ entry: [UInt8], seq: Int) -> [UInt8] {
        let marker = Array(#","seq":"#.utf8)
        guard let start = entry.indices.reversed().first(where: { entry[$0...].starts(with: marker) }) else { return entry }
        let digits = start + marker.count
        let end = entry[digits...].firstIndex { !(0x30...0x39).contains($0) } ?? entry.endIndex
        return Array(entry[..<digits]) + Array(String(seq).utf8) + Array(entry[end...])
    }

    /// `entry` with one value inside its `data` replaced by what `change` makes of it (nil: not
    /// this kind of value; another is tried).
    mutating func editData(_ entry: JSONValue, _ change: (JSONValue, inout LogMutator) -> JSONValue?) -> JSONValue {
        guard let data = entry.objectValue?["data"] else { return entry }
        var paths: [[PathStep]] = []
        collect(data, path: [], into: &paths)
        for _ in 0..<8 where !paths.isEmpty {
            let path = paths[int(paths.count)]
            guard let old = value(in: data, at: path), let new = change(old, &self) else { continue }
            return set(entry, "data", replacing(data, at: path, with: new))
        }
        return entry
    }

    mutating func removeMember(_ entry: JSONValue) -> JSONValue {
        guard var data = entry.objectValue?["data"]?.objectValue, !data.isEmpty else { return entry }
        data[data.keys.sorted()[int(data.count)]] = nil
        return set(entry, "data", .object(data))
    }

    func set(_ entry: JSONValue, _ key: String, _ value: JSONValue) -> JSONValue {
        guard var members = entry.objectValue else { return entry }
        members[key] = value
        return .object(members)
    }

    enum PathStep { case key(String), index(Int) }

    func collect(_ value: JSONValue, path: [PathStep], into paths: inout [[PathStep]]) {
        paths.append(path)
        guard paths.count < 2000 else { return }
        if let members = value.objectValue {
            // Sorted: a dictionary's order differs from process to process, and a case must be the
            // same for its seed in every run.
            for key in members.keys.sorted() { collect(members[key]!, path: path + [.key(key)], into: &paths) }
        } else if let elements = value.arrayValue {
            for (offset, element) in elements.enumerated().prefix(50) { collect(element, path: path + [.index(offset)], into: &paths) }
        }
    }

    func value(in root: JSONValue, at path: [PathStep]) -> JSONValue? {
        var current = root
        for step in path {
            switch step {
            case .key(let key): guard let next = current.objectValue?[key] else { return nil }; current = next
            case .index(let index): guard let next = current.arrayValue?[index] else { return nil }; current = next
            }
        }
        return current
    }

    func replacing(_ root: JSONValue, at path: [PathStep], with new: JSONValue) -> JSONValue {
        guard let step = path.first else { return new }
        let rest = Array(path.dropFirst())
        switch step {
        case .key(let key):
            guard var members = root.objectValue, let member = members[key] else { return root }
            members[key] = replacing(member, at: rest, with: new)
            return .object(members)
        case .index(let index):
            guard var elements = root.arrayValue else { return root }
            elements[index] = replacing(elements[index], at: rest, with: new)
            return .array(elements)
        }
    }
}

extension JSONValue {
    var isNumber: Bool { if case .number = self { true } else { false } }
}

@Suite("pdx-verify on forged exports: exit 0, 1, 2 or 3, never a trap, a hang or an unescaped control")
struct VerifierFuzzTests {
    /// Runs the verifier in this process and returns its exit status and what it printed.
    static func verify(_ arguments: [String]) -> (status: Int32, lines: [String]) {
        var lines: [String] = []
        let status = PDXVerify.runProcess(arguments: arguments, output: { lines.append($0) }, errorOutput: { lines.append($0) })
        return (status, lines)
    }

    /// True when `text` holds a scalar the verifier must escape.
    static func holdsUnescaped(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0 != "\n" && PDXVerify.isEscaped($0) }
    }

    @Test("the base log verifies and is lawful, with the test key pinned (0) and without it (3)")
    func baseLogVerifies() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-base-\(UUID().uuidString)").path
        let export = try #require(try SignedExport.write(try BaseLog.entries(), to: directory))
        defer { export.remove() }
        let pinned = Self.verify([export.directory, "--vkey", export.keyFile])
        #expect(pinned.status == 0, "\(pinned.lines)")
        #expect(Self.verify([export.directory]).status == 3)
    }

    /// 3,000 cases.
    static let caseCount: UInt64 = 3000
    /// Added to every seed: `PDX_FUZZ_SEED_OFFSET=3000 swift test --filter VerifierFuzzTests` tries
    /// another 3,000 cases, for a longer hunt than CI's; a failure names its seed, which replays it.
    static let seedOffset = UInt64(ProcessInfo.processInfo.environment["PDX_FUZZ_SEED_OFFSET"] ?? "") ?? 0

    /// What a run of fuzz cases saw.
    struct FuzzOutcome: Sendable {
        var cases = 0
        var statuses: [Int32: Int] = [:]
        /// The first problems, each naming its seed.
        var problems: [String] = []
    }

    /// Runs `work` on a thread of its own: minutes of synchronous work must not hold the test
    /// runner's cooperative threads, which tests waiting for a server to become ready need too.
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Cases `seeds`, each a mutated log written, signed and verified in process.
    static func fuzz(_ base: [[UInt8]], seeds: ClosedRange<UInt64>) throws -> FuzzOutcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-\(UUID().uuidString)").path
        var outcome = FuzzOutcome()
        for seed in seeds {
            var mutator = LogMutator(random: SplitMix64(seed: seed))
            let bytes = mutator.mutate(base)
            guard let export = try SignedExport.write(bytes, to: directory) else { continue }
            defer { export.remove() }
            let pinned = mutator.chance(80)
            let run = verify([export.directory] + (pinned ? ["--vkey", export.keyFile] : []))
            outcome.cases += 1
            outcome.statuses[run.status, default: 0] += 1
            if !(run.status == 1 || run.status == (pinned ? 0 : 3)) {
                outcome.problems.append("seed \(seed): exit \(run.status) \(pinned ? "pinned" : "unpinned"): \(run.lines.prefix(3))")
            }
            if run.lines.contains(where: holdsUnescaped) {
                outcome.problems.append("seed \(seed): unescaped \(run.lines.filter(holdsUnescaped))")
            }
        }
        return outcome
    }

    @Test("3,000 seeded mutations of a real log, verified in process: exit 0, 1 or 3, printed lines escaped")
    func mutatedExportsInProcess() async throws {
        let base = try BaseLog.entries()
        // One thread of its own: the other core stays free for the rest of the suite, whose tests
        // start servers and wait for them with deadlines of their own.
        let outcome = try await Self.onOwnThread {
            try Self.fuzz(base, seeds: (Self.seedOffset + 1)...(Self.seedOffset + Self.caseCount))
        }
        #expect(outcome.problems.isEmpty, "\(outcome.problems.prefix(10))")
        // Cases whose entries outgrow a bundle's 16-bit length cannot be written and are skipped.
        #expect(UInt64(outcome.cases) >= Self.caseCount * 3 / 4, "\(outcome.cases) cases written")
        // The mutations mostly break the log; some leave it lawful (a reason truncated).
        #expect((outcome.statuses[1] ?? 0) > outcome.cases / 2, "\(outcome.statuses)")
    }

    @Test("a handful of mutated exports through the executable: an exit status in 0...3, no signal, within two minutes")
    func mutatedExportsThroughTheExecutable() async throws {
        let executable = try #require(Tool.executable, "pdx-verify is not built")
        let base = try BaseLog.entries()
        for seed in UInt64(10_001)...10_008 {
            var mutator = LogMutator(random: SplitMix64(seed: seed))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-exe-\(UUID().uuidString)").path
            guard let export = try SignedExport.write(mutator.mutate(base), to: directory) else { continue }
            defer { export.remove() }
            let child = ChildProcess()
            child.process.executableURL = executable
            child.process.arguments = [export.directory, "--vkey", export.keyFile]
            child.process.standardOutput = FileHandle.nullDevice
            child.process.standardError = FileHandle.nullDevice
            try child.run()
            let exited = await child.exit(within: .seconds(120))
            let timedOut = exited == nil
            if timedOut { child.terminate() }
            let exit = await child.exit()
            #expect(!timedOut, "seed \(seed): still running after two minutes")
            #expect(exit.reason == .exit, "seed \(seed): ended by signal \(exit.status)")
            #expect((0...3).contains(exit.status), "seed \(seed): exit \(exit.status)")
        }
    }

    @Test("a checkpoint signed for another tree size, up to 2^64 − 1, is a finding, not a trap or a hang")
    func checkpointSizes() throws {
        let entries = try BaseLog.entries()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-size-\(UUID().uuidString)").path
        let export = try #require(try SignedExport.write(entries, to: directory))
        defer { export.remove() }
        let checkpointPath = export.directory + "/" + ExportLayout.checkpoint
        let original = try Checkpoint.parse(try SignedNote.parse(String(contentsOfFile: checkpointPath, encoding: .utf8)).text)
        let n = UInt64(entries.count)
        for size in [0, n - 1, n + 1, n + 300, UInt64(1) << 63, UInt64.max] {
            let forged = Checkpoint(origin: original.origin, size: size, rootHash: original.rootHash)
            try forged.sign(with: [SignedExport.signer]).serialized.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
            let run = Self.verify([export.directory, "--vkey", export.keyFile])
            #expect(run.status == 1, "size \(size): \(run.lines)")
        }
    }

    @Test("an entry nested 30,000 arrays deep is a finding at that entry, not a stack overflow")
    func deepNesting() throws {
        var entries = try BaseLog.entries()
        let depth = 30_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let forged = "{\"action\":\"test_clock.advanced\",\"actor\":\"system\",\"data\":{\"from\":\(nested),\"to\":null},\"seq\":\(entries.count),\"subjects\":[],\"time\":\"2026-12-01T00:00:00.000Z\"}"
        entries.append(Array(forged.utf8))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-deep-\(UUID().uuidString)").path
        let export = try #require(try SignedExport.write(entries, to: directory))
        defer { export.remove() }
        let run = Self.verify([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 1)
        #expect(run.lines.first?.hasPrefix("pdx-verify: FAIL entry_not_canonical at entry \(entries.count - 1): ") == true, "\(run.lines)")
        #expect(run.lines.first?.contains("too_deep") == true, "\(run.lines)")
    }

    @Test("2,000 mutated settlement reports checked against the golden log's settlement: confirmed or a finding, never a trap")
    func mutatedReports() async throws {
        var replay = LogReplay()
        for (seq, bytes) in try BaseLog.entries().enumerated() { replay.apply(bytes: bytes, seq: UInt64(seq)) }
        replay.finish()
        let settled = replay.state.settlements.keys.sorted().compactMap { replay.state.settlements[$0]?.report }
        let reports = settled.flatMap { report in ReportFormat.allCases.map { report.rendered(as: $0) } }
        try #require(!reports.isEmpty)
        for report in reports {
            #expect(throws: Never.self) { try replay.checkReport(report, name: "report").get() }
        }
        let digitRuns = ["0", "-1", "9007199254740992", "99999999999999999999999", "-9223372036854775808", "1e400", "0.000001"]
        var refused = 0
        for seed in UInt64(1)...2000 {
            if seed % 50 == 0 { await Task.yield() }
            var mutator = LogMutator(random: SplitMix64(seed: seed))
            var bytes = reports[mutator.int(reports.count)]
            for _ in 0...mutator.int(3) where !bytes.isEmpty {
                let at = mutator.int(bytes.count)
                switch mutator.int(6) {
                case 0: bytes[at] ^= UInt8(1 + mutator.int(255))
                case 1: bytes.removeSubrange(at...)
                case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 1 + mutator.int(400))], at: at)
                case 3: bytes.insert(contentsOf: Array(digitRuns[mutator.int(digitRuns.count)].utf8), at: at)
                case 4: bytes.insert(contentsOf: Array(LogMutator.strings[mutator.int(LogMutator.strings.count)].utf8), at: at)
                default:
                    // A number of a JSON report set to an extreme, the report still valid JSON.
                    guard let report = try? JSONValue.parse(bytes),
                          let edited = try? mutator.editData(["data": report]) { value, mutator in
                              value.isNumber ? LogMutator.extremes[mutator.int(LogMutator.extremes.count)] : nil
                          }.objectValue?["data"]?.canonicalBytes() else { continue }
                    bytes = edited
                }
            }
            switch replay.checkReport(bytes, name: "report-\(seed)") {
            case .success: break
            case .failure(let finding):
                refused += 1
                #expect([.reportInvalid, .reportDiffers].contains(finding.code), "seed \(seed): \(finding)")
                #expect(!Self.holdsUnescaped(PDXVerify.singleLine(finding.description)))
            }
        }
        #expect(refused > 1500, "\(refused) of 2,000 refused")
    }

    @Test("bidirectional overrides and C1 controls quoted from an entry are printed escaped")
    func quotedControlsAreEscaped() throws {
        var entries = try BaseLog.entries()
        let forged = "{\"action\":\"grant.\u{202E}dekover\u{85}\u{9B}2J\u{2067}\",\"actor\":\"system\",\"data\":{},\"seq\":\(entries.count),\"subjects\":[],\"time\":\"2026-12-01T00:00:00.000Z\"}"
        entries.append(Array(forged.utf8))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-fuzz-bidi-\(UUID().uuidString)").path
        let export = try #require(try SignedExport.write(entries, to: directory))
        defer { export.remove() }
        let run = Self.verify([export.directory, "--vkey", export.keyFile])
        #expect(run.status == 1)
        let line = try #require(run.lines.first { $0.contains("unknown_action") }, "\(run.lines)")
        #expect(line.contains("grant.\\u{202e}dekover\\u{85}\\u{9b}2J\\u{2067}"), "\(line)")
        #expect(!Self.holdsUnescaped(line))
    }
}
