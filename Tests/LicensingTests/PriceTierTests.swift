import AuditLog
import Licensing
import Testing

/// A one-dataset item priced by graduated steps for `call`.
func tieredItem(_ steps: [(Int64?, String)], unitPrices: [String: String] = [:]) -> GrantRequest.Item {
    GrantRequest.Item(datasetID: "bj-a", fields: ["road_id"], unitPrices: unitPrices,
                      priceTiers: ["call": steps.map { GrantRequest.RawTier(upTo: $0.0, unitPrice: $0.1) }],
                      quotas: ["call": 1_000_000])
}

@Suite("Graduated prices on a grant")
struct PriceTierTests {
    @Test("malformed steps are refused with invalid_price_tiers or invalid_price", arguments: [
        ("one step", [(nil, "0.04")], LicensingError.Code.invalidPriceTiers),
        ("eleven steps", (1...10).map { (Int64($0) * 10, "0.01") } + [(nil, "0.01")], .invalidPriceTiers),
        ("last step bounded", [(100, "0.04"), (200, "0.03")], .invalidPriceTiers),
        ("middle step open", [(nil, "0.04"), (nil, "0.03")], .invalidPriceTiers),
        ("bounds not rising", [(100, "0.04"), (100, "0.03"), (nil, "0.02")], .invalidPriceTiers),
        ("zero bound", [(0, "0.04"), (nil, "0.03")], .invalidPriceTiers),
        ("bound above the largest quota", [(GrantRequest.maxQuota + 1, "0.04"), (nil, "0.03")], .invalidPriceTiers),
        ("bad price", [(100, "0.0000001"), (nil, "0.03")], .invalidPrice),
    ] as [(String, [(Int64?, String)], LicensingError.Code)])
    func malformed(name: String, steps: [(Int64?, String)], code: LicensingError.Code) {
        #expect(thrownCode { try grantRequest([tieredItem(steps)]) } == code, "\(name)")
    }

    @Test("a unit priced both per unit and by steps is refused")
    func pricedTwice() {
        #expect(thrownCode { try grantRequest([tieredItem([(100, "0.04"), (nil, "0.03")], unitPrices: ["call": "0.04"])]) } == .invalidPriceTiers)
    }

    @Test("a graduated unit is granted: its first step's price stands in unit_prices, the steps are kept")
    func kept() throws {
        let request = try grantRequest([tieredItem([(100, "0.05"), (1_000, "0.04"), (nil, "0.03")])])
        let item = try #require(request.items.first)
        #expect(item.unitPrices == [.call: UnitPrice("0.05")!])
        #expect(item.priceTiers[.call]?.map(\.upTo) == [100, 1_000, nil])
        #expect(item.highestPrices == [.call: UnitPrice("0.05")!])
    }

    @Test("every step is held to the ceiling, not only the first")
    func ceiling() throws {
        let reasons = try GrantPolicy().evaluate(
            grantRequest([tieredItem([(100, "0.04"), (nil, "0.06")])]), operator: try Operators.approved(),
            datasets: ["bj-a": try Datasets.published("bj-a")], at: Clock.start)
        #expect(reasons.map(\.code) == [.priceAboveCeiling])
    }

    @Test("a public-interest grant may not hide a price in a later step")
    func publicInterest() throws {
        let reasons = try GrantPolicy().evaluate(
            grantRequest([tieredItem([(100, "0"), (nil, "0.01")])], scenario: .publicInterest), operator: try Operators.approved(),
            datasets: ["bj-a": try Datasets.published("bj-a")], at: Clock.start)
        #expect(reasons.map(\.code) == [.publicInterestPriced])
    }

    @Test("the grant and its grant.requested record carry the steps")
    func recorded() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let change = try market.request([tieredItem([(100, "0.05"), (nil, "0.03")])])
        #expect(change.updated.items[0].priceTiers[.call] == [PriceTier(upTo: 100, unitPrice: UnitPrice("0.05")!), PriceTier(upTo: nil, unitPrice: UnitPrice("0.03")!)])
        let tiers = change.records[0].data["datasets"]?[0]?["price_tiers"]
        #expect(tiers == ["call": [["up_to": 100, "unit_price": "0.05"], ["up_to": nil, "unit_price": "0.03"]]])
    }
}
