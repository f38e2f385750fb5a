/// An ISO 4217 currency and the number of digits of its minor unit (CNY: 2, the fen).
public struct Currency: Sendable, Hashable, CustomStringConvertible {
    /// The three-letter code, e.g. `CNY`.
    public let code: String
    /// Digits after the decimal point in its minor unit: 2 for CNY, 0 for JPY.
    public let minorUnitDigits: Int

    private init(code: String, minorUnitDigits: Int) {
        self.code = code
        self.minorUnitDigits = minorUnitDigits
    }

    /// Renminbi, the marketplace's default.
    public static let cny = Currency(code: "CNY", minorUnitDigits: 2)

    /// The currencies a marketplace may price in. A short list on purpose: each needs its minor unit
    /// right, and settlement reports amounts in it.
    public static let supported: [Currency] = [
        .cny,
        Currency(code: "HKD", minorUnitDigits: 2),
        Currency(code: "MOP", minorUnitDigits: 2),
        Currency(code: "USD", minorUnitDigits: 2),
        Currency(code: "EUR", minorUnitDigits: 2),
        Currency(code: "JPY", minorUnitDigits: 0),
    ]

    /// The supported currency with `code`, or nil.
    public init?(code: String) {
        guard let found = Self.supported.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    public var description: String { code }
}

/// A unit price: a non-negative decimal with at most six places, held exactly as an integer number
/// of millionths of the currency unit. Never a floating-point number.
public struct UnitPrice: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Places after the decimal point a price may have.
    public static let scale = 6
    /// 10^``scale``.
    public static let scaleFactor: Int64 = 1_000_000
    /// The largest price accepted: one billion currency units, so that a quantity up to 10^12 times
    /// it still fits the 128-bit intermediate of a line without overflow concerns.
    public static let maximum = UnitPrice(micros: 1_000_000_000 * scaleFactor)
    /// Zero.
    public static let zero = UnitPrice(micros: 0)

    /// The price in millionths of the currency unit.
    public let micros: Int64

    /// Creates a price from millionths of the currency unit.
    public init(micros: Int64) {
        self.micros = micros
    }

    /// Parses `text`: digits, optionally a point and one to six digits (`0.05`, `12`, `0.000125`).
    /// No sign, exponent, grouping or outer white space; at most ``maximum``. Nil otherwise.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        let point = bytes.firstIndex(of: UInt8(ascii: "."))
        let integerPart = bytes[..<(point ?? bytes.endIndex)]
        let fractionPart = point.map { bytes[($0 + 1)...] } ?? []
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        guard !integerPart.isEmpty, integerPart.count <= 10, integerPart.allSatisfy(isDigit),
              point == nil || (1...Self.scale).contains(fractionPart.count), fractionPart.allSatisfy(isDigit),
              integerPart.count == 1 || integerPart.first != UInt8(ascii: "0")
        else { return nil }
        var micros: Int64 = 0
        for digit in integerPart { micros = micros * 10 + Int64(digit - 0x30) }
        micros *= Self.scaleFactor
        var place = Self.scaleFactor / 10
        for digit in fractionPart {
            micros += Int64(digit - 0x30) * place
            place /= 10
        }
        guard micros <= Self.maximum.micros else { return nil }
        self.micros = micros
    }

    /// The shortest exact decimal: `0.05`, `12`, `0.000125`. The form written to the log and
    /// reports, so that one price always reads the same.
    public var description: String {
        let whole = micros / Self.scaleFactor
        var fraction = micros % Self.scaleFactor
        guard fraction != 0 else { return String(whole) }
        var places = Self.scale
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.micros < rhs.micros }
}

/// One step of a graduated price: the units after the previous step's bound, up to and including
/// `upTo`, cost `unitPrice` each. The last step has no bound. Steps count per settlement period.
public struct PriceTier: Sendable, Hashable {
    /// The last unit of the period this step prices; nil for the open-ended last step.
    public let upTo: Int64?
    public let unitPrice: UnitPrice

    public init(upTo: Int64?, unitPrice: UnitPrice) {
        self.upTo = upTo
        self.unitPrice = unitPrice
    }
}

/// How much money one party can put into one settlement period. A settlement holds amounts of at
/// most 2^53 − 1 minor units (every total must stay an exact JSON number), so money is bounded where
/// it enters, by the party that brings it: a grant whose quotas could charge more than
/// ``grantPeriodMinor`` in a period is denied, an operator whose grants together could charge more
/// than ``operatorPeriodMinor`` gets no further grant, and usage that would take one counter past
/// ``grantPeriodMinor`` is refused. No single operator can then make a period's close overflow: it
/// takes more than two hundred operators at their limits at once (a period's lines, parts and
/// clawbacks count each amount at most four times).
public enum MoneyLimits {
    /// The most one grant may charge in one period: 10^12 minor units (ten billion yuan).
    public static let grantPeriodMinor: Int64 = 1_000_000_000_000
    /// The most one operator's grants together may charge in one period: 10^13 minor units.
    public static let operatorPeriodMinor: Int64 = 10_000_000_000_000

    /// An upper bound of what `quantity` units at `price` cost in minor units of `currency`: the
    /// exact product rounded up. Never below the rounded amount settlement computes.
    public static func bound(quantity: Int64, price: UnitPrice, currency: Currency) -> Int128 {
        let divisor = (0..<max(UnitPrice.scale - currency.minorUnitDigits, 0)).reduce(Int128(1)) { value, _ in value * 10 }
        let product = Int128(max(quantity, 0)) * Int128(price.micros)
        return (product + divisor - 1) / divisor
    }

    /// An upper bound of what one period's use of `quotas` at `prices` costs: per unit, the quota at
    /// the unit's highest price. Units without a quota are not counted.
    public static func bound(quotas: [MeteringUnit: Int64], prices: [MeteringUnit: UnitPrice], currency: Currency) -> Int128 {
        quotas.reduce(Int128(0)) { sum, quota in sum + bound(quantity: quota.value, price: prices[quota.key] ?? .zero, currency: currency) }
    }

    /// The largest quantity of a unit at `price` whose cost stays within `limit` minor units of
    /// `currency`; nil when any quantity does (a free unit).
    public static func quantity(within limit: Int64, price: UnitPrice, currency: Currency) -> Int64? {
        guard price.micros > 0 else { return nil }
        let divisor = (0..<max(UnitPrice.scale - currency.minorUnitDigits, 0)).reduce(Int128(1)) { value, _ in value * 10 }
        let most = Int128(limit) * divisor / Int128(price.micros)
        return most >= Int128(Int64.max) ? nil : Int64(most)
    }
}
