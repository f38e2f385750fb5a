package import AuditLog
package import Cryptography
package import Foundation
package import Logging
package import Persistence

/// What an export wrote.
public struct ExportResult: Sendable {
    public var size: UInt64
    public var rootBase64: String
}

/// `pdx audit export`: signs a checkpoint for the log as it is now and writes exactly the entries it
/// commits to as a C2SP tlog-tiles directory. Entries appended meanwhile by a running server are
/// left for the next export.
/// `progress` is told the entries written and the export's size after each batch.
///
/// With `cosigned`, signs nothing and exports up to the latest checkpoint witnesses cosigned, its
/// cosignatures in the export's `checkpoint` for `pdx-verify --witness` to count.
public func exportLog(from location: StoreLocation, to directory: String, cosigned: Bool = false,
                      progress: @Sendable (_ written: UInt64, _ total: UInt64) -> Void = { _, _ in }) async throws -> ExportResult {
    try await Runtime.withExisting(location, label: "pdx.audit") {
        try await $0.exportLog(to: directory, cosigned: cosigned, progress: progress)
    }
}

/// `pdx audit disclose`: writes what the personal-data store holds about `subject` (values and
/// salts, and which values were erased) to `file`, a new file readable by its owner only.
/// Returns how many values it disclosed.
public func disclosePersonalData(from location: StoreLocation, subject: String, to file: String) async throws -> (values: Int, erased: Int) {
    guard PersonalDatum.isSubject(subject) else {
        throw RuntimeError("'\(subject)' is not a subject: use principal:<id> or operator:<id>")
    }
    let data = try await Runtime.withExisting(location, label: "pdx.audit") { runtime in
        try await runtime.database.read { try await $0.personalData(subject: subject) }
    }
    let disclosure = PersonalDataDisclosure(subject: subject, data: data)
    try DataDirectory.createOwnerOnly(file, contents: String(decoding: try disclosure.rendered(), as: UTF8.self))
    return (disclosure.values.count, disclosure.erased.count)
}

/// `pdx disclosure`: every entry of the log as it is now, in order, each handed to `each` with its
/// index. Returns how many were read: the log's size when the reading began (entries appended
/// meanwhile by a running server are left out).
public func readLog(from location: StoreLocation, _ each: (_ seq: UInt64, _ bytes: [UInt8]) -> Void) async throws -> UInt64 {
    try await Runtime.withExisting(location, label: "pdx.disclosure") { runtime in
        guard runtime.integrity.isIntact else {
            throw RuntimeError("the stored log failed its integrity check, so nothing is derived from it: \(runtime.integrity)")
        }
        let size = try await runtime.log.head().size
        var next: UInt64 = 0
        while next < size {
            let batch = try await runtime.log.entries(start: next, limit: Int(min(4096, size - next)))
            guard !batch.isEmpty else { throw RuntimeError("the log ended at \(next) before its head's \(size)") }
            for entry in batch { each(entry.seq, entry.body) }
            next += UInt64(batch.count)
        }
        return size
    }
}

extension Runtime {
    /// The export of `pdx audit export` on this open runtime (`pdx demo` exports while it holds one).
    package func exportLog(to directory: String, cosigned: Bool = false,
                           progress: (_ written: UInt64, _ total: UInt64) -> Void = { _, _ in }) async throws -> ExportResult {
        guard integrity.isIntact else {
            throw RuntimeError("the stored log failed its integrity check, so it is not exported: \(integrity)")
        }
        guard cosigned else {
            return try await log.export(checkpoint: try await log.signCheckpoint(), to: directory, progress: progress)
        }
        guard let note = try await log.cosignedCheckpoint() else {
            throw RuntimeError("no witness has cosigned a checkpoint of this log yet (pdx serve --witness collects cosignatures)")
        }
        return try await log.export(checkpoint: note, to: directory, progress: progress)
    }

    /// The verifier keys in force as the log announces them, as `pdx audit vkey` prints them: one,
    /// or two during a key rollover (the current key first).
    package func verifierKeys() async throws -> [String] {
        try await log.verifierKeysInForce()
    }
}

extension TransparencyLog {
    /// Writes exactly the entries `note` commits to as a C2SP tlog-tiles directory, with `note` as its
    /// checkpoint and the keys in force as its `vkey`: the export of `pdx audit export`, and of the
    /// console's download, which exports up to the latest checkpoint rather than signing one.
    /// `progress` is told the entries written and the export's size after each batch.
    package func export(checkpoint note: SignedNote, to directory: String,
                        progress: (_ written: UInt64, _ total: UInt64) -> Void = { _, _ in }) async throws -> ExportResult {
        let checkpoint = try Checkpoint.parse(note.text)
        let writer = try TlogTilesWriter(directory: directory)
        var next: UInt64 = 0
        while next < checkpoint.size {
            let batch = try await entries(start: next, limit: Int(min(4096, checkpoint.size - next)))
            guard !batch.isEmpty else { throw RuntimeError("the log ended at \(next) before the checkpoint's \(checkpoint.size)") }
            for entry in batch {
                try writer.append(entry: entry.body)
            }
            next += UInt64(batch.count)
            progress(next, checkpoint.size)
        }
        try writer.finish(checkpoint: note, verifierKeys: try await verifierKeysInForce())
        return ExportResult(size: checkpoint.size, rootBase64: Base64.encode(checkpoint.rootHash.bytes))
    }

    /// The verifier keys in force as the log announces them: one, or two during a key rollover (the
    /// current key first).
    package func verifierKeysInForce() async throws -> [String] {
        guard let keys = try await keys() else { return verifiers.map(\.verifierKey) }
        return keys.active.map(\.verifierKey)
    }
}

/// `pdx audit vkey`: the verifier keys in force, one per line (two during a key rollover).
public func verifierKeys(of location: StoreLocation) async throws -> [String] {
    try await Runtime.withExisting(location, label: "pdx.audit") { try await $0.verifierKeys() }
}

