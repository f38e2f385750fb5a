/// A W3C Trace Context `traceparent` header: `00-<trace id>-<parent id>-<flags>`.
///
/// Parsed by the access log, which names the caller's trace in every log line of the request, and
/// by tracers that take the caller's trace as the parent of the server's spans. A header that is
/// not a valid version-00 `traceparent` (wrong length, upper-case or non-hex digits, an all-zero id)
/// is ignored, as the recommendation says: the request then starts a trace of its own.
struct TraceParent: Sendable, Hashable {
    /// 32 lower-case hex digits, not all zero.
    let traceID: String
    /// 16 lower-case hex digits, not all zero: the caller's span.
    let parentID: String
    /// The trace flags byte; bit 0 is "sampled".
    let flags: UInt8

    var isSampled: Bool { flags & 1 == 1 }

    /// The header's value.
    var header: String {
        let hex = String(flags, radix: 16)
        return "00-\(traceID)-\(parentID)-\(hex.count == 1 ? "0" + hex : hex)"
    }

    init?(traceID: String, parentID: String, flags: UInt8) {
        guard Self.isID(traceID.utf8, length: 32), Self.isID(parentID.utf8, length: 16) else { return nil }
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// Parses a header value; nil unless it is a valid version-00 `traceparent`. A later version
    /// is read by its first four fields, as the specification asks of a version-00 reader.
    init?(header: String) {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
              bytes[52] == UInt8(ascii: "-"),
              let version = Self.byte(bytes[0], bytes[1]), version != 0xff,
              let flags = Self.byte(bytes[53], bytes[54]) else { return nil }
        // Version 00 is exactly 55 characters; a later version may append `-` and more fields.
        if version == 0 ? bytes.count != 55 : (bytes.count > 55 && bytes[55] != UInt8(ascii: "-")) { return nil }
        self.init(traceID: String(decoding: bytes[3..<35], as: UTF8.self),
                  parentID: String(decoding: bytes[36..<52], as: UTF8.self), flags: flags)
    }

    private static func isID(_ text: String.UTF8View, length: Int) -> Bool {
        text.count == length && text.allSatisfy(isHex) && !text.allSatisfy { $0 == UInt8(ascii: "0") }
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func byte(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard isHex(high), isHex(low) else { return nil }
        func value(_ digit: UInt8) -> UInt8 { digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : digit - UInt8(ascii: "a") + 10 }
        return value(high) << 4 | value(low)
    }
}
