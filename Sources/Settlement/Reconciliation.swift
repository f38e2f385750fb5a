public import AuditLog
public import Foundation
public import Licensing
public import Metering

/// The key of a reconciliation line: one grant, dataset and unit in one period.
public typealias ReconciliationKey = CounterKey

/// Finance's acknowledgement of a discrepancy: it holds for the figures it names, so a later report
/// or declaration that changes them makes the line a discrepancy again.
public struct DiscrepancyAcknowledgement: Sendable, Hashable {
    public let key: ReconciliationKey
    /// The figures acknowledged.
    public let declaredQuantity: Int64
    public let providerQuantity: Int64
    /// The dataset's tolerance when it was acknowledged.
    public let toleranceBPS: Int
    public let reason: String
    public let actor: String
    public let at: Date
    /// The log index of its `settlement.discrepancy_acknowledged` entry (0 before it is appended).
    public var logIndex: UInt64

    public init(key: ReconciliationKey, declaredQuantity: Int64, providerQuantity: Int64, toleranceBPS: Int, reason: String,
                actor: String, at: Date, logIndex: UInt64 = 0) {
        self.key = key
        self.declaredQuantity = declaredQuantity
        self.providerQuantity = providerQuantity
        self.toleranceBPS = toleranceBPS
        self.reason = reason
        self.actor = actor
        self.at = Timestamp.normalized(at)
        self.logIndex = logIndex
    }

    /// The `settlement.discrepancy_acknowledged` record.
    public func record() -> AuditRecord {
        AuditRecord(
            actor: actor, action: SettlementAction.discrepancyAcknowledged.rawValue,
            subjects: ["period:\(key.period)", "grant:\(key.grantID)", "dataset:\(key.datasetID)"],
            data: [
                "period": .string(key.period.description),
                "grant_id": .string(key.grantID),
                "dataset_id": .string(key.datasetID),
                "unit": .string(key.unit.rawValue),
                "declared_quantity": JSONValue(declaredQuantity),
                "provider_quantity": JSONValue(providerQuantity),
                "tolerance_bps": JSONValue(toleranceBPS),
                "reason": .string(reason),
                "at": .string(Timestamp.format(Timestamp.milliseconds(at))),
            ])
    }
}

/// One line of a period's reconciliation: what the operator declared and what the providing
/// authority reported of one grant, dataset and unit.
public struct ReconciliationLine: Sendable, Hashable {
    /// Where a line stands.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// The figures differ by no more than the tolerance.
        case agrees
        /// They differ by more than the tolerance and finance has not acknowledged these figures:
        /// the period does not close.
        case discrepancy
        /// They differ by more than the tolerance and finance acknowledged these figures.
        case acknowledged
        /// The authority reported nothing for it: nothing to compare, so it does not stop the close,
        /// but it is listed so that finance sees whose figures stand alone.
        case unreported
    }

    public let key: ReconciliationKey
    public let operatorID: String
    public let authorityID: String
    /// What the operator declared (the declared part of the counter; 0 when it declared nothing).
    public let declaredQuantity: Int64
    /// What the authority reported; nil when it reported nothing.
    public let providerQuantity: Int64?
    /// The dataset's tolerance.
    public let toleranceBPS: Int
    /// The acknowledgement of exactly these figures, if any.
    public let acknowledgement: DiscrepancyAcknowledgement?
    /// An acknowledgement of other figures, kept to show that one was made.
    public let staleAcknowledgement: DiscrepancyAcknowledgement?

    public init(key: ReconciliationKey, operatorID: String, authorityID: String, declaredQuantity: Int64, providerQuantity: Int64?,
                toleranceBPS: Int, acknowledgement: DiscrepancyAcknowledgement?) {
        self.key = key
        self.operatorID = operatorID
        self.authorityID = authorityID
        self.declaredQuantity = declaredQuantity
        self.providerQuantity = providerQuantity
        self.toleranceBPS = toleranceBPS
        if let acknowledgement, acknowledgement.declaredQuantity == declaredQuantity,
           acknowledgement.providerQuantity == providerQuantity {
            self.acknowledgement = acknowledgement
            self.staleAcknowledgement = nil
        } else {
            self.acknowledgement = nil
            self.staleAcknowledgement = acknowledgement
        }
    }

    /// `period/grant/dataset/unit`, as the settlement line of the same usage is named.
    public var id: String { "\(key.period)/\(key.grantID)/\(key.datasetID)/\(key.unit.rawValue)" }

    /// Provider minus declared; nil when unreported.
    public var difference: Int64? {
        providerQuantity.map { $0 - declaredQuantity }
    }

    /// True when the figures differ by more than the tolerance: |provider − declared| × 10000 >
    /// tolerance × the larger of the two.
    public var exceedsTolerance: Bool {
        guard let provided = providerQuantity else { return false }
        let gap = Int128(provided) - Int128(declaredQuantity)
        return gap.magnitude * 10_000 > UInt128(max(0, toleranceBPS)) * UInt128(max(provided, declaredQuantity).magnitude)
    }

    public var status: Status {
        guard providerQuantity != nil else { return .unreported }
        guard exceedsTolerance else { return .agrees }
        return acknowledgement == nil ? .discrepancy : .acknowledged
    }

    /// How the close record names an acknowledged discrepancy.
    public var closedJSON: JSONValue {
        [
            "grant_id": .string(key.grantID),
            "dataset_id": .string(key.datasetID),
            "unit": .string(key.unit.rawValue),
            "declared_quantity": JSONValue(declaredQuantity),
            "provider_quantity": JSONValue(providerQuantity ?? 0),
            "acknowledgement_index": JSONValue(acknowledgement?.logIndex ?? 0),
        ]
    }
}

/// A period's reconciliation of declared against provider-reported usage, as a pure function: the
/// server and the replay compute it the same way.
public enum Reconciliation {
    /// The lines of one period, sorted by grant, dataset and unit: one for each counter with
    /// declared usage and each key the provider reported, whichever came first.
    ///
    /// - Parameters:
    ///   - counters: the period's counters; only their declared part counts.
    ///   - provided: the provider's totals of the period.
    ///   - tolerance: a dataset's tolerance in basis points.
    ///   - acknowledgements: the latest acknowledgement of each key.
    public static func lines(counters: [UsageCounter], provided: [ProviderTotal], tolerance: (String) -> Int,
                             acknowledgements: [ReconciliationKey: DiscrepancyAcknowledgement]) -> [ReconciliationLine] {
        var parties: [ReconciliationKey: (operatorID: String, authorityID: String)] = [:]
        var declared: [ReconciliationKey: Int64] = [:]
        for counter in counters where counter.declaredQuantity > 0 {
            declared[counter.key] = counter.declaredQuantity
            parties[counter.key] = (counter.operatorID, counter.authorityID)
        }
        var reported: [ReconciliationKey: Int64] = [:]
        for total in provided {
            reported[total.key, default: 0] += total.quantity
            if parties[total.key] == nil { parties[total.key] = (total.operatorID, total.authorityID) }
        }
        return parties.keys.sorted().map { key in
            ReconciliationLine(
                key: key, operatorID: parties[key]?.operatorID ?? "", authorityID: parties[key]?.authorityID ?? "",
                declaredQuantity: declared[key] ?? 0, providerQuantity: reported[key], toleranceBPS: tolerance(key.datasetID),
                acknowledgement: acknowledgements[key])
        }
    }
}

/// A close refused because discrepancies above tolerance are not acknowledged: each is listed.
public struct UnresolvedDiscrepancies: Error, Sendable, Hashable, CustomStringConvertible {
    public let period: Period
    public let lines: [ReconciliationLine]

    public init(period: Period, lines: [ReconciliationLine]) {
        self.period = period
        self.lines = lines
    }

    /// The stable code.
    public static let code = SettlementError.Code.unresolvedDiscrepancies.rawValue

    public var detail: String {
        "\(period) has \(lines.count) discrepanc\(lines.count == 1 ? "y" : "ies") above tolerance that finance has not acknowledged (POST /v1/reconciliation/\(period)/acknowledgements)"
    }

    /// `unresolved_discrepancies: detail`, then each discrepancy: what `pdx settlement close` prints.
    public var description: String {
        (["\(Self.code): \(detail)"] + lines.map { "  " + Self.describe($0) }).joined(separator: "\n")
    }

    /// One line of the refusal, for people.
    public static func describe(_ line: ReconciliationLine) -> String {
        "\(line.id): declared \(line.declaredQuantity), provider \(line.providerQuantity ?? 0), difference \(line.difference ?? 0), tolerance \(line.toleranceBPS) bps"
    }
}
