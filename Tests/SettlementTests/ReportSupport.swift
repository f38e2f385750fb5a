import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The report behind `Contracts/vectors/settlement/`: its README lists these inputs.
enum SampleReport {
    static let period = Period(year: 2026, month: 10)!
    /// 2026-11-03T02:00:00.000Z, 10:00 in Beijing.
    static let closedAt = Timestamp.date(milliseconds: 1_793_671_200_000)

    static func counter(grant: String, dataset: String, unit: MeteringUnit, operator operatorID: String, authority: String,
                        quantity: Int64, events: Int64, first: UInt64, last: UInt64,
                        gateway: (quantity: Int64, events: Int64) = (0, 0),
                        upstream: (quantity: Int64, events: Int64) = (0, 0)) -> UsageCounter {
        UsageCounter(key: CounterKey(grantID: grant, datasetID: dataset, unit: unit, period: period),
                     operatorID: operatorID, authorityID: authority, quantity: quantity, events: events,
                     firstLogIndex: first, lastLogIndex: last, gatewayQuantity: gateway.quantity, gatewayEvents: gateway.events,
                     upstreamQuantity: upstream.quantity, upstreamEvents: upstream.events)
    }

    /// The September line the adjustment corrects.
    static let corrected = SettlementLine(
        id: "2026-09/grt_b2/gz-transit/call", kind: .usage, grantID: "grt_b2", operatorID: "op_b", datasetID: "gz-transit",
        authorityID: "gz", unit: .call, scenario: .industry, quantity: 24_700, unitPrice: UnitPrice("0.05")!, tiers: [],
        amountMinor: 123_500, authorityBPS: 2_000, platformBPS: 1_000, authorityMinor: 24_700, platformMinor: 12_350,
        operatorMinor: 86_450, eventCount: 310, logIndexFirst: 40, logIndexLast: 96, corrects: nil, reason: nil)

    static var input: PeriodCloseInput { input(formatVersion: SettlementReport.currentFormatVersion) }

    /// The inputs in report format `formatVersion`. From format 2 the lines have sources: line 1 is
    /// `mixed` (10000 of its 12345 calls metered at the source), line 2 `declared`, line 3 `gateway`
    /// in format 2 and `upstream` from format 3 (its 5000 calls forwarded to the authority's interface).
    /// From format 3 the declared line 2 also shows Shanghai's own count of it, 998 records.
    /// Format 1 had only declared usage.
    static func input(formatVersion: Int) -> PeriodCloseInput {
        let metered = formatVersion >= 2
        let forwarded = formatVersion >= 3
        return PeriodCloseInput(
            period: period, currency: .cny, platformFeeBPS: 1_000,
            usage: [
                RatedUsage(counter: counter(grant: "grt_a1", dataset: "bj-traffic-flow", unit: .call, operator: "op_a",
                                            authority: "bj", quantity: 12_345, events: 120, first: 110, last: 250,
                                            gateway: metered ? (10_000, 100) : (0, 0)),
                           scenario: .industry, pricing: .perUnit(UnitPrice("0.04")!), revenueShareBPS: 3_000),
                RatedUsage(counter: counter(grant: "grt_a1", dataset: "sh-weather", unit: .record, operator: "op_a",
                                            authority: "sh", quantity: 1_001, events: 7, first: 120, last: 236),
                           scenario: .industry,
                           pricing: .graduated([PriceTier(upTo: 100, unitPrice: UnitPrice("0.015")!),
                                                PriceTier(upTo: 1_000, unitPrice: UnitPrice("0.011")!),
                                                PriceTier(upTo: nil, unitPrice: UnitPrice("0.005")!)]),
                           revenueShareBPS: 2_500),
                RatedUsage(counter: counter(grant: "grt_b1", dataset: "bj-traffic-flow", unit: .call, operator: "op_b",
                                            authority: "bj", quantity: 5_000, events: 50, first: 130, last: 260,
                                            gateway: metered && !forwarded ? (5_000, 50) : (0, 0),
                                            upstream: forwarded ? (5_000, 50) : (0, 0)),
                           scenario: .publicInterest, pricing: .perUnit(UnitPrice("0.04")!), revenueShareBPS: 3_000),
            ],
            adjustments: [
                Adjustment(id: "adj_0f3a", period: period, corrected: corrected, amountMinor: -1_235,
                           reason: "retries counted twice, see \"ticket 4471\"; 重复计费", actor: "principal:fin_1",
                           at: Timestamp.date(milliseconds: 1_792_461_600_000)),
            ],
            revenueCaps: ["op_a": 1_000_000], incomeBefore: ["op_a": 980_000], formatVersion: formatVersion,
            // The authorities' own counts: shown from format 3 beside the declared line only (line 2);
            // line 1 is mixed, so Beijing's figure for it is not shown.
            providerQuantities: [
                CounterKey(grantID: "grt_a1", datasetID: "sh-weather", unit: .record, period: period): 998,
                CounterKey(grantID: "grt_a1", datasetID: "bj-traffic-flow", unit: .call, period: period): 12_000,
            ])
    }

    static func report(formatVersion: Int = SettlementReport.currentFormatVersion) throws -> SettlementReport {
        try PeriodClose.settle(input(formatVersion: formatVersion), closedAt: closedAt)
    }
}

/// Golden vectors under `Contracts/vectors/`, found from this file's location.
enum Vectors {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SettlementTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Contracts/vectors")

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(path)))
    }
}

// MARK: - Reading renderings back, independently of the writers

/// An RFC 4180 reader: rows of fields, quotes undone. Fails on a row not ended by CRLF.
func csvRows(_ bytes: [UInt8]) throws -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field: [UInt8] = []
    var index = 0
    var quoted = false
    while index < bytes.count {
        let byte = bytes[index]
        if quoted {
            if byte == UInt8(ascii: "\"") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                    field.append(byte)
                    index += 1
                } else {
                    quoted = false
                }
            } else {
                field.append(byte)
            }
        } else if byte == UInt8(ascii: "\"") {
            try #require(field.isEmpty, "a quote inside an unquoted field")
            quoted = true
        } else if byte == UInt8(ascii: ",") {
            row.append(String(decoding: field, as: UTF8.self))
            field = []
        } else if byte == 0x0D {
            try #require(index + 1 < bytes.count && bytes[index + 1] == 0x0A, "CR without LF")
            row.append(String(decoding: field, as: UTF8.self))
            rows.append(row)
            row = []
            field = []
            index += 1
        } else {
            try #require(byte != 0x0A, "a bare LF outside quotes")
            field.append(byte)
        }
        index += 1
    }
    try #require(!quoted && row.isEmpty && field.isEmpty, "the last row must end with CRLF")
    return rows
}

/// CSV rows as dictionaries by header name.
func csvRecords(_ bytes: [UInt8]) throws -> (header: [String], records: [[String: String]]) {
    let rows = try csvRows(bytes)
    let header = try #require(rows.first)
    for row in rows { try #require(row.count == header.count, "every row has the header's field count") }
    return (header, rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) })
}

/// An exact decimal (`-12.34`) in minor units of a currency with `digits` places.
func minorUnits(_ text: String, digits: Int = 2) throws -> Int64 {
    let negative = text.hasPrefix("-")
    let parts = text.dropFirst(negative ? 1 : 0).split(separator: ".", omittingEmptySubsequences: false)
    try #require(parts.count == (digits == 0 ? 1 : 2))
    if digits > 0 { try #require(parts[1].count == digits) }
    let value = try #require(Int64(parts.joined()))
    return negative ? -value : value
}

/// Bitwise CRC-32 (no table), to check the writer's table-driven one.
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
}

/// A ZIP reader for stored entries that checks what a strict unzipper checks: the end record, the
/// central directory, each local header agreeing with it, every CRC, and that the parts leave no gap.
func zipEntries(_ bytes: [UInt8]) throws -> [(name: String, bytes: [UInt8])] {
    // Out of bounds reads as -1, which no check accepts.
    func u16(_ at: Int) -> Int {
        guard at >= 0, at + 2 <= bytes.count else { return -1 }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }
    func u32(_ at: Int) -> Int {
        guard at >= 0, at + 4 <= bytes.count else { return -1 }
        return u16(at) | u16(at + 2) << 16
    }
    let end = bytes.count - 22
    try #require(end >= 0 && u32(end) == 0x0605_4B50, "an end record with no comment")
    let count = u16(end + 10)
    #expect(u16(end + 8) == count)
    let directorySize = u32(end + 12)
    let directoryOffset = u32(end + 16)
    #expect(directoryOffset + directorySize == end)
    var entries: [(name: String, bytes: [UInt8])] = []
    var at = directoryOffset
    var expectedOffset = 0
    for _ in 0..<count {
        try #require(u32(at) == 0x0201_4B50, "a central directory header")
        let method = u16(at + 10)
        let time = u16(at + 12), date = u16(at + 14)
        let crc = u32(at + 16), compressed = u32(at + 20), size = u32(at + 24)
        let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
        let offset = u32(at + 42)
        try #require(nameLength >= 0 && at + 46 + nameLength <= bytes.count)
        let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
        #expect(method == 0 && compressed == size, "stored")
        #expect(time == 0 && date == 0x21, "1980-01-01 00:00")
        #expect(offset == expectedOffset, "entries follow each other without gaps")

        try #require(u32(offset) == 0x0403_4B50, "a local header for \(name)")
        #expect(u16(offset + 8) == method)
        #expect(u32(offset + 14) == crc && u32(offset + 18) == compressed && u32(offset + 22) == size)
        let localNameLength = u16(offset + 26), localExtra = u16(offset + 28)
        try #require(localNameLength >= 0 && localExtra >= 0 && offset + 30 + localNameLength <= bytes.count)
        #expect(String(decoding: bytes[(offset + 30)..<(offset + 30 + localNameLength)], as: UTF8.self) == name)
        let dataStart = offset + 30 + localNameLength + localExtra
        try #require(size >= 0 && dataStart + size <= directoryOffset)
        let data = Array(bytes[dataStart..<(dataStart + size)])
        #expect(UInt32(crc) == referenceCRC32(data), "CRC of \(name)")
        entries.append((name, data))
        expectedOffset = dataStart + size
        at += 46 + nameLength + extraLength + commentLength
    }
    #expect(expectedOffset == directoryOffset && at == end)
    return entries
}

/// A worksheet's cells by reference (`B7`), as a spreadsheet program would read them.
struct SheetCell: Equatable {
    var type: String?
    var style: String?
    var value: String
}

/// Parses `xml` with Foundation's XML parser (so it must be well-formed) and collects its cells.
final class SheetReader: NSObject, XMLParserDelegate {
    private(set) var cells: [String: SheetCell] = [:]
    private(set) var rows: [Int] = []
    private var current: (reference: String, cell: SheetCell)?
    private var text: String?

    static func read(_ xml: [UInt8]) throws -> SheetReader {
        let reader = SheetReader()
        let parser = XMLParser(data: Data(xml))
        parser.delegate = reader
        try #require(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
        return reader
    }

    /// Only checks that `xml` is well-formed.
    static func isWellFormed(_ xml: [UInt8]) -> Bool {
        XMLParser(data: Data(xml)).parse()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "row": rows.append(Int(attributes["r"] ?? "") ?? -1)
        case "c": current = (attributes["r"] ?? "?", SheetCell(type: attributes["t"], style: attributes["s"], value: ""))
        case "v", "t": text = ""
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text? += string
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "v", "t":
            current?.cell.value += text ?? ""
            text = nil
        case "c":
            if let current { cells[current.reference] = current.cell }
            current = nil
        default: break
        }
    }

    /// The cells of row `row`, in column order A, B, …, as far as `columns` goes.
    func row(_ row: Int, columns: Int) -> [SheetCell?] {
        (0..<columns).map { cells["\(XLSX.column($0))\(row)"] }
    }
}

/// The parts of an XLSX rendering by name.
func xlsxParts(_ bytes: [UInt8]) throws -> [String: [UInt8]] {
    Dictionary(uniqueKeysWithValues: try zipEntries(bytes).map { ($0.name, $0.bytes) })
}

// MARK: - Random reports

/// A random period-close input: a few operators and authorities, per-unit and graduated prices,
/// public-interest lines, adjustments both ways, and revenue caps that some operators pass.
func randomInput(seed: UInt64) -> PeriodCloseInput {
    var random = SplitMix64(seed: seed)
    let period = Period(year: 2026, month: Int.random(in: 1...12, using: &random))!
    let operators = (0..<Int.random(in: 1...4, using: &random)).map { "op_\($0)" }
    let authorities = (0..<Int.random(in: 1...3, using: &random)).map { "auth-\($0)" }
    func price() -> UnitPrice { UnitPrice(micros: Int64.random(in: 0...2_000_000, using: &random)) }
    var usage: [RatedUsage] = []
    for index in 0..<Int.random(in: 0...12, using: &random) {
        let quantity = Int64.random(in: 0...2_000_000, using: &random)
        let events = min(quantity, Int64.random(in: 1...500, using: &random))
        let first = UInt64.random(in: 0...100_000, using: &random)
        let counter = UsageCounter(
            key: CounterKey(grantID: "grt_\(index)", datasetID: "ds-\(index % 5)", unit: MeteringUnit.allCases.randomElement(using: &random)!,
                            period: period),
            operatorID: operators.randomElement(using: &random)!, authorityID: authorities.randomElement(using: &random)!,
            quantity: quantity, events: events, firstLogIndex: first, lastLogIndex: first + UInt64(events))
        let pricing: Pricing = Bool.random(using: &random)
            ? .perUnit(price())
            : .graduated([PriceTier(upTo: 1_000, unitPrice: price()), PriceTier(upTo: 50_000, unitPrice: price()),
                          PriceTier(upTo: nil, unitPrice: price())])
        usage.append(RatedUsage(counter: counter, scenario: Int.random(in: 0..<5, using: &random) == 0 ? .publicInterest : .industry,
                                pricing: pricing, revenueShareBPS: Int.random(in: 0...10_000, using: &random)))
    }
    var adjustments: [Adjustment] = []
    for index in 0..<Int.random(in: 0...3, using: &random) {
        let authorityBPS = Int.random(in: 0...10_000, using: &random)
        let corrected = SettlementLine(
            id: "earlier/\(index)", kind: .usage, grantID: "grt_old", operatorID: operators.randomElement(using: &random)!,
            datasetID: "ds-old", authorityID: authorities.randomElement(using: &random)!, unit: .call, scenario: .industry,
            quantity: 1, unitPrice: .zero, tiers: [], amountMinor: 0, authorityBPS: authorityBPS,
            platformBPS: Int.random(in: 0...(10_000 - authorityBPS), using: &random), authorityMinor: 0, platformMinor: 0,
            operatorMinor: 0, eventCount: 1, logIndexFirst: 1, logIndexLast: 1, corrects: nil, reason: nil)
        adjustments.append(Adjustment(id: "adj_\(index)", period: period, corrected: corrected,
                                      amountMinor: Int64.random(in: -500_000...500_000, using: &random),
                                      reason: "=cmd|' /C calc'!A0, \"quoted\"\n第\(index)行", actor: "principal:fin",
                                      at: Timestamp.date(milliseconds: 1_790_000_000_000)))
    }
    var caps: [String: Int64] = [:]
    var before: [String: Int64] = [:]
    for id in operators where Bool.random(using: &random) {
        caps[id] = Int64.random(in: 0...2_000_000, using: &random)
        before[id] = Int64.random(in: 0...2_000_000, using: &random)
    }
    return PeriodCloseInput(period: period, currency: .cny, platformFeeBPS: Int.random(in: 0...3_000, using: &random),
                            usage: usage, adjustments: adjustments, revenueCaps: caps, incomeBefore: before)
}

func randomReport(seed: UInt64) throws -> SettlementReport {
    try PeriodClose.settle(randomInput(seed: seed),
                           closedAt: Timestamp.date(milliseconds: 1_790_000_000_000 + Int64(seed % 1_000_000_007)))
}
