// Witness cosignatures are not log entries: they arrive after a checkpoint is signed, from outside,
// and a checkpoint stays valid without them. The latest checkpoint they were collected for is kept
// in the meta value `checkpoint.cosigned` (the note with the log's signatures and every valid
// cosignature), so every process on the database serves it and `pdx audit export --cosigned` can
// export it. See Docs/design/0027-witnesses.md.

extension TransparencyLog {
    /// The meta key holding the latest checkpoint with its witness cosignatures.
    static let cosignedMetaKey = "checkpoint.cosigned"

    /// The latest checkpoint cosignatures were kept for, with them; nil before the first.
    public func cosignedCheckpoint() async throws -> SignedNote? {
        guard let stored = try await read({ try await $0.metaValue(forKey: Self.cosignedMetaKey) }) else { return nil }
        do {
            return try SignedNote.parse(stored)
        } catch {
            throw AuditLogError(code: .logCorrupt, detail: "the stored cosigned checkpoint is not a note: \(error)")
        }
    }

    /// Keeps `cosignatures` of `note`, one of this log's checkpoints: added to those already kept
    /// when the kept note is the same checkpoint, replacing them when `note` is larger. A note
    /// smaller than the kept one, or one this log did not sign, is ignored. Returns what is kept.
    @discardableResult
    public func keepCosignatures(_ cosignatures: [SignedNote.Signature], of note: SignedNote) async throws -> SignedNote? {
        let checkpoint: Checkpoint
        do {
            checkpoint = try note.verifiedCheckpoint(with: verifiers).checkpoint
        } catch {
            return nil
        }
        // Only the log's own signatures from `note`: cosignatures come from the caller, checked.
        let own = SignedNote(text: note.text, signatures: note.signatures.filter { signature in
            verifiers.contains { $0.name == signature.name && $0.keyID == signature.keyID }
        })
        return try await write { transaction in
            var kept: SignedNote?
            if let stored = try await transaction.metaValue(forKey: Self.cosignedMetaKey) {
                kept = try? SignedNote.parse(stored)
            }
            let next: SignedNote
            if let kept, kept.text == note.text {
                next = kept.adding(cosignatures)
            } else if let kept, let keptSize = try? Checkpoint.parse(kept.text).size, keptSize >= checkpoint.size {
                return kept
            } else {
                next = own.adding(cosignatures)
            }
            if next != kept { try await transaction.setMetaValue(next.serialized, forKey: Self.cosignedMetaKey) }
            return next
        }
    }
}
