import Marketplace
import ArgumentParser
import AuditLog
import Foundation
import TerminalOutput

/// `pdx audit …`: the log, for auditors.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the audit log, print its verifier keys, or rotate its signing key.",
        subcommands: [Export.self, VKey.self, Key.self, Disclose.self]
    )

    struct Disclose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one subject's personal data, with the salts, for an auditor to check against the log.",
            discussion: """
                The file holds the values of principal:<id> (name, e-mail) or operator:<id> (the security \
                officer's name and e-mail) and the salts that open the log's commitments, and names the values \
                erased. It is personal data: it is created readable by its owner only; hand it over as such. \
                Check it with: pdx-verify EXPORT --vkey FILE --disclosure FILE
                """
        )

        @OptionGroup var storage: StorageOptions

        @Option(help: "Whose data: principal:<id> or operator:<id>.")
        var subject: String

        @Option(help: "File to write; must not exist.")
        var out: String

        func run() async throws {
            let written = try await disclosePersonalData(from: try await storage.store(), subject: subject, to: out)
            print("disclosed \(written.values) values of \(subject) to \(out) (\(written.erased) erased, named only)")
            print("check with: pdx-verify <export> --vkey <key file> --disclosure \(out)")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the log as a C2SP tlog-tiles directory (checkpoint, tiles, entry bundles, vkey).",
            discussion: """
                Safe while the server runs: the export covers the log up to a checkpoint signed for it. On a \
                terminal it shows its progress on standard error. With --format json it prints one line of JSON: \
                out (the directory), size (entries) and root_hash (the checkpoint's root, base64).

                """ + ExitStatuses.help
        )

        @OptionGroup var storage: StorageOptions

        @Option(help: "Directory to write; must not exist or be empty.")
        var out: String

        @Option(help: "text (sentences) or json (one line of JSON).")
        var format: OutputFormat = .text

        @Flag(help: "Export up to the latest checkpoint the witnesses cosigned (pdx serve --witness), with their cosignatures, instead of signing a new one.")
        var cosigned = false

        func run() async throws {
            let progress = TerminalProgress("pdx audit export: exported")
            let summary = try await exportLog(from: try await storage.store(), to: out, cosigned: cosigned, progress: progress.update)
            progress.finish()
            if format == .json {
                try printJSONLine([
                    "out": JSONValue(out), "size": JSONValue(summary.size), "root_hash": JSONValue(summary.rootBase64),
                ])
                return
            }
            print("exported \(summary.size) entries to \(out)")
            print("checkpoint root \(summary.rootBase64)")
            print("verify with: pdx-verify \(out) --vkey <the key you got out of band>")
        }
    }

    struct VKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vkey",
            abstract: "Print the log's verifier keys in force (C2SP signed-note format), one per line, for auditors to pin.",
            discussion: "During a key rollover there are two: the current key, then the next one."
        )

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            for key in try await verifierKeys(of: try await storage.store()) { print(key) }
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate the log's signing key, with a rollover during which checkpoints carry both signatures.",
            discussion: "Steps: begin; copy signing-key.next.pem to every instance and restart them one at a time; finish. See Docs/operations.md, Rotating the signing key.",
            subcommands: [Begin.self, Finish.self]
        )

        struct Begin: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create signing-key.next.pem and announce it in the log (log.key_added) under a checkpoint signed by both keys.",
                discussion: "Safe while servers run. Refused with key_rotation_in_progress while a rollover is under way."
            )

            @OptionGroup var storage: StorageOptions

            func run() async throws {
                for line in try await beginKeyRotation(at: try await storage.store()).lines { print(line) }
            }
        }

        struct Finish: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Retire the current key in the log (log.key_retired) and make signing-key.next.pem the only key.",
                discussion: """
                    Run it once every instance signs with both keys. The retired key is kept as \
                    signing-key.retired-<keyid>.pem for you to move offline. On the other instances' data directories it \
                    only installs the new key. Refused with no_key_rotation when no rollover is under way.
                    """
            )

            @OptionGroup var storage: StorageOptions

            func run() async throws {
                for line in try await finishKeyRotation(at: try await storage.store()).lines { print(line) }
            }
        }
    }
}
