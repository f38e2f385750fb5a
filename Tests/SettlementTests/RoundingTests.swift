import AuditLog
import Licensing
import Testing
@testable import Settlement

@Suite("Rounding: one rule, half away from zero")
struct RoundingTests {
    @Test("quotients round half away from zero", arguments: [
        (25, 10, 3), (-25, 10, -3), (24, 10, 2), (-24, 10, -2), (26, 10, 3), (-26, 10, -3),
        (5, 10, 1), (-5, 10, -1), (4, 10, 0), (0, 7, 0), (15, 10, 2), (35, 10, 4), (1, 3, 0), (2, 3, 1), (-2, 3, -1),
    ] as [(Int, Int, Int)])
    func halfAwayFromZero(numerator: Int, denominator: Int, expected: Int) {
        #expect(Rounding.halfAwayFromZero(Int128(numerator), over: Int128(denominator)) == Int128(expected))
    }

    @Test("a line is quantity × price, rounded once to the fen", arguments: [
        (3, "0.05", 15),              // exact
        (1, "0.005", 1),              // half a fen rounds up
        (1, "0.004999", 0),
        (3, "0.001666", 0),           // 0.004998
        (3, "0.001667", 1),           // 0.005001
        (1_000_000, "0.000125", 12_500),
        (7, "0.000715", 1),           // 0.005005
        (1, "1000000000", 100_000_000_000),
        (0, "0.05", 0),
    ] as [(Int64, String, Int64)])
    func lineAmount(quantity: Int64, price: String, expected: Int64) throws {
        let unitPrice = try #require(UnitPrice(price))
        #expect(Rounding.amount(quantity: quantity, price: unitPrice, currency: .cny) == expected)
    }

    @Test("yen have no minor unit: a line rounds to whole yen")
    func yen() throws {
        let jpy = try #require(Currency(code: "JPY"))
        #expect(Rounding.amount(quantity: 3, price: try #require(UnitPrice("0.5")), currency: jpy) == 2)
        #expect(Rounding.amount(quantity: 1, price: try #require(UnitPrice("0.499999")), currency: jpy) == 0)
    }

    @Test("an amount above 2^53 − 1 minor units is refused, not wrapped")
    func overflow() throws {
        #expect(Rounding.amount(quantity: Int64.max, price: UnitPrice.maximum, currency: .cny) == nil)
        #expect(throws: SettlementError(code: .amountOverflow, detail: "")) {
            try Rating(quantity: Int64.max / 2, pricing: .perUnit(try #require(UnitPrice("1"))), currency: .cny)
        }
    }

    @Test("minor units print as decimals of the currency", arguments: [
        (1234, "12.34"), (-5, "-0.05"), (0, "0.00"), (100, "1.00"), (-100_001, "-1000.01"), (7, "0.07"),
    ] as [(Int64, String)])
    func decimal(amount: Int64, expected: String) {
        #expect(MinorUnits.decimal(amount, in: .cny) == expected)
    }
}

@Suite("Graduated prices round per step")
struct GraduatedPriceTests {
    let tiers = [
        PriceTier(upTo: 100, unitPrice: UnitPrice("0.015")!),
        PriceTier(upTo: 1_000, unitPrice: UnitPrice("0.011")!),
        PriceTier(upTo: nil, unitPrice: UnitPrice("0.005")!),
    ]

    @Test("each step prices only its units and rounds once")
    func steps() throws {
        let rating = try Rating(quantity: 1_001, pricing: .graduated(tiers), currency: .cny)
        #expect(rating.tiers.map(\.quantity) == [100, 900, 1])
        #expect(rating.tiers.map(\.from) == [1, 101, 1_001])
        // 100 × 0.015 = 1.50; 900 × 0.011 = 9.90; 1 × 0.005 = 0.005 → 0.01 (half up, per step)
        #expect(rating.tiers.map(\.amountMinor) == [150, 990, 1])
        #expect(rating.amountMinor == 1_141)
    }

    @Test("a quantity within the first step charges only it")
    func firstStep() throws {
        let rating = try Rating(quantity: 3, pricing: .graduated(tiers), currency: .cny)
        #expect(rating.tiers.map(\.quantity) == [3])
        #expect(rating.amountMinor == 5)  // 0.045 → 0.05
    }
}
