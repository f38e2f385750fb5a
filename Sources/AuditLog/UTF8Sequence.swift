/// Well-formed UTF-8 (RFC 3629 §4), as both JSON readers check it: no overlong forms, no
/// surrogates, nothing above U+10FFFF.
enum UTF8Sequence {
    /// The length of the well-formed sequence that starts at `position`, or nil where none does.
    @inline(__always)
    static func length(at position: Int, in bytes: UnsafeRawBufferPointer) -> Int? {
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch bytes[position] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard bytes.count - position >= length, secondRange.contains(bytes[position + 1]) else { return nil }
        for index in (position + 2)..<(position + length) where bytes[index] & 0xC0 != 0x80 { return nil }
        return length
    }
}
