import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("Settlement audit records")
struct SettlementRecordTests {
    static let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Contracts/audit-log.md")

    /// The catalog row of `action` in Contracts/audit-log.md.
    func row(_ action: String) throws -> String {
        let text = try String(contentsOf: Self.contract, encoding: .utf8)
        return try #require(text.split(separator: "\n").first { $0.hasPrefix("| `\(action)` |") }.map(String.init))
    }

    func records() throws -> [AuditRecord] {
        let line = SettlementLine(
            id: "2026-10/g-1/bj-a/call", kind: .usage, grantID: "g-1", operatorID: "op-1", datasetID: "bj-a", authorityID: "bj",
            unit: .call, scenario: .industry, quantity: 7, unitPrice: UnitPrice("0.04"), tiers: [], amountMinor: 28,
            authorityBPS: 3000, platformBPS: 500, authorityMinor: 9, platformMinor: 1, operatorMinor: 18, eventCount: 2,
            logIndexFirst: 3, logIndexLast: 4, corrects: nil, reason: nil)
        let report = SettlementReport(period: october, currency: .cny, platformFeeBPS: 500, closedAt: closedAt, lines: [line])
        let adjustment = Adjustment(id: "adj_1", period: Period("2026-11")!, corrected: line, amountMinor: -10, reason: "twice",
                                    actor: "fin", at: closedAt)
        let cap = try RevenueCap(operatorID: "op-1", year: 2026, amountMinor: 100, reason: "set", actor: "fin", at: closedAt)
        let key = CounterKey(grantID: "g-1", datasetID: "bj-a", unit: .call, period: october)
        let acknowledgement = DiscrepancyAcknowledgement(key: key, declaredQuantity: 7, providerQuantity: 9, toleranceBPS: 100,
                                                         reason: "port counted retries", actor: "fin", at: closedAt, logIndex: 5)
        let acknowledged = ReconciliationLine(key: key, operatorID: "op-1", authorityID: "bj", declaredQuantity: 7, providerQuantity: 9,
                                              toleranceBPS: 100, acknowledgement: acknowledgement)
        let fee = try PlatformFeeChange(from: 500, to: 600, reason: "new schedule", actor: "admin", at: closedAt)
        return [report.closedRecord(digests: ["json": "00", "csv": "11"], actor: "fin", acknowledged: [acknowledged]), adjustment.record(),
                cap.record(currency: .cny), acknowledgement.record(), fee.record()]
    }

    @Test("every member each action writes is in its catalog row, and every action is catalogued")
    func catalog() throws {
        let written = try records()
        #expect(Set(written.map(\.action)) == Set(SettlementAction.allCases.map(\.rawValue)))
        for record in written {
            let row = try row(record.action)
            for member in record.data.keys {
                #expect(row.contains("`\(member)`"), "\(record.action) writes \(member)")
            }
            for subject in record.subjects {
                let kind = subject.split(separator: ":").first.map(String.init) ?? ""
                #expect(row.contains("`\(kind):"), "\(record.action) subject \(kind)")
            }
        }
    }

    @Test("the closed record holds the totals and the digests, nothing about single lines")
    func closed() throws {
        let record = try records()[0]
        #expect(record.data["totals"]?["gross_minor"] == 28)
        #expect(record.data["totals"]?["event_count"] == 2)
        #expect(record.data["reports"] == ["json": "00", "csv": "11"])
        #expect(record.data["platform_fee_bps"] == 500)
        #expect(record.subjects == ["period:2026-10"])
    }

    @Test("a revenue cap outside its range is refused", arguments: [(1999, 5), (10_000, 5), (2026, -1), (2026, MinorUnits.maximum + 1)] as [(Int, Int64)])
    func capRange(year: Int, amount: Int64) {
        #expect(throws: SettlementError(code: .invalidRevenueCap, detail: "")) {
            try RevenueCap(operatorID: "op-1", year: year, amountMinor: amount, reason: "r", actor: "a", at: closedAt)
        }
    }
}
