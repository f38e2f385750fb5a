public import AuditLog
import Licensing
import Metering
import Settlement
import Vetting

/// The action catalogue of `Contracts/audit-log.md` in code: every action a log may hold and the
/// `data` members each one must carry, with their types. The replay checks every entry against it
/// before anything else, the entries it needs for the marketplace's state and those it does not
/// (`test_clock.advanced`, `authority.created`'s region). A test reads the contract's tables and
/// compares them with this one, so the two cannot drift apart.
///
/// Members beyond the listed ones are allowed: an action, once published, keeps its members, and
/// new ones may be added.
public enum ActionCatalog {
    /// What a member must hold.
    public enum MemberType: Sendable, Hashable {
        /// A JSON string.
        case string
        /// A number with no fraction, within ±2^53.
        case integer
        /// `true` or `false`.
        case boolean
        /// A JSON object; its members are the replay's to check.
        case object
        /// A JSON array; its elements are the replay's to check.
        case array
        /// An array of strings.
        case strings
        /// RFC 3339 UTC with milliseconds, the log's own form (`2026-10-01T02:00:00.000Z`).
        case time
        /// Any RFC 3339 date-time (times an admin gave through the API).
        case rfc3339
        /// A personal value's commitment: `{"commitment": 64 hex, "personal_data_id": "pd_…"}`.
        case commitment
        /// The type, or null.
        indirect case nullable(MemberType)
    }

    /// One `data` member an action must carry.
    public struct Member: Sendable, Hashable {
        /// The member's name in `data`.
        public let name: String
        /// What it must hold.
        public let type: MemberType
        /// True when the member may be left out (only where the contract says so).
        public let mayBeAbsent: Bool

        init(_ name: String, _ type: MemberType, mayBeAbsent: Bool = false) {
            self.name = name
            self.type = type
            self.mayBeAbsent = mayBeAbsent
        }
    }

    /// The required `data` members of every action, by action name.
    public static let actions: [String: [Member]] = {
        var actions: [String: [Member]] = [
            LogKeys.initializedAction: [Member("origin", .string), Member("vkeys", .strings)],
            LogKeys.addedAction: [Member("vkey", .string), Member("key_id", .string)],
            LogKeys.retiredAction: [Member("vkey", .string), Member("key_id", .string)],
            "principal.created": [
                Member("id", .string), Member("name", .commitment), Member("email", .nullable(.commitment)),
                Member("role", .string),
                Member("authority_id", .nullable(.string)),
                // Absent for the bootstrap admin.
                Member("expires_at", .nullable(.rfc3339), mayBeAbsent: true),
                Member("key_id", .string),
            ],
            "principal.revoked": [Member("id", .string), Member("reason", .string)],
            "authority.created": [Member("id", .string), Member("name", .string), Member("region", .string)],
            "test_clock.advanced": [Member("from", .nullable(.rfc3339)), Member("to", .rfc3339)],
            ReleaseAction.published: [
                Member("dataset_id", .string), Member("authority_id", .string), Member("release", .string),
                Member("media_type", .string), Member("sha256", .string), Member("rows", .integer), Member("bytes", .integer),
                Member("fields", .strings), Member("at", .time),
            ],
            PersonalDatum.erasedAction: [
                Member("personal_data_id", .string), Member("subject", .string), Member("field", .string),
                Member("commitment", .string), Member("reason", .string), Member("at", .time),
            ],
        ]
        let operatorCommon = [Member("operator_id", .string), Member("revision", .integer), Member("at", .time)]
        for action in VettingAction.allCases { actions[action.rawValue] = operatorCommon + members(of: action) }
        for action in LicensingAction.allCases { actions[action.rawValue] = members(of: action) }
        for action in MeteringAction.allCases { actions[action.rawValue] = members(of: action) }
        for action in SettlementAction.allCases { actions[action.rawValue] = members(of: action) }
        return actions
    }()

    /// A Metering action's members.
    static func members(of action: MeteringAction) -> [Member] {
        switch action {
        case .recorded: [
            Member("operator_id", .string), Member("batch_id", .string), Member("part", .integer),
            Member("parts", .integer), Member("at", .time), Member("usage", .array),
            // `gateway` or `upstream` for usage metered at the source; absent for declared usage.
            Member("source", .string, mayBeAbsent: true),
        ]
        case .providerReported: [
            Member("authority_id", .string), Member("batch_id", .string), Member("source", .string), Member("at", .time),
            Member("reports", .array),
        ]
        }
    }

    /// A Settlement action's members.
    static func members(of action: SettlementAction) -> [Member] {
        switch action {
        case .revenueCapSet: [
            Member("operator_id", .string), Member("year", .integer), Member("amount_minor", .integer),
            Member("currency", .string), Member("reason", .string), Member("at", .time),
        ]
        case .adjusted: [
            Member("adjustment_id", .string), Member("period", .string), Member("corrects", .string),
            Member("operator_id", .string), Member("authority_id", .string), Member("grant_id", .nullable(.string)),
            Member("dataset_id", .nullable(.string)), Member("unit", .nullable(.string)),
            Member("authority_bps", .integer), Member("platform_bps", .integer), Member("amount_minor", .integer),
            Member("reason", .string), Member("at", .time),
        ]
        case .closed: [
            Member("period", .string), Member("currency", .string), Member("platform_fee_bps", .integer),
            Member("closed_at", .time), Member("totals", .object), Member("parties", .integer), Member("reports", .object),
            // The report format; absent for closes in format 1.
            Member("format_version", .integer, mayBeAbsent: true),
            // The discrepancies acknowledged; absent when there were none.
            Member("acknowledged_discrepancies", .array, mayBeAbsent: true),
        ]
        case .feeChanged: [
            Member("old_bps", .integer), Member("new_bps", .integer), Member("reason", .string), Member("at", .time),
        ]
        case .discrepancyAcknowledged: [
            Member("period", .string), Member("grant_id", .string), Member("dataset_id", .string), Member("unit", .string),
            Member("declared_quantity", .integer), Member("provider_quantity", .integer), Member("tolerance_bps", .integer),
            Member("reason", .string), Member("at", .time),
        ]
        }
    }

    // Exhaustive switches, not dictionaries: an action added to a module's enum does not compile
    // until the catalogue says what it carries.

    /// A Vetting action's members besides `operator_id`, `revision` and `at`.
    static func members(of action: VettingAction) -> [Member] {
        switch action {
        case .applied: [Member("status", .string), Member("application", .object)]
        case .reviewed: [
            Member("reviewer_id", .string), Member("authority_id", .string), Member("decision", .string),
            Member("reason", .nullable(.string)), Member("round", .integer), Member("approvals", .integer),
            Member("approvals_required", .integer),
        ]
        case .approved: [Member("tier", .string), Member("approved_until", .time), Member("reviewers", .strings)]
        case .rejected: [Member("reason", .string)]
        case .renewed: [
            Member("tier", .string), Member("approved_until", .time),
            Member("previous_approved_until", .nullable(.time)), Member("reviewers", .strings),
        ]
        case .suspended: [Member("authority_id", .nullable(.string)), Member("reason", .string), Member("cascade", .string)]
        case .reinstated: [
            Member("authority_id", .nullable(.string)), Member("reason", .nullable(.string)),
            Member("approved_until", .nullable(.time)), Member("cascade", .string),
        ]
        case .revoked: [
            Member("authority_id", .nullable(.string)), Member("from_status", .string), Member("reason", .string),
            Member("cascade", .string), Member("proposed_by", .nullable(.string)),
            Member("proposed_by_authority_id", .nullable(.string)),
        ]
        case .revocationProposed: [Member("authority_id", .string), Member("status", .string), Member("reason", .string)]
        }
    }

    /// A Licensing action's members, the common ones of its dataset or grant records included.
    static func members(of action: LicensingAction) -> [Member] {
        let datasetCommon = [Member("dataset_id", .string), Member("version", .integer), Member("at", .time)]
        let datasetChange = [
            Member("authority_id", .string), Member("changes", .object), Member("reason", .string), Member("stricter", .boolean),
        ]
        let grantCommon = [
            Member("grant_id", .string), Member("operator_id", .string), Member("revision", .integer), Member("at", .time),
        ]
        return switch action {
        case .datasetPublished: datasetCommon + [Member("dataset", .object)]
        case .datasetReclassified, .datasetRepriced, .datasetDeliveryChanged, .datasetToleranceChanged, .datasetUpstreamChanged, .datasetDescribed: datasetCommon + datasetChange
        case .grantRequested: grantCommon + [
            Member("requested_by", .string), Member("purpose", .string), Member("scenario", .string),
            Member("starts_at", .time), Member("ends_at", .time), Member("agreement", .object), Member("currency", .string),
            Member("datasets", .array), Member("approvals_required", .strings),
        ]
        case .grantDecided: grantCommon + [
            Member("authority_id", .string), Member("reviewer_id", .string), Member("decision", .string),
            Member("reason", .nullable(.string)),
        ]
        case .grantActivated: grantCommon + [
            Member("via", .string), Member("approvals", .strings),
            // Absent in activations logged before grants kept their terms.
            Member("terms", .array, mayBeAbsent: true),
        ]
        case .grantDenied: grantCommon + [Member("by", .string), Member("reason", .nullable(.string)), Member("reasons", .array)]
        case .grantSuspended: grantCommon + [
            Member("cause", .string), Member("authority_id", .nullable(.string)), Member("reason", .string),
            Member("reasons", .array),
        ]
        case .grantReinstated: grantCommon + [
            Member("cause", .string), Member("authority_id", .nullable(.string)), Member("reason", .nullable(.string)),
        ]
        case .grantRevoked: grantCommon + [
            Member("from_status", .string), Member("cause", .string), Member("authority_id", .nullable(.string)),
            Member("reason", .string),
        ]
        case .grantExpired: grantCommon + [Member("ends_at", .time)]
        case .grantAmended: grantCommon + [
            Member("version", .integer), Member("from_status", .string), Member("reason", .nullable(.string)),
            Member("ends_at", .time), Member("datasets", .array), Member("changes", .strings),
            Member("approvals_required", .strings), Member("outcome", .string),
        ]
        }
    }

    /// Why `record` is not an entry of the catalogue, or nil when it is: an unknown action
    /// (``ReplayFinding/Code/unknownAction``) or a required member missing, null or of the wrong
    /// type (``ReplayFinding/Code/recordMalformed``).
    public static func problem(with record: AuditRecord) -> (code: ReplayFinding.Code, reason: String)? {
        guard let members = actions[record.action] else {
            return (.unknownAction, "'\(record.action)' is not an action this verifier knows; use a pdx-verify at least as new as the server that wrote the log")
        }
        for member in members {
            guard let value = record.data[member.name] else {
                if member.mayBeAbsent { continue }
                return (.recordMalformed, "\(record.action): \(member.name) is missing; the catalogue requires \(describe(member.type))")
            }
            guard holds(value, member.type) else {
                return (.recordMalformed, "\(record.action): \(member.name) is not \(describe(member.type))")
            }
        }
        return nil
    }

    static func holds(_ value: JSONValue, _ type: MemberType) -> Bool {
        switch type {
        case .string: value.stringValue != nil
        case .integer: value.integerValue != nil
        case .boolean: value.boolValue != nil
        case .object: value.objectValue != nil
        case .array: value.arrayValue != nil
        case .strings: value.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false
        case .time: value.stringValue.flatMap(Timestamp.parse) != nil
        case .rfc3339: value.stringValue.flatMap(Timestamp.parseRFC3339) != nil
        case .commitment: PersonalDataCommitment(json: value) != nil
        case .nullable(let type): value.isNull || holds(value, type)
        }
    }

    static func describe(_ type: MemberType) -> String {
        switch type {
        case .string: "a string"
        case .integer: "an integer"
        case .boolean: "true or false"
        case .object: "an object"
        case .array: "an array"
        case .strings: "an array of strings"
        case .time: "an RFC 3339 UTC time with milliseconds"
        case .rfc3339: "an RFC 3339 time"
        case .commitment: "a personal-data commitment {commitment, personal_data_id}"
        case .nullable(let type): "\(describe(type)) or null"
        }
    }
}
