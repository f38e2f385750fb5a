public import AuditLog
import Foundation
public import Licensing
public import Metering
import Settlement
public import Vetting

/// Rebuilds a marketplace from its audit log alone, entry by entry, and checks that every entry is
/// lawful: each step follows from the state before it under the same rules the server applies
/// (the vetting lifecycle, the grant rules, the grant check, quotas, the settlement rules).
///
/// Pure: no storage, no network, no clock. Feed it every entry in log order (``apply(_:)`` or
/// ``apply(bytes:seq:)``), then call ``finish()``; ``findings`` lists what is unlawful, in log
/// order. The state is what the entries say happened, unlawful steps included, so one bad entry
/// does not hide the next. That the entries themselves are the signed ones is the export
/// verifier's part, not this one's.
///
/// Memory grows with the marketplace (principals, operators, grants, counters), not with the number
/// of usage events: the event ids it keeps to find one counted twice go to sorted runs in a
/// temporary file once they outgrow a fixed buffer (``EventIDLedger``), and ``finish()`` merges them.
public struct LogReplay: Sendable {
    /// The marketplace calendar: which period an event's time is in.
    public let calendar: MarketCalendar
    /// The grant rules a grant in force must satisfy.
    public let policy: GrantPolicy
    /// The vetting lifecycle operators are replayed against.
    public let vetting: OperatorReplay
    /// What the entries rebuilt so far.
    public internal(set) var state = ReplayState()
    /// What is unlawful, in log order; at most ``findingLimit`` are kept.
    public private(set) var findings: [ReplayFinding] = []
    /// What an auditor should see but is lawful (``ReplayFinding/isNotice``), in log order.
    public private(set) var notices: [ReplayFinding] = []
    /// How many findings there were, including those beyond the limit.
    public private(set) var findingCount = 0
    /// Findings kept; a log that is wrong everywhere is reported by its first thousand.
    public static let findingLimit = 1000

    /// Grants in force answer the grant check from these, rebuilt when the grant changes.
    var snapshots: [String: GrantSnapshot] = [:]
    /// When each grant was in force, step by step.
    var inForce: [String: InForceTimeline] = [:]
    /// The decisions on each grant that count.
    var grantDecisions: [String: GrantDecisions] = [:]
    /// The dataset versions each in-force grant was last checked against.
    var checkedVersions: [String: [String: Int]] = [:]
    /// The report ids each authority reported, to find one reported twice.
    var providerReportIDs: [String: Set<String>] = [:]
    /// The provider's figure of each grant, dataset, unit and period.
    var providerTotals: [CounterKey: ProviderTotal] = [:]
    /// The keys of each period that have a provider figure.
    var providerKeysByPeriod: [Period: [CounterKey]] = [:]
    /// The latest acknowledgement of each reconciliation line.
    var acknowledgements: [CounterKey: DiscrepancyAcknowledgement] = [:]
    /// Periods that have usage, closed or not.
    var periodsWithUsage: Set<Period> = []
    /// The index of the first entry only a server that names the `upstream` source writes: a
    /// `usage.recorded` with source `upstream`, or a `settlement.closed` in report format 3 or later.
    /// From it on, usage forwarded to an upstream dataset must say `upstream`; before it, the log may
    /// be older than that source and name such usage `gateway`.
    var namesUpstreamSince: UInt64?
    /// The periods with usage, earliest first, closed ones removed when they reach the top: a
    /// close asks for the earliest open one.
    var openPeriodsWithUsage = MinimumHeap<Period>()
    /// The counters of each period, so that a close reads its own and no other period's.
    var countersByPeriod: [Period: [CounterKey]] = [:]
    /// Revenue caps by year, then operator: a close reads its year's.
    var revenueCapsByYear: [Int: [String: Int64]] = [:]
    /// The closed periods of each year, for the income before a period.
    var closedByYear: [Int: [Period]] = [:]
    /// Each closed period's lines by id, for the adjustments that correct them.
    var closedLineIndex: [Period: [String: Int]] = [:]
    /// The platform fee in force: the initial one, then each `marketplace.fee_changed`'s new fee.
    var platformFeeBPS = PlatformFee.initialBPS
    /// Every operator review seen, to name a reviewer who reviews twice in a round.
    var operatorReviews: Set<OperatorReview> = []
    /// Entries whose operator step was reported as invalid.
    var operatorFailuresReported: Set<UInt64> = []
    /// Operator records run through the vetting lifecycle, counted: once each, unless a step
    /// waits for the records that complete it.
    var operatorRecordsReplayed = 0
    /// Every usage event id counted, to find one counted twice at ``finish()``.
    var eventIDs: EventIDLedger
    /// Whether ``finish()`` has reported the duplicates already.
    private var duplicatesReported = false

    /// Creates a replay with the server's rules.
    ///
    /// - Parameter temporaryDirectory: where the usage event ids go when they outgrow their buffer
    ///   (about 48 MB); nil for `$TMPDIR`, or `/tmp` without it. The file is unlinked as soon as it
    ///   is created.
    /// - Parameter eventIDLimits: how many ids the buffer holds before it spills a sorted run.
    public init(calendar: MarketCalendar = MarketCalendar(), policy: GrantPolicy = GrantPolicy(),
                vetting: OperatorReplay = OperatorReplay(), temporaryDirectory: String? = nil,
                eventIDLimits: EventIDLedger.Limits = .standard) {
        self.init(calendar: calendar, policy: policy, vetting: vetting,
                  eventIDs: EventIDLedger(temporaryDirectory: temporaryDirectory, limits: eventIDLimits))
    }

    /// A replay whose event ids spill at `eventIDs`' limits (tests make them tiny).
    init(calendar: MarketCalendar = MarketCalendar(), policy: GrantPolicy = GrantPolicy(),
         vetting: OperatorReplay = OperatorReplay(), eventIDs: EventIDLedger) {
        self.calendar = calendar
        self.policy = policy
        self.vetting = vetting
        self.eventIDs = eventIDs
    }

    /// Sorted runs of usage event ids written to the temporary file so far.
    public var eventIDRunsSpilled: Int { eventIDs.runsSpilled }

    /// Why the usage event ids could not be written to the temporary directory, if they could not:
    /// the replay then keeps them in memory, and its answer is the same.
    public var temporarySpaceProblem: String? { eventIDs.spillError }

    /// Replays the entry `bytes`, which is entry `seq` of the log.
    public mutating func apply(bytes: some Collection<UInt8>, seq: UInt64) {
        do {
            let entry = try AuditEntry(decoding: bytes)
            apply(entry)
        } catch {
            state.entryCount += 1
            report(ReplayFinding(.recordMalformed, entry: seq, error.detail))
        }
    }

    /// Replays `entry`, the next entry of the log.
    public mutating func apply(_ entry: AuditEntry) {
        state.entryCount += 1
        // Every entry against the catalogue first, also those the state does not need: a forged
        // entry must not pass because nothing reads the member it breaks.
        if let problem = ActionCatalog.problem(with: entry.record) {
            report(ReplayFinding(problem.code, entry: entry.seq, problem.reason))
            return
        }
        do {
            try step(entry)
        } catch {
            report(ReplayFinding(.recordMalformed, entry: entry.seq, "\(entry.record.action): \(error.reason)"))
        }
    }

    /// Ends the replay: every operator's whole history is replayed through the vetting lifecycle.
    public mutating func finish() {
        for id in state.operatorRecords.keys.sorted() {
            _ = currentOperator(id)
        }
        reconcileOpenPeriods()
        reportDuplicateEvents()
        notices.sort { ($0.entrySeq ?? .max, $0.location) < ($1.entrySeq ?? .max, $1.location) }
        findings.sort { ($0.entrySeq ?? .max, $0.location) < ($1.entrySeq ?? .max, $1.location) }
    }

    /// Every usage event id counted again for its operator, a finding at the entry that counted it
    /// again; kept with the others, the earliest ``findingLimit`` of all in log order.
    private mutating func reportDuplicateEvents() {
        guard !duplicatesReported else { return }
        duplicatesReported = true
        let (found, total) = eventIDs.duplicates(limit: Self.findingLimit)
        guard total > 0 else { return }
        findingCount += total
        for duplicate in found {
            let place = "event \(duplicate.eventID) of \(duplicate.place.grantID)/\(duplicate.place.datasetID)/\(duplicate.place.unit.rawValue)"
            findings.append(ReplayFinding(.usageDuplicate, entry: duplicate.seq,
                                          "\(place): operator \(duplicate.operatorID) already had an event \(duplicate.eventID) counted"))
        }
        findings.sort { ($0.entrySeq ?? .max, $0.location) < ($1.entrySeq ?? .max, $1.location) }
        if findings.count > Self.findingLimit { findings.removeLast(findings.count - Self.findingLimit) }
    }

    mutating func report(_ finding: ReplayFinding) {
        if finding.isNotice {
            if notices.count < Self.findingLimit { notices.append(finding) }
            return
        }
        findingCount += 1
        if findings.count < Self.findingLimit { findings.append(finding) }
    }

    // MARK: dispatch

    private mutating func step(_ entry: AuditEntry) throws(MalformedRecord) {
        let record = entry.record
        let seq = entry.seq
        let data = Fields(record.data)
        if let action = VettingAction(rawValue: record.action) {
            let id = try data.string("operator_id")
            if action == .applied, state.operatorRecords[id] != nil {
                report(ReplayFinding(.unknownSubject, entry: seq, "operator \(id) applied a second time under the same id"))
            } else if action != .applied, state.operatorRecords[id] == nil {
                report(ReplayFinding(.unknownSubject, entry: seq, "\(record.action) for operator \(id), which never applied"))
                return
            }
            state.operatorRecords[id, default: []].append((seq, record))
            if action == .applied { committedOfficer(of: record, operatorID: id, seq: seq) }
            if action == .reviewed { try checkOperatorReview(data, actor: record.actor, seq: seq, operatorID: id) }
            return
        }
        if let action = LicensingAction(rawValue: record.action) {
            try licensing(action, data, entry)
            return
        }
        if let action = SettlementAction(rawValue: record.action) {
            try settlement(action, data, entry)
            return
        }
        switch record.action {
        case MeteringAction.recorded.rawValue:
            try usage(data, entry)
        case MeteringAction.providerReported.rawValue:
            try providerReported(data, entry)
        case LogKeys.initializedAction:
            let origin = try data.string("origin")
            state.origin = origin
            let vkeys = try data.strings("vkeys")
            do {
                state.keys = try LogKeys(origin: origin, initial: vkeys)
            } catch {
                report(ReplayFinding(Self.findingCode(error), entry: seq, "log.initialized: \(error.detail)"))
            }
        case LogKeys.addedAction, LogKeys.retiredAction:
            try keyEntry(record.action, data, seq: seq)
        case "principal.created":
            let id = try data.string("id")
            guard state.principals[id] == nil else {
                report(ReplayFinding(.unknownSubject, entry: seq, "principal \(id) created a second time"))
                return
            }
            let expiresAt: Date? = if data.members["expires_at"]?.isNull ?? true { nil } else { try data.rfc3339("expires_at") }
            state.principals[id] = ReplayedPrincipal(
                id: id, role: try data.string("role"), authorityID: try data.optionalString("authority_id"),
                expiresAt: expiresAt, revokedAt: nil)
            for field in ["name", "email"] {
                if let commitment = data.members[field].flatMap(PersonalDataCommitment.init(json:)) {
                    committed(commitment, subject: "principal:\(id)", field: field, seq: seq)
                }
            }
        case "principal.revoked":
            let id = try data.string("id")
            guard state.principals[id] != nil else {
                report(ReplayFinding(.unknownSubject, entry: seq, "principal \(id) revoked but never created"))
                return
            }
            state.principals[id]?.revokedAt = entry.time
        case "authority.created":
            let id = try data.string("id")
            guard state.authorities[id] == nil else {
                report(ReplayFinding(.unknownSubject, entry: seq, "authority \(id) created a second time"))
                return
            }
            state.authorities[id] = try data.string("name")
        case "test_clock.advanced":
            break
        case ReleaseAction.published:
            try releasePublished(data, entry)
        case PersonalDatum.erasedAction:
            try erased(data, seq: seq)
        default:
            report(ReplayFinding(.unknownAction, entry: seq, "'\(record.action)' is not an action this verifier knows; use a pdx-verify at least as new as the server that wrote the log"))
        }
    }

    // MARK: keys

    /// A key rotation step: the rules of `LogKeys`, and a `key_id` that matches the key.
    private mutating func keyEntry(_ action: String, _ data: Fields, seq: UInt64) throws(MalformedRecord) {
        let vkey = try data.string("vkey")
        let keyID = try data.string("key_id")
        guard state.keys != nil else {
            report(ReplayFinding(.keyRotationInvalid, entry: seq, "\(action) before log.initialized announced the log's keys"))
            return
        }
        do throws(LogKeyError) {
            if let verifier = try? NoteVerifier(verifierKey: vkey), verifier.keyIDHex != keyID {
                throw LogKeyError(code: .keyInvalid, detail: "key_id \(keyID) is not the id \(verifier.keyIDHex) of the key")
            }
            // In place, not on a copy: the keys announced grow with every rotation. `add` and
            // `retire` check before they change anything, so a refused step leaves them as they were.
            if action == LogKeys.addedAction { try state.keys?.add(vkey) } else { try state.keys?.retire(vkey) }
        } catch {
            report(ReplayFinding(Self.findingCode(error), entry: seq, "\(action): \(error.detail)"))
        }
    }

    private static func findingCode(_ error: LogKeyError) -> ReplayFinding.Code {
        switch error.code {
        case .keyInvalid: .keyInvalid
        case .keyRotationInvalid: .keyRotationInvalid
        }
    }

    // MARK: operators

    /// The operator as its records so far make it; nil (and a finding, once) when they do not replay.
    ///
    /// Each record is replayed once: the replay resumes after the records it has already replayed,
    /// so a log that alternates an operator's records with its usage costs no more than one that
    /// does not.
    public mutating func currentOperator(_ id: String) -> Operator? {
        guard let records = state.operatorRecords[id] else { return nil }
        var progress = state.operatorProgress[id] ?? OperatorProgress()
        if progress.failed { return nil }
        if progress.consumed == records.count { return progress.current }
        let pending = records[progress.consumed...].map(\.record)
        operatorRecordsReplayed += pending.count
        let resumed = vetting.resume(pending, after: progress.current, consumed: progress.consumed)
        progress.current = resumed.operator
        progress.consumed = resumed.consumed
        defer { state.operatorProgress[id] = progress }
        guard let failure = resumed.failure else {
            return resumed.operator
        }
        // A step that more records may complete is tried again when they arrive; any other
        // failure is final, as every later record replays from the same bad step.
        progress.failed = !failure.awaitsRecords
        let seq = records[min(failure.recordIndex, records.count - 1)].seq
        // Reported once per step.
        if operatorFailuresReported.insert(seq).inserted {
            report(ReplayFinding(.operatorStepInvalid, entry: seq, "operator \(id): \(failure.error.detail)"))
        }
        return nil
    }

    private mutating func checkOperatorReview(_ data: Fields, actor: String, seq: UInt64, operatorID: String) throws(MalformedRecord) {
        let reviewer = try data.string("reviewer_id")
        let authority = try data.string("authority_id")
        let at = try data.time("at")
        if let problem = reviewerProblem(reviewer, actor: actor, authority: authority, at: at) {
            report(ReplayFinding(.reviewerIneligible, entry: seq, "review of operator \(operatorID): \(problem)"))
        }
        // The lifecycle refuses a reviewer twice in a round; said here by name, before the
        // operator's replay says it in general.
        let round = try data.integer("round")
        if !operatorReviews.insert(OperatorReview(operatorID: operatorID, round: round, reviewer: reviewer)).inserted {
            report(ReplayFinding(.reviewerRepeated, entry: seq, "\(reviewer) reviewed operator \(operatorID) twice in round \(round)"))
        }
    }

    /// Why `reviewer` could not decide for `authority` at `at`, or nil when it could.
    func reviewerProblem(_ reviewer: String, actor: String, authority: String, at: Date) -> String? {
        guard actor == reviewer else { return "the entry's actor \(actor) is not its reviewer \(reviewer)" }
        guard let principal = state.principals[reviewer] else { return "\(reviewer) is not a principal of this log" }
        guard principal.role == "authority_reviewer" else { return "\(reviewer) is a \(principal.role), not an authority reviewer" }
        guard principal.authorityID == authority else {
            return "\(reviewer) reviews for \(principal.authorityID ?? "no authority"), not for \(authority)"
        }
        guard principal.isLive(at: at) else { return "\(reviewer)'s key was revoked or expired before \(RFC3339.format(at))" }
        return nil
    }
}

/// One operator review: an operator, a round and a reviewer.
struct OperatorReview: Hashable {
    let operatorID: String
    let round: Int64
    let reviewer: String
}

/// How far an operator's records have been replayed.
struct OperatorProgress: Sendable {
    /// The operator after the `consumed` records; nil before the first.
    var current: Operator?
    var consumed = 0
    /// A record could not be replayed; no later one can be either.
    var failed = false
}

/// A binary min-heap: the smallest element in O(1), insertion and removal in O(log n).
struct MinimumHeap<Element: Comparable & Sendable>: Sendable {
    private var elements: [Element] = []

    var minimum: Element? { elements.first }

    mutating func insert(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMinimum() {
        guard !elements.isEmpty else { return }
        elements.swapAt(0, elements.count - 1)
        elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < elements.count, elements[left] < elements[smallest] { smallest = left }
            if right < elements.count, elements[right] < elements[smallest] { smallest = right }
            guard smallest != parent else { return }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension ReplayFinding {
    /// The entry index a finding names, if it names one.
    var entrySeq: UInt64? {
        guard location.hasPrefix("entry ") else { return nil }
        return UInt64(location.dropFirst(6))
    }
}

extension Fields {
    /// A time as an admin gave it (`expires_at`): any RFC 3339 form.
    func rfc3339(_ key: String) throws(MalformedRecord) -> Date {
        guard let text = members[key]?.stringValue, let date = RFC3339.parse(text) else {
            throw MalformedRecord(reason: "\(path)\(key) is not an RFC 3339 time")
        }
        return date
    }
}

