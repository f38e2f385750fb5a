public import Cryptography
public import Licensing

/// Reads a release as it arrives, chunk by chunk: checks every record against the dataset's fields,
/// hands back the complete rows, and counts and hashes the bytes.
///
/// Memory is bounded by the longest record (``ReleasePolicy/maxRowBytes``) plus one chunk, whatever
/// the release's size. Chunk boundaries may fall anywhere, inside a quoted field or a UTF-8
/// sequence: the rows are the same.
///
/// ```swift
/// var reader = ReleaseReader(fields: dataset.fields, mediaType: .csv)
/// for try await chunk in body { store(try reader.consume(chunk)) }
/// store(try reader.finish())
/// let digest = reader.sha256!
/// ```
public struct ReleaseReader {
    /// The dataset's fields, in order.
    public let fields: [DatasetField]
    /// The format being read.
    public let mediaType: ReleaseMediaType
    /// The limits.
    public let policy: ReleasePolicy
    /// Bytes consumed so far.
    public private(set) var byteCount: Int64 = 0
    /// Data rows read so far.
    public private(set) var rowCount: Int64 = 0
    /// The SHA-256 of every byte consumed; set by ``finish()``.
    public private(set) var sha256: SHA256Digest?

    private let hasher = SHA256()
    private var buffer: [UInt8] = []
    /// Where scanning for the end of the current record resumes.
    private var scanIndex = 0
    /// CSV: whether the scan is inside a quoted field.
    private var inQuotes = false
    /// CSV: the column of each field, once the header is read.
    private var columnOfField: [Int]?
    private var headerCount = 0
    /// A blank line was read; only more blank lines may follow.
    private var sawBlankLine = false
    private var finished = false
    private let fieldIndex: [String: Int]

    /// A reader of a release of a dataset with `fields` in `mediaType`.
    public init(fields: [DatasetField], mediaType: ReleaseMediaType, policy: ReleasePolicy = ReleasePolicy()) {
        self.fields = fields
        self.mediaType = mediaType
        self.policy = policy
        var index: [String: Int] = [:]
        for (position, field) in fields.enumerated() { index[field.name] = position }
        self.fieldIndex = index
    }

    /// Reads the next chunk; returns the rows it completed, in order.
    public mutating func consume(_ bytes: some Collection<UInt8>) throws(ReleaseError) -> [ReleaseRow] {
        precondition(!finished, "consume after finish")
        byteCount += Int64(bytes.count)
        guard byteCount <= policy.maxBytes else {
            throw ReleaseError(.releaseTooLarge, "The release is larger than \(policy.maxBytes) bytes.")
        }
        let start = buffer.count
        buffer.append(contentsOf: bytes)
        buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        return try scan(final: false)
    }

    /// Ends the release: reads a last record without a line end, checks that the release held a
    /// row, and sets ``sha256``.
    public mutating func finish() throws(ReleaseError) -> [ReleaseRow] {
        precondition(!finished, "finish twice")
        finished = true
        let rows = try scan(final: true)
        sha256 = hasher.finalize()
        if rowCount == 0 {
            let what = mediaType == .csv && columnOfField == nil ? "no header row" : "no data row"
            throw ReleaseError(.emptyRelease, "The release has \(what).")
        }
        return rows
    }

    // MARK: Records

    private mutating func scan(final: Bool) throws(ReleaseError) -> [ReleaseRow] {
        var rows: [ReleaseRow] = []
        var recordStart = 0
        var index = scanIndex
        let count = buffer.count
        let lineFeed = UInt8(ascii: "\n"), quote = UInt8(ascii: "\"")
        if mediaType == .csv {
            while index < count {
                let byte = buffer[index]
                if byte == quote {
                    inQuotes.toggle()
                } else if byte == lineFeed, !inQuotes {
                    if let row = try record(recordStart..<index) { rows.append(row) }
                    recordStart = index + 1
                }
                index += 1
            }
        } else {
            while let end = buffer[index..<count].firstIndex(of: lineFeed) {
                if let row = try record(recordStart..<end) { rows.append(row) }
                recordStart = end + 1
                index = end + 1
            }
        }
        if final {
            if mediaType == .csv, inQuotes {
                throw .at(.invalidCSV, row: rowCount + 1, "a quoted field is not closed before the end of the file")
            }
            if recordStart < count, let row = try record(recordStart..<count) { rows.append(row) }
            buffer.removeAll()
            scanIndex = 0
            return rows
        }
        if recordStart > 0 { buffer.removeSubrange(0..<recordStart) }
        scanIndex = buffer.count
        if buffer.count > policy.maxRowBytes {
            throw .at(.rowTooLong, row: rowCount + 1, "a record is longer than \(policy.maxRowBytes) bytes")
        }
        return rows
    }

    /// The row in `range` of the buffer (without its line feed); nil for the header or a blank line.
    private mutating func record(_ range: Range<Int>) throws(ReleaseError) -> ReleaseRow? {
        var end = range.upperBound
        if end > range.lowerBound, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = range.lowerBound..<end
        if line.count > policy.maxRowBytes {
            throw .at(.rowTooLong, row: rowCount + 1, "a record is longer than \(policy.maxRowBytes) bytes")
        }
        let blank = line.isEmpty || buffer[line].allSatisfy { $0 == 0x20 || $0 == 0x09 }
        if blank, mediaType == .ndjson || line.isEmpty {
            sawBlankLine = true
            return nil
        }
        if sawBlankLine {
            let code: ReleaseError.Code = mediaType == .csv ? .invalidCSV : .invalidNDJSON
            throw .at(code, row: rowCount + 1, "a blank line comes before this row")
        }
        switch mediaType {
        case .csv:
            if columnOfField == nil {
                try header(line)
                return nil
            }
            rowCount += 1
            return try csvRow(line)
        case .ndjson:
            rowCount += 1
            return try ndjsonRow(line)
        }
    }

    // MARK: CSV

    /// A cell: its text, and whether it was quoted (an empty unquoted cell is null).
    private struct Cell {
        var text: ArraySlice<UInt8>
        var quoted: Bool
    }

    private func cells(_ line: Range<Int>, row: Int64) throws(ReleaseError) -> [Cell] {
        var cells: [Cell] = []
        cells.reserveCapacity(max(headerCount, 4))
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        var index = line.lowerBound
        while true {
            if index < line.upperBound, buffer[index] == quote {
                // Quoted: up to the quote not followed by another; a doubled quote is one quote.
                var text: [UInt8]? = nil
                let start = index + 1
                var cursor = start
                var closed = false
                while cursor < line.upperBound {
                    if buffer[cursor] == quote {
                        if cursor + 1 < line.upperBound, buffer[cursor + 1] == quote {
                            if text == nil { text = Array(buffer[start..<cursor]) }
                            text!.append(quote)
                            cursor += 2
                            continue
                        }
                        closed = true
                        break
                    }
                    text?.append(buffer[cursor])
                    cursor += 1
                }
                guard closed else { throw .at(.invalidCSV, row: row, "a quoted field is not closed") }
                cells.append(Cell(text: text.map { $0[...] } ?? buffer[start..<cursor], quoted: true))
                index = cursor + 1
                guard index == line.upperBound || buffer[index] == comma else {
                    throw .at(.invalidCSV, row: row, "text follows the closing quote of field \(cells.count)")
                }
            } else {
                var cursor = index
                while cursor < line.upperBound, buffer[cursor] != comma {
                    if buffer[cursor] == quote {
                        throw .at(.invalidCSV, row: row, "a quote inside unquoted field \(cells.count + 1)")
                    }
                    cursor += 1
                }
                cells.append(Cell(text: buffer[index..<cursor], quoted: false))
                index = cursor
            }
            if index == line.upperBound { return cells }
            index += 1  // the comma
        }
    }

    private mutating func header(_ line: Range<Int>) throws(ReleaseError) {
        // A UTF-8 byte-order mark may start the file.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let header = try cells(buffer[line].starts(with: bom) ? (line.lowerBound + 3)..<line.upperBound : line, row: 0)
        var columns = [Int](repeating: -1, count: fields.count)
        for (column, cell) in header.enumerated() {
            let name = String(decoding: cell.text, as: UTF8.self)
            guard let field = fieldIndex[name] else {
                throw ReleaseError(.unknownColumn, "The header names column \(column + 1) '\(Self.shown(name))', which is no field of the dataset.",
                                   column: Self.shown(name))
            }
            guard columns[field] < 0 else {
                throw ReleaseError(.duplicateColumn, "The header names '\(name)' twice.", column: name)
            }
            columns[field] = column
        }
        if let missing = columns.firstIndex(of: -1) {
            throw ReleaseError(.missingColumn, "The header has no column '\(fields[missing].name)'.", column: fields[missing].name)
        }
        headerCount = header.count
        columnOfField = columns
    }

    private func csvRow(_ line: Range<Int>) throws(ReleaseError) -> ReleaseRow {
        let row = rowCount
        let cells = try cells(line, row: row)
        guard cells.count == headerCount else {
            throw .at(.invalidCSV, row: row, "\(cells.count) fields where the header has \(headerCount)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(line.count + fields.count * 4)
        var index: [IndexedValue] = []
        for (position, field) in fields.enumerated() {
            if position > 0 { out.append(ReleaseRow.separator) }
            let cell = cells[columnOfField![position]]
            if cell.text.isEmpty, !cell.quoted || field.type != .string {
                out.append(contentsOf: "null".utf8)
                continue
            }
            try append(cell.text, field: field, row: row, to: &out, index: &index)
        }
        return ReleaseRow(number: row, encoded: String(decoding: out, as: UTF8.self), index: index)
    }

    private func append(_ text: ArraySlice<UInt8>, field: DatasetField, row: Int64,
                        to out: inout [UInt8], index: inout [IndexedValue]) throws(ReleaseError) {
        let start = out.count
        if let problem = ReleaseValue.encode(text, as: field.type, into: &out) {
            throw .at(.invalidValue, row: row, column: field.name, problem)
        }
        guard field.filterable, field.type.isFilterable else { return }
        let key: String = switch field.type {
        case .integer, .boolean: String(decoding: out[start...], as: UTF8.self)
        default: String(decoding: text, as: UTF8.self)
        }
        index.append(IndexedValue(field: field.name, value: key))
    }

    // MARK: NDJSON

    private func ndjsonRow(_ line: Range<Int>) throws(ReleaseError) -> ReleaseRow {
        let row = rowCount
        var parser = JSONLineParser(bytes: buffer[line], row: row)
        var values = [ReleaseReaderToken?](repeating: nil, count: fields.count)
        var present = [Bool](repeating: false, count: fields.count)
        parser.skipSpace()
        try parser.expect(UInt8(ascii: "{"))
        parser.skipSpace()
        if !parser.take(UInt8(ascii: "}")) {
            while true {
                parser.skipSpace()
                let key = try parser.string()
                let name = String(decoding: key, as: UTF8.self)
                guard let field = fieldIndex[name] else {
                    throw .at(.unknownColumn, row: row, column: Self.shown(name), "a member that names no field of the dataset")
                }
                guard !present[field] else { throw .at(.duplicateColumn, row: row, column: name, "the member appears twice") }
                present[field] = true
                parser.skipSpace()
                try parser.expect(UInt8(ascii: ":"))
                parser.skipSpace()
                values[field] = try parser.value()
                parser.skipSpace()
                if parser.take(UInt8(ascii: ",")) { continue }
                try parser.expect(UInt8(ascii: "}"))
                break
            }
        }
        parser.skipSpace()
        guard parser.atEnd else { throw .at(.invalidNDJSON, row: row, "text after the object") }
        if let missing = present.firstIndex(of: false) {
            throw .at(.missingColumn, row: row, column: fields[missing].name, "the member is missing")
        }
        var out: [UInt8] = []
        out.reserveCapacity(line.count + fields.count * 4)
        var index: [IndexedValue] = []
        for (position, field) in fields.enumerated() {
            if position > 0 { out.append(ReleaseRow.separator) }
            let text: ArraySlice<UInt8>
            switch values[position]! {
            case .null:
                out.append(contentsOf: "null".utf8)
                continue
            case .nested:
                throw .at(.invalidValue, row: row, column: field.name, "an array or object where a \(field.type.rawValue) belongs")
            case .boolean(let value):
                guard field.type == .boolean else {
                    throw .at(.invalidValue, row: row, column: field.name, "a boolean where a \(field.type.rawValue) belongs")
                }
                text = Array((value ? "true" : "false").utf8)[...]
            case .number(let digits):
                guard field.type == .integer || field.type == .decimal else {
                    throw .at(.invalidValue, row: row, column: field.name, "a number where a \(field.type.rawValue) belongs")
                }
                text = digits
            case .string(let content):
                guard field.type != .integer, field.type != .decimal, field.type != .boolean else {
                    throw .at(.invalidValue, row: row, column: field.name, "a string where a \(field.type.rawValue) belongs")
                }
                text = content
            }
            try append(text, field: field, row: row, to: &out, index: &index)
        }
        return ReleaseRow(number: row, encoded: String(decoding: out, as: UTF8.self), index: index)
    }

    /// A column name as a detail may show it: at most 64 characters, control characters replaced.
    private static func shown(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}

/// A member value of an NDJSON line.
private enum ReleaseReaderToken {
    case null
    case boolean(Bool)
    case number(ArraySlice<UInt8>)
    case string(ArraySlice<UInt8>)
    case nested
}

/// Reads the one JSON object of an NDJSON line: scalar members only.
private struct JSONLineParser {
    let bytes: ArraySlice<UInt8>
    let row: Int64
    var index: Int

    init(bytes: ArraySlice<UInt8>, row: Int64) {
        self.bytes = bytes
        self.row = row
        self.index = bytes.startIndex
    }

    var atEnd: Bool { index == bytes.endIndex }

    mutating func skipSpace() {
        while index < bytes.endIndex, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.endIndex, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws(ReleaseError) {
        guard take(byte) else { throw invalid("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    func invalid(_ what: String) -> ReleaseError {
        .at(.invalidNDJSON, row: row, "\(what) at byte \(index - bytes.startIndex + 1) of the line")
    }

    fileprivate mutating func value() throws(ReleaseError) -> ReleaseReaderToken {
        guard index < bytes.endIndex else { throw invalid("a value is missing") }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .boolean(true)
        case UInt8(ascii: "f"): try literal("false"); return .boolean(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), 0x30...0x39: return .number(try number())
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            try skipNested()
            return .nested
        default: throw invalid("not a JSON value")
        }
    }

    mutating func literal(_ word: String) throws(ReleaseError) {
        for byte in word.utf8 {
            guard take(byte) else { throw invalid("not a JSON value") }
        }
    }

    /// A JSON number; its text.
    mutating func number() throws(ReleaseError) -> ArraySlice<UInt8> {
        let start = index
        _ = take(UInt8(ascii: "-"))
        func digits(_ parser: inout JSONLineParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.endIndex, parser.bytes[parser.index] >= 0x30, parser.bytes[parser.index] <= 0x39 {
                parser.index += 1
            }
            return parser.index - from
        }
        let wholeStart = index
        let whole = digits(&self)
        guard whole > 0, !(whole > 1 && bytes[wholeStart] == 0x30) else { throw invalid("a malformed number") }
        if take(UInt8(ascii: ".")) {
            guard digits(&self) > 0 else { throw invalid("a malformed number") }
        }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits(&self) > 0 else { throw invalid("a malformed number") }
        }
        return bytes[start..<index]
    }

    /// A JSON string; its content, unescaped.
    mutating func string() throws(ReleaseError) -> ArraySlice<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = index
        var unescaped: [UInt8]? = nil
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let content = unescaped.map { $0[...] } ?? bytes[start..<index]
                index += 1
                return content
            }
            if byte < 0x20 { throw invalid("a control character in a string") }
            if byte == UInt8(ascii: "\\") {
                if unescaped == nil { unescaped = Array(bytes[start..<index]) }
                index += 1
                guard index < bytes.endIndex else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped!.append(escape)
                case UInt8(ascii: "b"): unescaped!.append(0x08)
                case UInt8(ascii: "f"): unescaped!.append(0x0C)
                case UInt8(ascii: "n"): unescaped!.append(0x0A)
                case UInt8(ascii: "r"): unescaped!.append(0x0D)
                case UInt8(ascii: "t"): unescaped!.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")) else { throw invalid("a lone surrogate") }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw invalid("a lone surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw invalid("a lone surrogate")
                    }
                    unescaped!.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw invalid("an unknown escape")
                }
                continue
            }
            unescaped?.append(byte)
            index += 1
        }
        throw invalid("a string is not closed")
    }

    mutating func hex4() throws(ReleaseError) -> UInt32 {
        guard bytes.endIndex - index >= 4 else { throw invalid("a short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw invalid("a malformed \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Skips an array or object (its members are not looked at, only balanced).
    mutating func skipNested() throws(ReleaseError) {
        var depth = 0
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                index += 1
                if depth == 0 { return }
            case UInt8(ascii: "\""):
                _ = try string()
            default:
                index += 1
            }
        }
        throw invalid("an array or object is not closed")
    }
}
