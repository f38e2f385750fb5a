/// ECMAScript's Number::toString layout (ECMA-262 §6.1.6.1.20), which RFC 8785 prescribes for numbers.
/// The canonical writer and the one-pass checker share it, so they cannot disagree on a number.
enum ECMAScriptNumber {
    /// Lays out the shortest round-trip digits of a positive finite `value` by ECMA-262 Number::toString.
    ///
    /// Swift's `description` finds the shortest digits that read back as the same double, choosing the
    /// closest when several qualify, as ECMAScript does; only the layout differs.
    static func appendShortest(_ value: Double, append: (UInt8) -> Void) {
        var digitStorage: (UInt64, UInt64, UInt64) = (0, 0, 0)  // at most 17 significant digits
        withUnsafeMutableBytes(of: &digitStorage) { digits in
            var count = 0
            var pointAt: Int? = nil
            var exponent = 0
            var text = value.description
            text.withUTF8 { bytes in
                var index = 0
                while index < bytes.count {
                    let byte = bytes[index]
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"):
                        if count == 0 && byte == UInt8(ascii: "0") {
                            if pointAt != nil { exponent -= 1 }
                        } else {
                            digits[count] = byte
                            count += 1
                        }
                    case UInt8(ascii: "."):
                        pointAt = count
                    case UInt8(ascii: "e"), UInt8(ascii: "E"):
                        var sign = 1
                        var power = 0
                        index += 1
                        if bytes[index] == UInt8(ascii: "-") { sign = -1; index += 1 }
                        else if bytes[index] == UInt8(ascii: "+") { index += 1 }
                        while index < bytes.count {
                            power = power * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                            index += 1
                        }
                        exponent += sign * power
                    default:
                        break
                    }
                    index += 1
                }
            }
            while count > 1 && digits[count - 1] == UInt8(ascii: "0") { count -= 1 }
            // The value is 0.d1d2…dk × 10^n with d1 ≠ 0.
            let n = (pointAt ?? count) + exponent
            let k = count
            if k <= n && n <= 21 {
                for index in 0..<k { append(digits[index]) }
                for _ in 0..<(n - k) { append(UInt8(ascii: "0")) }
            } else if 0 < n && n <= 21 {
                for index in 0..<n { append(digits[index]) }
                append(UInt8(ascii: "."))
                for index in n..<k { append(digits[index]) }
            } else if -6 < n && n <= 0 {
                append(UInt8(ascii: "0"))
                append(UInt8(ascii: "."))
                for _ in 0..<(-n) { append(UInt8(ascii: "0")) }
                for index in 0..<k { append(digits[index]) }
            } else {
                append(digits[0])
                if k > 1 {
                    append(UInt8(ascii: "."))
                    for index in 1..<k { append(digits[index]) }
                }
                append(UInt8(ascii: "e"))
                let power = n - 1
                append(power < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                var magnitude = power.magnitude
                var divisor: UInt = 1
                while divisor * 10 <= magnitude { divisor *= 10 }
                while divisor > 0 {
                    append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
                    magnitude %= divisor
                    divisor /= 10
                }
            }
        }
    }
}
