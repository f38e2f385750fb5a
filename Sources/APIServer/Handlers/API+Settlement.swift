import Marketplace
import Identity
import AuditLog
import Foundation
import HTTPTypes
import Licensing
import Metering
import OpenAPIRuntime
import Persistence
import Settlement
import Vetting

/// Settlement: closing periods, reports, adjustments, revenue caps.
extension API {
    func setRevenueCap(_ input: Operations.SetRevenueCap.Input) async throws -> Operations.SetRevenueCap.Output {
        let caller = try Authorization.require(.setRevenueCap)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try SettlementDesk.reason(body.reason)
        guard try await database.read({ try await $0.operatorByID(input.path.id) }) != nil else {
            throw VettingError(code: .operatorNotFound, detail: "No operator \(input.path.id).")
        }
        let cap = try RevenueCap(operatorID: input.path.id, year: body.year, amountMinor: body.amountMinor, reason: reason,
                                 actor: caller.id, at: clock.now())
        try await settlements.setRevenueCap(cap)
        return .ok(.init(body: .json(.init(operatorId: cap.operatorID, year: cap.year, amountMinor: cap.amountMinor,
                                           currency: settlementPolicy.currency.code))))
    }

    func getPlatformFee(_ input: Operations.GetPlatformFee.Input) async throws -> Operations.GetPlatformFee.Output {
        _ = try Authorization.require(.getPlatformFee)
        return .ok(.init(body: .json(Self.platformFee(try await settlements.platformFee()))))
    }

    func setPlatformFee(_ input: Operations.SetPlatformFee.Input) async throws -> Operations.SetPlatformFee.Output {
        let caller = try Authorization.require(.setPlatformFee)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try SettlementDesk.reason(body.reason)
        let set = try await settlements.setPlatformFee(body.platformFeeBps, reason: reason, actor: caller.id, at: clock.now())
        return .ok(.init(body: .json(Self.platformFee(set))))
    }

    static func platformFee(_ fee: PlatformFeeSetting) -> Components.Schemas.PlatformFee {
        .init(platformFeeBps: fee.bps, changedAt: fee.changedAt, changedBy: fee.changedBy)
    }

    func getRevenueCap(_ input: Operations.GetRevenueCap.Input) async throws -> Operations.GetRevenueCap.Output {
        let caller = try Authorization.require(.getRevenueCap)
        let year = try Self.capYear(input.query.year)
        let operatorID = input.path.id
        // Another operator's cap is answered as if there were none, as another operator's grant is.
        let mayRead = caller.role != .operator || caller.operatorID == operatorID
        guard mayRead, let amount = try await database.read({ try await $0.revenueCap(operatorID: operatorID, year: year) }) else {
            throw Problem.notFound("No revenue cap is set for \(operatorID) in \(year).")
        }
        return .ok(.init(body: .json(.init(operatorId: operatorID, year: year, amountMinor: amount,
                                           currency: settlementPolicy.currency.code))))
    }

    func listRevenueCaps(_ input: Operations.ListRevenueCaps.Input) async throws -> Operations.ListRevenueCaps.Output {
        _ = try Authorization.require(.listRevenueCaps)
        let year = try Self.capYear(input.query.year)
        let caps = try await database.read { try await $0.revenueCaps(year: year) }
        let currency = settlementPolicy.currency.code
        return .ok(.init(body: .json(.init(year: year, items: caps.sorted { $0.key < $1.key }.map {
            .init(operatorId: $0.key, year: year, amountMinor: $0.value, currency: currency)
        }))))
    }

    /// A year as a revenue cap takes it; the same refusal as setting a cap for it.
    static func capYear(_ year: Int) throws(SettlementError) -> Int {
        guard (2000...9999).contains(year) else {
            throw SettlementError(code: .invalidRevenueCap, detail: "a revenue cap is for a year 2000–9999")
        }
        return year
    }

    func getSettlement(_ input: Operations.GetSettlement.Input) async throws -> Operations.GetSettlement.Output {
        _ = try Authorization.require(.getSettlement)
        let period = try Self.period(input.path.period)
        guard let closed = try await settlements.stored(period) else {
            return .ok(.init(body: .json(.init(period: period.description, status: .open))))
        }
        return .ok(.init(body: .json(Self.settlement(closed, alreadyClosed: nil))))
    }

    func closeSettlement(_ input: Operations.CloseSettlement.Input) async throws -> Operations.CloseSettlement.Output {
        let caller = try Authorization.require(.closeSettlement)
        let period = try Self.period(input.path.period)
        let closed = try await settlements.close(period, actor: caller.id, at: clock.now())
        return .ok(.init(body: .json(Self.settlement(closed, alreadyClosed: closed.wasClosed))))
    }

    func getSettlementReport(_ input: Operations.GetSettlementReport.Input) async throws -> Operations.GetSettlementReport.Output {
        let caller = try Authorization.require(.getSettlementReport)
        let requested = input.query.format ?? .json
        let format = ReportFormat(requested)
        let bytes = try await reportBytes(period: input.path.period, format: format, party: input.query.party,
                                          section: input.query.section?.rawValue, caller: caller)
        if requested == .csvExcel { return .ok(.init(body: .csv(HTTPBody(ExcelCSV.bytes(bytes))))) }
        switch format {
        case .json:
            // Reached only when SettlementReportRoute passed the request on; it serves the canonical bytes.
            return .ok(.init(body: .json(try JSONDecoder().decode(Components.Schemas.SettlementReport.self, from: Data(bytes)))))
        case .csv:
            return .ok(.init(body: .csv(HTTPBody(bytes))))
        case .xlsx:
            return .ok(.init(body: .applicationVnd_openxmlformatsOfficedocument_spreadsheetml_sheet(HTTPBody(bytes))))
        }
    }

    /// The report of `period` as `caller` may see it, rendered: finance, admin and auditors the whole
    /// report or the statement of `party`; an operator its own statement, a reviewer its authority's.
    func reportBytes(period text: String, format: ReportFormat, party text2: String?, section: String?,
                     caller: Principal) async throws -> [UInt8] {
        let period = try Self.period(text)
        let requested = try text2.map { text -> Party in
            guard let party = Party(text) else {
                throw Problem(.invalidParty, "A party is authority:<id>, platform or operator:<id>.")
            }
            return party
        }
        let party: Party?
        switch caller.role {
        case .finance, .admin, .auditor:
            party = requested
        case .operator:
            guard let own = caller.operatorID else {
                throw Problem(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
            }
            party = .operator(own)
        case .authorityReviewer:
            party = .authority(caller.authorityID ?? "")
        }
        if let requested, let party, requested != party {
            throw Problem.forbidden("A statement is shown only to its own party.")
        }
        guard let closed = try await settlements.stored(period) else {
            throw SettlementError(code: .periodNotClosed, detail: "\(period) is not closed; its report exists once it is (POST /v1/settlements/\(period)/close)")
        }
        let report = party.map(closed.report.statement(for:)) ?? closed.report
        if format == .csv, section == "parties" { return report.partiesCSV() }
        return report.rendered(as: format)
    }

    func addAdjustment(_ input: Operations.AddAdjustment.Input) async throws -> Operations.AddAdjustment.Output {
        let caller = try Authorization.require(.addAdjustment)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let period = try Self.period(input.path.period)
        let reason = try SettlementDesk.reason(body.reason)
        let adjustment = try await settlements.adjust(body.corrects, by: body.amountMinor, in: period, reason: reason,
                                                      actor: caller.id, at: clock.now()) { adjustment, tx in
            try await IdempotencyScope.recordJSON(.created, Self.view(adjustment), in: tx)
        }
        return .created(.init(body: .json(Self.view(adjustment))))
    }

    func listAdjustments(_ input: Operations.ListAdjustments.Input) async throws -> Operations.ListAdjustments.Output {
        _ = try Authorization.require(.listAdjustments)
        let period = try Self.period(input.path.period)
        let adjustments = try await settlements.adjustments(in: period)
        return .ok(.init(body: .json(.init(period: period.description, items: adjustments.map(Self.view)))))
    }

    static func view(_ adjustment: Adjustment) -> Components.Schemas.Adjustment {
        .init(id: adjustment.id, period: adjustment.period.description, corrects: adjustment.corrected.id,
              amountMinor: adjustment.amountMinor, reason: adjustment.reason, operatorId: adjustment.corrected.operatorID,
              authorityId: adjustment.corrected.authorityID, at: adjustment.at)
    }

    static func period(_ text: String) throws(SettlementError) -> Period {
        guard let period = Period(text) else { throw SettlementError(code: .invalidPeriod, detail: "A period is a month, YYYY-MM.") }
        return period
    }

    static func settlement(_ closed: ClosedPeriod, alreadyClosed: Bool?) -> Components.Schemas.Settlement {
        let totals = closed.report.totals
        return .init(
            period: closed.report.period.description, status: .closed, closedAt: closed.report.closedAt,
            currency: closed.report.currency.code, platformFeeBps: closed.report.platformFeeBPS,
            totals: .init(grossMinor: totals.grossMinor, authorityMinor: totals.authorityMinor, platformMinor: totals.platformMinor,
                          operatorMinor: totals.operatorMinor, lineCount: Int64(totals.lineCount), eventCount: totals.eventCount),
            reports: .init(additionalProperties: closed.digests), logIndex: Int64(closed.logIndex), alreadyClosed: alreadyClosed)
    }
}
