import Cryptography
import Foundation
import Licensing
@testable import Metering
import Testing

@Suite("Provider reports: parsing and the refusals shared by the server and the replay")
struct ProviderReportTests {
    static let now = Date(timeIntervalSince1970: 1_790_784_000 + 5 * 86_400)  // 2026-10-06 in Beijing
    static let target = ProviderReportTarget(operatorID: "op-1", items: [
        "bj-a": (authorityID: "bj", units: [.call]),
        "tj-a": (authorityID: "tj", units: [.call]),
    ])

    static func decide(_ raw: [RawProviderReport], authority: String = "bj", delivery: DeliveryMode = .declared,
                       stored: [String: SHA256Digest] = [:], closed: Set<Period> = []) -> [ProviderReportOutcome] {
        ProviderReportBatch(raw, authorityID: authority, at: now)
            .decide(stored: stored, closed: closed, target: { $0 == "g-1" ? target : nil }, delivery: { _ in delivery }).outcomes
    }

    static func report(_ id: String = "r-1", grant: String = "g-1", dataset: String = "bj-a", unit: String = "call",
                       day: String = "2026-10-05", quantity: Int64 = 3) -> RawProviderReport {
        RawProviderReport(id: id, grantID: grant, datasetID: dataset, unit: unit, day: day, quantity: quantity)
    }

    @Test("days are real dates of the calendar", arguments: [
        ("2026-10-05", "2026-10"), ("2024-02-29", "2024-02"), ("2026-02-29", nil), ("2026-13-01", nil), ("2026-1-05", nil),
        ("2026-10-5x", nil), ("", nil), ("2026-10-00", nil),
    ] as [(String, String?)])
    func days(day: String, period: String?) {
        #expect(ProviderReport.period(ofDay: day)?.description == period)
    }

    @Test("each refusal, in order; zero is a figure")
    func refusals() {
        #expect(Self.decide([
            Self.report(quantity: 0), Self.report("r-2", dataset: "tj-a"), Self.report("r-3", dataset: "hb-a"),
            Self.report("r-4", grant: "g-9"), Self.report("r-5", unit: "record"), Self.report("r-6", day: "2026-10-07"),
            Self.report("r-7", quantity: 1_000_000_000_001), Self.report("r 8"),
        ]) == [
            .accepted, .rejected(.authorityNotParty), .rejected(.datasetNotInGrant), .rejected(.grantNotFound),
            .rejected(.unitNotGranted), .rejected(.dayInFuture), .rejected(.invalidQuantity), .rejected(.invalidID),
        ])
        // A grant holding none of the authority's datasets is refused before the dataset is looked at.
        #expect(Self.decide([Self.report(dataset: "hb-a")], authority: "hb") == [.rejected(.authorityNotParty)])
        #expect(Self.decide([Self.report()], delivery: .gateway) == [.rejected(.datasetNotDeclared)])
        #expect(Self.decide([Self.report()], closed: [Period("2026-10")!]) == [.rejected(.periodClosed)])
    }

    @Test("the same id: a duplicate with the same content, a conflict with other content, in a batch or after it")
    func idempotency() throws {
        let first = try #require(ProviderReportBatch([Self.report()], authorityID: "bj", at: Self.now).parsed.first)
        let stored = ["r-1": try first.get().digest]
        #expect(Self.decide([Self.report(), Self.report(quantity: 4)], stored: stored) == [.duplicate, .rejected(.conflict)])
        #expect(Self.decide([Self.report(), Self.report(), Self.report(quantity: 4)]) == [.accepted, .duplicate, .rejected(.conflict)])
    }
}
