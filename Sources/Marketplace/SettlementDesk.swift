public import AuditLog
public import Cryptography
public import Foundation
import Identity
import Vetting
public import Licensing
public import Metering
public import Persistence
public import Settlement

/// The marketplace's settlement settings. The platform fee is not one of them: it is stored with
/// the data (``PlatformFeeDesk``) and each grant fixes the fee in force when it becomes active.
public struct SettlementPolicy: Sendable {
    /// `--settlement-grace-hours` / `PDX_SETTLEMENT_GRACE_HOURS`: how long after a period ends it
    /// still refuses to close, so late events can arrive. Default 24 hours.
    public var grace: TimeInterval = 24 * 3600
    /// The marketplace currency; every dataset is priced in it.
    public var currency: Currency = .cny

    public init() {}
}

/// A closed period, as a close or a report read returns it.
public struct ClosedPeriod: Sendable {
    public let report: SettlementReport
    public let digests: ReportDigests
    /// The log index of its `settlement.closed` entry.
    public let logIndex: UInt64
    /// False when this call closed it; true when it was closed already and nothing changed.
    public let wasClosed: Bool
}

/// Closing periods, reading their reports, booking adjustments and revenue caps: shared by the HTTP
/// handlers and `pdx settlement`, so both take the same path.
public struct SettlementDesk: Sendable {
    let database: any Database
    let log: TransparencyLog
    let calendar: MarketCalendar
    let policy: SettlementPolicy
    /// Randomness for adjustment ids.
    let random: any RandomSource

    public init(database: any Database, log: TransparencyLog, calendar: MarketCalendar = MarketCalendar(), policy: SettlementPolicy,
                random: any RandomSource = SecureRandom()) {
        self.database = database
        self.log = log
        self.calendar = calendar
        self.policy = policy
        self.random = random
    }

    /// Closes `period` at `now`: refused before the period's end plus the grace and while an
    /// earlier period with usage is open. Rates the period's counters, appends `settlement.closed`
    /// with the totals and each report's SHA-256, signs a checkpoint over it, and stores the report,
    /// all in one transaction. Refused with ``UnresolvedDiscrepancies`` while a reconciliation line
    /// of the period is a discrepancy above tolerance that finance has not acknowledged. Closing a
    /// closed period changes nothing and returns it as it was.
    public func close(_ period: Period, actor: String, at now: Date) async throws -> ClosedPeriod {
        let ends = calendar.end(of: period)
        let closable = ends.addingTimeInterval(policy.grace)
        if let closed = try await stored(period) { return closed }
        guard now >= closable else {
            throw SettlementError(code: .periodNotEnded, detail: "\(period) may be closed from \(RFC3339.format(closable)) (its end plus \(Int(policy.grace / 3600)) h of grace)")
        }
        let log = self.log
        let policy = self.policy
        return try await database.transaction { tx in
            // The log head first, as every usage batch does: no batch can add to this period
            // between the counters read here and the period being marked closed.
            _ = try await tx.lockHead()
            if let closed = try await tx.settlement(period) {
                return try Self.closedPeriod(closed, wasClosed: true)
            }
            let open = try await tx.openPeriods(before: period)
            if let earliest = open.first {
                throw SettlementError(code: .earlierPeriodOpen, detail: "\(earliest) has usage and is not closed; periods close in order")
            }
            // Declared usage the providing authority disputes beyond tolerance closes only once
            // finance has acknowledged the figures; the close records which it let pass.
            let reconciliation = try await ReconciliationService.lines(of: period, in: tx)
            let unresolved = reconciliation.filter { $0.status == .discrepancy }
            guard unresolved.isEmpty else { throw UnresolvedDiscrepancies(period: period, lines: unresolved) }
            let acknowledged = reconciliation.filter { $0.status == .acknowledged }
            let input = try await Self.input(for: period, currency: policy.currency, in: tx)
            let report = try PeriodClose.settle(input, closedAt: now)
            var renderings: [ReportFormat: [UInt8]] = [:]
            for format in ReportFormat.allCases { renderings[format] = report.rendered(as: format) }
            var digests: ReportDigests = [:]
            for (format, bytes) in renderings { digests[format.rawValue] = Hex.encode(SHA256.hash(bytes).bytes) }
            digests["parties.csv"] = Hex.encode(SHA256.hash(report.partiesCSV()).bytes)
            let entry = try await log.append(report.closedRecord(digests: digests, actor: actor, acknowledged: acknowledged), in: tx)
            try await tx.insertSettlement(report, document: renderings[.json] ?? [], digests: digests, logIndex: entry.seq)
            _ = try await log.signCheckpoint(in: tx)
            return ClosedPeriod(report: report, digests: digests, logIndex: entry.seq, wasClosed: false)
        }
    }

    /// Checks that `actor`, named on the command line, may act for finance at `now`: a principal
    /// that exists, whose key is neither revoked nor expired, with the finance role. The log then
    /// names that person, not `system`.
    public func requireFinance(_ actor: String, at now: Date) async throws {
        guard let principal = try await database.read({ try await $0.principal(id: actor) }) else {
            throw MarketplaceError(.actorNotFound, "--actor \(actor) names no principal (the admin lists them: GET /v1/principals).")
        }
        guard principal.isActive(at: now) else {
            throw MarketplaceError(.actorInactive, "--actor \(actor) is revoked or expired; name an active finance principal.")
        }
        guard principal.role == .finance else {
            throw MarketplaceError(.actorNotFinance, "--actor \(actor) has the role \(principal.role.rawValue); closes and adjustments are finance's.")
        }
    }

    /// The closed period `period`, or nil while it is open.
    public func stored(_ period: Period) async throws -> ClosedPeriod? {
        guard let closed = try await database.read({ try await $0.settlement(period) }) else { return nil }
        return try Self.closedPeriod(closed, wasClosed: true)
    }

    /// Books a correction of line `lineID` (of a closed period) into the open period `period`.
    ///
    /// - Parameter booked: runs in the booking's transaction after its writes (the HTTP handler
    ///   records its answer there).
    /// A reason as every settlement step requires it — an adjustment, a revenue cap, an
    /// acknowledgement — trimmed: not blank, printable, at most 2000 characters.
    public static func reason(_ text: String) throws(SettlementError) -> String {
        switch TextRules.reasonProblem(text, maxLength: 2000) {
        case .missing: throw SettlementError(code: .reasonRequired, detail: "a reason is required")
        case .tooLong(let problem): throw SettlementError(code: .reasonTooLong, detail: "the reason \(problem)")
        case .invalid(let problem): throw SettlementError(code: .invalidReason, detail: "the reason \(problem)")
        case nil: return TextRules.trimmed(text) ?? ""
        }
    }

    public func adjust(_ lineID: String, by amountMinor: Int64, in period: Period, reason: String, actor: String,
                       at now: Date,
                       booked: (Adjustment, DatabaseTransaction) async throws -> Void = { _, _ in }) async throws -> Adjustment {
        guard amountMinor != 0, amountMinor.magnitude <= UInt64(MinorUnits.maximum) else {
            throw SettlementError(code: .invalidAdjustment, detail: "an adjustment is a non-zero amount of at most \(MinorUnits.maximum) minor units")
        }
        let id = "adj_\(Hex.encode(try random.bytes(8)))"
        let log = self.log
        return try await database.transaction { tx in
            _ = try await tx.lockHead()
            guard try await tx.settlement(period) == nil else {
                throw SettlementError(code: .periodClosed, detail: "\(period) is closed; book the correction into a later period")
            }
            guard let correctedPeriod = lineID.split(separator: "/", maxSplits: 1).first.flatMap({ Period(String($0)) }),
                  correctedPeriod < period else {
                throw SettlementError(code: .lineNotFound, detail: "'\(lineID)' is not a line of a period before \(period)")
            }
            guard let closed = try await tx.settlement(correctedPeriod),
                  let line = try SettlementReport(json: closed.document).line(lineID) else {
                throw SettlementError(code: .lineNotFound, detail: "no line '\(lineID)' in a closed \(correctedPeriod)")
            }
            guard line.kind != .clawback else {
                throw SettlementError(code: .invalidAdjustment, detail: "a clawback follows from the cap; correct the lines it came from")
            }
            let adjustment = Adjustment(id: id, period: period, corrected: line, amountMinor: amountMinor, reason: reason,
                                        actor: actor, at: now)
            _ = try await log.append(adjustment.record(), in: tx)
            try await tx.insertAdjustment(StoredAdjustment(
                id: id, period: period, corrects: lineID, correctedPeriod: correctedPeriod, amountMinor: amountMinor,
                reason: reason, actor: actor, createdAt: now))
            try await booked(adjustment, tx)
            return adjustment
        }
    }

    /// Sets `cap` (replacing an earlier one for its operator and year) and logs it.
    public func setRevenueCap(_ cap: RevenueCap) async throws {
        let log = self.log
        let currency = policy.currency
        try await database.transaction { tx in
            _ = try await tx.lockHead()
            _ = try await log.append(cap.record(currency: currency), in: tx)
            try await tx.setRevenueCap(cap)
        }
    }

    /// The platform fee in force: what a grant activated now fixes.
    public func platformFee() async throws -> PlatformFeeSetting {
        try await database.read { try await $0.platformFee() }
    }

    /// Sets the platform fee to `bps` (0–10000, else `invalid_platform_fee` and nothing written)
    /// and logs `marketplace.fee_changed` with the old and new fee, in one transaction. Grants
    /// already active keep the fee they fixed; grants activated after it take the new one.
    public func setPlatformFee(_ bps: Int, reason: String, actor: String, at now: Date) async throws -> PlatformFeeSetting {
        let log = self.log
        return try await database.transaction { tx in
            // The head first, as every activation does before reading the fee: the log orders the
            // change and the activations around it as the database does.
            _ = try await tx.lockHead()
            let old = try await tx.platformFee()
            let change = try PlatformFeeChange(from: old.bps, to: bps, reason: reason, actor: actor, at: now)
            _ = try await log.append(change.record(), in: tx)
            try await tx.setPlatformFee(bps, by: actor, at: now)
            return PlatformFeeSetting(bps: bps, changedAt: now, changedBy: actor)
        }
    }

    /// What a close of `period` rates: the period's counters with their grants' prices and the
    /// terms each grant fixed when it became active, the adjustments booked into it, the caps of
    /// its year and the income so far. Reads follow the number of counters (grants × datasets ×
    /// units), never the events. Neither a dataset's current share nor the current fee rates a line.
    static func input(for period: Period, currency: Currency, in tx: DatabaseTransaction) async throws -> PeriodCloseInput {
        let counters = try await tx.usageCounters(period: period, filter: UsageFilter())
        let grants = try await tx.grants(ids: counters.map(\.key.grantID))
        var usage: [RatedUsage] = []
        for counter in counters where counter.quantity > 0 {
            guard let grant = grants[counter.key.grantID], let item = grant.item(for: counter.key.datasetID) else {
                throw StorageError(code: .unexpectedData, detail: "usage of \(counter.key.grantID)/\(counter.key.datasetID) has no grant item")
            }
            // Usage is accepted only while a grant is active, and a grant fixes its terms when it
            // becomes active (migration 14 gave them to older grants).
            guard let terms = grant.terms(for: counter.key.datasetID) else {
                throw StorageError(code: .unexpectedData, detail: "grant \(grant.id) has usage of \(counter.key.datasetID) but no terms for it")
            }
            usage.append(RatedUsage(
                counter: counter, scenario: grant.scenario, pricing: Pricing(item: item, unit: counter.key.unit),
                revenueShareBPS: terms.revenueShareBPS, platformFeeBPS: terms.platformFeeBPS))
        }
        let adjustments = try await Self.adjustments(in: period, from: tx)
        let provided = try await tx.providerTotals(period: period)
        return PeriodCloseInput(
            period: period, currency: currency, platformFeeBPS: try await tx.platformFee().bps, usage: usage,
            adjustments: adjustments, revenueCaps: try await tx.revenueCaps(year: period.year),
            incomeBefore: try await tx.operatorIncome(year: period.year, before: period),
            providerQuantities: Dictionary(provided.map { ($0.key, $0.quantity) }, uniquingKeysWith: +))
    }

    /// The adjustments booked into `period`, oldest first (then by id), each with the line it corrects.
    public func adjustments(in period: Period) async throws -> [Adjustment] {
        try await database.read { try await Self.adjustments(in: period, from: $0) }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
    }

    /// The adjustments booked into `period` in their stored order, each with the line it corrects,
    /// read from its closed period's report.
    static func adjustments(in period: Period, from reader: DatabaseReader) async throws -> [Adjustment] {
        var adjustments: [Adjustment] = []
        var reports: [Period: SettlementReport] = [:]
        for stored in try await reader.adjustments(in: period) {
            if reports[stored.correctedPeriod] == nil, let closed = try await reader.settlement(stored.correctedPeriod) {
                reports[stored.correctedPeriod] = try SettlementReport(json: closed.document)
            }
            guard let line = reports[stored.correctedPeriod]?.line(stored.corrects) else {
                throw StorageError(code: .unexpectedData, detail: "adjustment \(stored.id) corrects a line that is not stored")
            }
            adjustments.append(Adjustment(id: stored.id, period: period, corrected: line, amountMinor: stored.amountMinor,
                                          reason: stored.reason, actor: stored.actor, at: stored.createdAt))
        }
        return adjustments
    }

    static func closedPeriod(_ stored: StoredSettlement, wasClosed: Bool) throws -> ClosedPeriod {
        ClosedPeriod(report: try SettlementReport(json: stored.document), digests: stored.digests, logIndex: stored.logIndex,
                     wasClosed: wasClosed)
    }
}
