public import AuditLog
public import Cryptography
public import Foundation
public import Licensing

/// A usage count reported by the providing authority of a `declared` dataset, as received: how much
/// of a unit one grant used of one of its datasets on one day, by the authority's own reckoning.
/// Provider counts never bill anyone; a reconciliation sets them beside the operator's declaration.
public struct RawProviderReport: Sendable, Hashable {
    public var id: String
    public var grantID: String
    public var datasetID: String
    public var unit: String
    /// `YYYY-MM-DD` in the marketplace's time zone.
    public var day: String
    public var quantity: Int64

    public init(id: String, grantID: String, datasetID: String, unit: String, day: String, quantity: Int64) {
        self.id = id
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.day = day
        self.quantity = quantity
    }
}

/// Why a provider report is refused; the raw values are the codes a batch answers with.
public enum ProviderReportRejection: String, Sendable, Hashable, CaseIterable {
    /// The id is empty, too long, or has a character outside printable ASCII (or `"` or `\`).
    case invalidID = "invalid_id"
    /// The unit is not `call`, `record` or `byte`.
    case unknownUnit = "unknown_unit"
    /// The quantity is not an integer from 0 to ``MeteringPolicy/maxQuantity``.
    case invalidQuantity = "invalid_quantity"
    /// The day is not a `YYYY-MM-DD` date.
    case invalidDay = "invalid_day"
    /// The day has not begun yet in the marketplace's time zone.
    case dayInFuture = "day_in_future"
    /// The same id was accepted before from this authority with other content.
    case conflict
    /// The day's period is closed for settlement.
    case periodClosed = "period_closed"
    /// No such grant.
    case grantNotFound = "grant_not_found"
    /// The grant holds none of the reporting authority's datasets, or the dataset is another
    /// authority's: an authority reports only the use of what it provides.
    case authorityNotParty = "authority_not_party"
    /// The grant does not include the dataset.
    case datasetNotInGrant = "dataset_not_in_grant"
    /// The dataset is delivered through PDX, which counts its use itself: there is nothing to reconcile.
    case datasetNotDeclared = "dataset_not_declared"
    /// The grant does not meter the dataset in this unit.
    case unitNotGranted = "unit_not_granted"
}

/// What a provider batch answers for one report.
public typealias ProviderReportOutcome = BatchOutcome<ProviderReportRejection>

/// A provider report that passed the shape checks.
public struct ProviderReport: Sendable, Hashable {
    public let id: String
    public let grantID: String
    public let datasetID: String
    public let unit: MeteringUnit
    public let day: String
    public let period: Period
    public let quantity: Int64

    public init(id: String, grantID: String, datasetID: String, unit: MeteringUnit, day: String, period: Period, quantity: Int64) {
        self.id = id
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.day = day
        self.period = period
        self.quantity = quantity
    }

    /// SHA-256 of `grant_id LF dataset_id LF unit LF day LF quantity`: what tells a repeated report
    /// (a duplicate) from another report under the same id (a conflict).
    public var digest: SHA256Digest {
        SHA256.hash(Array("\(grantID)\n\(datasetID)\n\(unit.rawValue)\n\(day)\n\(quantity)".utf8))
    }

    /// The counter key it sets a provider figure beside.
    public var counterKey: CounterKey {
        CounterKey(grantID: grantID, datasetID: datasetID, unit: unit, period: period)
    }

    /// The report as `usage.provider_reported` logs it.
    public var json: JSONValue {
        [
            "id": .string(id), "grant_id": .string(grantID), "dataset_id": .string(datasetID), "unit": .string(unit.rawValue),
            "day": .string(day), "period": .string(period.description), "quantity": JSONValue(quantity),
        ]
    }

    /// Whether `day` is a real `YYYY-MM-DD` date; its period when it is.
    public static func period(ofDay day: String) -> Period? {
        let bytes = Array(day.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }),
              let year = Int(day.prefix(4)), let month = Int(day.dropFirst(5).prefix(2)), let date = Int(day.suffix(2)),
              let period = Period(year: year, month: month) else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(date) else { return nil }
        return period
    }
}

/// What the batch needs to know of a grant named by a report.
public struct ProviderReportTarget: Sendable {
    /// The grant's operator.
    public let operatorID: String
    /// Each dataset of the grant: its authority and the units the grant meters it in.
    public let items: [String: (authorityID: String, units: Set<MeteringUnit>)]

    public init(operatorID: String, items: [String: (authorityID: String, units: Set<MeteringUnit>)]) {
        self.operatorID = operatorID
        self.items = items
    }

    /// The target of `grant`.
    public init(_ grant: Grant) {
        self.init(operatorID: grant.operatorID, items: Dictionary(grant.items.map {
            ($0.datasetID, (authorityID: $0.authorityID, units: Set($0.units)))
        }, uniquingKeysWith: { first, _ in first }))
    }
}

/// One batch of provider reports through the rules, as pure functions, like ``UsageBatch``.
public struct ProviderReportBatch: Sendable {
    /// The most reports one batch holds: a batch is one `usage.provider_reported` entry, which must
    /// stay within the entry size limit whatever the ids' lengths.
    public static let maxReports = 100

    /// Each received report, parsed, or why it could not be.
    public let parsed: [Result<ProviderReport, ProviderRejectionError>]
    /// The reporting authority.
    public let authorityID: String

    /// Parses `reports` of `authorityID` received at `now`.
    public init(_ reports: [RawProviderReport], authorityID: String, at now: Date, policy: MeteringPolicy = MeteringPolicy()) {
        self.authorityID = authorityID
        let today = policy.calendar.day(of: now)
        parsed = reports.map { raw in
            Result { () throws(ProviderRejectionError) -> ProviderReport in
                guard UsageBatch.isValidID(raw.id, maxLength: policy.maxEventIDLength) else { throw ProviderRejectionError(.invalidID) }
                guard let unit = MeteringUnit(rawValue: raw.unit) else { throw ProviderRejectionError(.unknownUnit) }
                guard (0...policy.maxQuantity).contains(raw.quantity) else { throw ProviderRejectionError(.invalidQuantity) }
                guard let period = ProviderReport.period(ofDay: raw.day) else { throw ProviderRejectionError(.invalidDay) }
                // Both are YYYY-MM-DD, so text order is date order.
                guard raw.day <= today else { throw ProviderRejectionError(.dayInFuture) }
                return ProviderReport(id: raw.id, grantID: raw.grantID, datasetID: raw.datasetID, unit: unit, day: raw.day,
                                      period: period, quantity: raw.quantity)
            }
        }
    }

    /// The distinct ids of the reports that parsed.
    public var reportIDs: [String] {
        var seen = Set<String>()
        return parsed.compactMap { try? $0.get().id }.filter { seen.insert($0).inserted }
    }

    /// The grants and datasets named by the reports that parsed.
    public var grantIDs: Set<String> { Set(parsed.compactMap { try? $0.get().grantID }) }
    public var datasetIDs: Set<String> { Set(parsed.compactMap { try? $0.get().datasetID }) }
    public var periods: Set<Period> { Set(parsed.compactMap { try? $0.get().period }) }

    /// Decides every report, in order.
    ///
    /// - Parameters:
    ///   - stored: the digest of each report id this authority had accepted before.
    ///   - closed: the closed periods among ``periods``.
    ///   - target: the grant a report names, or nil.
    ///   - delivery: how a dataset is delivered now.
    public func decide(stored: [String: SHA256Digest], closed: Set<Period>, target: (String) -> ProviderReportTarget?,
                       delivery: (String) -> DeliveryMode?) -> ProviderReportDecision {
        var outcomes: [ProviderReportOutcome] = []
        var accepted: [(report: ProviderReport, operatorID: String)] = []
        var acceptedHere: [String: SHA256Digest] = [:]
        for result in parsed {
            let report: ProviderReport
            switch result {
            case .failure(let error):
                outcomes.append(.rejected(error.rejection))
                continue
            case .success(let value):
                report = value
            }
            if let earlier = stored[report.id] ?? acceptedHere[report.id] {
                outcomes.append(earlier == report.digest ? .duplicate : .rejected(.conflict))
                continue
            }
            if let refusal = Self.refusal(of: report, authorityID: authorityID, closed: closed, target: target, delivery: delivery) {
                outcomes.append(.rejected(refusal))
                continue
            }
            acceptedHere[report.id] = report.digest
            accepted.append((report, target(report.grantID)?.operatorID ?? ""))
            outcomes.append(.accepted)
        }
        return ProviderReportDecision(outcomes: outcomes, accepted: accepted)
    }

    /// Why `report` of `authorityID` may not be accepted, or nil: the rules the server and the replay share.
    public static func refusal(of report: ProviderReport, authorityID: String, closed: Set<Period>,
                               target: (String) -> ProviderReportTarget?,
                               delivery: (String) -> DeliveryMode?) -> ProviderReportRejection? {
        guard let grant = target(report.grantID) else { return .grantNotFound }
        // Another authority's grant is refused before anything about it is told.
        guard grant.items.values.contains(where: { $0.authorityID == authorityID }) else { return .authorityNotParty }
        guard let item = grant.items[report.datasetID] else { return .datasetNotInGrant }
        guard item.authorityID == authorityID else { return .authorityNotParty }
        guard delivery(report.datasetID) == .declared else { return .datasetNotDeclared }
        guard item.units.contains(report.unit) else { return .unitNotGranted }
        if closed.contains(report.period) { return .periodClosed }
        return nil
    }
}

/// A rejection carried through `Result`.
public struct ProviderRejectionError: Error, Sendable, Hashable {
    public let rejection: ProviderReportRejection
    public init(_ rejection: ProviderReportRejection) { self.rejection = rejection }
}

/// The decision on a provider batch: an outcome per report, in order, and the accepted reports
/// with the operator of each one's grant.
public struct ProviderReportDecision: Sendable {
    public let outcomes: [ProviderReportOutcome]
    public let accepted: [(report: ProviderReport, operatorID: String)]

    /// The `usage.provider_reported` record of the accepted reports; nil when none was.
    public func record(authorityID: String, batchID: String, actor: String, at now: Date) -> AuditRecord? {
        guard !accepted.isEmpty else { return nil }
        return AuditRecord(
            actor: actor, action: MeteringAction.providerReported.rawValue, subjects: ["authority:\(authorityID)"],
            data: [
                "authority_id": .string(authorityID),
                "batch_id": .string(batchID),
                "source": .string(UsageSource.provider.rawValue),
                "at": .string(Timestamp.format(Timestamp.milliseconds(now))),
                "reports": .array(accepted.map(\.report.json)),
            ])
    }
}

/// A provider report as a store keeps it.
public struct StoredProviderReport: Sendable, Hashable {
    public let report: ProviderReport
    public let authorityID: String
    public let operatorID: String
    public let logIndex: UInt64

    public init(report: ProviderReport, authorityID: String, operatorID: String, logIndex: UInt64) {
        self.report = report
        self.authorityID = authorityID
        self.operatorID = operatorID
        self.logIndex = logIndex
    }
}

/// The provider's figure for one counter key: the sum of its reports.
public struct ProviderTotal: Sendable, Hashable {
    public let key: CounterKey
    public let operatorID: String
    public let authorityID: String
    public var quantity: Int64
    public var reports: Int64

    public init(key: CounterKey, operatorID: String, authorityID: String, quantity: Int64, reports: Int64) {
        self.key = key
        self.operatorID = operatorID
        self.authorityID = authorityID
        self.quantity = quantity
        self.reports = reports
    }
}
