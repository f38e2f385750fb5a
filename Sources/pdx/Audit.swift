import APIServer
import ArgumentParser
import Foundation

/// `pdx audit …`: the log, for auditors.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the audit log or print its verifier key.",
        subcommands: [Export.self, VKey.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the log as a C2SP tlog-tiles directory (checkpoint, tiles, entry bundles, vkey).",
            discussion: "Safe while the server runs: the export covers the log up to a checkpoint signed for it."
        )

        @OptionGroup var storage: StorageOptions

        @Option(help: "Directory to write; must not exist or be empty.")
        var out: String

        func run() async throws {
            let summary = try await exportLog(from: storage.store, to: out)
            print("exported \(summary.size) entries to \(out)")
            print("checkpoint root \(summary.rootBase64)")
            print("verify with: pdx-verify \(out) --vkey <the key you got out of band>")
        }
    }

    struct VKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vkey",
            abstract: "Print the log's verifier key (C2SP signed-note format) for auditors to pin."
        )

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            print(try await verifierKey(of: storage.store))
        }
    }
}
