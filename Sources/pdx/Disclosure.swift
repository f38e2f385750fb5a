import ArgumentParser
import AuditLog
import Foundation
import Marketplace
import Metering
import Replay

/// `pdx disclosure`: the annual public announcement (公示), derived from the log alone.
struct DisclosureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disclosure",
        abstract: "Write the annual public announcement of a year's authorized operation, derived from the log alone.",
        discussion: """
            Replays the log as it is now and writes, for --year: the operators authorized (every operator with a \
            grant in force at some moment of the year: company name and unified social credit code), the datasets \
            published by the year's end with their openness and grade, those grants with their scenario, term and \
            prices, and the revenue returned to each authority in each closed month. Files: disclosure.json, \
            operators.csv, datasets.csv, grants.csv, revenue.csv and index.html (one printable page in Chinese). \
            No person is named. An auditor re-derives every byte from an export at least as long as the log was: \
            pdx-verify EXPORT --vkey FILE --disclosure-report DIR

            """ + ExitStatuses.help
    )

    @OptionGroup var storage: StorageOptions

    @Option(help: "The calendar year, e.g. 2026 (months in the marketplace's time zone).")
    var year: Int

    @Option(help: "Directory to write; must not exist or be empty.")
    var out: String

    @Option(help: "text (sentences) or json (one line of JSON).")
    var format: OutputFormat = .text

    func validate() throws {
        guard (1970...9999).contains(year) else { throw ValidationError("--year must be 1970…9999") }
    }

    func run() async throws {
        try Self.prepare(out)
        var replay = LogReplay()
        let size = try await readLog(from: try await storage.store()) { seq, bytes in replay.apply(bytes: bytes, seq: seq) }
        replay.finish()
        if let problem = replay.findings.first {
            throw DisclosureError(.logNotLawful, "the log does not replay cleanly (\(problem.code.rawValue) at \(problem.location)), so no disclosure is derived from it")
        }
        let disclosure = AnnualDisclosure(year: year, replay: &replay, logSize: size)
        for (name, bytes) in disclosure.files() {
            guard FileManager.default.createFile(atPath: (out as NSString).appendingPathComponent(name), contents: Data(bytes)) else {
                throw DisclosureError(.cannotWrite, "cannot write \(name) in \(out)")
            }
        }
        if format == .json {
            try printJSONLine([
                "out": JSONValue(out), "year": JSONValue(year), "log_size": JSONValue(size),
                "operators": JSONValue(disclosure.operators.count), "grants": JSONValue(Set(disclosure.grants.map(\.grantID)).count),
                "closed_periods": .array(disclosure.closedPeriods.map { .string($0.description) }),
            ])
            return
        }
        print("wrote the \(year) disclosure to \(out): \(disclosure.operators.count) operators, "
              + "\(Set(disclosure.grants.map(\.grantID)).count) grants, \(disclosure.datasets.count) datasets, "
              + "\(disclosure.closedPeriods.count) closed months, from the log's first \(size) entries")
        print("check with: pdx-verify <export> --vkey <key file> --disclosure-report \(out)")
    }

    /// Creates `directory`, or accepts it empty: a disclosure never mixes with other files.
    static func prepare(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try FileManager.default.contentsOfDirectory(atPath: directory)).isEmpty else {
                throw DisclosureError(.outNotEmpty, "\(directory) exists and is not an empty directory")
            }
            return
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
}

/// Why `pdx disclosure` wrote nothing.
typealias DisclosureError = PlainCodedError<DisclosureErrorCode>

enum DisclosureErrorCode: String, Sendable, CaseIterable {
    /// `--out` is a file, or a directory that holds something.
    case outNotEmpty = "out_not_empty"
    /// The stored log has a finding: an announcement is derived only from a lawful log.
    case logNotLawful = "log_not_lawful"
    case cannotWrite = "cannot_write"
}
