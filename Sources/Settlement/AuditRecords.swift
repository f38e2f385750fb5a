public import AuditLog
public import Foundation
public import Licensing
public import Metering

/// The audit-log actions of the Settlement module; `Contracts/audit-log.md` describes their members.
public enum SettlementAction: String, Sendable, Hashable, CaseIterable {
    /// A period was closed: its totals and the SHA-256 of each report.
    case closed = "settlement.closed"
    /// An adjustment was booked into an open period, correcting a line of a closed one.
    case adjusted = "settlement.adjusted"
    /// An operator's annual revenue cap was set.
    case revenueCapSet = "settlement.revenue_cap_set"
    /// Finance acknowledged a discrepancy between declared and provider-reported usage.
    case discrepancyAcknowledged = "settlement.discrepancy_acknowledged"
    /// The admin changed the platform fee; grants activated after it take the new fee.
    case feeChanged = "marketplace.fee_changed"
}

/// A change of the platform fee by the admin.
public struct PlatformFeeChange: Sendable, Hashable {
    public let oldBPS: Int
    public let newBPS: Int
    public let reason: String
    public let actor: String
    public let at: Date

    /// A checked change: the new fee is 0–10000 bps (`invalid_platform_fee` otherwise).
    public init(from oldBPS: Int, to newBPS: Int, reason: String, actor: String, at: Date) throws(SettlementError) {
        guard PlatformFee.range.contains(newBPS) else {
            throw SettlementError(code: .invalidPlatformFee, detail: "platform_fee_bps is 0 to 10000 basis points, not \(newBPS)")
        }
        self.oldBPS = oldBPS
        self.newBPS = newBPS
        self.reason = reason
        self.actor = actor
        self.at = at
    }

    /// The `marketplace.fee_changed` record.
    public func record() -> AuditRecord {
        AuditRecord(
            actor: actor, action: SettlementAction.feeChanged.rawValue, subjects: ["marketplace:platform-fee"],
            data: [
                "old_bps": JSONValue(oldBPS),
                "new_bps": JSONValue(newBPS),
                "reason": .string(reason),
                "at": .string(Timestamp.format(Timestamp.milliseconds(at))),
            ])
    }
}

/// The SHA-256 (lower-case hex) of a closed period's reports, by format name.
public typealias ReportDigests = [String: String]

extension SettlementReport {
    /// The `settlement.closed` record: enough to check a report against the log (its digests) and
    /// to check a recomputation against the close (totals, fee, currency).
    ///
    /// - Parameter acknowledged: the discrepancies above tolerance finance acknowledged, which the
    ///   close let pass; the member is left out when there are none, so closes without provider
    ///   reports keep their bytes.
    public func closedRecord(digests: ReportDigests, actor: String, acknowledged: [ReconciliationLine] = []) -> AuditRecord {
        var data: [String: JSONValue] = [
            "period": .string(period.description),
            "currency": .string(currency.code),
            "platform_fee_bps": JSONValue(platformFeeBPS),
            "closed_at": .string(Timestamp.format(Timestamp.milliseconds(closedAt))),
            "totals": totals.json,
            "parties": JSONValue(parties.count),
            "reports": .object(digests.mapValues(JSONValue.string)),
        ]
        // The format the digests are of; closes in format 1 leave it out, so their entries keep their bytes.
        if formatVersion >= 2 { data["format_version"] = JSONValue(formatVersion) }
        if !acknowledged.isEmpty { data["acknowledged_discrepancies"] = .array(acknowledged.map(\.closedJSON)) }
        return AuditRecord(actor: actor, action: SettlementAction.closed.rawValue, subjects: ["period:\(period)"], data: data)
    }
}

extension SettlementTotals {
    /// The totals as reports and the log write them.
    public var json: JSONValue {
        [
            "gross_minor": JSONValue(grossMinor),
            "authority_minor": JSONValue(authorityMinor),
            "platform_minor": JSONValue(platformMinor),
            "operator_minor": JSONValue(operatorMinor),
            "line_count": JSONValue(lineCount),
            "event_count": JSONValue(eventCount),
        ]
    }
}

extension Adjustment {
    /// The `settlement.adjusted` record: the correction and the line it corrects, with that line's
    /// parties and split, so a replay can book it without the closed period's report.
    public func record() -> AuditRecord {
        AuditRecord(
            actor: actor, action: SettlementAction.adjusted.rawValue,
            subjects: ["period:\(period)", "operator:\(corrected.operatorID)", "authority:\(corrected.authorityID)"],
            data: [
                "adjustment_id": .string(id),
                "period": .string(period.description),
                "corrects": .string(corrected.id),
                "operator_id": .string(corrected.operatorID),
                "authority_id": .string(corrected.authorityID),
                "grant_id": corrected.grantID.map(JSONValue.string) ?? .null,
                "dataset_id": corrected.datasetID.map(JSONValue.string) ?? .null,
                "unit": corrected.unit.map { .string($0.rawValue) } ?? .null,
                "authority_bps": JSONValue(corrected.authorityBPS),
                "platform_bps": JSONValue(corrected.platformBPS),
                "amount_minor": JSONValue(amountMinor),
                "reason": .string(reason),
                "at": .string(Timestamp.format(Timestamp.milliseconds(at))),
            ])
    }
}

/// An operator's annual revenue cap (最高准许收入) for one calendar year, in minor units of the
/// marketplace currency.
public struct RevenueCap: Sendable, Hashable {
    public let operatorID: String
    public let year: Int
    public let amountMinor: Int64
    public let reason: String
    public let actor: String
    public let at: Date

    /// A checked cap: a year from 2000 to 9999 and an amount from 0 to ``MinorUnits/maximum``.
    public init(operatorID: String, year: Int, amountMinor: Int64, reason: String, actor: String, at: Date) throws(SettlementError) {
        guard (2000...9999).contains(year), (0...MinorUnits.maximum).contains(amountMinor) else {
            throw SettlementError(code: .invalidRevenueCap, detail: "a cap is 0 to \(MinorUnits.maximum) minor units for a year 2000–9999")
        }
        self.operatorID = operatorID
        self.year = year
        self.amountMinor = amountMinor
        self.reason = reason
        self.actor = actor
        self.at = at
    }

    /// The `settlement.revenue_cap_set` record.
    public func record(currency: Currency) -> AuditRecord {
        AuditRecord(
            actor: actor, action: SettlementAction.revenueCapSet.rawValue, subjects: ["operator:\(operatorID)"],
            data: [
                "operator_id": .string(operatorID),
                "year": JSONValue(year),
                "amount_minor": JSONValue(amountMinor),
                "currency": .string(currency.code),
                "reason": .string(reason),
                "at": .string(Timestamp.format(Timestamp.milliseconds(at))),
            ])
    }
}
