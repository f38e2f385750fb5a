internal import AuditLog
internal import Foundation
internal import Licensing
internal import Vetting

/// The stored form of a ``Grant``: one JSON object in RFC 8785 canonical form, in the
/// `grants.document` column.
///
/// A document for the same reasons as ``OperatorDocument``: a lifecycle step changes the status,
/// approvals, reasons and history at once, and the conditional update on `revision` guards them all
/// with one row. The layout follows ``DatasetDocument``: snake_case members, times as integer
/// milliseconds since 1970 UTC, prices as canonical decimal text, quotas as integers (a request
/// accepts at most ``GrantRequest/maxQuota``, well inside the ±2^53 a JSON number holds exactly),
/// absent optional values as `null`, `format` for the layout's version.
///
/// Decoding is strict like ``DatasetDocument``'s.
enum GrantDocument {
    /// The layout written into each document; a reader refuses others.
    static let format = 1

    /// The canonical JSON text of `grant`.
    static func encode(_ grant: Grant) -> String {
        var members: [String: JSONValue] = [
            "format": JSONValue(format),
            "id": .string(grant.id),
            "operator_id": .string(grant.operatorID),
            "requested_by": .string(grant.requestedBy),
            "purpose": .string(grant.purpose),
            "scenario": .string(grant.scenario.rawValue),
            "starts_at": DatasetDocument.milliseconds(grant.startsAt),
            "ends_at": DatasetDocument.milliseconds(grant.endsAt),
            "agreement": .object([
                "id": .string(grant.agreement.id),
                "version": .string(grant.agreement.version),
                "sha256": .string(grant.agreement.sha256),
            ]),
            "datasets": items(grant.items),
            "currency": .string(grant.currency.code),
            "requested_at": DatasetDocument.milliseconds(grant.requestedAt),
            "status": .string(grant.status.rawValue),
            "approvals": approvals(grant.approvals),
            "reasons": .array(grant.reasons.map { reason in
                .object([
                    "code": .string(reason.code.rawValue),
                    "dataset_id": optional(reason.datasetID),
                    "detail": .string(reason.detail),
                ])
            }),
            "suspension_cause": optional(grant.suspensionCause?.rawValue),
            "history": .array(grant.history.map { change in
                .object([
                    "action": .string(change.action.rawValue),
                    "from": optional(change.from?.rawValue),
                    "to": .string(change.to.rawValue),
                    "at": DatasetDocument.milliseconds(change.at),
                    "actor": .string(change.actor),
                    "reason": optional(change.reason),
                ])
            }),
            "revision": JSONValue(grant.revision),
        ]
        // Written only when set, so documents of grants never suspended by a party read as before.
        if let by = grant.suspendedBy { members["suspended_by"] = .string(by.description) }
        // Written once the grant has been active, so documents of grants never active read as before.
        if !grant.terms.isEmpty { members["terms"] = terms(grant.terms) }
        // Written once amended, so documents of grants never amended read as before.
        if grant.version > 1 {
            members["version"] = JSONValue(grant.version)
            members["earlier_versions"] = .array(grant.earlierVersions.map(versionJSON))
        }
        let document: JSONValue = .object(members)
        // Strings and integers inside ±2^53 only: serialization cannot fail.
        return (try? document.canonicalString()) ?? ""
    }

    static func items(_ items: [GrantItem]) -> JSONValue {
        .array(items.map { item in
            var members: [String: JSONValue] = [
                "dataset_id": .string(item.datasetID),
                "authority_id": .string(item.authorityID),
                "fields": .array(item.fields.map(JSONValue.string)),
                "unit_prices": DatasetDocument.prices(item.unitPrices),
                "price_tiers": LicensingRecords.tiers(item.priceTiers),
                "quota_per_period": .object(Dictionary(uniqueKeysWithValues: item.quotas.map { ($0.key.rawValue, JSONValue($0.value)) })),
            ]
            // Written only when sensitive fields are asked for, so other documents read as before.
            if !item.justifications.isEmpty { members["justifications"] = LicensingRecords.justifications(item.justifications) }
            return .object(members)
        })
    }

    static func approvals(_ approvals: [Approval]) -> JSONValue {
        .array(approvals.map { approval in
            .object([
                "authority_id": .string(approval.authorityID),
                "decision": optional(approval.decision?.rawValue),
                "reviewer_id": optional(approval.reviewerID),
                "reason": optional(approval.reason),
                "at": approval.at.map(DatasetDocument.milliseconds) ?? .null,
            ])
        })
    }

    static func versionJSON(_ version: GrantVersion) -> JSONValue {
        .object([
            "version": JSONValue(version.version),
            "datasets": items(version.items),
            "ends_at": DatasetDocument.milliseconds(version.endsAt),
            "approvals": approvals(version.approvals),
            "at": DatasetDocument.milliseconds(version.at),
            "actor": .string(version.actor),
            "reason": optional(version.reason),
        ])
    }

    static func decodeItems(_ elements: [JSONValue], at place: String) throws(StorageError) -> [GrantItem] {
        var items: [GrantItem] = []
        for (index, element) in elements.enumerated() {
            var members = try JSONMembers(element, at: "\(place)[\(index)]")
            items.append(GrantItem(
                datasetID: try members.string("dataset_id"),
                authorityID: try members.string("authority_id"),
                fields: try members.strings("fields"),
                unitPrices: try members.prices("unit_prices"),
                priceTiers: try members.priceTiers("price_tiers"),
                quotas: try members.quotas("quota_per_period"),
                justifications: try members.justifications("justifications")
            ))
            try members.finish()
        }
        // A grant names each dataset once (its request is refused otherwise); the grant check keys
        // its items by dataset and must not meet a second one.
        guard Set(items.map(\.datasetID)).count == items.count else {
            throw StorageError.unexpected("grant document \(place) names a dataset twice")
        }
        return items
    }

    static func decodeApprovals(_ elements: [JSONValue], at place: String) throws(StorageError) -> [Approval] {
        var approvals: [Approval] = []
        for (index, element) in elements.enumerated() {
            var members = try JSONMembers(element, at: "\(place)[\(index)]")
            approvals.append(Approval(
                authorityID: try members.string("authority_id"),
                decision: try members.optionalEnumeration("decision", GrantDecision.self),
                reviewerID: try members.optionalString("reviewer_id"),
                reason: try members.optionalString("reason"),
                at: try members.optionalMilliseconds("at")
            ))
            try members.finish()
        }
        return approvals
    }

    static func earlierVersions(_ value: JSONValue?) throws(StorageError) -> [GrantVersion] {
        guard let value else { return [] }
        guard let elements = value.arrayValue else { throw StorageError.unexpected("grant document earlier_versions is not an array") }
        var versions: [GrantVersion] = []
        for (index, element) in elements.enumerated() {
            let place = "earlier_versions[\(index)]"
            var members = try JSONMembers(element, at: place)
            let number = try members.integer("version")
            guard number == index + 1 else { throw StorageError.unexpected("grant document \(place) is not version \(index + 1)") }
            versions.append(GrantVersion(
                version: Int(number),
                items: try decodeItems(try members.array("datasets"), at: place + ".datasets"),
                endsAt: try members.milliseconds("ends_at"),
                approvals: try decodeApprovals(try members.array("approvals"), at: place + ".approvals"),
                at: try members.milliseconds("at"),
                actor: try members.string("actor"),
                reason: try members.optionalString("reason")))
            try members.finish()
        }
        return versions
    }

    /// Per dataset, its fixed share and fee: `[{"dataset_id", "revenue_share_bps", "platform_fee_bps"}]`.
    static func terms(_ terms: [DatasetTerms]) -> JSONValue {
        .array(terms.map {
            ["dataset_id": .string($0.datasetID), "revenue_share_bps": JSONValue($0.revenueShareBPS),
             "platform_fee_bps": JSONValue($0.platformFeeBPS)]
        })
    }

    static func terms(_ value: JSONValue?) throws(StorageError) -> [DatasetTerms] {
        guard let value else { return [] }
        guard let elements = value.arrayValue else { throw StorageError.unexpected("grant document terms is not an array") }
        var terms: [DatasetTerms] = []
        for (index, element) in elements.enumerated() {
            var members = try JSONMembers(element, at: "terms[\(index)]")
            let datasetID = try members.string("dataset_id")
            let share = try members.integer("revenue_share_bps")
            let fee = try members.integer("platform_fee_bps")
            guard PlatformFee.range.contains(share), PlatformFee.range.contains(fee) else {
                throw StorageError.unexpected("grant document terms[\(index)] is outside 0–10000 bps")
            }
            try members.finish()
            terms.append(DatasetTerms(datasetID: datasetID, revenueShareBPS: Int(share), platformFeeBPS: Int(fee)))
        }
        return terms
    }

    private static func suspendedBy(_ value: JSONValue?) throws(StorageError) -> ActingParty? {
        guard let value else { return nil }
        guard let party = value.stringValue.flatMap(ActingParty.init(text:)) else {
            throw StorageError.unexpected("grant document suspended_by is not admin or authority:<id>")
        }
        return party
    }

    /// The grant `text` holds; throws `unexpected_data` naming the first member that is wrong.
    static func decode(_ text: String) throws(StorageError) -> Grant {
        var root = try DatasetDocument.root(text, "grant document")
        let format = try root.integer("format")
        guard format == Self.format else {
            throw StorageError.unexpected("grant document format \(format); this program reads \(Self.format)")
        }
        var agreementMembers = try root.object("agreement")
        let agreement = AgreementBinding(
            id: try agreementMembers.string("id"),
            version: try agreementMembers.string("version"),
            sha256: try agreementMembers.string("sha256")
        )
        try agreementMembers.finish()

        let items = try decodeItems(try root.array("datasets"), at: "datasets")
        let approvals = try decodeApprovals(try root.array("approvals"), at: "approvals")
        var reasons: [GrantReason] = []
        for (index, element) in try root.array("reasons").enumerated() {
            var members = try JSONMembers(element, at: "reasons[\(index)]")
            let code = try members.enumeration("code", GrantReason.Code.self)
            let datasetID = try members.optionalString("dataset_id")
            reasons.append(GrantReason(code, dataset: datasetID, try members.string("detail")))
            try members.finish()
        }
        var history: [GrantStatusChange] = []
        for (index, element) in try root.array("history").enumerated() {
            var members = try JSONMembers(element, at: "history[\(index)]")
            history.append(GrantStatusChange(
                action: try members.enumeration("action", GrantAction.self),
                from: try members.optionalEnumeration("from", GrantStatus.self),
                to: try members.enumeration("to", GrantStatus.self),
                at: try members.milliseconds("at"),
                actor: try members.string("actor"),
                reason: try members.optionalString("reason")
            ))
            try members.finish()
        }
        let grant = Grant(
            id: try root.string("id"),
            operatorID: try root.string("operator_id"),
            requestedBy: try root.string("requested_by"),
            purpose: try root.string("purpose"),
            scenario: try root.enumeration("scenario", Scenario.self),
            startsAt: try root.milliseconds("starts_at"),
            endsAt: try root.milliseconds("ends_at"),
            agreement: agreement,
            items: items,
            currency: try root.currency("currency"),
            requestedAt: try root.milliseconds("requested_at"),
            status: try root.enumeration("status", GrantStatus.self),
            approvals: approvals,
            reasons: reasons,
            suspensionCause: try root.optionalEnumeration("suspension_cause", SuspensionCause.self),
            history: history,
            revision: try root.integer("revision"),
            suspendedBy: try suspendedBy(root.takeIfPresent("suspended_by")),
            terms: try terms(root.takeIfPresent("terms")),
            version: Int(try root.takeIfPresent("version").map { value throws(StorageError) in
                guard let number = value.integerValue, number >= 2 else { throw StorageError.unexpected("grant document version is not an integer above 1") }
                return number
            } ?? 1),
            earlierVersions: try earlierVersions(root.takeIfPresent("earlier_versions"))
        )
        guard grant.earlierVersions.count == grant.version - 1 else {
            throw StorageError.unexpected("grant document earlier_versions does not hold every version before \(grant.version)")
        }
        try root.finish()
        return grant
    }

    private static func optional(_ text: String?) -> JSONValue {
        text.map(JSONValue.string) ?? .null
    }
}
