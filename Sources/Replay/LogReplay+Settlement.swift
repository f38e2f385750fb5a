import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
import Settlement

extension LogReplay {
    mutating func settlement(_ action: SettlementAction, _ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        switch action {
        case .revenueCapSet:
            let operatorID = try data.string("operator_id")
            if state.operatorRecords[operatorID] == nil {
                report(ReplayFinding(.unknownSubject, entry: seq, "revenue cap of operator \(operatorID), which never applied"))
            }
            let year = Int(try data.integer("year"))
            let amount = try data.integer("amount_minor")
            state.revenueCaps[operatorID, default: [:]][year] = amount
            revenueCapsByYear[year, default: [:]][operatorID] = amount
        case .adjusted:
            try adjust(data, entry)
        case .closed:
            try close(data, entry)
        case .discrepancyAcknowledged:
            try acknowledgeDiscrepancy(data, entry)
        case .feeChanged:
            let old = Int(clamping: try data.integer("old_bps"))
            let new = Int(clamping: try data.integer("new_bps"))
            if old != platformFeeBPS {
                report(ReplayFinding(.feeChangeInvalid, entry: seq, "the fee changed from \(old) bps, but \(platformFeeBPS) bps was in force"))
            }
            if PlatformFee.range.contains(new) {
                platformFeeBPS = new
            } else {
                report(ReplayFinding(.feeChangeInvalid, entry: seq, "the fee changed to \(new) bps, outside 0–10000"))
            }
        }
    }

    private mutating func adjust(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let period = try data.period("period")
        let id = try data.string("adjustment_id")
        let corrects = try data.string("corrects")
        if let closed = state.settlements[period] {
            report(ReplayFinding(.periodChangedAfterClose, entry: seq, "adjustment \(id) booked into \(period), closed at entry \(closed.seq)"))
            return
        }
        guard let correctedPeriod = corrects.split(separator: "/", maxSplits: 1).first.flatMap({ Period(String($0)) }),
              correctedPeriod < period, let closed = state.settlements[correctedPeriod],
              let offset = closedLineIndex[correctedPeriod]?[corrects], case let line = closed.report.lines[offset],
              line.kind != .clawback else {
            report(ReplayFinding(.adjustmentInvalid, entry: seq, "adjustment \(id) corrects \(corrects), which is not a usage or adjustment line of a period closed before \(period)"))
            return
        }
        let adjustment = Adjustment(
            id: id, period: period, corrected: line, amountMinor: try data.integer("amount_minor"), reason: try data.string("reason"),
            actor: entry.record.actor, at: try data.time("at"))
        let expected = adjustment.record()
        if let difference = JSONDifference.first(
            .object(entry.record.data), .object(expected.data), foundName: "the entry", expectedName: "from line \(corrects)") {
            report(ReplayFinding(.adjustmentInvalid, entry: seq, "adjustment \(id): \(difference)"))
        }
        state.adjustments[period, default: []].append(adjustment)
    }

    private mutating func close(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let period = try data.period("period")
        if let closed = state.settlements[period] {
            report(ReplayFinding(.periodChangedAfterClose, entry: seq, "\(period) closed again; it was closed at entry \(closed.seq)"))
            return
        }
        while let earliest = openPeriodsWithUsage.minimum, state.settlements[earliest] != nil {
            openPeriodsWithUsage.removeMinimum()
        }
        if let open = openPeriodsWithUsage.minimum, open < period {
            report(ReplayFinding(.periodClosedOutOfOrder, entry: seq, "\(period) closed while \(open), which has usage, was open"))
        }
        let closedAt = try data.time("closed_at")
        if closedAt < calendar.end(of: period) {
            report(ReplayFinding(.periodClosedOutOfOrder, entry: seq, "\(period) closed at \(RFC3339.format(closedAt)), before it ended"))
        }
        // The close is recomputed in the report format it was made in: a close of format 1 leaves
        // the member out, and its digests are of format 1's renderings.
        let formatVersion = try data.members["format_version"] == nil ? 1 : Int(data.integer("format_version"))
        guard SettlementReport.formatVersions.contains(formatVersion) else {
            report(ReplayFinding(.settlementMismatch, entry: seq,
                                 "\(period) was closed in report format \(formatVersion), which this verifier does not know (it knows \(SettlementReport.formatVersions.lowerBound)–\(SettlementReport.formatVersions.upperBound)); use a pdx-verify at least as new as the server that wrote the log"))
            return
        }
        if formatVersion >= 3, namesUpstreamSince == nil { namesUpstreamSince = seq }
        let input = PeriodCloseInput(
            period: period, currency: try data.currency("currency"), platformFeeBPS: Int(try data.integer("platform_fee_bps")),
            usage: ratedUsage(in: period, seq: seq), adjustments: state.adjustments[period] ?? [],
            revenueCaps: revenueCapsByYear[period.year] ?? [:],
            incomeBefore: income(before: period), formatVersion: formatVersion,
            providerQuantities: Dictionary(uniqueKeysWithValues: (providerKeysByPeriod[period] ?? []).compactMap { key in
                providerTotals[key].map { (key, $0.quantity) }
            }))
        let recomputed: SettlementReport
        do {
            recomputed = try PeriodClose.settle(input, closedAt: closedAt)
        } catch {
            let code: ReplayFinding.Code = error.code == .amountOverflow ? .amountOverflow : .settlementMismatch
            report(ReplayFinding(code, entry: seq, "\(period) cannot be settled from the log: \(error.detail)"))
            return
        }
        let metered = recomputed.lines.filter { ($0.source ?? .declared) != .declared }.count
        if formatVersion < 2, metered > 0 {
            report(ReplayFinding(.settlementMismatch, entry: seq,
                                 "\(period) was closed in report format 1, which cannot say where usage came from, but \(metered) of its lines hold usage metered at the source"))
        }
        let forwarded = recomputed.lines.filter { $0.upstreamQuantity > 0 }.count
        if formatVersion < 3, forwarded > 0 {
            report(ReplayFinding(.settlementMismatch, entry: seq,
                                 "\(period) was closed in report format \(formatVersion), which cannot say usage was metered upstream, but \(forwarded) of its lines hold such usage"))
        }
        var digests: ReportDigests = [:]
        for format in ReportFormat.allCases { digests[format.rawValue] = Hex.encode(SHA256.hash(recomputed.rendered(as: format)).bytes) }
        digests["parties.csv"] = Hex.encode(SHA256.hash(recomputed.partiesCSV()).bytes)
        let acknowledged = reconcileAtClose(period, seq: seq)
        let expected = recomputed.closedRecord(digests: digests, actor: entry.record.actor, acknowledged: acknowledged)
        if let difference = JSONDifference.first(
            .object(entry.record.data), .object(expected.data), foundName: "the entry", expectedName: "recomputed from the log") {
            report(ReplayFinding(.settlementMismatch, entry: seq, "\(period): \(difference)"))
        }
        state.settlements[period] = ReplayedSettlement(report: recomputed, digests: digests, seq: seq)
        closedByYear[period.year, default: []].append(period)
        // The first line of each id, as SettlementReport.line(_:) finds it, without its scan.
        closedLineIndex[period] = Dictionary(recomputed.lines.enumerated().map { ($0.element.id, $0.offset) },
                                             uniquingKeysWith: { first, _ in first })
        state.adjustments[period] = nil
    }

    /// The period's counters with the terms they are rated under, as a close reads them: each
    /// grant's own.
    private mutating func ratedUsage(in period: Period, seq: UInt64) -> [RatedUsage] {
        var usage: [RatedUsage] = []
        for key in countersByPeriod[period] ?? [] {
            guard let counter = state.counters[key], counter.quantity > 0 else { continue }
            guard let grant = state.grants[key.grantID]?.grant, let item = grant.item(for: key.datasetID) else {
                report(ReplayFinding(.settlementMismatch, entry: seq, "\(period) has usage of \(key.grantID)/\(key.datasetID), which no grant covers"))
                continue
            }
            // A grant's own terms; a grant whose activation predates them is rated as its closes
            // were then: by its dataset's share and the close's fee.
            let terms = grant.terms(for: key.datasetID)
            usage.append(RatedUsage(
                counter: counter, scenario: grant.scenario, pricing: Pricing(item: item, unit: key.unit),
                revenueShareBPS: terms?.revenueShareBPS ?? state.datasets[key.datasetID]?.revenueShareBPS ?? 0,
                platformFeeBPS: terms?.platformFeeBPS))
        }
        return usage
    }

    /// Each operator's net income in the closed periods of `period`'s year before it.
    private func income(before period: Period) -> [String: Int64] {
        var income: [String: Int64] = [:]
        for closedPeriod in closedByYear[period.year] ?? [] where closedPeriod < period {
            guard let closed = state.settlements[closedPeriod] else { continue }
            for party in closed.report.parties {
                // At most twelve periods of at most 2^53 − 1 each: the sum cannot overflow, and
                // saturating keeps it so whatever a period's report holds.
                if case .operator(let id) = party.party {
                    let (sum, overflow) = income[id, default: 0].addingReportingOverflow(party.amountMinor)
                    income[id] = overflow ? (party.amountMinor < 0 ? .min : .max) : sum
                }
            }
        }
        return income
    }
}
