internal import AuditLog
public import Foundation
public import Metering
public import Settlement

// The Settlement module's tables. A close runs in the transaction that first locked the log head,
// like every usage batch, so no batch can add to a period's counters between the close's read of
// them and its marking the period closed.

/// A closed period as stored: its report's canonical JSON, the digests of its renderings as its
/// `settlement.closed` entry holds them, and that entry's log index.
public struct StoredSettlement: Sendable, Hashable {
    public let period: Period
    public let document: [UInt8]
    public let digests: ReportDigests
    public let logIndex: UInt64
    public let closedAt: Date
}

/// An adjustment waiting in an open period, as stored: the corrected line is named by id and read
/// from its closed period's report when the period closes.
public struct StoredAdjustment: Sendable, Hashable {
    public let id: String
    public let period: Period
    public let corrects: String
    public let correctedPeriod: Period
    public let amountMinor: Int64
    public let reason: String
    public let actor: String
    public let createdAt: Date

    public init(id: String, period: Period, corrects: String, correctedPeriod: Period, amountMinor: Int64, reason: String,
                actor: String, createdAt: Date) {
        self.id = id
        self.period = period
        self.corrects = corrects
        self.correctedPeriod = correctedPeriod
        self.amountMinor = amountMinor
        self.reason = reason
        self.actor = actor
        self.createdAt = createdAt
    }
}

// MARK: Reads

extension DatabaseReader {
    /// The closed period `period`, or nil when it is not closed.
    public func settlement(_ period: Period) async throws -> StoredSettlement? {
        guard let row = try await context.query(
            "SELECT document, digests, log_index, closed_at FROM settlement_reports WHERE period = $1", [.text(period.description)]
        ).first else { return nil }
        let digestsJSON: JSONValue
        do {
            digestsJSON = try JSONValue.parse(Array(try row.text(1).utf8))
        } catch {
            throw StorageError.unexpected("a stored report's digests are not JSON")
        }
        guard let members = digestsJSON.objectValue else { throw StorageError.unexpected("a stored report's digests are not an object") }
        var digests: ReportDigests = [:]
        for (format, value) in members {
            guard let digest = value.stringValue else { throw StorageError.unexpected("a stored report digest is not text") }
            digests[format] = digest
        }
        return StoredSettlement(
            period: period, document: Array(try row.text(0).utf8), digests: digests,
            logIndex: try Self.unsigned(row.integer(2)), closedAt: Timestamp.date(milliseconds: try row.integer(3)))
    }

    /// The periods before `period` that have usage or adjustments and are not closed, oldest first.
    public func openPeriods(before period: Period) async throws -> [Period] {
        try await context.query(
            """
            SELECT DISTINCT period FROM (
                SELECT period FROM usage_counters WHERE period < $1
                UNION SELECT period FROM settlement_adjustments WHERE period < $1
            ) AS used
            WHERE period NOT IN (SELECT period FROM settlement_periods WHERE status = 'closed')
            ORDER BY period
            """,
            [.text(period.description)]
        ).map { try Self.period($0.text(0)) }
    }

    /// The adjustments booked into `period`, by id.
    public func adjustments(in period: Period) async throws -> [StoredAdjustment] {
        try await context.query(
            """
            SELECT id, period, corrects, corrected_period, amount_minor, reason, actor, created_at
            FROM settlement_adjustments WHERE period = $1 ORDER BY id
            """,
            [.text(period.description)]
        ).map { row in
            StoredAdjustment(
                id: try row.text(0), period: try Self.period(row.text(1)), corrects: try row.text(2),
                correctedPeriod: try Self.period(row.text(3)), amountMinor: try row.integer(4), reason: try row.text(5),
                actor: try row.text(6), createdAt: Timestamp.date(milliseconds: try row.integer(7)))
        }
    }

    /// The annual revenue caps of `year`, by operator id.
    public func revenueCaps(year: Int) async throws -> [String: Int64] {
        var caps: [String: Int64] = [:]
        for row in try await context.query("SELECT operator_id, amount_minor FROM revenue_caps WHERE year = $1", [.integer(Int64(year))]) {
            caps[try row.text(0)] = try row.integer(1)
        }
        return caps
    }

    /// The revenue cap of operator `operatorID` for `year`, in minor units, or nil when none is set.
    public func revenueCap(operatorID: String, year: Int) async throws -> Int64? {
        try await context.query(
            "SELECT amount_minor FROM revenue_caps WHERE operator_id = $1 AND year = $2",
            [.text(operatorID), .integer(Int64(year))]
        ).first.map { try $0.integer(0) }
    }

    /// Each operator's net income in the closed periods of `year` before `period`.
    public func operatorIncome(year: Int, before period: Period) async throws -> [String: Int64] {
        var income: [String: Int64] = [:]
        for row in try await context.query(
            """
            SELECT party_id, CAST(SUM(amount_minor) AS BIGINT) FROM settlement_parties
            WHERE year = $1 AND kind = 'operator' AND period < $2 GROUP BY party_id
            """,
            [.integer(Int64(year)), .text(period.description)]
        ) {
            income[try row.text(0)] = try row.integer(1)
        }
        return income
    }
}

// MARK: Writes

extension DatabaseTransaction {
    /// Stores the closed report of a period and its parties' totals, and marks the period closed.
    /// A period is closed once: a second store of it is `unique_violation`.
    public func insertSettlement(_ report: SettlementReport, document: [UInt8], digests: ReportDigests, logIndex: UInt64) async throws {
        let digestsJSON = JSONValue.object(digests.mapValues(JSONValue.string))
        try await context.insert(
            into: "settlement_reports", columns: ["period", "document", "digests", "log_index", "closed_at"],
            rows: [[.text(report.period.description), .text(String(decoding: document, as: UTF8.self)),
                    .text(try digestsJSON.canonicalString()), .integer(Int64(logIndex)),
                    .integer(Timestamp.milliseconds(report.closedAt))]])
        try await context.insert(
            into: "settlement_parties", columns: ["period", "year", "kind", "party_id", "amount_minor"],
            rows: report.parties.map { party in
                let (kind, id): (String, String) = switch party.party {
                case .authority(let id): ("authority", id)
                case .platform: ("platform", "")
                case .operator(let id): ("operator", id)
                }
                return [.text(report.period.description), .integer(Int64(report.period.year)), .text(kind), .text(id),
                        .integer(party.amountMinor)]
            })
        try await markPeriodClosed(report.period, at: report.closedAt)
    }

    /// Books an adjustment into its (open) period.
    public func insertAdjustment(_ adjustment: StoredAdjustment) async throws {
        try await context.insert(
            into: "settlement_adjustments",
            columns: ["id", "period", "corrects", "corrected_period", "amount_minor", "reason", "actor", "created_at"],
            rows: [[.text(adjustment.id), .text(adjustment.period.description), .text(adjustment.corrects),
                    .text(adjustment.correctedPeriod.description), .integer(adjustment.amountMinor), .text(adjustment.reason),
                    .text(adjustment.actor), .integer(Timestamp.milliseconds(adjustment.createdAt))]])
    }

    /// Sets (or replaces) an operator's revenue cap for a year.
    public func setRevenueCap(_ cap: RevenueCap) async throws {
        try await context.insert(
            into: "revenue_caps", columns: ["operator_id", "year", "amount_minor", "set_at"],
            rows: [[.text(cap.operatorID), .integer(Int64(cap.year)), .integer(cap.amountMinor), .integer(Timestamp.milliseconds(cap.at))]],
            conflict: "ON CONFLICT (operator_id, year) DO UPDATE SET amount_minor = excluded.amount_minor, set_at = excluded.set_at")
    }
}
