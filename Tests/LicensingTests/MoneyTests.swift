import Licensing
import Testing

@Suite("Unit prices and currencies")
struct MoneyTests {
    @Test("accepted prices parse to exact millionths and print back the same", arguments: [
        ("0", 0),
        ("0.05", 50_000),
        ("12", 12_000_000),
        ("0.000125", 125),
        ("0.000001", 1),
        ("7.5", 7_500_000),
        ("1000000000", 1_000_000_000_000_000),
    ] as [(String, Int64)])
    func accepted(_ text: String, _ micros: Int64) throws {
        let price = try #require(UnitPrice(text))
        #expect(price.micros == micros)
        #expect(price.description == text)
    }

    @Test("refused prices", arguments: [
        "", "-1", "+1", "1e3", "1E3", "01", "00", "00.5", "0.0000001", "1.0000000", " 1", "1 ", "1.", ".5", "1,000",
        "1.2.3", "0x10", "１", "1000000000.000001", "1000000001", "99999999999", "NaN",
    ])
    func refused(_ text: String) {
        #expect(UnitPrice(text) == nil)
    }

    @Test("the largest price is one billion units, to the millionth")
    func maximum() throws {
        #expect(UnitPrice.maximum.micros == 1_000_000_000 * UnitPrice.scaleFactor)
        #expect(try #require(UnitPrice("1000000000.000000")) == UnitPrice.maximum)
        #expect(try #require(UnitPrice("999999999.999999")).micros == UnitPrice.maximum.micros - 1)
    }

    @Test("the description is the shortest exact decimal", arguments: [
        ("0.050", "0.05"),
        ("1.500000", "1.5"),
        ("0.000000", "0"),
        ("12.000", "12"),
        ("0.100001", "0.100001"),
        ("3.010", "3.01"),
    ])
    func canonical(_ text: String, _ canonical: String) throws {
        let price = try #require(UnitPrice(text))
        #expect(price.description == canonical)
        #expect(UnitPrice(canonical) == price)
    }

    @Test("prices order by value, not by text")
    func ordering() throws {
        let small = try #require(UnitPrice("0.05"))
        let large = try #require(UnitPrice("0.5"))
        #expect(small < large)
        #expect(try #require(UnitPrice("0.050")) == small)
        #expect(UnitPrice.zero < small)
    }

    @Test("supported currencies are found by their exact code", arguments: [
        ("CNY", 2), ("HKD", 2), ("MOP", 2), ("USD", 2), ("EUR", 2), ("JPY", 0),
    ])
    func currency(_ code: String, _ digits: Int) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.code == code)
        #expect(currency.minorUnitDigits == digits)
        #expect(currency.description == code)
    }

    @Test("unknown or misspelt currency codes are not found", arguments: ["", "cny", "RMB", "XXX", "CNY "])
    func unknownCurrency(_ code: String) {
        #expect(Currency(code: code) == nil)
    }

    @Test("the marketplace default is the renminbi with two minor digits")
    func renminbi() {
        #expect(Currency(code: "CNY") == Currency.cny)
        #expect(Currency.cny.minorUnitDigits == 2)
    }
}
