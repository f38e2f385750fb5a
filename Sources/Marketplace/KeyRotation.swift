public import AuditLog
public import Cryptography
package import Foundation
package import Logging
import Synchronization

/// Why the key files of a data directory do not fit the log's keys; the server refuses to start
/// rather than sign a log with a key its auditors were never told of.
public typealias KeyFileError = ModuleError<KeyFileErrorCode>

/// The stable codes of ``KeyFileError``: the raw value is what a problem+json `code` says.
public enum KeyFileErrorCode: String, Sendable, CaseIterable {
    /// `signing-key.pem` is a key this log never announced.
    case signingKeyUnknown = "signing_key_unknown"
    /// `signing-key.pem` is a key the log retired.
    case signingKeyRetired = "signing_key_retired"
    /// `signing-key.next.pem` is a key the log does not announce.
    case nextKeyUnannounced = "next_key_unannounced"
    /// `pdx audit key finish` needs `signing-key.next.pem`, and this directory has none.
    case nextKeyMissing = "next_key_missing"
}

/// How strictly `Runtime.open` holds the key files to the log's keys.
public enum KeyFileCheck: Sendable {
    /// `signing-key.pem` must be in force; `signing-key.next.pem`, if present, too.
    case strict
    /// `pdx audit key begin`: the next key may be not yet announced (it is about to be, or a
    /// crash came between creating the file and announcing it), unless another rollover is on.
    case beginRotation
    /// `pdx audit key finish`: the current key may be retired already when the next one is in
    /// force (the log finished the rotation, this directory's files did not follow yet).
    case finishRotation

    /// Throws unless `signers` (the current key, then the next one if any) fit the keys the log
    /// announces, as the integrity check read them.
    static func check(signers: [NoteVerifier], against integrity: IntegrityReport, mode: KeyFileCheck) throws(KeyFileError) {
        let current = signers[0]
        let next = signers.count > 1 ? signers[1] : nil
        guard let keys = integrity.keys else {
            if integrity.treeSize == 0, let next {
                throw KeyFileError(.nextKeyUnannounced,
                                   "signing-key.next.pem holds \(next.keyDescription), but the log has no key yet to rotate from; remove the file")
            }
            // A log whose key entries do not apply failed its integrity check, which says why.
            return
        }
        let inForce = keys.active.map(\.keyDescription).joined(separator: ", ")
        if !keys.active.contains(current) {
            if let next, keys.active.contains(next), mode == .finishRotation { return }
            if keys.announced.contains(current) {
                let hint = next.map { keys.active.contains($0) } == true
                    ? "signing-key.next.pem holds the key in force: run `pdx audit key finish` on this data directory to install it"
                    : "copy signing-key.pem from an instance that finished the rotation"
                throw KeyFileError(.signingKeyRetired,
                                   "signing-key.pem holds \(current.keyDescription), which the log retired (log.key_retired); the key in force is \(inForce). \(hint)")
            }
            throw KeyFileError(.signingKeyUnknown, """
                signing-key.pem holds \(current.keyDescription), which this log never announced (keys in force: \(inForce)): \
                the data directory's key belongs to another log or was replaced. Put the log's signing key back; \
                the server does not sign this log with a key its auditors were never told of
                """)
        }
        guard let next, !keys.active.contains(next) else { return }
        if mode == .beginRotation, !keys.isRollingOver, !keys.announced.contains(next) { return }
        let what = keys.isRollingOver
            ? "the rollover under way is to \(keys.active[1].keyDescription): copy its signing-key.next.pem from the data directory where it began"
            : "run `pdx audit key begin` to announce it, or remove the file if the rotation was abandoned"
        throw KeyFileError(.nextKeyUnannounced,
                           "signing-key.next.pem holds \(next.keyDescription), which the log does not have in force (keys in force: \(inForce)); \(what)")
    }
}

/// Keeps `checkpoint.witness`: the latest checkpoint this data directory signed or verified, outside
/// the database, so that a start on a restored old backup is noticed (`TransparencyLog.checkWitness`).
///
/// It writes only when this process signed a checkpoint since it last looked, and then the latest
/// committed one from the store: a checkpoint signed inside a transaction that rolled back is
/// never witnessed. It never replaces a witness with a smaller checkpoint, and never writes while
/// the log is read-only, which would overwrite the evidence of a rollback.
public final class CheckpointWitness: Sendable {
    private let directory: DataDirectory
    private let log: TransparencyLog
    /// The log's signing count when last looked at.
    private let seen = Mutex<Int>(-1)

    init(directory: DataDirectory, log: TransparencyLog) {
        self.directory = directory
        self.log = log
    }

    /// Writes the latest stored checkpoint if this process signed one since the last look. Errors
    /// are logged by the caller's logger only as a warning: a stale witness is a smaller one, which
    /// weakens the check but never makes it refuse a good database.
    public func recordIfSigned() async {
        let signed = log.checkpointsSigned
        guard seen.withLock({ $0 }) != signed else { return }
        try? await record()
    }

    /// Writes the latest stored checkpoint, unless the log is read-only or the witness already
    /// covers as many entries.
    public func record() async throws {
        let signed = log.checkpointsSigned
        guard log.readOnlyError == nil, let note = try await log.latestCheckpoint() else { return }
        let size = try Checkpoint.parse(note.text).size
        try seen.withLock { last in
            // Serialized within the process; across processes the size comparison keeps it monotonic
            // up to a race that can only lose one step.
            if let text = try directory.witness(),
               let existing = try? Checkpoint.parse(SignedNote.parse(text).text), existing.size >= size {
                last = signed
                return
            }
            try directory.writeWitness(note.serialized)
            last = signed
        }
    }
}

/// What a rotation command did, as lines for the operator.
public struct KeyRotationReport: Sendable {
    /// One sentence per line.
    public var lines: [String]
}

/// `pdx audit key begin`: creates `signing-key.next.pem` and announces it in the log, with a
/// checkpoint signed by both keys. Works while servers run; see Docs/design/0008-key-rotation.md.
public func beginKeyRotation(at location: StoreLocation, random: any RandomSource = SecureRandom()) async throws -> KeyRotationReport {
    try await Runtime.withExisting(location, label: "pdx.audit", keyFiles: .beginRotation) {
        try await $0.beginKeyRotation(random: random)
    }
}

/// `pdx audit key finish`: retires the current key in the log, with a last checkpoint signed by
/// both, then makes the next key this data directory's only one.
public func finishKeyRotation(at location: StoreLocation) async throws -> KeyRotationReport {
    try await Runtime.withExisting(location, label: "pdx.audit", keyFiles: .finishRotation) { try await $0.finishKeyRotation() }
}

extension Runtime {
    package func beginKeyRotation(random: any RandomSource) async throws -> KeyRotationReport {
        try ensureRotatable()
        guard let keys = try await log.keys() else {
            throw AuditLogError(code: .invalidConfiguration, detail: "the log is empty: start the server once before rotating its key")
        }
        // Checked before any file is made; the log checks again under its lock.
        guard !keys.isRollingOver else {
            throw AuditLogError(code: .keyRotationInProgress,
                                detail: "the rollover to \(keys.active[1].keyDescription) is under way; finish it first (pdx audit key finish)")
        }
        var signers = log.signers
        if signers.count == 1 {
            let key: Ed25519PrivateKey
            if let created = try dataDirectory.createNextSigningKey(using: random) {
                key = created
            } else {
                // Another `begin` made it between our open and now: take it, the log decides.
                guard let existing = try dataDirectory.loadNextSigningKey() else {
                    throw DataDirectoryError("\(dataDirectory.nextSigningKeyPath) vanished while beginning the rotation")
                }
                key = existing
            }
            signers.append(try NoteSigner(name: log.origin, key: key))
        }
        let rotating = try TransparencyLog(database: database, signers: signers, policy: log.policy, clock: { [clock] in clock.now() })
        let next = signers[1].verifier
        let (entry, note) = try await rotating.beginKeyRotation(next: next, actor: "system")
        try await witness.record()
        let size = try Checkpoint.parse(note.text).size
        return KeyRotationReport(lines: [
            "announced the next key \(next.keyDescription) in entry \(entry.seq) (log.key_added); checkpoint of \(size) entries signed by \(note.signatures.map(\.keyDescription).joined(separator: " and "))",
            "the next key is \(dataDirectory.nextSigningKeyPath): copy it (mode 0600) into every other instance's data directory and restart them one at a time; each then signs with both keys",
            "verifier keys in force, for auditors to pin next to the one they have:",
            keys.active[0].verifierKey,
            next.verifierKey,
        ])
    }

    package func finishKeyRotation() async throws -> KeyRotationReport {
        try ensureRotatable()
        guard log.signers.count == 2 else {
            guard let keys = try await log.keys(), keys.isRollingOver else {
                throw AuditLogError(code: .noKeyRotation, detail: "no key rollover is under way; begin one with pdx audit key begin")
            }
            throw KeyFileError(.nextKeyMissing,
                               "\(dataDirectory.nextSigningKeyPath) is missing: copy it from the data directory where the rotation began, then finish")
        }
        let current = log.verifiers[0]
        let next = log.verifiers[1]
        var lines: [String] = []
        guard let keys = try await log.keys() else {
            throw AuditLogError(code: .noKeyRotation, detail: "the log is empty")
        }
        if keys.isRollingOver {
            let (entry, note, retired) = try await log.finishKeyRotation(actor: "system")
            try await witness.record()
            let size = try Checkpoint.parse(note.text).size
            lines.append("retired \(retired.keyDescription) in entry \(entry.seq) (log.key_retired); last checkpoint signed with both keys, of \(size) entries")
        } else if keys.active == [next] {
            lines.append("the log finished this rotation already; installing the new key in this data directory")
        } else {
            throw AuditLogError(code: .noKeyRotation, detail: "no key rollover is under way; begin one with pdx audit key begin")
        }
        let retiredPath = try dataDirectory.promoteNextSigningKey(retiredKeyID: current.keyIDHex)
        lines += [
            "signing-key.pem is now \(next.keyDescription); the retired key is in \(retiredPath): move it offline",
            "on every other instance: pdx audit key finish --data-dir <its data dir> (files only), then restart it",
            "auditors pin from now on:",
            next.verifierKey,
        ]
        return KeyRotationReport(lines: lines)
    }

    private func ensureRotatable() throws {
        if let reason = log.readOnlyError {
            throw AuditLogError(code: .logReadOnly, detail: "the log refuses writes, so its key is not rotated: \(reason)")
        }
    }
}
