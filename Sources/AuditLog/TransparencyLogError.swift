/// Why the log refused a request or could not complete it.
///
/// Equality is by ``code``; ``detail`` is for operators and never carries entry data.
public typealias AuditLogError = ModuleError<AuditLogErrorCode>

/// The stable codes of ``AuditLogError``: the raw value is what a problem+json `code` says.
public enum AuditLogErrorCode: String, Sendable, CaseIterable {
    /// An entry's encoding is over 65,535 bytes.
    case entryTooLarge = "entry_too_large"
    /// A record cannot be encoded: empty actor or action, or data without a canonical form.
    case invalidRecord = "invalid_record"
    /// Bytes are not a canonical entry.
    case malformedEntry = "malformed_entry"
    /// The log refuses writes: its integrity check or a consistency check failed.
    case logReadOnly = "log_read_only"
    /// The stored tree does not extend the last signed checkpoint; nothing was signed.
    case logInconsistent = "log_inconsistent"
    /// Stored log data is unreadable or incomplete (a missing node, a malformed head or note).
    case logCorrupt = "log_corrupt"
    /// A tree size beyond the current log size, or an old size of 0 or above the new size.
    case sizeOutOfRange = "size_out_of_range"
    /// A leaf index not below the tree size.
    case indexOutOfRange = "index_out_of_range"
    /// The log was set up without signers, or a signer's key cannot be used.
    case invalidConfiguration = "invalid_configuration"
    /// Signing a checkpoint failed.
    case signingFailed = "signing_failed"
    /// The latest checkpoint is not signed by this log's keys: another process on the same
    /// database signs with a key of its own. Nothing was signed; the log turned read-only.
    case signingKeyMismatch = "signing_key_mismatch"
    /// The database holds less, or other, history than the checkpoint this data directory last
    /// saw (`checkpoint.witness`): an old backup was restored. The log refuses writes.
    case logRolledBack = "log_rolled_back"
    /// A key rollover is already under way: finish it before beginning another.
    case keyRotationInProgress = "key_rotation_in_progress"
    /// No key rollover is under way, so there is nothing to finish.
    case noKeyRotation = "no_key_rotation"
    /// None of this process's signing keys is in force any more: the rotation was finished
    /// elsewhere. The log refuses writes rather than sign with a retired key.
    case signingKeyRetired = "signing_key_retired"
}
