#if canImport(Glibc)
public import Marketplace
import Identity
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
public import Logging

/// Where log lines go: one call per complete line, newline included.
public struct LogSink: Sendable {
    let write: @Sendable ([UInt8]) -> Void

    public init(_ write: @escaping @Sendable ([UInt8]) -> Void) {
        self.write = write
    }

    /// Standard error, one `write(2)` per line: lines from different threads never interleave (a
    /// write to a pipe or file of this size is not split by the kernel).
    public static let standardError = LogSink { line in
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = writeToStandardError(bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

private func writeToStandardError(_ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(2, bytes, count)
}

/// A swift-log handler that writes one JSON object per line: `ts` (RFC 3339, UTC, milliseconds),
/// `level`, `label`, `message`, the metadata members, then `source`.
///
/// Metadata is flattened into the object; nested dictionaries and arrays stay JSON objects and arrays,
/// integers and finite floating-point values given with `.stringConvertible` become JSON numbers.
/// Every string is escaped as JSON requires (control characters as `\u00XX`), so a value cannot break
/// the line or forge a member. A metadata key that names a fixed member is written as `meta.<key>`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    let label: String
    let sink: LogSink

    public init(label: String, level: Logger.Level = .info, sink: LogSink = .standardError,
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        if let error = event.error { merged["error"] = .string(String(describing: error)) }
        sink.write(Self.line(timestamp: Self.now(), level: event.level, label: label,
                             message: event.message.description, metadata: merged, source: event.source))
    }

    /// One log line, newline included.
    static func line(timestamp: (seconds: Int, milliseconds: Int), level: Logger.Level, label: String,
                     message: String, metadata: Logger.Metadata, source: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + message.utf8.count)
        out.append(contentsOf: #"{"ts":""#.utf8)
        writeTimestamp(timestamp, to: &out)
        out.append(contentsOf: #"","level":""#.utf8)
        out.append(contentsOf: level.rawValue.utf8)
        out.append(contentsOf: #"","label":"#.utf8)
        writeString(label, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        writeString(message, to: &out)
        for key in metadata.keys.sorted() {
            out.append(UInt8(ascii: ","))
            writeString(reserved.contains(key) ? "meta." + key : key, to: &out)
            out.append(UInt8(ascii: ":"))
            writeValue(metadata[key]!, to: &out)
        }
        out.append(contentsOf: #","source":"#.utf8)
        writeString(source, to: &out)
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    private static let reserved: Set<String> = ["ts", "level", "label", "message", "source"]

    private static func writeValue(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            writeString(text, to: &out)
        case .stringConvertible(let value):
            switch value {
            case let number as any BinaryInteger:
                out.append(contentsOf: String(describing: number).utf8)
            case let number as Double where number.isFinite:
                out.append(contentsOf: String(number).utf8)
            default:
                writeString(value.description, to: &out)
            }
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                writeValue(dictionary[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let array):
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeValue(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as short escapes or `\u00XX`, the rest
    /// as UTF-8 (Swift strings are valid Unicode, so the output is valid UTF-8).
    static func writeString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func writeTimestamp(_ time: (seconds: Int, milliseconds: Int), to out: inout [UInt8]) {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(time.milliseconds, 3); out.append(UInt8(ascii: "Z"))
    }

    private static func now() -> (seconds: Int, milliseconds: Int) {
        let milliseconds = Int((Date().timeIntervalSince1970 * 1000).rounded(.down))
        return (milliseconds / 1000, milliseconds % 1000)
    }
}

/// How `pdx serve` writes its log: `--log-format` / `PDX_LOG_FORMAT`.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line (``JSONLogHandler``).
    case json
    /// swift-log's plain text lines.
    case text

    /// The handler factory for `LoggingSystem.bootstrap` or `Logger(label:factory:)`.
    public func handlerFactory(level: Logger.Level) -> @Sendable (String) -> any LogHandler {
        switch self {
        case .json:
            return { label in JSONLogHandler(label: label, level: level) }
        case .text:
            return { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
