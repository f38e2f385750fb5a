public import AuditLog
internal import Foundation

/// Rebuilds an operator from its audit records alone, the way an auditor re-derives it from an
/// exported log.
///
/// Replay does not trust the records' outcomes: it reads each step's inputs (the application, the
/// reviewer and decision, the reason, the time), runs the step through ``OperatorLifecycle`` again
/// and requires the lifecycle to accept it and to produce exactly the records that were logged.
/// So an approval without enough distinct reviewers, a self-approval by the applicant, a term that
/// is not 12 months, a missing reason or a missing step fails the replay.
///
/// Replay checks that outcomes follow from inputs; that the inputs themselves were not edited is
/// what the log's Merkle tree and signed checkpoints prove. Not re-derivable here: the e-mail half
/// of the `self_review` rule (reviewers' addresses are never logged) and `application_exists`,
/// which depends on other operators.
public struct OperatorReplay: Sendable {
    /// The lifecycle the records are checked against; it must use the policy the server used.
    public let lifecycle: OperatorLifecycle

    /// Creates a replay against `lifecycle`.
    public init(lifecycle: OperatorLifecycle = OperatorLifecycle()) {
        self.lifecycle = lifecycle
    }

    /// The operator after `records`: all Vetting records of one operator, in log order.
    ///
    /// Throws `replay_failed` naming the first record that cannot be replayed.
    public func replay(_ records: [AuditRecord]) throws(VettingError) -> Operator {
        switch replayLocating(records) {
        case .success(let value): return value
        case .failure(let failure): throw failure.error
        }
    }

    /// Like ``replay(_:)``, but a failure also says which record (its index in `records`) could
    /// not be replayed, so a verifier can point at the entry.
    public func replayLocating(_ records: [AuditRecord]) -> Result<Operator, OperatorReplayFailure> {
        let progress = resume(records, after: nil)
        if let failure = progress.failure { return .failure(failure) }
        guard let current = progress.operator else {
            return .failure(OperatorReplayFailure(
                recordIndex: 0, error: VettingError(code: .replayFailed, detail: "no records: an operator starts with operator.applied")))
        }
        return .success(current)
    }

    /// Continues a replay: `records` are the operator's records that follow the `consumed` ones
    /// that gave `current` (nil and 0 at the start). A verifier that learns an operator's records
    /// one entry at a time replays each once this way, instead of all of them again at every step.
    ///
    /// The progress says how far the replay got; a failure's `recordIndex` counts from the first
    /// of all the operator's records, like ``replayLocating(_:)``'s.
    public func resume(_ records: [AuditRecord], after current: Operator?, consumed: Int = 0) -> OperatorReplayProgress {
        var current = current
        var index = 0
        while index < records.count {
            let record = records[index]
            let change: LifecycleChange
            do {
                change = try self.change(for: record, at: consumed + index, after: current)
            } catch {
                return OperatorReplayProgress(
                    operator: current, consumed: consumed + index,
                    failure: OperatorReplayFailure(recordIndex: consumed + index, error: error))
            }
            let end = index + change.records.count
            guard end <= records.count, Array(records[index..<end]) == change.records else {
                return OperatorReplayProgress(
                    operator: current, consumed: consumed + index,
                    failure: OperatorReplayFailure(
                        recordIndex: consumed + index,
                        error: failure(consumed + index, "the logged \(record.action) step differs from what the lifecycle computes from its inputs"),
                        awaitsRecords: end > records.count && Array(records[index...]) == Array(change.records.prefix(records.count - index))))
            }
            current = change.updated
            index = end
        }
        return OperatorReplayProgress(operator: current, consumed: consumed + index, failure: nil)
    }

    private func change(for record: AuditRecord, at index: Int, after current: Operator?) throws(VettingError) -> LifecycleChange {
        guard let action = VettingAction(rawValue: record.action) else {
            throw failure(index, "\(record.action) is not a Vetting action")
        }
        let data = Fields(data: record.data, index: index)
        let at = try data.time("at")
        let outcome: LifecycleOutcome
        switch (action, current) {
        case (.applied, nil):
            let id = try data.string("operator_id")
            // The lifecycle requires an id (a server always has one); a log may hold anything.
            guard !id.isEmpty else { throw failure(index, "operator_id is empty") }
            outcome = lifecycle.submit(try application(data), id: id, existing: [], at: at)
        case (.applied, .some):
            throw failure(index, "operator.applied after the operator exists")
        case (_, nil):
            throw failure(index, "\(record.action) before operator.applied")
        case (.reviewed, .some(let current)):
            guard let decision = ReviewDecision(rawValue: try data.string("decision")) else {
                throw failure(index, "decision is not approve or reject")
            }
            outcome = lifecycle.review(
                current,
                by: Reviewer(principalID: try data.string("reviewer_id"), authorityID: try data.string("authority_id")),
                decision: decision,
                reason: try data.optionalString("reason"),
                at: at
            )
        case (.suspended, .some(let current)):
            outcome = lifecycle.suspend(current, by: try actor(record, data), reason: try data.optionalString("reason"), at: at)
        case (.reinstated, .some(let current)):
            outcome = lifecycle.reinstate(current, by: try actor(record, data), reason: try data.optionalString("reason"), at: at)
        case (.revoked, .some(let current)), (.revocationProposed, .some(let current)):
            outcome = lifecycle.revoke(current, by: try actor(record, data), reason: try data.optionalString("reason"), at: at)
        case (.approved, .some), (.rejected, .some), (.renewed, .some):
            throw failure(index, "\(record.action) without the operator.reviewed record that decides it")
        }
        switch outcome {
        case .changed(let change):
            return change
        case .refused(let reasons):
            let codes = reasons.map(\.code.rawValue).joined(separator: ", ")
            throw failure(index, "the lifecycle refuses this \(record.action) step: \(codes)")
        }
    }

    private func actor(_ record: AuditRecord, _ data: Fields) throws(VettingError) -> Reviewer {
        Reviewer(principalID: record.actor, authorityID: try data.optionalString("authority_id"))
    }

    private func application(_ data: Fields) throws(VettingError) -> OperatorApplication {
        let fields = try data.object("application")
        let officer = try fields.object("security_officer")
        let documents = try fields.array("documents")
        var pairs: [(name: String, sha256: String)] = []
        for (offset, value) in documents.enumerated() {
            guard let members = value.objectValue else {
                throw failure(data.index, "application.documents[\(offset)] is not an object")
            }
            let document = Fields(data: members, index: data.index)
            pairs.append((try document.string("name"), try document.string("sha256")))
        }
        var certifications: [String] = []
        for value in try fields.array("certifications") {
            guard let text = value.stringValue else {
                throw failure(data.index, "application.certifications holds a non-string")
            }
            certifications.append(text)
        }
        guard let tier = OperatorTier(rawValue: try fields.string("tier")) else {
            throw failure(data.index, "application.tier is not standard or enhanced")
        }
        do {
            return try OperatorApplication(
                legalName: try fields.string("legal_name"),
                uscc: try fields.string("uscc"),
                mlpsLevel: try fields.integer("mlps_level"),
                tier: tier,
                securityOfficer: SecurityOfficer(
                    name: try officer.commitment("name"), email: try officer.commitment("email")),
                certifications: certifications,
                documents: pairs,
                applicant: try fields.string("applicant")
            )
        } catch {
            throw failure(data.index, "the logged application is invalid: \(error.code.rawValue)")
        }
    }
}

/// Where an operator's replay failed: the index of the record in the records replayed, and why.
public struct OperatorReplayFailure: Error, Sendable {
    public let recordIndex: Int
    public let error: VettingError
    /// True when the records so far are the start of the step the lifecycle computes, which more
    /// records may still complete (a review logged, the approval it causes not yet).
    public var awaitsRecords = false
}

/// How far a resumed replay got: the operator after the `consumed` records that replayed, and the
/// failure that stopped it, if one did.
public struct OperatorReplayProgress: Sendable {
    /// The operator after the records that replayed; nil when not even `operator.applied` did.
    public let `operator`: Operator?
    /// How many of the operator's records, counted from its first, have replayed.
    public let consumed: Int
    /// Why the replay stopped before the last record, if it did.
    public let failure: OperatorReplayFailure?
}

private func failure(_ index: Int, _ detail: String) -> VettingError {
    VettingError(code: .replayFailed, detail: "record \(index): \(detail)")
}

/// Typed reads of a record's data members, failing with `replay_failed`.
private struct Fields {
    let data: [String: JSONValue]
    let index: Int

    func string(_ key: String) throws(VettingError) -> String {
        guard let value = data[key]?.stringValue else { throw failure(index, "\(key) is missing or not a string") }
        return value
    }

    func optionalString(_ key: String) throws(VettingError) -> String? {
        guard let value = data[key] else { throw failure(index, "\(key) is missing") }
        if value.isNull { return nil }
        guard let text = value.stringValue else { throw failure(index, "\(key) is not a string or null") }
        return text
    }

    func integer(_ key: String) throws(VettingError) -> Int {
        guard let value = data[key]?.integerValue else { throw failure(index, "\(key) is missing or not an integer") }
        return value
    }

    func time(_ key: String) throws(VettingError) -> Date {
        guard let text = data[key]?.stringValue, let milliseconds = Timestamp.parse(text) else {
            throw failure(index, "\(key) is missing or not an RFC 3339 UTC time with milliseconds")
        }
        return Timestamp.date(milliseconds: milliseconds)
    }

    /// A personal value's commitment: the replay checks its form only, the value being elsewhere.
    func commitment(_ key: String) throws(VettingError) -> PersonalDataCommitment {
        guard let value = data[key], let commitment = PersonalDataCommitment(json: value) else {
            throw failure(index, "\(key) is missing or not a personal-data commitment")
        }
        return commitment
    }

    func object(_ key: String) throws(VettingError) -> Fields {
        guard let members = data[key]?.objectValue else { throw failure(index, "\(key) is missing or not an object") }
        return Fields(data: members, index: index)
    }

    func array(_ key: String) throws(VettingError) -> [JSONValue] {
        guard let elements = data[key]?.arrayValue else { throw failure(index, "\(key) is missing or not an array") }
        return elements
    }
}
