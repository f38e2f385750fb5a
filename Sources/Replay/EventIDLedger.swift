import Foundation
import Licensing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The usage event ids a replay has counted, kept to find an id counted twice for one operator, in
/// memory that does not grow with the number of events.
///
/// Each event adds a record (a keyed hash of operator and id, the entry index, the operator, the
/// place it was counted, and the id itself) to a buffer of bounded size. A full buffer is sorted and
/// written as a sorted run to one temporary file; ``duplicates(limit:)`` merges the runs and compares
/// records of equal hash by their operator and id, byte for byte: the hash only orders, the decision
/// is exact. A log whose records fit the buffer never creates the file.
///
/// The file is unlinked as soon as it is created, so it is gone however the process ends; only its
/// descriptor holds it, and the last copy of the ledger closes it.
public struct EventIDLedger: Sendable {
    /// Where an event was counted: what the duplicate finding names.
    struct Place: Hashable, Sendable {
        var grantID: String
        var datasetID: String
        var unit: MeteringUnit
    }

    /// An event id counted a second time for its operator, at entry `seq`.
    struct Duplicate: Sendable {
        var seq: UInt64
        var operatorID: String
        var eventID: String
        var place: Place
    }

    /// How large the buffer may grow before it is spilled.
    public struct Limits: Sendable {
        /// Records per run.
        public var records: Int
        /// Bytes of records per run.
        public var bytes: Int

        /// Limits of `records` records and `bytes` bytes a run.
        public init(records: Int, bytes: Int) {
            self.records = records
            self.bytes = bytes
        }

        /// About 48 MB of buffer: 32 MiB of records and their sort index (16 bytes a record).
        public static let standard = Limits(records: 1 << 20, bytes: 32 << 20)
    }

    /// The directory of the temporary file; nil for `$TMPDIR`, else `/tmp`.
    let temporaryDirectory: String?
    let limits: Limits

    /// The records not yet spilled, back to back: hash, seq, operator, place, id length, id.
    private var buffer: [UInt8] = []
    /// Each buffered record's hash and offset, for sorting.
    private var order: [(hash: UInt64, offset: UInt32)] = []
    /// The runs written, in log order: where each starts in the file and how long it is.
    private var runs: [(offset: Int64, length: Int64)] = []
    private var file: SpillFile?
    /// Set when the buffer could not be spilled; it then grows in memory.
    private(set) var spillError: String?

    private var operatorIndex: [String: UInt32] = [:]
    private var operators: [String] = []
    private var placeIndex: [Place: UInt32] = [:]
    private var places: [Place] = []

    /// Records counted.
    private(set) var count = 0
    /// Sorted runs written to the temporary file.
    var runsSpilled: Int { runs.count }

    /// Bytes before the id: hash, seq, operator, place, id length.
    private static let headerSize = 8 + 8 + 4 + 4 + 4

    init(temporaryDirectory: String? = nil, limits: Limits = .standard) {
        self.temporaryDirectory = temporaryDirectory
        self.limits = limits
    }

    /// The operator and place of events, as ``add(_:key:seq:)`` takes them: looked up once for a
    /// group of events, not for each.
    struct Key {
        fileprivate var op: UInt32
        fileprivate var place: UInt32
    }

    /// The key of events of `operatorID` counted at `place`.
    mutating func key(operatorID: String, place: Place) -> Key {
        Key(op: index(of: operatorID), place: index(of: place))
    }

    /// Counts event `id` of `operatorID`, counted at `place` in entry `seq`.
    mutating func add(_ id: String, operatorID: String, place: Place, seq: UInt64) {
        add(id, key: key(operatorID: operatorID, place: place), seq: seq)
    }

    /// Counts event `id` of the operator and place of `key`, in entry `seq`.
    mutating func add(_ id: String, key: Key, seq: UInt64) {
        let op = key.op
        let at = key.place
        var id = id
        id.withUTF8 { bytes in
            let hash = Self.hash(operator: op, id: bytes)
            if buffer.isEmpty { buffer.reserveCapacity(min(limits.bytes, 1 << 16) + Self.headerSize) }
            order.append((hash, UInt32(truncatingIfNeeded: buffer.count)))
            Self.append(hash, to: &buffer)
            Self.append(seq, to: &buffer)
            Self.append(op, to: &buffer)
            Self.append(at, to: &buffer)
            Self.append(UInt32(truncatingIfNeeded: bytes.count), to: &buffer)
            buffer.append(contentsOf: bytes)
        }
        count += 1
        if spillError == nil, order.count >= limits.records || buffer.count >= limits.bytes || buffer.count >= Int(UInt32.max) - (1 << 20) {
            spill()
        }
    }

    /// Every event id counted again after its first count, earliest entries first; at most `limit`,
    /// and how many there are in all.
    func duplicates(limit: Int) -> (found: [Duplicate], total: Int) {
        var sources: [RunCursor] = []
        for run in runs {
            sources.append(RunCursor(file: file, offset: run.offset, length: run.length))
        }
        if !order.isEmpty {
            sources.append(RunCursor(buffer: buffer, order: sortedOrder().map(\.offset)))
        }
        var heap = MinimumHeap<HeapItem>()
        for slot in sources.indices where sources[slot].advance() {
            heap.insert(HeapItem(hash: sources[slot].hash, slot: slot))
        }
        var found: [Duplicate] = []
        var total = 0
        // The first record of the current hash, copied into buffers that are reused: one record in
        // millions shares its hash with another, so the merge allocates nothing for the rest.
        var groupHash: UInt64 = 0
        var grouping = false
        var firstOperator: UInt32 = 0
        var firstID: [UInt8] = []
        firstID.reserveCapacity(256)
        // Further distinct (operator, id) of the current hash: nearly always none.
        var others: [(op: UInt32, id: [UInt8])] = []
        while let top = heap.minimum {
            heap.removeMinimum()
            let slot = top.slot
            if !grouping || top.hash != groupHash {
                grouping = true
                groupHash = top.hash
                firstOperator = sources[slot].op
                sources[slot].copyID(into: &firstID)
                others.removeAll(keepingCapacity: true)
            } else {
                let op = sources[slot].op
                let cursor = sources[slot]
                if op == firstOperator && cursor.idEquals(firstID) || others.contains(where: { $0.op == op && cursor.idEquals($0.id) }) {
                    total += 1
                    var id: [UInt8] = []
                    cursor.copyID(into: &id)
                    found.append(Duplicate(seq: cursor.seq, operatorID: operators[Int(op)],
                                           eventID: String(decoding: id, as: UTF8.self), place: places[Int(cursor.place)]))
                    if found.count >= 2 * max(limit, 1) {
                        found.sort { $0.seq < $1.seq }
                        found.removeLast(found.count - limit)
                    }
                } else {
                    var id: [UInt8] = []
                    cursor.copyID(into: &id)
                    others.append((op, id))
                }
            }
            if sources[slot].advance() { heap.insert(HeapItem(hash: sources[slot].hash, slot: slot)) }
        }
        found.sort { $0.seq < $1.seq }
        if found.count > limit { found.removeLast(found.count - limit) }
        return (found, total)
    }

    // MARK: internals

    private mutating func index(of operatorID: String) -> UInt32 {
        if let index = operatorIndex[operatorID] { return index }
        let index = UInt32(truncatingIfNeeded: operators.count)
        operatorIndex[operatorID] = index
        operators.append(operatorID)
        return index
    }

    private mutating func index(of place: Place) -> UInt32 {
        if let index = placeIndex[place] { return index }
        let index = UInt32(truncatingIfNeeded: places.count)
        placeIndex[place] = index
        places.append(place)
        return index
    }

    /// A keyed hash (the process's random seed): a log cannot be built to make every id collide,
    /// which would only slow the merge, never change its answer.
    private static func hash(operator op: UInt32, id: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(op)
        hasher.combine(bytes: UnsafeRawBufferPointer(id))
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// The buffered records' offsets, sorted by hash, then in the order they were counted.
    ///
    /// A least-significant-digit radix sort, four passes of 16 bits: stable, so records of equal
    /// hash keep the order they were counted in, and several times faster than comparing.
    private func sortedOrder() -> [(hash: UInt64, offset: UInt32)] {
        var from = order
        var to = order
        var counts = [Int](repeating: 0, count: 1 << 16)
        for pass in 0..<4 {
            let shift = UInt64(pass * 16)
            counts.withUnsafeMutableBufferPointer { counts in
                for index in counts.indices { counts[index] = 0 }
                from.withUnsafeBufferPointer { from in
                    to.withUnsafeMutableBufferPointer { to in
                        for item in from { counts[Int((item.hash >> shift) & 0xFFFF)] += 1 }
                        var sum = 0
                        for index in counts.indices {
                            let count = counts[index]
                            counts[index] = sum
                            sum += count
                        }
                        for item in from {
                            let digit = Int((item.hash >> shift) & 0xFFFF)
                            to[counts[digit]] = item
                            counts[digit] += 1
                        }
                    }
                }
            }
            swap(&from, &to)
        }
        return from
    }

    private static func recordLength(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        headerSize + Int(readUInt32(bytes, at: start + 24))
    }

    private mutating func spill() {
        if file == nil {
            do {
                file = try SpillFile(directory: temporaryDirectory)
            } catch {
                spillError = error.reason
                return
            }
        }
        guard let file else { return }
        // Written in chunks, not as one sorted copy: the buffer is the memory this costs.
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        var start: Int64?
        var length: Int64 = 0
        do {
            try buffer.withUnsafeBufferPointer { all throws(SpillFile.Failure) in
                for item in sortedOrder() {
                    let from = Int(item.offset)
                    chunk.append(contentsOf: all[from..<(from + Self.recordLength(all, at: from))])
                    if chunk.count >= 1 << 20 {
                        let at = try file.append(chunk)
                        start = start ?? at
                        length += Int64(chunk.count)
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !chunk.isEmpty {
                let at = try file.append(chunk)
                start = start ?? at
                length += Int64(chunk.count)
            }
        } catch {
            spillError = error.reason
            return
        }
        runs.append((start ?? 0, length))
        buffer.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
    }

    fileprivate static func readUInt32(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    fileprivate static func readUInt64(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Ordered by hash, then by run: runs are in log order, so equal records come out in log order.
    private struct HeapItem: Comparable, Sendable {
        var hash: UInt64
        var slot: Int

        static func < (lhs: Self, rhs: Self) -> Bool {
            lhs.hash != rhs.hash ? lhs.hash < rhs.hash : lhs.slot < rhs.slot
        }
    }

    /// Reads one sorted run's records, from the file in chunks or from the buffer in sorted order;
    /// the current record is read in place.
    private struct RunCursor {
        private let file: SpillFile?
        private var readFrom: Int64
        private let end: Int64
        private var chunk: [UInt8]
        /// For the buffer: the records' offsets in sorted order, and how many were read.
        private let order: [UInt32]
        private var ordinal = 0
        /// The current record: where it starts in `chunk` and how long it is.
        private var start = 0
        private var length = 0
        private(set) var hash: UInt64 = 0
        private(set) var seq: UInt64 = 0
        private(set) var op: UInt32 = 0
        private(set) var place: UInt32 = 0

        static let chunkSize = 1 << 18

        init(file: SpillFile?, offset: Int64, length: Int64) {
            self.file = file
            self.readFrom = offset
            self.end = offset + length
            self.chunk = []
            self.order = []
        }

        init(buffer: [UInt8], order: [UInt32]) {
            self.file = nil
            self.readFrom = 0
            self.end = 0
            self.chunk = buffer
            self.order = order
        }

        /// Moves to the next record; false at the end of the run.
        mutating func advance() -> Bool {
            if file == nil {
                guard ordinal < order.count else { return false }
                start = Int(order[ordinal])
                ordinal += 1
            } else {
                start += length
                length = 0
                guard has(EventIDLedger.headerSize) else { return false }
                let size = chunk.withUnsafeBufferPointer { EventIDLedger.recordLength($0, at: start) }
                guard has(size) else { return false }
            }
            chunk.withUnsafeBufferPointer { bytes in
                length = EventIDLedger.recordLength(bytes, at: start)
                hash = EventIDLedger.readUInt64(bytes, at: start)
                seq = EventIDLedger.readUInt64(bytes, at: start + 8)
                op = EventIDLedger.readUInt32(bytes, at: start + 16)
                place = EventIDLedger.readUInt32(bytes, at: start + 20)
            }
            return true
        }

        /// The current record's id, copied into `id`, which keeps its capacity.
        func copyID(into id: inout [UInt8]) {
            id.removeAll(keepingCapacity: true)
            chunk.withUnsafeBufferPointer { bytes in
                id.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(start + EventIDLedger.headerSize)..<(start + length)]))
            }
        }

        /// True when the current record's id is `id`, byte for byte.
        func idEquals(_ id: [UInt8]) -> Bool {
            guard length - EventIDLedger.headerSize == id.count else { return false }
            return chunk.withUnsafeBufferPointer { bytes in
                id.withUnsafeBufferPointer { other in
                    memcmp(bytes.baseAddress! + start + EventIDLedger.headerSize, other.baseAddress!, id.count) == 0
                }
            }
        }

        /// True when `count` bytes from `start` are at hand, reading more of the run if needed.
        private mutating func has(_ count: Int) -> Bool {
            if chunk.count - start >= count { return true }
            guard let file, readFrom < end else { return false }
            chunk.removeSubrange(0..<start)
            start = 0
            let wanted = Int(min(Int64(max(Self.chunkSize, count - chunk.count)), end - readFrom))
            guard let more = try? file.read(wanted, at: readFrom), !more.isEmpty else { return false }
            readFrom += Int64(more.count)
            chunk += more
            return chunk.count >= count
        }
    }
}

/// The temporary file the runs go to, unlinked at creation and closed with the last reference.
final class SpillFile: Sendable {
    struct Failure: Error {
        var reason: String
    }

    private let descriptor: Int32

    init(directory: String?) throws(Failure) {
        let directory = directory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
        template += Array("pdx-verify-event-ids.XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw Failure(reason: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // Gone from the directory at once: no exit path, a crash included, can leave it behind.
        unlink(path)
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Writes `bytes` at the end of the file and returns where they start.
    func append(_ bytes: [UInt8]) throws(Failure) -> Int64 {
        let start = Int64(lseek(descriptor, 0, SEEK_END))
        guard start >= 0 else { throw Failure(reason: "cannot seek in the temporary file: \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                pwrite(descriptor, raw.baseAddress! + written, raw.count - written, off_t(start) + off_t(written))
            }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                throw Failure(reason: "cannot write the temporary file: \(String(cString: strerror(errno)))")
            }
            written += result
        }
        return start
    }

    /// Up to `count` bytes from `offset`.
    func read(_ count: Int, at offset: Int64) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if result < 0 && errno == EINTR { continue }
            if result < 0 { throw Failure(reason: "cannot read the temporary file: \(String(cString: strerror(errno)))") }
            if result == 0 { break }
            done += result
        }
        bytes.removeLast(count - done)
        return bytes
    }
}
