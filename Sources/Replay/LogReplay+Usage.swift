import AuditLog
import Foundation
import Licensing
import Metering
import Vetting

extension LogReplay {
    /// A `usage.recorded` entry: every event must be one the usage path would have accepted at this
    /// point of the log, and each adds to its counter as a store's would.
    mutating func usage(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let operatorID = try data.string("operator_id")
        let owner = currentOperator(operatorID)
        if owner == nil, state.operatorRecords[operatorID] == nil {
            report(ReplayFinding(.unknownSubject, entry: seq, "usage of operator \(operatorID), which never applied"))
        }
        let activeUntil = owner?.status == .approved ? owner?.approvedUntil : nil
        let source = try Self.usageSource(data)
        if source == .upstream, namesUpstreamSince == nil { namesUpstreamSince = seq }
        for group in try data.objects("usage") {
            let grantID = try group.string("grant_id")
            let datasetID = try group.string("dataset_id")
            let unit = try group.raw("unit", as: MeteringUnit.self)
            let period = try group.period("period")
            let key = CounterKey(grantID: grantID, datasetID: datasetID, unit: unit, period: period)
            let grant = state.grants[grantID]?.grant
            if let grant { recheckIfDatasetsChanged(grant, at: entry.time, seq: seq) }
            if state.settlements[period] != nil {
                report(ReplayFinding(.periodChangedAfterClose, entry: seq,
                                     "usage of \(grantID)/\(datasetID)/\(unit.rawValue) in \(period), which was closed at entry \(state.settlements[period]?.seq ?? 0)"))
            }
            checkSource(source, datasetID: datasetID, place: "\(grantID)/\(datasetID)/\(unit.rawValue) in \(period)", seq: seq)
            let quota = snapshot(grantID)?.items[datasetID]?.quotas[unit]
            var counter = state.counters[key] ?? UsageCounter(
                key: key, operatorID: grant?.operatorID ?? operatorID,
                authorityID: grant?.item(for: datasetID)?.authorityID ?? state.datasets[datasetID]?.authorityID ?? "",
                quantity: 0, events: 0, firstLogIndex: seq, lastLogIndex: seq)
            // The period's bounds once per group: an event's own period needs a time-zone lookup,
            // which would cost more than the rest of the event's checks.
            let periodStart = calendar.start(of: period)
            let periodEnd = calendar.end(of: period)
            var quotaReported = false
            var overflowReported = false
            // Once per group, not per event: the group's events share them.
            let ledgerKey = eventIDs.key(operatorID: operatorID, place: EventIDLedger.Place(grantID: grantID, datasetID: datasetID, unit: unit))
            // The times around the last event checked at which every event passes the grant check
            // with its operator approved: the check's answer changes only where a span in force,
            // the grant's term or the operator's approval begins or ends.
            var lawful: Range<Date>?
            for (offset, value) in try group.array("events").enumerated() {
                guard let event = value.arrayValue, event.count == 3, let id = event[0].stringValue,
                      let quantity = event[1].integerValue, quantity > 0, let milliseconds = event[2].integerValue else {
                    throw MalformedRecord(reason: "\(group.path)events[\(offset)] is not [id, quantity > 0, time in milliseconds]")
                }
                let time = Timestamp.date(milliseconds: Int64(milliseconds))
                // Words only for a finding: most events have none.
                func place() -> String { "event \(id) of \(grantID)/\(datasetID)/\(unit.rawValue)" }
                // Found at finish(): an id counted twice is reported where it was counted again.
                eventIDs.add(id, key: ledgerKey, seq: seq)
                if time < periodStart || time >= periodEnd {
                    report(ReplayFinding(.usagePeriodMismatch, entry: seq,
                                         "\(place()) at \(RFC3339.format(time)) is in \(calendar.period(of: time)), logged under \(period)"))
                }
                if lawful?.contains(time) != true {
                    let query = GrantCheckQuery(operatorID: operatorID, grantID: grantID, datasetID: datasetID, unit: unit, time: time)
                    let checked = check(query)
                    if case .denied(let denial) = checked {
                        report(ReplayFinding(.usageWithoutGrant, entry: seq,
                                             "\(place()) at \(RFC3339.format(time)): the grant check says \(denial.rawValue)"))
                    } else if let activeUntil, time < activeUntil {
                        lawful = lawfulTimes(around: time, grantID: grantID, activeUntil: activeUntil)
                    } else {
                        report(ReplayFinding(.usageOperatorNotActive, entry: seq,
                                             "\(place()) at \(RFC3339.format(time)): operator \(operatorID) was not approved then"))
                    }
                }
                let (sum, overflow) = counter.quantity.addingReportingOverflow(Int64(quantity))
                if overflow {
                    // The counter stays at its largest value: the close of the period then fails
                    // to rate it, which is a finding too, rather than a wrapped small quantity.
                    counter.quantity = .max
                    if !overflowReported {
                        overflowReported = true
                        report(ReplayFinding(.quantityOverflow, entry: seq,
                                             "\(place()) takes \(period)'s quantity beyond \(Int64.max), which no counter holds"))
                    }
                } else {
                    counter.quantity = sum
                }
                counter.events += 1
                if source == .gateway {
                    // Saturating like the quantity, so that the gateway part never exceeds it.
                    let (gateway, overflow) = counter.gatewayQuantity.addingReportingOverflow(Int64(quantity))
                    counter.gatewayQuantity = overflow ? .max : gateway
                    counter.gatewayEvents += 1
                } else if source == .upstream {
                    let (upstream, overflow) = counter.upstreamQuantity.addingReportingOverflow(Int64(quantity))
                    counter.upstreamQuantity = overflow ? .max : upstream
                    counter.upstreamEvents += 1
                }
                if let quota, counter.quantity > quota, !quotaReported {
                    quotaReported = true
                    report(ReplayFinding(.usageOverQuota, entry: seq,
                                         "\(place()) takes \(period)'s quantity to \(counter.quantity), above the grant's quota of \(quota)"))
                }
                state.eventCount += 1
            }
            counter.lastLogIndex = seq
            if state.counters.updateValue(counter, forKey: key) == nil {
                countersByPeriod[period, default: []].append(key)
            }
            if periodsWithUsage.insert(period).inserted { openPeriodsWithUsage.insert(period) }
        }
    }
}

extension LogReplay {
    /// The times around `time`, at which the grant check allowed an event of `grantID`, when every
    /// event passes it alike with its operator approved: within the grant's term, the span in force
    /// that holds `time`, and before `activeUntil`. Nil when the timeline cannot say.
    mutating func lawfulTimes(around time: Date, grantID: String, activeUntil: Date) -> Range<Date>? {
        guard let snapshot = snapshot(grantID), let span = inForce[grantID]?.span(containing: time, endsAt: snapshot.endsAt) else { return nil }
        let lower = max(span.from, snapshot.startsAt)
        let upper = min(span.until, snapshot.endsAt, activeUntil)
        return lower <= time && time < upper ? lower..<upper : nil
    }

    /// Who counted a record's events: `source` is `gateway` or `upstream` for usage PDX metered at
    /// the source, and absent for usage the operator declared; any other value is malformed.
    static func usageSource(_ data: Fields) throws(MalformedRecord) -> UsageSource {
        guard let value = data.members["source"] else { return .declared }
        guard let text = value.stringValue, let source = UsageSource(rawValue: text), source.isMeteredAtSource else {
            throw MalformedRecord(reason: "source is not \"gateway\" or \"upstream\", the only sources a record names (declared usage leaves it out)")
        }
        return source
    }

    /// Usage must come from where the dataset's delivery says its use is counted, at that point of
    /// the log: PDX meters a gateway or upstream dataset itself and refuses declarations of it
    /// (`metered_at_source`); it serves nothing of a declared one, so it cannot have metered it; and
    /// what it metered says how it delivered it. A log written before the `upstream` source named
    /// forwarded calls `gateway`, so `gateway` usage of an upstream dataset is a finding only once
    /// the log shows it was written by a server that names `upstream` (``namesUpstreamSince``).
    mutating func checkSource(_ source: UsageSource, datasetID: String, place: String, seq: UInt64) {
        guard let delivery = state.datasets[datasetID]?.delivery else { return }
        switch (source, delivery) {
        case (.declared, .gateway), (.declared, .upstream):
            report(ReplayFinding(.declaredUsageOnGatewayDataset, entry: seq,
                                 "declared usage of \(place): dataset \(datasetID) is delivered through PDX (\(delivery.rawValue)), which meters it at the source"))
        case (.gateway, .declared), (.upstream, .declared):
            report(ReplayFinding(.gatewayUsageOnDeclaredDataset, entry: seq,
                                 "usage of \(place) metered at the source (\(source.rawValue)), but dataset \(datasetID) is declared: PDX neither serves nor forwards it"))
        case (.upstream, .gateway):
            report(ReplayFinding(.usageSourceMismatch, entry: seq,
                                 "usage of \(place) says upstream, but dataset \(datasetID) was served from its releases (gateway) then"))
        case (.gateway, .upstream):
            if let since = namesUpstreamSince {
                report(ReplayFinding(.usageSourceMismatch, entry: seq,
                                     "usage of \(place) says gateway, but dataset \(datasetID) was read through its authority's interface (upstream) then, and this log names that source since entry \(since)"))
            }
        default:
            break
        }
    }
}
