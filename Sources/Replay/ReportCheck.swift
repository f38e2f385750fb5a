import AuditLog
import Cryptography
public import Metering
public import Settlement

/// A report file the replay confirmed: the rendering of a closed period's settlement (or of one
/// party's statement of it) exactly as recomputed from the log.
public struct ReportConfirmation: Sendable {
    public let period: Period
    public let format: ReportFormat
    /// The party whose statement it is; nil for the whole report.
    public let party: Party?
    public let lineCount: Int
    public let totals: SettlementTotals
    /// The index of the period's `settlement.closed` entry.
    public let closeSeq: UInt64
    /// The file's SHA-256, lower-case hex.
    public let sha256: String
    /// True when the close entry records this digest (whole reports; a statement is not logged).
    public let digestLogged: Bool
}

extension LogReplay {
    /// Checks a settlement report file (`name` is how findings call it) against the settlement
    /// recomputed from the log: JSON and CSV are read and compared line by line, so a difference
    /// names its line and member; an XLSX file must be byte for byte the recomputed rendering.
    public func checkReport(_ bytes: [UInt8], name: String) -> Result<ReportConfirmation, ReplayFinding> {
        let digest = Hex.encode(SHA256.hash(bytes).bytes)
        let format = Self.format(of: bytes)
        if format == .xlsx {
            for (period, closed) in state.settlements.sorted(by: { $0.key < $1.key })
            where closed.digests[ReportFormat.xlsx.rawValue] == digest {
                return .success(ReportConfirmation(
                    period: period, format: .xlsx, party: nil, lineCount: closed.report.lines.count, totals: closed.report.totals,
                    closeSeq: closed.seq, sha256: digest, digestLogged: true))
            }
            return .failure(ReplayFinding(.reportDiffers, at: name,
                                          "an XLSX report is checked by its bytes, and these (sha256 \(digest)) are not the rendering of any period the log closed"))
        }
        if format == .csv { return checkCSV(bytes, name: name, digest: digest) }
        let found: SettlementReport
        do {
            found = try SettlementReport(json: bytes)
        } catch {
            return .failure(ReplayFinding(.reportInvalid, at: name, "not a settlement report: \(error.detail)"))
        }
        guard let closed = state.settlements[found.period] else {
            return .failure(ReplayFinding(.reportInvalid, at: name, "a report of \(found.period), which the log has not closed"))
        }
        var party: Party?
        var expected = closed.report
        if found.parties.map(\.party) != closed.report.parties.map(\.party), found.parties.count == 1, let only = found.parties.first {
            party = only.party
            expected = closed.report.statement(for: only.party)
        }
        return compare(bytes, found: found, expected: expected, party: party, closed: closed, format: .json, name: name, digest: digest)
    }

    /// A CSV report holds its period in every row but no totals: it is read against the close of
    /// the period its first row names, as the whole report or, failing that, as the statement of the
    /// party whose lines it holds.
    private func checkCSV(_ bytes: [UInt8], name: String, digest: String) -> Result<ReportConfirmation, ReplayFinding> {
        for (period, closed) in state.settlements.sorted(by: { $0.key < $1.key }) {
            let report = closed.report
            if report.rendered(as: .csv) == bytes {
                return .success(confirmation(report, party: nil, closed: closed, period: period, format: .csv, digest: digest))
            }
            for party in report.parties.map(\.party) where report.statement(for: party).rendered(as: .csv) == bytes {
                return .success(confirmation(report.statement(for: party), party: party, closed: closed, period: period, format: .csv, digest: digest))
            }
        }
        guard let period = Self.firstRowPeriod(bytes) else {
            return .failure(ReplayFinding(.reportInvalid, at: name, "not a settlement report of a period the log closed: no line names a closed period"))
        }
        guard let closed = state.settlements[period] else {
            return .failure(ReplayFinding(.reportInvalid, at: name, "a report of \(period), which the log has not closed"))
        }
        let close = SettlementClose(closed.report, digests: closed.digests)
        let whole: SettlementReport
        do {
            whole = try SettlementReport(csv: bytes, close: close)
        } catch {
            for party in closed.report.parties.map(\.party) {
                let statement = closed.report.statement(for: party)
                guard let found = try? SettlementReport(csv: bytes, close: close, party: party),
                      Set(found.lines.map(\.id)) == Set(statement.lines.map(\.id)) || found.lines.count == statement.lines.count else { continue }
                return compare(bytes, found: found, expected: statement, party: party, closed: closed, format: .csv, name: name, digest: digest)
            }
            return .failure(ReplayFinding(.reportInvalid, at: name, "not the settlement report of \(period): \(error.detail)"))
        }
        return compare(bytes, found: whole, expected: closed.report, party: nil, closed: closed, format: .csv, name: name, digest: digest)
    }

    private func compare(_ bytes: [UInt8], found: SettlementReport, expected: SettlementReport, party: Party?, closed: ReplayedSettlement,
                         format: ReportFormat, name: String, digest: String) -> Result<ReportConfirmation, ReplayFinding> {
        let rendering = expected.rendered(as: format)
        if rendering == bytes {
            return .success(confirmation(expected, party: party, closed: closed, period: expected.period, format: format, digest: digest))
        }
        return .failure(Self.firstDifference(found, expected, name: name, recomputedDigest: Hex.encode(SHA256.hash(rendering).bytes),
                                             digest: digest))
    }

    private func confirmation(_ report: SettlementReport, party: Party?, closed: ReplayedSettlement, period: Period, format: ReportFormat,
                              digest: String) -> ReportConfirmation {
        ReportConfirmation(
            period: period, format: format, party: party, lineCount: report.lines.count, totals: report.totals, closeSeq: closed.seq,
            sha256: digest, digestLogged: party == nil && closed.digests[format.rawValue] == digest)
    }

    /// The period in the first column of the CSV's second row.
    static func firstRowPeriod(_ bytes: [UInt8]) -> Period? {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        let row = bytes[(newline + 1)...]
        let cell = row.prefix { $0 != UInt8(ascii: ",") && $0 != 0x0D && $0 != 0x0A }
        return Period(String(decoding: cell, as: UTF8.self))
    }

    static func format(of bytes: [UInt8]) -> ReportFormat {
        if bytes.starts(with: [0x50, 0x4B]) { return .xlsx }
        let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }
        return first == UInt8(ascii: "{") ? .json : .csv
    }

    /// The first line (then party, then total, then header member) where `found` and `expected` differ.
    static func firstDifference(_ found: SettlementReport, _ expected: SettlementReport, name: String,
                                recomputedDigest: String, digest: String) -> ReplayFinding {
        let names = (found: "the report", expected: "recomputed from the log")
        let foundLines = found.json["lines"]?.arrayValue ?? []
        let expectedLines = expected.json["lines"]?.arrayValue ?? []
        for index in 0..<max(foundLines.count, expectedLines.count) {
            guard index < foundLines.count else {
                return ReplayFinding(.reportDiffers, at: "\(name) line \(expected.lines[index].id)", "the log's settlement has this line; the report does not")
            }
            guard index < expectedLines.count else {
                return ReplayFinding(.reportDiffers, at: "\(name) line \(found.lines[index].id)", "the report has this line; the log's settlement does not")
            }
            if let difference = JSONDifference.first(foundLines[index], expectedLines[index], foundName: names.found, expectedName: names.expected) {
                return ReplayFinding(.reportDiffers, at: "\(name) line \(found.lines[index].id)", difference)
            }
        }
        var foundRest = found.json.objectValue ?? [:]
        var expectedRest = expected.json.objectValue ?? [:]
        foundRest["lines"] = nil
        expectedRest["lines"] = nil
        if let difference = JSONDifference.first(.object(foundRest), .object(expectedRest), foundName: names.found, expectedName: names.expected) {
            return ReplayFinding(.reportDiffers, at: name, difference)
        }
        return ReplayFinding(.reportDiffers, at: name,
                             "its values agree with the log's settlement, but its bytes (sha256 \(digest)) are not the report's rendering (sha256 \(recomputedDigest))")
    }
}
