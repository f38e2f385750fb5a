// Key rotation: the log announces a next key, signs with both during a rollover, then retires the
// older one. See Docs/design/0008-key-rotation.md.
//
// The keys in force live in two places that must agree: the log's own entries (the truth an
// auditor replays) and the meta value `log.keys`, written in the same transaction as each key
// entry so that signing and the rotation commands read them under the head lock without scanning
// the log. Before the first rotation the meta value is absent and entry 0 holds the keys.

extension TransparencyLog {
    /// The meta key holding the verifier keys in force, one per line, oldest first.
    static let keysMetaKey = "log.keys"

    /// The keys in force, or nil while the log is empty.
    public func keys() async throws -> LogKeys? {
        try await read { reader in try await self.keys(in: reader) }
    }

    /// The keys in force as `reader` sees them: the meta value, or entry 0's before any rotation.
    func keys(in reader: any LogReader) async throws -> LogKeys? {
        if let stored = try await reader.metaValue(forKey: Self.keysMetaKey) {
            do {
                return LogKeys(origin: origin, active: try NoteVerifier.list(from: stored))
            } catch {
                throw AuditLogError(code: .logCorrupt, detail: "the stored keys in force do not parse: \(error)")
            }
        }
        guard let first = try await reader.entries(from: 0, limit: 1).first, first.seq == 0 else { return nil }
        let entry = try AuditEntry(decoding: first.body)
        guard entry.record.action == LogKeys.initializedAction,
              let vkeys = entry.record.data["vkeys"]?.arrayValue?.compactMap(\.stringValue)
        else {
            throw AuditLogError(code: .logCorrupt, detail: "entry 0 is not a log.initialized entry announcing keys")
        }
        do {
            return try LogKeys(origin: origin, initial: vkeys)
        } catch {
            throw AuditLogError(code: .logCorrupt, detail: "entry 0: \(error)")
        }
    }

    /// The signers whose keys are in force; all of them before the log announces any key. Throws
    /// `signing_key_retired` (and turns the log read-only) when none is.
    func signersInForce(in reader: any LogReader) async throws -> [NoteSigner] {
        guard let stored = try await reader.metaValue(forKey: Self.keysMetaKey) else { return signers }
        let active = (try? NoteVerifier.list(from: stored)) ?? []
        let inForce = zip(signers, verifiers).filter { active.contains($0.1) }.map(\.0)
        guard !inForce.isEmpty else {
            let error = AuditLogError(
                code: .signingKeyRetired,
                detail: "this process signs with \(verifiers.map(\.keyDescription).joined(separator: ", ")), but the log's keys in force are \(active.map(\.keyDescription).joined(separator: ", ")); the rotation was finished elsewhere: install the new key and restart")
            markReadOnly(error)
            throw error
        }
        return inForce
    }

    /// Starts a rollover: appends `log.key_added` announcing `next` and signs a checkpoint covering
    /// it with every key in force and the next one, all in one transaction, so the announcement
    /// carries a signature of the key auditors already trust.
    ///
    /// `next` and every key in force must be among this log's signers. Throws
    /// `key_rotation_in_progress` while a rollover is under way, `invalid_configuration` when a
    /// needed signer is missing or the key is not usable.
    public func beginKeyRotation(next: NoteVerifier, actor: String) async throws -> (entry: AuditEntry, checkpoint: SignedNote) {
        try ensureWritable()
        return try await write { transaction in
            _ = try await transaction.lockHead()
            guard var keys = try await self.keys(in: transaction) else {
                throw AuditLogError(code: .invalidConfiguration, detail: "the log is empty: it has no key to rotate yet")
            }
            guard !keys.isRollingOver else {
                throw AuditLogError(code: .keyRotationInProgress,
                                    detail: "the rollover to \(keys.active[1].keyDescription) is under way; finish it first (pdx audit key finish)")
            }
            do {
                try keys.add(next.verifierKey)
            } catch {
                throw AuditLogError(code: .invalidConfiguration, detail: "\(error)")
            }
            let signing = try self.signersHolding(keys.active)
            // Stored first: should the append itself sign (its policy's entry count reached), that
            // checkpoint too carries both signatures.
            try await transaction.setMetaValue(keys.active.map(\.verifierKey).joined(separator: "\n"), forKey: Self.keysMetaKey)
            let entry = try await self.append(AuditRecord(
                actor: actor, action: LogKeys.addedAction, subjects: ["log:\(self.origin)"],
                data: LogKeys.data(for: next)), in: transaction)
            let note = try await self.signLocked(
                frontier: try self.restoreFrontier(try await transaction.lockHead()),
                last: try await transaction.latestCheckpoint(), in: transaction, with: signing)
            return (entry, note)
        }
    }

    /// Ends a rollover: appends `log.key_retired` for the current key, signs a last checkpoint with
    /// both keys, and leaves the next key as the only one in force, in one transaction.
    ///
    /// Throws `no_key_rotation` when no rollover is under way, `invalid_configuration` when this
    /// log lacks one of the two signers.
    public func finishKeyRotation(actor: String) async throws -> (entry: AuditEntry, checkpoint: SignedNote, retired: NoteVerifier) {
        try ensureWritable()
        return try await write { transaction in
            _ = try await transaction.lockHead()
            guard var keys = try await self.keys(in: transaction), keys.isRollingOver else {
                throw AuditLogError(code: .noKeyRotation,
                                    detail: "no key rollover is under way; begin one with pdx audit key begin")
            }
            let retired = keys.active[0]
            let signing = try self.signersHolding(keys.active)
            do {
                try keys.retire(retired.verifierKey)
            } catch {
                throw AuditLogError(code: .invalidConfiguration, detail: "\(error)")
            }
            let entry = try await self.append(AuditRecord(
                actor: actor, action: LogKeys.retiredAction, subjects: ["log:\(self.origin)"],
                data: LogKeys.data(for: retired)), in: transaction)
            let note = try await self.signLocked(
                frontier: try self.restoreFrontier(try await transaction.lockHead()),
                last: try await transaction.latestCheckpoint(), in: transaction, with: signing)
            try await transaction.setMetaValue(keys.active.map(\.verifierKey).joined(separator: "\n"), forKey: Self.keysMetaKey)
            return (entry, note, retired)
        }
    }

    /// This log's signers for `keys`, in that order; throws `invalid_configuration` if one is missing.
    private func signersHolding(_ keys: [NoteVerifier]) throws(AuditLogError) -> [NoteSigner] {
        var chosen: [NoteSigner] = []
        for key in keys {
            guard let index = verifiers.firstIndex(of: key) else {
                throw AuditLogError(code: .invalidConfiguration,
                                    detail: "the rotation needs the private key of \(key.keyDescription), which this process does not hold")
            }
            chosen.append(signers[index])
        }
        return chosen
    }
}
