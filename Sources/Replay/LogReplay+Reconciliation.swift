import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
import Settlement

extension LogReplay {
    /// A `usage.provider_reported` entry: every report must be one the provider path would have
    /// accepted at this point of the log (the authority's reviewer, a grant holding the authority's
    /// `declared` dataset in the unit, an open period, a day already begun, an id not reported before).
    mutating func providerReported(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let authorityID = try data.string("authority_id")
        guard try data.string("source") == UsageSource.provider.rawValue else {
            throw MalformedRecord(reason: "source is not \"provider\"")
        }
        let at = try data.time("at")
        if let problem = reviewerProblem(entry.record.actor, actor: entry.record.actor, authority: authorityID, at: at) {
            report(ReplayFinding(.reviewerIneligible, entry: seq, "provider usage of \(authorityID): \(problem)"))
        }
        let today = calendar.day(of: at)
        let closed = Set(state.settlements.keys)
        for fields in try data.objects("reports") {
            let id = try fields.string("id")
            let unit = try fields.raw("unit", as: MeteringUnit.self)
            let day = try fields.string("day")
            let period = try fields.period("period")
            guard ProviderReport.period(ofDay: day) == period else {
                throw MalformedRecord(reason: "\(fields.path)day \(day) is not a day of period \(period)")
            }
            let report = ProviderReport(
                id: id, grantID: try fields.string("grant_id"), datasetID: try fields.string("dataset_id"), unit: unit, day: day,
                period: period, quantity: try fields.integer("quantity"))
            let place = "provider report \(id) of \(report.grantID)/\(report.datasetID)/\(unit.rawValue) on \(day)"
            if !providerReportIDs[authorityID, default: []].insert(id).inserted {
                self.report(ReplayFinding(.providerReportInvalid, entry: seq, "\(place): \(authorityID) reported this id before"))
            }
            if !(0...MeteringPolicy().maxQuantity).contains(report.quantity) {
                self.report(ReplayFinding(.providerReportInvalid, entry: seq, "\(place): quantity \(report.quantity) is out of bounds"))
                continue
            }
            if day > today {
                self.report(ReplayFinding(.providerReportInvalid, entry: seq, "\(place): the day had not begun at \(RFC3339.format(at))"))
            }
            let grants = state.grants
            let datasets = state.datasets
            if let refusal = ProviderReportBatch.refusal(
                of: report, authorityID: authorityID, closed: closed, target: { grants[$0].map { ProviderReportTarget($0.grant) } },
                delivery: { datasets[$0]?.delivery }) {
                switch refusal {
                case .periodClosed:
                    self.report(ReplayFinding(.periodChangedAfterClose, entry: seq,
                                              "\(place) in \(period), which was closed at entry \(state.settlements[period]?.seq ?? 0)"))
                case .grantNotFound:
                    self.report(ReplayFinding(.unknownSubject, entry: seq, "\(place): the log never requested grant \(report.grantID)"))
                default:
                    self.report(ReplayFinding(.providerReportInvalid, entry: seq, "\(place) by \(authorityID): \(refusal.rawValue)"))
                }
            }
            let key = report.counterKey
            let grant = state.grants[report.grantID]?.grant
            var total = providerTotals[key] ?? ProviderTotal(
                key: key, operatorID: grant?.operatorID ?? "",
                authorityID: grant?.item(for: report.datasetID)?.authorityID ?? authorityID, quantity: 0, reports: 0)
            let (sum, overflow) = total.quantity.addingReportingOverflow(report.quantity)
            if overflow {
                self.report(ReplayFinding(.quantityOverflow, entry: seq, "\(place) takes the provider's figure past 2^63 − 1"))
                continue
            }
            total.quantity = sum
            total.reports += 1
            if providerTotals[key] == nil { providerKeysByPeriod[period, default: []].append(key) }
            providerTotals[key] = total
        }
    }

    /// A `settlement.discrepancy_acknowledged` entry: by a live finance principal, for an open
    /// period, of a line that is a discrepancy above tolerance with exactly the figures it names.
    mutating func acknowledgeDiscrepancy(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let period = try data.period("period")
        let key = CounterKey(grantID: try data.string("grant_id"), datasetID: try data.string("dataset_id"),
                             unit: try data.raw("unit", as: MeteringUnit.self), period: period)
        let at = try data.time("at")
        let acknowledgement = DiscrepancyAcknowledgement(
            key: key, declaredQuantity: try data.integer("declared_quantity"), providerQuantity: try data.integer("provider_quantity"),
            toleranceBPS: Int(try data.integer("tolerance_bps")), reason: try data.string("reason"), actor: entry.record.actor, at: at,
            logIndex: seq)
        let place = "acknowledgement of \(period)/\(key.grantID)/\(key.datasetID)/\(key.unit.rawValue)"
        if let closed = state.settlements[period] {
            report(ReplayFinding(.periodChangedAfterClose, entry: seq, "\(place): \(period) was closed at entry \(closed.seq)"))
            return
        }
        let actor = state.principals[entry.record.actor]
        if actor?.role != "finance" || !(actor?.isLive(at: at) ?? false) {
            report(ReplayFinding(.acknowledgementInvalid, entry: seq, "\(place) by \(entry.record.actor), not a live finance principal"))
        }
        if let line = reconciliationLines(of: period).first(where: { $0.key == key }) {
            if !line.exceedsTolerance || line.declaredQuantity != acknowledgement.declaredQuantity
                || line.providerQuantity != acknowledgement.providerQuantity || line.toleranceBPS != acknowledgement.toleranceBPS {
                report(ReplayFinding(.acknowledgementInvalid, entry: seq,
                                     "\(place) names declared \(acknowledgement.declaredQuantity), provider \(acknowledgement.providerQuantity), tolerance \(acknowledgement.toleranceBPS) bps; the log has declared \(line.declaredQuantity), provider \(line.providerQuantity.map(String.init) ?? "none"), tolerance \(line.toleranceBPS) bps (\(line.status.rawValue))"))
            }
        } else {
            report(ReplayFinding(.acknowledgementInvalid, entry: seq, "\(place): the period has no such reconciliation line"))
        }
        acknowledgements[key] = acknowledgement
    }

    /// The reconciliation of `period` as the log stands: the same function the server computes it with.
    func reconciliationLines(of period: Period) -> [ReconciliationLine] {
        let counters = (countersByPeriod[period] ?? []).compactMap { state.counters[$0] }
        let provided = (providerKeysByPeriod[period] ?? []).compactMap { providerTotals[$0] }
        guard !provided.isEmpty else {
            // Without a provider report nothing is compared: every line is unreported.
            return []
        }
        let datasets = state.datasets
        return Reconciliation.lines(
            counters: counters, provided: provided,
            tolerance: { datasets[$0]?.reconciliationToleranceBPS ?? Dataset.defaultToleranceBPS },
            acknowledgements: acknowledgements.filter { $0.key.period == period })
    }

    /// At a close: a discrepancy finance did not acknowledge is a finding (the close should have
    /// been refused); an acknowledged one is a notice. Returns the acknowledged lines, which the
    /// close record must name.
    mutating func reconcileAtClose(_ period: Period, seq: UInt64) -> [ReconciliationLine] {
        let lines = reconciliationLines(of: period)
        for line in lines where line.status == .discrepancy {
            report(ReplayFinding(.discrepancyUnresolved, entry: seq,
                                 "\(period) closed with \(UnresolvedDiscrepancies.describe(line)) not acknowledged by finance"))
        }
        let acknowledged = lines.filter { $0.status == .acknowledged }
        for line in acknowledged {
            report(ReplayFinding(.discrepancyAcknowledged, entry: seq,
                                 "\(UnresolvedDiscrepancies.describe(line)), acknowledged at entry \(line.acknowledgement?.logIndex ?? 0): \(line.acknowledgement?.reason ?? "")"))
        }
        return acknowledged
    }

    /// At the end of the log: the discrepancies of periods not closed yet, as notices.
    mutating func reconcileOpenPeriods() {
        for period in providerKeysByPeriod.keys.sorted() where state.settlements[period] == nil {
            for line in reconciliationLines(of: period) where line.exceedsTolerance {
                let acknowledged = line.acknowledgement.map { " (acknowledged at entry \($0.logIndex))" } ?? ""
                report(ReplayFinding(.discrepancyOpen, at: "period \(period)",
                                     "\(UnresolvedDiscrepancies.describe(line)) in a period not closed yet\(acknowledged)"))
            }
        }
    }
}
