/// A ZIP archive (PKWARE APPNOTE 6.3.10) of stored, uncompressed entries, written the same way
/// every time: entries in the order added, every date 1980-01-01 00:00, no extra fields, no
/// comments. Enough for an XLSX workbook, whose parts are small; not ZIP64, so an entry and the
/// whole archive stay below 4 GiB and 65,535 entries.
struct ZIPArchive {
    private(set) var entries: [(name: String, bytes: [UInt8])] = []

    /// Adds an entry; `name` is a relative path with `/` separators, unique in the archive.
    mutating func add(_ name: String, _ bytes: [UInt8]) {
        precondition(!entries.contains { $0.name == name }, "one entry per name")
        entries.append((name, bytes))
    }

    /// MS-DOS date of 1980-01-01 (year since 1980 << 9 | month << 5 | day) at time 00:00: no clock
    /// is read, so the same parts always give the same archive.
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let dosTime: UInt16 = 0
    /// 2.0, the version that reads stored entries in folders; what spreadsheet programs write.
    static let version: UInt16 = 20

    /// Local headers and data, then the central directory and its end record.
    func bytes() -> [UInt8] {
        precondition(entries.count <= Int(UInt16.max), "not ZIP64")
        var out: [UInt8] = []
        var directory: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = CRC32.checksum(entry.bytes)
            let offset = out.count
            precondition(entry.bytes.count < Int(UInt32.max) && offset < Int(UInt32.max), "not ZIP64")
            let size = UInt32(entry.bytes.count)

            out.append(le: 0x0403_4B50 as UInt32)
            out.append(le: Self.version)
            out.append(le: 0 as UInt16)                  // flags
            out.append(le: 0 as UInt16)                  // method: stored
            out.append(le: Self.dosTime)
            out.append(le: Self.dosDate)
            out.append(le: crc)
            out.append(le: size)                         // compressed
            out.append(le: size)                         // uncompressed
            out.append(le: UInt16(name.count))
            out.append(le: 0 as UInt16)                  // extra field length
            out += name
            out += entry.bytes

            directory.append(le: 0x0201_4B50 as UInt32)
            directory.append(le: Self.version)           // made by: MS-DOS attributes, 2.0
            directory.append(le: Self.version)           // needed to extract
            directory.append(le: 0 as UInt16)
            directory.append(le: 0 as UInt16)
            directory.append(le: Self.dosTime)
            directory.append(le: Self.dosDate)
            directory.append(le: crc)
            directory.append(le: size)
            directory.append(le: size)
            directory.append(le: UInt16(name.count))
            directory.append(le: 0 as UInt16)            // extra field length
            directory.append(le: 0 as UInt16)            // comment length
            directory.append(le: 0 as UInt16)            // disk number
            directory.append(le: 0 as UInt16)            // internal attributes
            directory.append(le: 0 as UInt32)            // external attributes
            directory.append(le: UInt32(offset))
            directory += name
        }
        let directoryOffset = out.count
        precondition(directoryOffset + directory.count < Int(UInt32.max), "not ZIP64")
        out += directory
        out.append(le: 0x0605_4B50 as UInt32)
        out.append(le: 0 as UInt16)                      // this disk
        out.append(le: 0 as UInt16)                      // disk with the directory
        out.append(le: UInt16(entries.count))
        out.append(le: UInt16(entries.count))
        out.append(le: UInt32(directory.count))
        out.append(le: UInt32(directoryOffset))
        out.append(le: 0 as UInt16)                      // comment length
        return out
    }
}

/// CRC-32 as ZIP uses it (ISO 3309: polynomial 0xEDB88320 reflected, initial and final value all
/// ones); `123456789` gives `0xCBF43926`.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension [UInt8] {
    fileprivate mutating func append(le value: some FixedWidthInteger) {
        for shift in stride(from: 0, to: value.bitWidth, by: 8) { append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
