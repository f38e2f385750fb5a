import ArgumentParser
import Delivery
import Foundation
import Marketplace
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `pdx dataset …`: an authority's commands on the server host.
struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Load a dataset's releases.",
        subcommands: [Load.self]
    )

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a CSV or NDJSON file as an immutable release of a dataset, and publish it.",
            discussion: """
            Every row is checked against the dataset's fields; one bad value refuses the whole release, naming \
            its row and column, and nothing is stored. Safe while the server runs: rows are written in short \
            transactions, the release is published (and dataset.release_published logged) at the end.
            """
        )

        @OptionGroup var storage: StorageOptions

        @Option(help: "The dataset's id.")
        var dataset: String

        @Option(help: "The release's version: 1–64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.")
        var version: String

        @Option(name: .customLong("as"), help: "The principal id loading it: a reviewer of the dataset's authority, or an admin.")
        var principal: String

        @Option(help: "csv or ndjson. Default: from the file's extension (.csv, .ndjson, .jsonl).")
        var format: String?

        @Option(name: .customLong("max-release-bytes"), help: "The largest release accepted. Env: PDX_MAX_RELEASE_BYTES. Default: 1073741824 (1 GiB)")
        var maxReleaseBytes: Int64?

        @Argument(help: "The file to load.")
        var file: String

        var mediaType: ReleaseMediaType? {
            switch format {
            case "csv": .csv
            case "ndjson", "jsonl": .ndjson
            case nil: ReleaseMediaType(fileName: file)
            default: nil
            }
        }

        func validate() throws {
            guard ReleaseVersion.isValid(version) else {
                throw ValidationError("--version must be 1–64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
            }
            if let format, !["csv", "ndjson", "jsonl"].contains(format) { throw ValidationError("--format must be csv or ndjson") }
            guard mediaType != nil else { throw ValidationError("cannot tell the format from '\(file)': name it with --format csv or ndjson") }
        }

        func run() async throws {
            guard let mediaType else { return }
            let settings = try await storage.settings(more: ["max-release-bytes": maxReleaseBytes.map(String.init)])
            let policy = ReleasePolicy(maxBytes: try maxBytes(settings))
            let total = (try? URL(fileURLWithPath: file).resourceValues(forKeys: [.fileSizeKey]))?.fileSize.map(Int64.init)
            let display = ProgressDisplay(total: total, terminal: isatty(STDERR_FILENO) == 1)
            let started = ContinuousClock.now
            let release = try await loadReleaseFile(
                file, datasetID: dataset, version: version, mediaType: mediaType, as: principal,
                at: try storage.store(settings), policy: policy, progress: { display.show($0) })
            display.end()
            let seconds = max(0.001, (ContinuousClock.now - started).seconds)
            print("published \(release.datasetID) release \(release.version): \(release.rows) rows, \(release.bytes) bytes, "
                + "sha256 \(release.sha256), in \(String(format: "%.1f", seconds)) s (\(Int(Double(release.rows) / seconds)) rows/s)")
        }

        func maxBytes(_ settings: Settings) throws -> Int64 {
            try settings.value("max-release-bytes", default: ReleasePolicy.defaultMaxBytes, "a number of bytes, at least 1") {
                Int64($0).flatMap { $0 >= 1 ? $0 : nil }
            }
        }
    }
}

/// The progress of a load on standard error: a bar redrawn in place on a terminal, otherwise a line
/// every tenth of the file (or every 10 MiB when its size is unknown).
final class ProgressDisplay: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.now
        var nextLine: Int64 = 0
        var drawn = false
    }

    let total: Int64?
    let terminal: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(total: Int64?, terminal: Bool) {
        self.total = total
        self.terminal = terminal
    }

    func show(_ progress: ReleaseProgress) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { state in
            if terminal {
                guard now - state.lastDraw >= .milliseconds(100) || progress.bytes == total else { return nil }
                state.lastDraw = now
                state.drawn = true
                return "\r" + render(progress, now: now)
            }
            guard progress.bytes >= state.nextLine else { return nil }
            let step = total.map { max(1, $0 / 10) } ?? 10 << 20
            state.nextLine = (progress.bytes / step + 1) * step
            return render(progress, now: now) + "\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func end() {
        if terminal, state.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func render(_ progress: ReleaseProgress, now: ContinuousClock.Instant) -> String {
        let seconds = max(0.001, (now - started).seconds)
        let rate = Int(Double(progress.rows) / seconds)
        let bytes = Self.mebibytes(progress.bytes)
        guard let total, total > 0 else { return "\(bytes) MiB, \(progress.rows) rows, \(rate) rows/s" }
        let fraction = min(1, Double(progress.bytes) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = terminal ? "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " : ""
        return "\(bar)\(bytes) / \(Self.mebibytes(total)) MiB (\(Int(fraction * 100))%), \(progress.rows) rows, \(rate) rows/s"
    }

    private static func mebibytes(_ bytes: Int64) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
