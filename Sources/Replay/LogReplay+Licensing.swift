import AuditLog
import Foundation
import Licensing
import Metering
import Vetting

extension LogReplay {
    mutating func licensing(_ action: LicensingAction, _ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        switch action {
        case .datasetPublished:
            let dataset = try Self.dataset(try data.object("dataset"), version: Int(try data.integer("version")), at: try data.time("at"))
            guard dataset.id == (try data.string("dataset_id")) else {
                throw MalformedRecord(reason: "dataset.id differs from dataset_id")
            }
            guard state.datasets[dataset.id] == nil else {
                report(ReplayFinding(.unknownSubject, entry: entry.seq, "dataset \(dataset.id) published a second time"))
                return
            }
            guard state.authorities[dataset.authorityID] != nil else {
                report(ReplayFinding(.unknownSubject, entry: entry.seq, "dataset \(dataset.id) of authority \(dataset.authorityID), which the log never created"))
                state.datasets[dataset.id] = dataset
                return
            }
            state.datasets[dataset.id] = dataset
        case .datasetReclassified, .datasetRepriced, .datasetDeliveryChanged, .datasetToleranceChanged, .datasetUpstreamChanged, .datasetDescribed:
            try changeDataset(data, entry)
        case .grantRequested:
            try requestGrant(data, entry)
        case .grantAmended:
            try amendGrant(data, entry)
        default:
            try changeGrant(action, data, entry)
        }
    }

    static func dataset(_ fields: Fields, version: Int, at: Date) throws(MalformedRecord) -> Dataset {
        var datasetFields: [DatasetField] = []
        for field in try fields.objects("fields") {
            // Logs written before fields could be filterable do not say so.
            let filterable = field.members["filterable"] == nil ? false : try field.bool("filterable")
            datasetFields.append(DatasetField(
                name: try field.string("name"), type: try field.raw("type", as: FieldType.self), sensitive: try field.bool("sensitive"),
                filterable: filterable))
        }
        var units: [MeteringUnit] = []
        for name in try fields.strings("units") {
            guard let unit = MeteringUnit(rawValue: name) else { throw MalformedRecord(reason: "dataset.units holds an unknown unit") }
            units.append(unit)
        }
        return Dataset(
            id: try fields.string("id"), title: try fields.string("title"), description: try fields.string("description"),
            authorityID: try fields.string("authority_id"), theme: try fields.string("theme"),
            openness: try fields.raw("openness", as: Openness.self), grade: try fields.raw("grade", as: Grade.self),
            fields: datasetFields, units: units, currency: try fields.currency("currency"),
            ceilingPrices: try fields.prices("ceiling_prices"), revenueShareBPS: Int(try fields.integer("revenue_share_bps")),
            version: version, publishedAt: at, updatedAt: at,
            // Datasets published before delivery modes were all declared by their operators.
            delivery: fields.members["delivery"] == nil ? .declared : try fields.raw("delivery", as: DeliveryMode.self),
            reconciliationToleranceBPS: try tolerance(fields.members["reconciliation_tolerance_bps"]),
            upstream: fields.members["upstream"] == nil ? nil : try Self.upstream(try fields.object("upstream")))
    }

    /// A tolerance as the log writes it: absent for the default, else 0–10000 basis points.
    static func tolerance(_ value: JSONValue?) throws(MalformedRecord) -> Int {
        guard let value else { return Dataset.defaultToleranceBPS }
        guard let bps = value.integerValue, (0...10_000).contains(bps) else {
            throw MalformedRecord(reason: "reconciliation_tolerance_bps is not an integer from 0 to 10000")
        }
        return Int(bps)
    }

    /// An endpoint as `UpstreamEndpoint.json` writes it.
    static func upstream(_ fields: Fields) throws(MalformedRecord) -> UpstreamEndpoint {
        UpstreamEndpoint(baseURL: try fields.string("base_url"), credentialHeader: try fields.string("credential_header"))
    }

    private mutating func changeDataset(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let id = try data.string("dataset_id")
        guard let old = state.datasets[id] else {
            report(ReplayFinding(.unknownSubject, entry: entry.seq, "\(entry.record.action) of dataset \(id), which was never published"))
            return
        }
        let changes = try data.object("changes")
        let at = try data.time("at")
        let place = "\(entry.record.action) of dataset \(id)"
        // The service lets a platform admin or a reviewer of the providing authority change a dataset.
        let actor = entry.record.actor
        let isAdmin = state.principals[actor].map { $0.role == "admin" && $0.isLive(at: at) } ?? false
        if !isAdmin, let problem = reviewerProblem(actor, actor: actor, authority: old.authorityID, at: at) {
            report(ReplayFinding(.reviewerIneligible, entry: entry.seq, "\(place): \(problem)"))
        }
        let authorityID = try data.string("authority_id")
        if authorityID != old.authorityID {
            report(ReplayFinding(.datasetChangeInvalid, entry: entry.seq, "\(place) names authority \(authorityID); the dataset is provided by \(old.authorityID)"))
        }
        let (title, description) = try describedText(changes, old, place: place, seq: entry.seq)
        let fields = try sensitivity(changes, old, place: place, seq: entry.seq)
        var openness = old.openness
        var grade = old.grade
        var prices = old.ceilingPrices
        var delivery = old.delivery
        if changes.members["delivery"] != nil { delivery = try changes.object("delivery").raw("to", as: DeliveryMode.self) }
        var tolerance = old.reconciliationToleranceBPS
        if changes.members["reconciliation_tolerance_bps"] != nil {
            tolerance = try Self.tolerance(changes.object("reconciliation_tolerance_bps").members["to"])
        }
        var upstream = old.upstream
        if changes.members["upstream"] != nil {
            let change = try changes.object("upstream")
            upstream = change.members["to"] == .null ? nil : try Self.upstream(try change.object("to"))
        }
        if changes.members["openness"] != nil { openness = try changes.object("openness").raw("to", as: Openness.self) }
        if changes.members["grade"] != nil { grade = try changes.object("grade").raw("to", as: Grade.self) }
        if changes.members["ceiling_prices"] != nil {
            let changed = try changes.object("ceiling_prices")
            for name in changed.members.keys {
                guard let unit = MeteringUnit(rawValue: name), let price = UnitPrice(try changed.object(name).string("to")) else {
                    throw MalformedRecord(reason: "changes.ceiling_prices.\(name) is not a price change of a known unit")
                }
                prices[unit] = price
            }
        }
        state.datasets[id] = Dataset(
            id: old.id, title: title, description: description, authorityID: old.authorityID, theme: old.theme,
            openness: openness, grade: grade, fields: fields, units: old.units, currency: old.currency,
            ceilingPrices: prices, revenueShareBPS: old.revenueShareBPS, version: Int(try data.integer("version")),
            publishedAt: old.publishedAt, updatedAt: at, delivery: delivery, reconciliationToleranceBPS: tolerance,
            upstream: upstream)
    }

    /// The title and description after `changes.title` / `changes.description` {`from`, `to`}: each
    /// `from` must be the text the log has, and a title is never empty.
    private mutating func describedText(_ changes: Fields, _ old: Dataset, place: String, seq: UInt64) throws(MalformedRecord) -> (String, String) {
        var title = old.title
        var description = old.description
        if changes.members["title"] != nil {
            let change = try changes.object("title")
            title = try change.string("to")
            if try change.string("from") != old.title {
                report(ReplayFinding(.datasetChangeInvalid, entry: seq, "\(place) changes the title from a text the dataset did not have"))
            }
            if title.isEmpty { report(ReplayFinding(.datasetChangeInvalid, entry: seq, "\(place) gives the dataset an empty title")) }
        }
        if changes.members["description"] != nil {
            let change = try changes.object("description")
            description = try change.string("to")
            if try change.string("from") != old.description {
                report(ReplayFinding(.datasetChangeInvalid, entry: seq, "\(place) changes the description from a text the dataset did not have"))
            }
        }
        return (title, description)
    }

    /// The fields after `changes.fields` {name: {`sensitive`: {`from`, `to`}}}: each named field must
    /// exist with the `from` flag the log has.
    private mutating func sensitivity(_ changes: Fields, _ old: Dataset, place: String, seq: UInt64) throws(MalformedRecord) -> [DatasetField] {
        guard changes.members["fields"] != nil else { return old.fields }
        var fields = old.fields
        let changed = try changes.object("fields")
        for name in changed.members.keys.sorted() {
            let flag = try changed.object(name).object("sensitive")
            let from = try flag.bool("from"), to = try flag.bool("to")
            guard let slot = fields.firstIndex(where: { $0.name == name }) else {
                report(ReplayFinding(.datasetChangeInvalid, entry: seq, "\(place) changes field \(name), which the dataset does not have"))
                continue
            }
            let field = fields[slot]
            if field.sensitive != from {
                report(ReplayFinding(.datasetChangeInvalid, entry: seq, "\(place) says field \(name) was \(from ? "" : "not ")sensitive; the log has it \(field.sensitive ? "" : "not ")sensitive"))
            }
            fields[slot] = DatasetField(name: field.name, type: field.type, sensitive: to, filterable: field.filterable)
        }
        return fields
    }

    // MARK: grants

    private mutating func requestGrant(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let id = try data.string("grant_id")
        let operatorID = try data.string("operator_id")
        let at = try data.time("at")
        var items: [GrantItem] = []
        for item in try data.objects("datasets") {
            items.append(GrantItem(
                datasetID: try item.string("dataset_id"), authorityID: try item.string("authority_id"),
                fields: try item.strings("fields"), unitPrices: try item.prices("unit_prices"),
                priceTiers: try item.tiers("price_tiers"), quotas: try item.quotas("quota_per_period"),
                justifications: try item.stringMap("justifications")))
        }
        let agreement = try data.object("agreement")
        let grant = Grant(
            id: id, operatorID: operatorID, requestedBy: try data.string("requested_by"), purpose: try data.string("purpose"),
            scenario: try data.raw("scenario", as: Scenario.self), startsAt: try data.time("starts_at"), endsAt: try data.time("ends_at"),
            agreement: AgreementBinding(id: try agreement.string("id"), version: try agreement.string("version"),
                                        sha256: try agreement.string("sha256")),
            items: items, currency: try data.currency("currency"), requestedAt: at, status: .pending, approvals: [],
            reasons: [], suspensionCause: nil,
            history: [GrantStatusChange(action: .requested, from: nil, to: .pending, at: at, actor: entry.record.actor, reason: nil)],
            revision: Int(try data.integer("revision")))
        guard state.grants[id] == nil else {
            report(ReplayFinding(.unknownSubject, entry: entry.seq, "grant \(id) requested a second time"))
            return
        }
        if state.operatorRecords[operatorID] == nil {
            report(ReplayFinding(.unknownSubject, entry: entry.seq, "grant \(id) for operator \(operatorID), which never applied"))
        }
        for item in items {
            guard let dataset = state.datasets[item.datasetID] else {
                report(ReplayFinding(.unknownSubject, entry: entry.seq, "grant \(id) names dataset \(item.datasetID), which was never published"))
                continue
            }
            if dataset.authorityID != item.authorityID {
                report(ReplayFinding(.grantStepInvalid, entry: entry.seq,
                                     "grant \(id) says dataset \(item.datasetID) is provided by \(item.authorityID); the log says \(dataset.authorityID)"))
            }
        }
        let required = try data.strings("approvals_required")
        // A grant asking for sensitive fields is never approved automatically: each providing
        // authority of such a dataset must be asked (unless the rules denied it, asking nobody).
        for item in items where !item.justifications.isEmpty && !required.isEmpty && !required.contains(item.authorityID) {
            // (With nobody asked, the activation that would follow is judged instead.)
            report(ReplayFinding(.grantStepInvalid, entry: entry.seq,
                                 "grant \(id) asks for sensitive fields of \(item.datasetID) without asking \(item.authorityID) to approve"))
        }
        state.grants[id] = ReplayedGrant(grant: grant, approvalsRequired: required)
    }

    /// `grant.amended`: the grant's next version replaces its items and end, and the decisions
    /// start afresh, so that no decision on an earlier version counts towards its activation.
    private mutating func amendGrant(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let id = try data.string("grant_id")
        let seq = entry.seq
        guard let grant = state.grants[id]?.grant else {
            report(ReplayFinding(.unknownSubject, entry: seq, "grant.amended of grant \(id), which was never requested"))
            return
        }
        var items: [GrantItem] = []
        for item in try data.objects("datasets") {
            items.append(GrantItem(
                datasetID: try item.string("dataset_id"), authorityID: try item.string("authority_id"),
                fields: try item.strings("fields"), unitPrices: try item.prices("unit_prices"),
                priceTiers: try item.tiers("price_tiers"), quotas: try item.quotas("quota_per_period"),
                justifications: try item.stringMap("justifications")))
        }
        let at = try data.time("at")
        let version = Int(clamping: try data.integer("version"))
        let required = try data.strings("approvals_required")
        if grant.status != .pending && grant.status != .suspended {
            report(ReplayFinding(.grantStepInvalid, entry: seq, "grant.amended of grant \(id), which is \(grant.status.rawValue)"))
        }
        if version != grant.version + 1 {
            report(ReplayFinding(.grantStepInvalid, entry: seq, "grant \(id) amended into version \(version); it was at version \(grant.version)"))
        }
        if items.map(\.datasetID) != grant.items.map(\.datasetID) || items.map(\.authorityID) != grant.items.map(\.authorityID) {
            report(ReplayFinding(.grantStepInvalid, entry: seq, "grant \(id) amended into other datasets than it was requested for"))
        }
        if grant.hasBeenActive, zip(items, grant.items).contains(where: { $0.unitPrices != $1.unitPrices || $0.priceTiers != $1.priceTiers }) {
            report(ReplayFinding(.grantStepInvalid, entry: seq, "grant \(id) had been in force and was amended to other prices"))
        }
        // The authorities it must ask, by the rules as the log has them now.
        let datasets = items.compactMap { state.datasets[$0.datasetID] }
        if datasets.count == items.count {
            let needed = GrantLifecycle(policy: policy).approvalsForAmendment(of: grant, items: items, datasets: datasets)
            if let missing = needed.first(where: { !required.contains($0) }) {
                report(ReplayFinding(.grantStepInvalid, entry: seq, "grant \(id) amended without asking \(missing) to approve"))
            }
        }
        let change = GrantStatusChange(action: .amended, from: grant.status, to: .pending, at: at, actor: entry.record.actor,
                                       reason: data.members["reason"]?.stringValue)
        state.grants[id]?.grant.replayAmendment(change, items: items, endsAt: try data.time("ends_at"), revision: Int(try data.integer("revision")))
        state.grants[id]?.approvalsRequired = required
        // The earlier version's decisions are void.
        grantDecisions[id] = GrantDecisions(required: required)
        let endsAt = try data.time("ends_at")
        inForce[id, default: InForceTimeline()].step(to: .pending, at: at, startsAt: grant.startsAt, endsAt: endsAt)
        snapshots[id] = nil
    }

    private mutating func changeGrant(_ action: LicensingAction, _ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let id = try data.string("grant_id")
        let at = try data.time("at")
        let revision = Int(try data.integer("revision"))
        let seq = entry.seq
        // Only what the step needs is read from the grant, and no copy of it is held: the step is
        // then recorded in place, however long the grant's history.
        guard let from = state.grants[id]?.grant.status, let endsAt = state.grants[id]?.grant.endsAt,
              let startsAt = state.grants[id]?.grant.startsAt else {
            report(ReplayFinding(.unknownSubject, entry: seq, "\(action.rawValue) of grant \(id), which was never requested"))
            return
        }
        let required = state.grants[id]?.approvalsRequired ?? []
        // Taken out while it changes, so that it is changed in place rather than copied.
        var decisions = grantDecisions.removeValue(forKey: id) ?? GrantDecisions(required: required)
        defer { grantDecisions[id] = decisions }
        var approval: Approval?
        var cause = state.grants[id]?.grant.suspensionCause
        var suspendedBy = state.grants[id]?.grant.suspendedBy
        var terms: [DatasetTerms]?
        let to: GrantStatus
        let allowed: Set<GrantStatus>
        switch action {
        case .grantDecided:
            let authority = try data.string("authority_id")
            let reviewer = try data.string("reviewer_id")
            let decision = try data.raw("decision", as: GrantDecision.self)
            let asked = decisions.required.contains(authority)
            if let problem = reviewerProblem(reviewer, actor: entry.record.actor, authority: authority, at: at) {
                report(ReplayFinding(.reviewerIneligible, entry: seq, "decision on grant \(id): \(problem)"))
            } else if !asked {
                report(ReplayFinding(.reviewerIneligible, entry: seq,
                                     "decision on grant \(id) for \(authority), which is not among the authorities asked (\(required.joined(separator: ", ")))"))
            }
            if let earlier = decisions.byAuthority[authority] ?? decisions.byReviewer[reviewer] {
                report(ReplayFinding(.reviewerRepeated, entry: seq,
                                     "grant \(id) was already decided by \(earlier.reviewerID ?? "?") for \(earlier.authorityID)"))
            } else if asked {
                // A repeated decision, or one for an authority not asked, is a finding and counts
                // for nothing: the decisions a grant holds stay as few as the authorities asked.
                let decided = Approval(authorityID: authority, decision: decision, reviewerID: reviewer,
                                       reason: try data.optionalString("reason"), at: at)
                approval = decided
                decisions.byAuthority[authority] = decided
                decisions.byReviewer[reviewer] = decided
                if decision == .approve { decisions.approved.insert(authority) } else { decisions.rejected = true }
            }
            to = from
            allowed = [.pending]
        case .grantActivated:
            to = .active
            allowed = [.pending]
            let via = try data.string("via")
            if data.members["terms"] != nil, let grant = state.grants[id]?.grant {
                terms = try activationTerms(of: grant, data, seq: seq)
            }
            // Judged once, at the activation of a pending grant; any other is grant_step_invalid.
            if from == .pending {
                let missing = required.filter { !decisions.approved.contains($0) }
                if !missing.isEmpty || (via == "automatic" && !required.isEmpty) {
                    report(ReplayFinding(.activatedWithoutApproval, entry: seq,
                                         "grant \(id) activated (\(via)) without the approval of \(missing.isEmpty ? required.joined(separator: ", ") : missing.joined(separator: ", "))"))
                } else if decisions.rejected {
                    report(ReplayFinding(.activatedWithoutApproval, entry: seq, "grant \(id) activated after an authority rejected it"))
                } else if let item = state.grants[id]?.grant.items.first(where: { !$0.justifications.isEmpty && !required.contains($0.authorityID) }) {
                    report(ReplayFinding(.activatedWithoutApproval, entry: seq,
                                         "grant \(id) activated (\(via)) with sensitive fields of \(item.datasetID) that \(item.authorityID) never approved"))
                }
            }
        case .grantDenied:
            to = .denied
            allowed = [.pending]
        case .grantSuspended:
            to = .suspended
            allowed = [.active]
            cause = try data.raw("cause", as: SuspensionCause.self)
            // By an authority or a dataset change: only that party (or an admin) lifts it.
            suspendedBy = cause == .operator ? nil : (try data.optionalString("authority_id")).map(ActingParty.authority) ?? .admin
        case .grantReinstated:
            to = .active
            allowed = [.suspended]
            let by = Reviewer(principalID: entry.record.actor, authorityID: try data.optionalString("authority_id"))
            if let suspender = suspendedBy, !suspender.mayBeUndone(by: by) {
                report(ReplayFinding(.grantStepInvalid, entry: seq,
                                     "grant \(id) reinstated by \(ActingParty(by)), but \(suspender) suspended it; only that party or an admin may"))
            }
            cause = nil
            suspendedBy = nil
        case .grantRevoked:
            to = .revoked
            allowed = [.active, .suspended]
        case .grantExpired:
            to = .expired
            allowed = [.active, .suspended]
            if at < endsAt {
                report(ReplayFinding(.grantStepInvalid, entry: seq, "grant \(id) expired at \(RFC3339.format(at)), before its term ends at \(RFC3339.format(endsAt))"))
            }
        case .datasetPublished, .datasetReclassified, .datasetRepriced, .datasetDeliveryChanged, .datasetToleranceChanged, .datasetUpstreamChanged, .datasetDescribed,
             .grantRequested, .grantAmended:
            return
        }
        if !allowed.contains(from) {
            report(ReplayFinding(.grantStepInvalid, entry: seq, "\(action.rawValue) of grant \(id), which is \(from.rawValue)"))
        }
        let grantAction = GrantAction(rawValue: String(action.rawValue.dropFirst("grant.".count))) ?? .decided
        let change = GrantStatusChange(action: grantAction, from: from, to: to, at: at, actor: entry.record.actor,
                                       reason: data.members["reason"]?.stringValue)
        state.grants[id]?.grant.replay(change, adding: approval, suspensionCause: cause, revision: revision, suspendedBy: suspendedBy,
                                       terms: terms)
        inForce[id, default: InForceTimeline()].step(to: to, at: at, startsAt: startsAt, endsAt: endsAt)
        snapshots[id] = nil
        if to == .active && from != .active, let updated = state.grants[id]?.grant {
            checkInForce(updated, at: at, seq: seq, why: action == .grantActivated ? "activated" : "reinstated")
        }
    }

    /// The terms an activation logs, checked against those in force at its place in the log: one
    /// entry per dataset of the grant, in its order, with the item's prices, the dataset's share
    /// as the log has it then and the platform fee of the last `marketplace.fee_changed`.
    mutating func activationTerms(of grant: Grant, _ data: Fields, seq: UInt64) throws(MalformedRecord) -> [DatasetTerms] {
        var terms: [DatasetTerms] = []
        for element in try data.objects("terms") {
            terms.append(DatasetTerms(
                datasetID: try element.string("dataset_id"), revenueShareBPS: Int(clamping: try element.integer("revenue_share_bps")),
                platformFeeBPS: Int(clamping: try element.integer("platform_fee_bps"))))
        }
        // Fixed once: a grant activated again after an amendment keeps the terms of its first activation.
        let expected = grant.terms.isEmpty ? grant.currentTerms(datasets: state.datasets, platformFeeBPS: platformFeeBPS) : grant.terms
        if let difference = JSONDifference.first(
            data.members["terms"] ?? .null, LicensingRecords.termsJSON(expected, of: grant),
            foundName: "the activation's terms", expectedName: "the terms in force") {
            report(ReplayFinding(.grantTermsMismatch, entry: seq, "grant \(grant.id): \(difference)"))
        }
        return terms
    }

    /// A grant put in force must satisfy the grant rules at that moment, against the datasets and
    /// the operator as the log has them then.
    mutating func checkInForce(_ grant: Grant, at: Date, seq: UInt64, why: String) {
        guard let owner = currentOperator(grant.operatorID) else { return }
        var datasets: [String: Dataset] = [:]
        for item in grant.items { datasets[item.datasetID] = state.datasets[item.datasetID] }
        checkedVersions[grant.id] = datasets.mapValues(\.version)
        let reasons = policy.recheck(grant, operator: owner, datasets: datasets, at: at)
        for reason in reasons {
            let code: ReplayFinding.Code = switch reason.code {
            case .priceAboveCeiling: .priceAboveCeiling
            case .approvalRequired: .activatedWithoutApproval
            default: .activatedAgainstPolicy
            }
            report(ReplayFinding(code, entry: seq, "grant \(grant.id) \(why) although \(reason.code.rawValue): \(reason.detail)"))
        }
    }

    /// Usage under a grant whose datasets changed since it was last checked: the change must have
    /// suspended it if the rules no longer allow it.
    mutating func recheckIfDatasetsChanged(_ grant: Grant, at: Date, seq: UInt64) {
        let versions = checkedVersions[grant.id] ?? [:]
        guard grant.items.contains(where: { state.datasets[$0.datasetID]?.version != versions[$0.datasetID] }) else { return }
        guard let owner = currentOperator(grant.operatorID) else { return }
        var datasets: [String: Dataset] = [:]
        for item in grant.items { datasets[item.datasetID] = state.datasets[item.datasetID] }
        checkedVersions[grant.id] = datasets.mapValues(\.version)
        let datasetCodes: Set<GrantReason.Code> = [.priceAboveCeiling, .opennessClosed, .gradeCore, .tierInsufficient, .approvalRequired,
                                                   .fieldSensitive]
        for reason in policy.recheck(grant, operator: owner, datasets: datasets, at: at) where datasetCodes.contains(reason.code) {
            let code: ReplayFinding.Code = reason.code == .priceAboveCeiling ? .priceAboveCeiling : .activatedAgainstPolicy
            report(ReplayFinding(code, entry: seq, "usage under grant \(grant.id), which a dataset change should have suspended: \(reason.detail)"))
        }
    }

    /// The grant check's view of grant `id`, without its spans in force: ``inForce`` holds them.
    mutating func snapshot(_ id: String) -> GrantSnapshot? {
        if let cached = snapshots[id] { return cached }
        guard let grant = state.grants[id]?.grant else { return nil }
        let snapshot = GrantSnapshot(grant, spans: [])
        snapshots[id] = snapshot
        return snapshot
    }

    /// The grant check for `query`, the spans in force searched in ``inForce``.
    mutating func check(_ query: GrantCheckQuery) -> GrantCheckResult {
        guard let snapshot = snapshot(query.grantID) else { return .denied(.grantNotFound) }
        let timeline = inForce[query.grantID]
        return snapshot.check(query) { timeline?.contains($0, startsAt: snapshot.startsAt, endsAt: snapshot.endsAt) ?? false }
    }
}

/// The decisions on one grant that count: at most one per authority asked, none by a reviewer
/// twice. Kept beside the grant so that a decision or an activation costs the same however many
/// decisions a forged log piles onto one grant.
struct GrantDecisions: Sendable {
    /// The authorities asked, from `grant.requested`.
    let required: Set<String>
    var byAuthority: [String: Approval] = [:]
    var byReviewer: [String: Approval] = [:]
    var approved: Set<String> = []
    var rejected = false

    init(required: [String]) {
        self.required = Set(required)
    }
}

/// When a grant was in force, as its steps say (``Grant/activeSpans``), kept as sorted, disjoint
/// spans so that each usage event is looked up by binary search: a grant suspended and reinstated
/// many times costs a logarithm per event, not a scan of its history.
struct InForceTimeline: Sendable {
    /// Closed spans, sorted by start, disjoint and not touching (touching ones are merged).
    private(set) var spans: [ActiveSpan] = []
    /// The start of the span still open, when the grant is in force now.
    private(set) var openedAt: Date?

    /// Follows a step to `status` at `at`, as ``Grant/activeSpans`` reads the history.
    mutating func step(to status: GrantStatus, at: Date, startsAt: Date, endsAt: Date) {
        if status == .active, openedAt == nil {
            openedAt = at
        } else if status != .active, let start = openedAt {
            add(ActiveSpan(from: max(start, startsAt), until: min(at, endsAt)))
            openedAt = nil
        }
    }

    /// True when `time` is in a span, the open one included.
    func contains(_ time: Date, startsAt: Date, endsAt: Date) -> Bool {
        if let openedAt, time >= max(openedAt, startsAt), time < endsAt { return true }
        // The last span starting at or before `time`.
        var low = 0, high = spans.count
        while low < high {
            let middle = (low + high) / 2
            if spans[middle].from <= time { low = middle + 1 } else { high = middle }
        }
        return low > 0 && spans[low - 1].contains(time)
    }

    /// The span in force that holds `time` (the open one ending at `endsAt`), or nil.
    func span(containing time: Date, endsAt: Date) -> ActiveSpan? {
        if let openedAt, time >= openedAt, time < endsAt { return ActiveSpan(from: openedAt, until: endsAt) }
        var low = 0, high = spans.count
        while low < high {
            let middle = (low + high) / 2
            if spans[middle].from <= time { low = middle + 1 } else { high = middle }
        }
        return low > 0 && spans[low - 1].contains(time) ? spans[low - 1] : nil
    }

    /// Adds a span, merged with those it overlaps or touches. In log order the spans arrive sorted
    /// and this appends; steps whose times go backwards insert.
    mutating func add(_ span: ActiveSpan) {
        guard span.from < span.until else { return }
        if spans.last.map({ $0.until < span.from }) ?? true {
            spans.append(span)
            return
        }
        // The first span ending at or after the new one's start, and the first starting after its end.
        var low = 0, high = spans.count
        while low < high {
            let middle = (low + high) / 2
            if spans[middle].until < span.from { low = middle + 1 } else { high = middle }
        }
        let first = low
        high = spans.count
        while low < high {
            let middle = (low + high) / 2
            if spans[middle].from <= span.until { low = middle + 1 } else { high = middle }
        }
        let end = low
        guard first < end else {
            spans.insert(span, at: first)
            return
        }
        let merged = ActiveSpan(from: min(span.from, spans[first].from), until: max(span.until, spans[end - 1].until))
        spans.replaceSubrange(first..<end, with: [merged])
    }
}
