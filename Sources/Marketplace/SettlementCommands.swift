package import AuditLog
package import Foundation
package import Logging
public import Metering
package import Persistence
public import Settlement

/// `pdx settlement close`: closes `period` on the marketplace at `location` as finance principal
/// `actor` (it must exist, be active and hold the finance role; the log names it), as `POST
/// /v1/settlements/{period}/close` would. A marketplace on a test clock is closed at the test
/// clock's stored time, so a demo walked through a month closes as its server would.
public func closePeriod(_ period: Period, at location: StoreLocation, policy: SettlementPolicy, actor: String) async throws -> ClosedPeriod {
    try await withSettlementDesk(location, policy: policy) { runtime, desk in
        try runtime.requireIntactLog()
        let now = try await storedNow(runtime)
        try await desk.requireFinance(actor, at: now)
        return try await desk.close(period, actor: actor, at: now)
    }
}

/// `pdx settlement adjust`: books a correction of line `lineID` into the open period `period` as
/// finance principal `actor`, as `POST /v1/settlements/{period}/adjustments` would.
public func adjustLine(_ lineID: String, by amountMinor: Int64, in period: Period, reason: String, actor: String,
                       at location: StoreLocation, policy: SettlementPolicy) async throws -> Adjustment {
    try await withSettlementDesk(location, policy: policy) { runtime, desk in
        try runtime.requireIntactLog()
        let now = try await storedNow(runtime)
        try await desk.requireFinance(actor, at: now)
        return try await desk.adjust(lineID, by: amountMinor, in: period, reason: reason, actor: actor, at: now)
    }
}

/// The test clock's stored time, or the system's.
private func storedNow(_ runtime: Runtime) async throws -> Date {
    try await runtime.database.read { try await $0.metaValue(forKey: ServerClock.metaKey) }.flatMap(RFC3339.parse) ?? Date()
}

/// `pdx settlement export`: the closed report of `period` in `format` (the whole report, or one
/// party's statement).
public func exportReport(_ period: Period, format: ReportFormat, party: Party?, section: String?, at location: StoreLocation) async throws -> [UInt8] {
    try await withSettlementDesk(location, policy: SettlementPolicy()) { _, desk in
        guard let closed = try await desk.stored(period) else {
            throw SettlementError(code: .periodNotClosed, detail: "\(period) is not closed (pdx settlement close --period \(period))")
        }
        let report = party.map(closed.report.statement(for:)) ?? closed.report
        if format == .csv, section == "parties" { return report.partiesCSV() }
        return report.rendered(as: format)
    }
}

private func withSettlementDesk<T: Sendable>(
    _ location: StoreLocation, policy: SettlementPolicy, _ work: (Runtime, SettlementDesk) async throws -> T
) async throws -> T {
    try await Runtime.withExisting(location, label: "pdx.settlement") { runtime in
        try await work(runtime, SettlementDesk(database: runtime.database, log: runtime.log, policy: policy,
                                               random: runtime.random))
    }
}
