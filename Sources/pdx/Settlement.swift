import AuditLog
import Marketplace
import ArgumentParser
import AuditLog
import Foundation
import Licensing
import Metering
import Settlement

/// The marketplace's settlement settings; shared by `serve` and `settlement close`.
struct SettlementOptions: ParsableArguments {
    /// Gone: kept only to answer anyone still giving it, flag, variable or config key alike.
    @Option(name: .customLong("platform-fee-bps"), help: .hidden)
    var platformFeeBPS: String?

    @Option(name: .customLong("settlement-grace-hours"), help: "Hours after a period's end before it may close. Env: PDX_SETTLEMENT_GRACE_HOURS. Default: 24")
    var graceHours: Int?

    /// The flags given, by settings key.
    var flags: [String: String?] {
        ["platform-fee-bps": platformFeeBPS, "settlement-grace-hours": graceHours.map(String.init)]
    }

    /// What a former `--platform-fee-bps` is told.
    static let feeMoved = "--platform-fee-bps / PDX_PLATFORM_FEE_BPS is no longer a setting: the platform fee is "
        + "marketplace configuration stored with the data, and each grant fixes the fee in force when it becomes active. "
        + "The admin reads it with GET /v1/marketplace/platform-fee and changes it with PUT /v1/marketplace/platform-fee "
        + #"{"platform_fee_bps": N, "reason": "…"}. Remove the setting."#

    /// The policy the settings say: flag, then environment, then config file, then default.
    func policy(_ settings: Settings) throws -> SettlementPolicy {
        var policy = SettlementPolicy()
        if settings.text("platform-fee-bps") != nil {
            throw ValidationError(Self.feeMoved)
        }
        let hours = try settings.value("settlement-grace-hours", default: Int(policy.grace / 3600), "an integer 0…8784") {
            Int($0).flatMap { (0...24 * 366).contains($0) ? $0 : nil }
        }
        policy.grace = TimeInterval(hours) * 3600
        return policy
    }
}

/// `pdx settlement …`: finance's commands on the server host.
struct SettlementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settlement",
        abstract: "Close a settlement period or export its report.",
        subcommands: [Close.self, Adjust.self, Export.self]
    )

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a period: rate it, log settlement.closed with each report's SHA-256, sign a checkpoint.",
            discussion: """
                Safe while the server runs. Closing a closed period changes nothing. With --format json it prints \
                one line of JSON: period, status, already_closed, closed_at, currency, format_version, totals \
                (gross_minor, authority_minor, platform_minor, operator_minor, line_count, event_count), reports \
                (each sealed rendering's SHA-256) and log_index (the settlement.closed entry).

                """ + ExitStatuses.help
        )

        @OptionGroup var storage: StorageOptions
        @OptionGroup var settlement: SettlementOptions

        @Option(help: "The period, YYYY-MM (a month in Asia/Shanghai).")
        var period: String

        @Option(help: "The id of the finance principal closing it (pr_…); the log names it.")
        var actor: String

        @Option(help: "text (sentences) or json (one line of JSON).")
        var format: OutputFormat = .text

        func validate() throws {
            guard Period(period) != nil else { throw ValidationError("--period must be YYYY-MM") }
            guard !actor.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--actor must name a finance principal") }
        }

        func run() async throws {
            guard let period = Period(period) else { return }
            let settings = try await storage.settings(more: settlement.flags)
            let closed = try await closePeriod(period, at: try storage.store(settings), policy: try settlement.policy(settings),
                                               actor: actor)
            let totals = closed.report.totals
            let currency = closed.report.currency
            if format == .json {
                try printJSONLine([
                    "period": JSONValue(period.description), "status": "closed", "already_closed": JSONValue(closed.wasClosed),
                    "closed_at": JSONValue(Timestamp.format(Timestamp.milliseconds(closed.report.closedAt))),
                    "currency": JSONValue(currency.code), "format_version": JSONValue(closed.report.formatVersion),
                    "totals": [
                        "gross_minor": JSONValue(totals.grossMinor), "authority_minor": JSONValue(totals.authorityMinor),
                        "platform_minor": JSONValue(totals.platformMinor), "operator_minor": JSONValue(totals.operatorMinor),
                        "line_count": JSONValue(totals.lineCount), "event_count": JSONValue(totals.eventCount),
                    ],
                    "reports": .object(closed.digests.mapValues { JSONValue($0) }),
                    "log_index": JSONValue(closed.logIndex),
                ])
                return
            }
            print(closed.wasClosed ? "\(period) was already closed; nothing changed" : "closed \(period)")
            print("lines \(totals.lineCount), events \(totals.eventCount)")
            print("gross \(MinorUnits.decimal(totals.grossMinor, in: currency)) \(currency.code): authorities \(MinorUnits.decimal(totals.authorityMinor, in: currency)), platform \(MinorUnits.decimal(totals.platformMinor, in: currency)), operators \(MinorUnits.decimal(totals.operatorMinor, in: currency))")
            print("settlement.closed is log entry \(closed.logIndex)")
            for (format, digest) in closed.digests.sorted(by: { $0.key < $1.key }) { print("sha256 \(format) \(digest)") }
        }
    }

    struct Adjust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Book a correction of a closed period's line into a later, open period (settlement.adjusted).",
            discussion: "As POST /v1/settlements/{period}/adjustments. A negative amount is a credit."
        )

        @OptionGroup var storage: StorageOptions
        @OptionGroup var settlement: SettlementOptions

        @Option(help: "The open period the correction is booked into, YYYY-MM.")
        var period: String

        @Option(help: "The id of the line corrected, e.g. 2026-10/gr_…/bj-traffic-flow/call.")
        var corrects: String

        @Option(name: .customLong("amount-minor"), help: "The change of the line's gross amount in minor units (fen); negative for a credit.")
        var amountMinor: Int64

        @Option(help: "Why (required).")
        var reason: String

        @Option(help: "The id of the finance principal booking it (pr_…); the log names it.")
        var actor: String

        func validate() throws {
            guard Period(period) != nil else { throw ValidationError("--period must be YYYY-MM") }
            guard !actor.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--actor must name a finance principal") }
            do {
                _ = try SettlementDesk.reason(reason)
            } catch {
                throw ValidationError("--reason: \(error.detail) (\(error.code.rawValue))")
            }
        }

        func run() async throws {
            guard let period = Period(period) else { return }
            let settings = try await storage.settings(more: settlement.flags)
            let adjustment = try await adjustLine(
                corrects, by: amountMinor, in: period, reason: try SettlementDesk.reason(reason), actor: actor,
                at: try storage.store(settings), policy: try settlement.policy(settings))
            print("booked \(adjustment.id) into \(period): \(adjustment.amountMinor) minor units on \(adjustment.corrected.id)")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a closed period's report (or one party's statement) to a file.",
            discussion: """
                Formats: json, csv and xlsx are the renderings whose SHA-256 settlement.closed holds (sealed); \
                csv-excel is the strict CSV behind a UTF-8 byte order mark, for Excel, and not sealed.

                """ + ExitStatuses.help)

        @OptionGroup var storage: StorageOptions

        @Option(help: "The period, YYYY-MM.")
        var period: String

        @Option(help: "csv, xlsx, json or csv-excel.")
        var format: String

        @Option(help: "The file to write ('-' for standard output).")
        var out: String

        @Option(help: "Only this party's statement: authority:<id>, platform or operator:<id>.")
        var party: String?

        @Option(help: "For CSV: lines (default) or parties.")
        var section: String?

        func validate() throws {
            guard Period(period) != nil else { throw ValidationError("--period must be YYYY-MM") }
            guard ReportFormat(rawValue: format) != nil || format == ExcelCSV.formatName else {
                throw ValidationError("--format must be csv, xlsx, json or csv-excel")
            }
            if let party, Party(party) == nil { throw ValidationError("--party must be authority:<id>, platform or operator:<id>") }
            if let section, !["lines", "parties"].contains(section) { throw ValidationError("--section must be lines or parties") }
        }

        func run() async throws {
            let forExcel = format == ExcelCSV.formatName
            guard let period = Period(period), let format = forExcel ? .csv : ReportFormat(rawValue: format) else { return }
            var bytes = try await exportReport(period, format: format, party: party.flatMap(Party.init), section: section, at: try await storage.store())
            if forExcel { bytes = ExcelCSV.bytes(bytes) }
            if out == "-" {
                FileHandle.standardOutput.write(Data(bytes))
            } else {
                try Data(bytes).write(to: URL(fileURLWithPath: out), options: .atomic)
                print("wrote \(bytes.count) bytes to \(out)")
            }
        }
    }
}
