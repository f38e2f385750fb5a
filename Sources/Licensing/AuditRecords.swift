public import AuditLog
import Vetting
internal import Foundation

/// The audit-log actions of the Licensing module; the catalog with each action's data members is
/// `README-actions.md` beside this file.
public enum LicensingAction: String, Sendable, Hashable, CaseIterable {
    case datasetPublished = "dataset.published"
    case datasetReclassified = "dataset.reclassified"
    case datasetRepriced = "dataset.repriced"
    case datasetDeliveryChanged = "dataset.delivery_changed"
    /// Only the dataset's reconciliation tolerance changed.
    case datasetToleranceChanged = "dataset.tolerance_changed"
    case datasetUpstreamChanged = "dataset.upstream_changed"
    /// Only the dataset's title or description changed: public catalogue text.
    case datasetDescribed = "dataset.described"
    case grantRequested = "grant.requested"
    case grantDecided = "grant.decided"
    case grantActivated = "grant.activated"
    case grantDenied = "grant.denied"
    case grantSuspended = "grant.suspended"
    case grantReinstated = "grant.reinstated"
    case grantRevoked = "grant.revoked"
    case grantExpired = "grant.expired"
    case grantAmended = "grant.amended"
}

/// Builds the records of catalog and grant changes. Dataset records carry `dataset_id`, `version`
/// and `at`; grant records carry `grant_id`, `operator_id`, `revision` and `at`; with what each step
/// needs to be replayed from the log alone.
public enum LicensingRecords {
    // MARK: datasets

    static func published(_ dataset: Dataset, by actor: String) -> AuditRecord {
        datasetRecord(dataset, .datasetPublished, actor: actor, [
            "dataset": dataset.json,
        ])
    }

    static func updated(from old: Dataset, to new: Dataset, reason: String, stricter: Bool, setsSecret: Bool = false,
                        by actor: String, at now: Date) -> AuditRecord {
        var changes: [String: JSONValue] = [:]
        if old.title != new.title {
            changes["title"] = ["from": .string(old.title), "to": .string(new.title)]
        }
        if old.description != new.description {
            changes["description"] = ["from": .string(old.description), "to": .string(new.description)]
        }
        var fields: [String: JSONValue] = [:]
        for (was, will) in zip(old.fields, new.fields) where was.sensitive != will.sensitive {
            fields[will.name] = ["sensitive": ["from": .bool(was.sensitive), "to": .bool(will.sensitive)]]
        }
        if !fields.isEmpty { changes["fields"] = .object(fields) }
        if old.openness != new.openness {
            changes["openness"] = ["from": .string(old.openness.rawValue), "to": .string(new.openness.rawValue)]
        }
        if old.grade != new.grade {
            changes["grade"] = ["from": .string(old.grade.rawValue), "to": .string(new.grade.rawValue)]
        }
        var prices: [String: JSONValue] = [:]
        for unit in new.units where old.ceilingPrices[unit] != new.ceilingPrices[unit] {
            prices[unit.rawValue] = [
                "from": .string(old.ceilingPrices[unit]?.description ?? "0"),
                "to": .string(new.ceilingPrices[unit]?.description ?? "0"),
            ]
        }
        if !prices.isEmpty { changes["ceiling_prices"] = .object(prices) }
        if old.delivery != new.delivery {
            changes["delivery"] = ["from": .string(old.delivery.rawValue), "to": .string(new.delivery.rawValue)]
        }
        if old.reconciliationToleranceBPS != new.reconciliationToleranceBPS {
            changes["reconciliation_tolerance_bps"] = [
                "from": JSONValue(old.reconciliationToleranceBPS), "to": JSONValue(new.reconciliationToleranceBPS),
            ]
        }
        if old.upstream != new.upstream {
            changes["upstream"] = ["from": old.upstream?.json ?? .null, "to": new.upstream?.json ?? .null]
        }
        // That the credential changed, never what it is: `set` the first time, `changed` after,
        // `removed` when the dataset stops being forwarded (its sealed secret is deleted).
        if setsSecret {
            changes["upstream_secret"] = .string(old.upstream == nil ? "set" : "changed")
        } else if old.upstream != nil, new.upstream == nil {
            changes["upstream_secret"] = .string("removed")
        }
        // A field's sensitivity is part of its classification.
        let action: LicensingAction = if changes["openness"] != nil || changes["grade"] != nil || !fields.isEmpty {
            .datasetReclassified
        } else if !prices.isEmpty {
            .datasetRepriced
        } else if changes["delivery"] != nil {
            .datasetDeliveryChanged
        } else if changes["upstream"] != nil || changes["upstream_secret"] != nil {
            .datasetUpstreamChanged
        } else if changes["reconciliation_tolerance_bps"] != nil {
            .datasetToleranceChanged
        } else {
            .datasetDescribed
        }
        return datasetRecord(new, action, actor: actor, [
            "authority_id": .string(new.authorityID),
            "changes": .object(changes),
            "reason": .string(reason),
            "stricter": .bool(stricter),
        ])
    }

    // MARK: grants

    static func requested(_ grant: Grant, approvalsRequired: [String]) -> AuditRecord {
        grantRecord(grant, .grantRequested, actor: grant.requestedBy, at: grant.requestedAt, [
            "requested_by": .string(grant.requestedBy),
            "purpose": .string(grant.purpose),
            "scenario": .string(grant.scenario.rawValue),
            "starts_at": time(grant.startsAt),
            "ends_at": time(grant.endsAt),
            "agreement": [
                "id": .string(grant.agreement.id),
                "version": .string(grant.agreement.version),
                "sha256": .string(grant.agreement.sha256),
            ],
            "currency": .string(grant.currency.code),
            "datasets": itemsJSON(grant.items),
            "approvals_required": .array(approvalsRequired.map(JSONValue.string)),
        ])
    }

    /// A grant's items as `grant.requested` and `grant.amended` log them.
    static func itemsJSON(_ items: [GrantItem]) -> JSONValue {
        .array(items.map {
            var item: [String: JSONValue] = [
                "dataset_id": .string($0.datasetID),
                "authority_id": .string($0.authorityID),
                "fields": .array($0.fields.map(JSONValue.string)),
                "unit_prices": prices($0.unitPrices),
                "price_tiers": tiers($0.priceTiers),
                "quota_per_period": .object(Dictionary(uniqueKeysWithValues: $0.quotas.map { ($0.key.rawValue, JSONValue($0.value)) })),
            ]
            // Only when sensitive fields are asked for, so the other records keep their bytes.
            if !$0.justifications.isEmpty { item["justifications"] = justifications($0.justifications) }
            return .object(item)
        })
    }

    /// `grant.amended`: the new version in full (`datasets`, `ends_at`), what it changed from the
    /// version before, the authorities asked afresh and where the grant stands after it.
    static func amended(_ grant: Grant, from previous: Grant, approvalsRequired: [String], outcome: GrantStatus) -> AuditRecord {
        grantRecord(grant, .grantAmended, actor: last(grant).actor, at: last(grant).at, [
            "version": JSONValue(grant.version),
            "from_status": .string(previous.status.rawValue),
            "reason": optional(last(grant).reason),
            "ends_at": time(grant.endsAt),
            "datasets": itemsJSON(grant.items),
            "changes": .array(changes(from: previous, to: grant).map(JSONValue.string)),
            "approvals_required": .array(approvalsRequired.map(JSONValue.string)),
            "outcome": .string(outcome.rawValue),
        ])
    }

    /// What an amendment changed, as `ends_at` and `datasets.<id>.<member>` names, in the grant's order.
    public static func changes(from old: Grant, to new: Grant) -> [String] {
        var changes: [String] = []
        if old.endsAt != new.endsAt { changes.append("ends_at") }
        for item in new.items {
            guard let before = old.item(for: item.datasetID) else { continue }
            let prefix = "datasets.\(item.datasetID)."
            if before.fields != item.fields { changes.append(prefix + "fields") }
            if before.unitPrices != item.unitPrices { changes.append(prefix + "unit_prices") }
            if before.priceTiers != item.priceTiers { changes.append(prefix + "price_tiers") }
            if before.quotas != item.quotas { changes.append(prefix + "quota_per_period") }
            if before.justifications != item.justifications { changes.append(prefix + "justifications") }
        }
        return changes
    }

    static func decided(_ grant: Grant, authorityID: String, by reviewer: String, decision: GrantDecision, reason: String?, at now: Date) -> AuditRecord {
        grantRecord(grant, .grantDecided, actor: reviewer, at: now, [
            "authority_id": .string(authorityID),
            "reviewer_id": .string(reviewer),
            "decision": .string(decision.rawValue),
            "reason": optional(reason),
        ])
    }

    static func activated(_ grant: Grant, via route: String) -> AuditRecord {
        grantRecord(grant, .grantActivated, actor: last(grant).actor, at: last(grant).at, [
            "via": .string(route),
            "approvals": .array(grant.approvals.filter { $0.decision == .approve }.map { .string($0.authorityID) }),
            "terms": termsJSON(grant.terms, of: grant),
        ])
    }

    /// `terms` of `grant` as its activation logs them, per dataset with the item's prices:
    /// everything a close rates the dataset's lines by.
    public static func termsJSON(_ terms: [DatasetTerms], of grant: Grant) -> JSONValue {
        .array(terms.map { terms in
            let item = grant.item(for: terms.datasetID)
            return [
                "dataset_id": .string(terms.datasetID),
                "unit_prices": prices(item?.unitPrices ?? [:]),
                "price_tiers": tiers(item?.priceTiers ?? [:]),
                "revenue_share_bps": JSONValue(terms.revenueShareBPS),
                "platform_fee_bps": JSONValue(terms.platformFeeBPS),
            ]
        })
    }

    static func denied(_ grant: Grant, by source: String, reason: String?) -> AuditRecord {
        grantRecord(grant, .grantDenied, actor: last(grant).actor, at: last(grant).at, [
            "by": .string(source),
            "reason": optional(reason),
            "reasons": reasonsJSON(grant.reasons),
        ])
    }

    static func suspended(_ grant: Grant, cause: SuspensionCause, authorityID: String?, reason: String, reasons: [GrantReason]) -> AuditRecord {
        grantRecord(grant, .grantSuspended, actor: last(grant).actor, at: last(grant).at, [
            "cause": .string(cause.rawValue),
            "authority_id": optional(authorityID),
            "reason": .string(reason),
            "reasons": reasonsJSON(reasons),
        ])
    }

    static func reinstated(_ grant: Grant, cause: SuspensionCause, authorityID: String?, reason: String?) -> AuditRecord {
        grantRecord(grant, .grantReinstated, actor: last(grant).actor, at: last(grant).at, [
            "cause": .string(cause.rawValue),
            "authority_id": optional(authorityID),
            "reason": optional(reason),
        ])
    }

    static func revoked(_ grant: Grant, from: GrantStatus, cause: SuspensionCause, authorityID: String?, reason: String) -> AuditRecord {
        grantRecord(grant, .grantRevoked, actor: last(grant).actor, at: last(grant).at, [
            "from_status": .string(from.rawValue),
            "cause": .string(cause.rawValue),
            "authority_id": optional(authorityID),
            "reason": .string(reason),
        ])
    }

    static func expired(_ grant: Grant) -> AuditRecord {
        grantRecord(grant, .grantExpired, actor: GrantLifecycle.system, at: last(grant).at, [
            "ends_at": time(grant.endsAt),
        ])
    }

    // MARK: shared

    static func time(_ date: Date) -> JSONValue {
        .string(Timestamp.format(Timestamp.milliseconds(date)))
    }

    static func prices(_ prices: [MeteringUnit: UnitPrice]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: prices.map { ($0.key.rawValue, JSONValue.string($0.value.description)) }))
    }

    /// Graduated prices as the log, the stored grant and the API write them:
    /// `{"call": [{"up_to": 100000, "unit_price": "0.04"}, {"up_to": null, "unit_price": "0.03"}]}`.
    public static func tiers(_ tiers: [MeteringUnit: [PriceTier]]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: tiers.map { unit, steps in
            (unit.rawValue, JSONValue.array(steps.map {
                ["up_to": $0.upTo.map { JSONValue($0) } ?? .null, "unit_price": .string($0.unitPrice.description)]
            }))
        }))
    }

    /// Sensitive field → justification, as the log, the stored grant and the API write them.
    public static func justifications(_ justifications: [String: String]) -> JSONValue {
        .object(justifications.mapValues(JSONValue.string))
    }

    static func reasonsJSON(_ reasons: [GrantReason]) -> JSONValue {
        .array(reasons.map {
            ["code": .string($0.code.rawValue), "dataset_id": optional($0.datasetID), "detail": .string($0.detail)]
        })
    }

    private static func optional(_ text: String?) -> JSONValue {
        text.map(JSONValue.string) ?? .null
    }

    private static func last(_ grant: Grant) -> GrantStatusChange {
        grant.history[grant.history.count - 1]
    }

    private static func datasetRecord(_ dataset: Dataset, _ action: LicensingAction, actor: String, _ members: [String: JSONValue]) -> AuditRecord {
        var data = members
        data["dataset_id"] = .string(dataset.id)
        data["version"] = JSONValue(dataset.version)
        data["at"] = time(dataset.updatedAt)
        return AuditRecord(actor: actor, action: action.rawValue, subjects: [dataset.subject, "authority:\(dataset.authorityID)"], data: data)
    }

    private static func grantRecord(_ grant: Grant, _ action: LicensingAction, actor: String, at now: Date, _ members: [String: JSONValue]) -> AuditRecord {
        var data = members
        data["grant_id"] = .string(grant.id)
        data["operator_id"] = .string(grant.operatorID)
        data["revision"] = JSONValue(grant.revision)
        data["at"] = time(now)
        return AuditRecord(actor: actor, action: action.rawValue, subjects: [grant.subject, "operator:\(grant.operatorID)"], data: data)
    }
}

extension Dataset {
    /// The catalog entry as a JSON object with the API's field names, without version or times:
    /// what `dataset.published` logs and what a store keeps, so the two cannot drift apart.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id),
            "title": .string(title),
            "description": .string(description),
            "authority_id": .string(authorityID),
            "theme": .string(theme),
            "openness": .string(openness.rawValue),
            "grade": .string(grade.rawValue),
            "delivery": .string(delivery.rawValue),
            "fields": .array(fields.map {
                [
                    "name": .string($0.name), "type": .string($0.type.rawValue), "sensitive": .bool($0.sensitive),
                    "filterable": .bool($0.filterable),
                ]
            }),
            "units": .array(units.map { .string($0.rawValue) }),
            "currency": .string(currency.code),
            "ceiling_prices": LicensingRecords.prices(ceilingPrices),
            "revenue_share_bps": JSONValue(revenueShareBPS),
        ]
        // Only when not the default, so datasets published before tolerances keep their bytes.
        if reconciliationToleranceBPS != Dataset.defaultToleranceBPS {
            members["reconciliation_tolerance_bps"] = JSONValue(reconciliationToleranceBPS)
        }
        // Only upstream datasets carry it, so the records of the others keep their bytes.
        if let upstream { members["upstream"] = upstream.json }
        return .object(members)
    }
}
