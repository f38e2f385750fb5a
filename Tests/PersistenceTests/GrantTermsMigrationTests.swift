import AuditLog
import Foundation
import Licensing
import Metering
@testable import Persistence
import PDXTesting
import Settlement
import Testing
import Vetting

@Suite("Schema upgrade 14: the platform fee in the database, terms for grants already active")
struct GrantTermsMigrationTests {
    @Test("grants get the rates they were settled with, else those in force; the fee starts at 500", arguments: Backend.available)
    func upgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let traffic = try LicensingSamples.dataset("bj-traffic")
            let port = try LicensingSamples.dataset("tj-port", authority: "tj")
            let settled = try LicensingSamples.requested("gr-settled", operator: op, datasets: [traffic, port])
            let unsettled = try LicensingSamples.requested("gr-unsettled", operator: op, datasets: [traffic])
            let conditional = try LicensingSamples.dataset("bj-cond", openness: .conditional)
            let pending = try LicensingSamples.requested("gr-pending", operator: op, datasets: [conditional])
            try #require(settled.status == .active && unsettled.status == .active && pending.status == .pending)
            // A report of a close made with a fee of 700 under which the traffic share came out as 2500.
            let period = try #require(Period("2026-01"))
            func rated(_ dataset: String, authority: String, share: Int) -> RatedUsage {
                RatedUsage(counter: UsageCounter(key: CounterKey(grantID: "gr-settled", datasetID: dataset, unit: .call, period: period),
                                                 operatorID: op.id, authorityID: authority, quantity: 100, events: 1,
                                                 firstLogIndex: 1, lastLogIndex: 1, gatewayQuantity: 0, gatewayEvents: 0),
                           scenario: .industry, pricing: .perUnit(UnitPrice("0.01")!), revenueShareBPS: share)
            }
            let report = try PeriodClose.settle(
                PeriodCloseInput(period: period, currency: .cny, platformFeeBPS: 700,
                                 usage: [rated("bj-traffic", authority: "bj", share: 2_500)]),
                closedAt: Samples.time(100))
            try await current.transaction { transaction async throws in
                try await transaction.insert(op)
                for dataset in [traffic, port, conditional] { try await transaction.insertDataset(dataset) }
                for grant in [settled, unsettled, pending] { try await transaction.insertGrant(grant) }
                try await transaction.insertSettlement(report, document: report.rendered(as: .json), digests: [:], logIndex: 1)
                // Back to before migration 14: grants without terms, no fee row.
                for grant in [settled, unsettled, pending] {
                    try await transaction.context.execute(
                        "UPDATE grants SET document = $1 WHERE id = $2",
                        [.text(GrantDocument.encode(Self.withoutTerms(grant))), .text(grant.id)])
                }
                try await transaction.context.execute("DROP TABLE marketplace_settings")
                // And before every later one.
                try await transaction.context.execute("DROP TABLE console_form_tokens")
                try await transaction.context.execute("DROP TABLE console_sessions")
                for statement in undoPrincipalGeneration(backend) { try await transaction.context.execute(statement) }
                try await transaction.context.execute("DELETE FROM schema_migrations WHERE version >= 14")
            }
            #expect(try await current.read { try await $0.grant(id: "gr-settled") }?.terms.isEmpty == true)
            await current.close()

            let upgraded = try await fixture.open()
            try await upgraded.read { reader async throws in
                #expect(try await reader.platformFee() == PlatformFeeSetting(bps: 500, changedAt: nil, changedBy: nil))
                let s = try #require(try await reader.grant(id: "gr-settled"))
                #expect(s.terms(for: "bj-traffic") == DatasetTerms(datasetID: "bj-traffic", revenueShareBPS: 2_500, platformFeeBPS: 700),
                        "the rates of its settled line")
                #expect(s.terms(for: "tj-port") == DatasetTerms(datasetID: "tj-port", revenueShareBPS: 3_000, platformFeeBPS: 500),
                        "never settled: the share and fee in force")
                let u = try #require(try await reader.grant(id: "gr-unsettled"))
                #expect(u.terms == [DatasetTerms(datasetID: "bj-traffic", revenueShareBPS: 3_000, platformFeeBPS: 500)])
                #expect(try await reader.grant(id: "gr-pending")?.terms.isEmpty == true, "never active: no terms")
            }
        }
    }

    @Test("a grant document keeps its terms, and documents without them read as before", arguments: Backend.available)
    func roundTrip(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let op = try LicensingSamples.approvedOperator()
            let traffic = try LicensingSamples.dataset("bj-traffic")
            let grant = try LicensingSamples.requested("gr-1", operator: op, datasets: [traffic])
            #expect(grant.terms == [DatasetTerms(datasetID: "bj-traffic", revenueShareBPS: 3_000, platformFeeBPS: PlatformFee.initialBPS)])
            try await database.transaction { transaction async throws in
                try await transaction.insert(op)
                try await transaction.insertDataset(traffic)
                try await transaction.insertGrant(grant)
                try await transaction.setPlatformFee(1_200, by: "pr_admin", at: Samples.time(5))
            }
            try await database.read { reader async throws in
                #expect(try await reader.grant(id: "gr-1") == grant)
                #expect(try await reader.platformFee() == PlatformFeeSetting(bps: 1_200, changedAt: Samples.time(5), changedBy: "pr_admin"))
            }
            #expect(throws: StorageError.self) {
                _ = try GrantDocument.decode(GrantDocument.encode(grant).replacingOccurrences(of: "\"platform_fee_bps\":500", with: "\"platform_fee_bps\":10001"))
            }
        }
    }

    static func withoutTerms(_ grant: Grant) -> Grant {
        Grant(id: grant.id, operatorID: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose, scenario: grant.scenario,
              startsAt: grant.startsAt, endsAt: grant.endsAt, agreement: grant.agreement, items: grant.items, currency: grant.currency,
              requestedAt: grant.requestedAt, status: grant.status, approvals: grant.approvals, reasons: grant.reasons,
              suspensionCause: grant.suspensionCause, history: grant.history, revision: grant.revision, suspendedBy: grant.suspendedBy)
    }
}
