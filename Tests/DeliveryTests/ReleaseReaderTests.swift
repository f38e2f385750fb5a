import AuditLog
import Cryptography
import Delivery
import Licensing
import Testing

/// The streaming reader: RFC 4180 CSV and NDJSON, every value checked against its field, the
/// stored row form, and the same rows whatever the chunking.
@Suite struct ReleaseReaderTests {
    static let fields = [
        DatasetField(name: "station", type: .string, sensitive: false, filterable: true),
        DatasetField(name: "count", type: .integer, sensitive: false, filterable: true),
        DatasetField(name: "speed", type: .decimal, sensitive: false),
        DatasetField(name: "open", type: .boolean, sensitive: false, filterable: true),
        DatasetField(name: "day", type: .date, sensitive: false, filterable: true),
    ]

    static func read(_ text: String, _ type: ReleaseMediaType = .csv, fields: [DatasetField] = fields,
                     policy: ReleasePolicy = ReleasePolicy(), chunks: [Int]? = nil) throws(ReleaseError) -> (rows: [ReleaseRow], reader: ReleaseReader) {
        var reader = ReleaseReader(fields: fields, mediaType: type, policy: policy)
        let bytes = Array(text.utf8)
        var rows: [ReleaseRow] = []
        var offset = 0
        var sizes = (chunks ?? [bytes.count]).makeIterator()
        while offset < bytes.count {
            let size = max(1, sizes.next() ?? bytes.count)
            let end = min(bytes.count, offset + size)
            rows += try reader.consume(bytes[offset..<end])
            offset = end
        }
        rows += try reader.finish()
        return (rows, reader)
    }

    static func error(_ text: String, _ type: ReleaseMediaType = .csv, fields: [DatasetField] = fields,
                      policy: ReleasePolicy = ReleasePolicy()) -> ReleaseError? {
        do {
            _ = try read(text, type, fields: fields, policy: policy)
            return nil
        } catch {
            return error
        }
    }

    static let sample = "\u{FEFF}day,station,count,speed,open\r\n"
        + "2026-01-02,\"Xizhimen, north\",007,12.50,true\r\n"
        + "2026-01-03,\"say \"\"hi\"\"\n2nd line\",-0,-003.25,false\r\n"
        + "2026-01-04,,,,\r\n"
        + "2026-01-05,\"\",12,0,true"

    @Test func readsQuotedCSVWithBOMCRLFAndEmbeddedNewlines() throws {
        let (rows, reader) = try Self.read(Self.sample)
        #expect(rows.map(\.number) == [1, 2, 3, 4])
        #expect(rows[0].encoded == "\"Xizhimen, north\"\u{1F}7\u{1F}12.50\u{1F}true\u{1F}\"2026-01-02\"")
        #expect(rows[1].encoded == "\"say \\\"hi\\\"\\n2nd line\"\u{1F}0\u{1F}-3.25\u{1F}false\u{1F}\"2026-01-03\"")
        #expect(rows[2].encoded == "null\u{1F}null\u{1F}null\u{1F}null\u{1F}\"2026-01-04\"")
        #expect(rows[3].encoded == "\"\"\u{1F}12\u{1F}0\u{1F}true\u{1F}\"2026-01-05\"")
        #expect(rows[0].index == [
            IndexedValue(field: "station", value: "Xizhimen, north"), IndexedValue(field: "count", value: "7"),
            IndexedValue(field: "open", value: "true"), IndexedValue(field: "day", value: "2026-01-02"),
        ])
        #expect(rows[2].index == [IndexedValue(field: "day", value: "2026-01-04")])
        #expect(reader.rowCount == 4)
        #expect(reader.byteCount == Int64(Self.sample.utf8.count))
        #expect(reader.sha256 == SHA256.hash(Array(Self.sample.utf8)))
    }

    @Test func fragmentsSplitTheStoredRowByField() throws {
        let (rows, _) = try Self.read(Self.sample)
        let fragments = ReleaseRow.fragments(of: rows[1].encoded)
        #expect(fragments == ["\"say \\\"hi\\\"\\n2nd line\"", "0", "-3.25", "false", "\"2026-01-03\""])
        // Each fragment is a JSON value, so an object built from them parses.
        let object = "{" + zip(Self.fields, fragments).map { "\"\($0.name)\":\($1)" }.joined(separator: ",") + "}"
        let parsed = try JSONValue.parse(Array(object.utf8))
        #expect(parsed["station"] == .string("say \"hi\"\n2nd line"))
        #expect(parsed["day"] == .string("2026-01-03"))
    }

    @Test func readsNDJSON() throws {
        let text = """
            {"station":"A\\u00e9\\ud83d\\ude00","count":42,"speed":1.5,"open":true,"day":"2026-02-28"}
            {"day":null,"open":false,"speed":null,"count":-9223372036854775808,"station":null}

            """
        let (rows, reader) = try Self.read(text, .ndjson)
        #expect(rows.count == 2)
        #expect(rows[0].encoded == "\"Aé😀\"\u{1F}42\u{1F}1.5\u{1F}true\u{1F}\"2026-02-28\"")
        #expect(rows[1].encoded == "null\u{1F}-9223372036854775808\u{1F}null\u{1F}false\u{1F}null")
        #expect(rows[0].index.first == IndexedValue(field: "station", value: "Aé😀"))
        #expect(reader.sha256 == SHA256.hash(Array(text.utf8)))
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func chunkBoundariesChangeNothing(seed: Int) throws {
        let whole = try Self.read(Self.sample).rows
        let ndjsonText = "{\"station\":\"é\\\"x\",\"count\":1,\"speed\":2.0,\"open\":true,\"day\":\"2026-01-01\"}\r\n"
            + "{\"station\":\"北京\",\"count\":2,\"speed\":null,\"open\":false,\"day\":null}\n"
        let ndjsonWhole = try Self.read(ndjsonText, .ndjson).rows
        var random = SplitMix(seed: UInt64(seed))
        let sizes = (0..<400).map { _ in seed == 1 ? 1 : Int(random.next() % UInt64(seed * 3)) + 1 }
        #expect(try Self.read(Self.sample, chunks: sizes).rows == whole)
        #expect(try Self.read(ndjsonText, .ndjson, chunks: sizes).rows == ndjsonWhole)
    }

    @Test func digestAndCountsDoNotDependOnChunking() throws {
        let (_, one) = try Self.read(Self.sample)
        let (_, many) = try Self.read(Self.sample, chunks: Array(repeating: 1, count: 1000))
        #expect(one.sha256 == many.sha256)
        #expect(one.byteCount == many.byteCount)
    }

    static let header = "station,count,speed,open,day\n"

    @Test(arguments: [
        // (input, code, row, column)
        (header + "a,1,1.0,true,2026-01-01\nb,x1,1.0,true,2026-01-01\n", "invalid_value", 2, "count"),
        (header + "a,99999999999999999999,1,true,2026-01-01\n", "invalid_value", 1, "count"),
        (header + "a,1,1.,true,2026-01-01\n", "invalid_value", 1, "speed"),
        (header + "a,1,1e3,true,2026-01-01\n", "invalid_value", 1, "speed"),
        (header + "a,1,1,TRUE,2026-01-01\n", "invalid_value", 1, "open"),
        (header + "a,1,1,true,2026-02-30\n", "invalid_value", 1, "day"),
        (header + "a,1,1,true,2026-1-01\n", "invalid_value", 1, "day"),
        (header + "a\u{0}b,1,1,true,2026-01-01\n", "invalid_value", 1, "station"),
        (header + "a,1,1,true\n", "invalid_csv", 1, nil),
        (header + "a,1,1,true,2026-01-01,extra\n", "invalid_csv", 1, nil),
        (header + "a\"b,1,1,true,2026-01-01\n", "invalid_csv", 1, nil),
        (header + "\"a\"b,1,1,true,2026-01-01\n", "invalid_csv", 1, nil),
        (header + "a,1,1,true,2026-01-01\n\"open,1,1,true,2026-01-01\n", "invalid_csv", 2, nil),
        (header + "a,1,1,true,2026-01-01\n\nb,1,1,true,2026-01-01\n", "invalid_csv", 2, nil),
        ("station,count,speed,open,day,extra\na,1,1,true,2026-01-01,x\n", "unknown_column", nil, "extra"),
        ("station,count,speed,open\na,1,1,true\n", "missing_column", nil, "day"),
        ("station,count,count,speed,open,day\n", "duplicate_column", nil, "count"),
        (header, "empty_release", nil, nil),
        ("", "empty_release", nil, nil),
    ] as [(String, String, Int?, String?)])
    func refusesBadCSV(_ bad: (input: String, code: String, row: Int?, column: String?)) {
        let (input, code, row, column) = bad
        let error = Self.error(input)
        #expect(error?.code.rawValue == code)
        #expect(error?.row == row.map(Int64.init))
        #expect(error?.column == column)
        if let row, let column { #expect(error?.detail.hasPrefix("row \(row), column '\(column)'") == true) }
    }

    @Test(arguments: [
        ("{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true,\"day\":\"2026-01-01\"}\n{\"station\":\"a\",\"count\":\"1\",\"speed\":1,\"open\":true,\"day\":null}\n",
         "invalid_value", 2, "count"),
        ("{\"station\":1,\"count\":1,\"speed\":1,\"open\":true,\"day\":null}", "invalid_value", 1, "station"),
        ("{\"station\":\"a\",\"count\":1.5,\"speed\":1,\"open\":true,\"day\":null}", "invalid_value", 1, "count"),
        ("{\"station\":\"a\",\"count\":1,\"speed\":1e2,\"open\":true,\"day\":null}", "invalid_value", 1, "speed"),
        ("{\"station\":[1],\"count\":1,\"speed\":1,\"open\":true,\"day\":null}", "invalid_value", 1, "station"),
        ("{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true,\"day\":null,\"x\":1}", "unknown_column", 1, "x"),
        ("{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true}", "missing_column", 1, "day"),
        ("{\"station\":\"a\",\"station\":\"b\",\"count\":1,\"speed\":1,\"open\":true,\"day\":null}", "duplicate_column", 1, "station"),
        ("{\"station\":\"a\",\"count\":01,\"speed\":1,\"open\":true,\"day\":null}", "invalid_ndjson", 1, nil),
        ("{\"station\":\"a\" \"count\":1}", "invalid_ndjson", 1, nil),
        ("[1,2]", "invalid_ndjson", 1, nil),
        ("{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true,\"day\":null} x", "invalid_ndjson", 1, nil),
        ("{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true,\"day\":null}\n\n{\"station\":\"a\",\"count\":1,\"speed\":1,\"open\":true,\"day\":null}",
         "invalid_ndjson", 2, nil),
        ("\n", "empty_release", nil, nil),
    ] as [(String, String, Int?, String?)])
    func refusesBadNDJSON(_ bad: (input: String, code: String, row: Int?, column: String?)) {
        let (input, code, row, column) = bad
        let error = Self.error(input, .ndjson)
        #expect(error?.code.rawValue == code)
        #expect(error?.row == row.map(Int64.init))
        #expect(error?.column == column)
    }

    @Test func checksEveryType() throws {
        let fields = [
            DatasetField(name: "t", type: .datetime, sensitive: false),
            DatasetField(name: "g", type: .geometry, sensitive: false),
            DatasetField(name: "b", type: .binary, sensitive: false),
        ]
        let good = "t,g,b\n2026-01-02T03:04:05.678+08:00,POINT (116.4 39.9),aGVsbG8=\n2026-01-02T03:04:05Z,multipolygon EMPTY,\n"
        let rows = try Self.read(good, fields: fields).rows
        #expect(rows[0].encoded == "\"2026-01-02T03:04:05.678+08:00\"\u{1F}\"POINT (116.4 39.9)\"\u{1F}\"aGVsbG8=\"")
        #expect(rows[1].encoded == "\"2026-01-02T03:04:05Z\"\u{1F}\"multipolygon EMPTY\"\u{1F}null")
        #expect(Self.error("t,g,b\n2026-01-02 03:04:05,POINT(1 2),\n", fields: fields)?.column == "t")
        #expect(Self.error("t,g,b\n,CIRCLE(1 2),\n", fields: fields)?.column == "g")
        #expect(Self.error("t,g,b\n,POINTS(1 2),\n", fields: fields)?.column == "g")
        #expect(Self.error("t,g,b\n,,aGVsbG8\n", fields: fields)?.column == "b")
        #expect(Self.error("t,g,b\n,,a=GV\n", fields: fields)?.column == "b")
    }

    @Test func limitsRowLengthAndReleaseSize() {
        let policy = ReleasePolicy(maxBytes: 1000, maxRowBytes: 64)
        let long = Self.header + "\"" + String(repeating: "x", count: 200) + "\",1,1,true,2026-01-01\n"
        #expect(Self.error(long, policy: policy)?.code == .rowTooLong)
        #expect(Self.error(long, policy: policy)?.row == 1)
        var reader = ReleaseReader(fields: Self.fields, mediaType: .csv, policy: policy)
        var thrown: ReleaseError?
        do {
            // Chunk by chunk, the open record is refused as soon as it passes the limit.
            for _ in 0..<10 { _ = try reader.consume(Array(repeating: UInt8(ascii: "a"), count: 50)) }
        } catch {
            thrown = error
        }
        #expect(thrown?.code == .rowTooLong)
        let big = Self.header + String(repeating: "a,1,1,true,2026-01-01\n", count: 100)
        #expect(Self.error(big, policy: policy)?.code == .releaseTooLarge)
    }

    @Test func filterKeysNormalizeQueryValues() {
        #expect(ReleaseValue.filterKey(for: .integer, text: "007") == "7")
        #expect(ReleaseValue.filterKey(for: .integer, text: "-0") == "0")
        #expect(ReleaseValue.filterKey(for: .integer, text: "1.0") == nil)
        #expect(ReleaseValue.filterKey(for: .boolean, text: "true") == "true")
        #expect(ReleaseValue.filterKey(for: .boolean, text: "1") == nil)
        #expect(ReleaseValue.filterKey(for: .date, text: "2026-02-29") == nil)
        #expect(ReleaseValue.filterKey(for: .date, text: "2028-02-29") == "2028-02-29")
        #expect(ReleaseValue.filterKey(for: .string, text: " a b ") == " a b ")
        #expect(ReleaseValue.filterKey(for: .decimal, text: "1.5") == nil)
    }

    @Test func versionsAndMediaTypes() {
        #expect(ReleaseVersion.isValid("2026-01"))
        #expect(ReleaseVersion.isValid("v1.2_rc-3"))
        #expect(!ReleaseVersion.isValid(""))
        #expect(!ReleaseVersion.isValid("-1"))
        #expect(!ReleaseVersion.isValid("a/b"))
        #expect(!ReleaseVersion.isValid(String(repeating: "a", count: 65)))
        #expect(ReleaseMediaType(contentType: "text/csv; charset=utf-8") == .csv)
        #expect(ReleaseMediaType(contentType: "Application/X-NDJSON") == .ndjson)
        #expect(ReleaseMediaType(contentType: "application/json") == nil)
        #expect(ReleaseMediaType(fileName: "flow.JSONL") == .ndjson)
    }

    @Test func publishedRecordCarriesTheAgreedMembers() throws {
        let release = Release(datasetID: "bj-flow", version: "2026-01", mediaType: .csv, sha256: String(repeating: "ab", count: 32),
                              rows: 3, bytes: 120, fields: ["a", "b"], publishedAt: Timestamp.date(milliseconds: 1_700_000_000_123),
                              publishedBy: "pr_1")
        let record = DeliveryRecords.published(release, authorityID: "beijing")
        #expect(record.action == "dataset.release_published")
        #expect(record.subjects == ["dataset:bj-flow"])
        #expect(Set(record.data.keys) == ["dataset_id", "authority_id", "release", "media_type", "sha256", "rows", "bytes", "fields", "at"])
        #expect(record.data["at"] == .string("2023-11-14T22:13:20.123Z"))
        #expect(record.data["fields"] == ["a", "b"])
    }
}

/// A small deterministic generator for chunk sizes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
