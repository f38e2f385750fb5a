import APIServer
import Demo
import Marketplace
import ArgumentParser

/// `pdx demo`: a fresh demo marketplace, walked through two months on the real code paths.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a demo marketplace, walk it through two settled months, and write its reports and audit exports.",
        discussion: """
        Three regional authorities (bj, tj, he), datasets of every openness and grade, operators of both \
        tiers, co-approved and refused grants, a month of usage with late, duplicate and rejected events, \
        a revenue cap, two closed periods with a correction. Every step goes through the HTTP API's router, \
        on a test clock from 2026-09-28: the same seed writes the same reports and the same log.
        """
    )

    @Option(help: "Directory to build the demo in; must be empty, new, or a previous demo (which is replaced).")
    var out = "./pdx-demo"

    @Option(help: "Seed of every id, key and usage event; the same seed gives the same demo.")
    var seed: UInt64 = 1

    @Option(help: "Roughly how many usage events the first month gets (the second gets a third).")
    var events = DemoMarketplace.defaultEvents

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out must name a directory") }
        guard (100...200_000).contains(events) else { throw ValidationError("--events must be 100…200000") }
    }

    func run() async throws {
        let summary = try await DemoMarketplace.run(out: out, seed: seed, events: events)
        print(summary.text, terminator: "")
    }
}
