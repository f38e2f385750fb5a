public import Licensing

/// The one rounding rule of every money path: a quotient rounded to the nearest integer, halves
/// away from zero (`2.5 → 3`, `-2.5 → -3`). Integers throughout; never floating point.
public enum Rounding {
    /// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
    public static func halfAwayFromZero(_ numerator: Int128, over denominator: Int128) -> Int128 {
        precondition(denominator > 0, "a positive denominator")
        let quotient = numerator / denominator
        let remainder = numerator % denominator
        guard remainder != 0, 2 * remainder.magnitude >= denominator.magnitude else { return quotient }
        return numerator < 0 ? quotient - 1 : quotient + 1
    }

    /// `quantity × price` in minor units of `currency`, computed exactly and rounded once.
    /// Nil when the result is above ``MinorUnits/maximum``.
    public static func amount(quantity: Int64, price: UnitPrice, currency: Currency) -> Int64? {
        let product = Int128(quantity) * Int128(price.micros)
        let divisor = power(of: 10, UnitPrice.scale - currency.minorUnitDigits)
        let amount = halfAwayFromZero(product, over: divisor)
        guard amount.magnitude <= UInt128(MinorUnits.maximum) else { return nil }
        return Int64(amount)
    }

    static func power(of base: Int128, _ exponent: Int) -> Int128 {
        (0..<max(exponent, 0)).reduce(1) { value, _ in value * base }
    }
}

/// Amounts in minor units written as decimals of the currency: `1234` fen → `12.34`, `-5` → `-0.05`.
public enum MinorUnits {
    /// The largest amount a settlement holds: 2^53 − 1, so that every amount is an exact number
    /// in JSON (I-JSON, RFC 7493) and in spreadsheet programs. Ninety trillion yuan.
    public static let maximum: Int64 = 9_007_199_254_740_991

    /// The decimal text of `amount` minor units of `currency`.
    public static func decimal(_ amount: Int64, in currency: Currency) -> String {
        let digits = currency.minorUnitDigits
        guard digits > 0 else { return String(amount) }
        let magnitude = amount.magnitude
        let scale = UInt64(Rounding.power(of: 10, digits))
        let fraction = String(magnitude % scale)
        let padded = String(repeating: "0", count: digits - fraction.count) + fraction
        return (amount < 0 ? "-" : "") + "\(magnitude / scale).\(padded)"
    }
}
