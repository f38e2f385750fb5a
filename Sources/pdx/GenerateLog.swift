import ArgumentParser
import Foundation
import SampleLog

/// `pdx generate-log`: a year of a busy marketplace as a signed export, for timing `pdx-verify`.
struct GenerateLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-log",
        abstract: "Write a year of a busy marketplace's audit log as a signed export, for benchmarks of pdx-verify.",
        discussion: """
        Authorities, reviewers and open datasets; operators applying and reviewed through the vetting \
        lifecycle (one in ten rejected); one to three grants on a year's term for each approved operator; \
        and usage declared in batches of 100 to 900 events over the twelve monthly periods of 2026. \
        Entries are written straight to the export with the log's own entry, tile and checkpoint code, \
        not through a server or a database. pdx-verify replays the log without a finding; no period is \
        closed. The signing key is derived from --seed, which is public: such an export proves nothing \
        about anyone. Verify it with `pdx-verify DIR --vkey DIR/vkey`.
        """
    )

    @Option(help: "How many usage events to write.")
    var events: Int

    @Option(help: "Directory to write the export to; must not exist or be empty.")
    var out: String

    @Option(help: "Seed of every id, time and key; the same seed gives the same export.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (1...1_000_000_000).contains(events) else { throw ValidationError("--events must be 1…1000000000") }
        guard !out.isEmpty else { throw ValidationError("--out must name a directory") }
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: out), !contents.isEmpty {
            throw ValidationError("--out \(out) is not empty")
        }
    }

    func run() throws {
        let summary = try SampleLog.write(events: events, to: out, seed: seed)
        print(summary.text)
    }
}
