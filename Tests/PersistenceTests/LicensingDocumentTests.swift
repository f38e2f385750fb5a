import Identity
import AuditLog
import Foundation
import Licensing
@testable import Persistence
import Testing
import Vetting

@Suite("Dataset and grant documents")
struct LicensingDocumentTests {
    @Test("a dataset round-trips exactly through canonical JSON")
    func datasetRoundTrip() throws {
        let published = try LicensingSamples.dataset("bj-traffic", title: "北京市交通流量", description: "每五分钟\n一次", at: 0.123)
        let repriced = try LicensingSamples.changed(
            published, DatasetUpdate(openness: .conditional, grade: .important, ceilingPrices: ["call": "0.5"], reason: "review"),
            at: 60).updated
        for dataset in [published, repriced] {
            let text = DatasetDocument.encode(dataset)
            _ = try CanonicalJSON.validate(Array(text.utf8))
            #expect(try DatasetDocument.decode(text) == dataset)
            #expect(DatasetDocument.encode(try DatasetDocument.decode(text)) == text)
        }

        let value = try JSONValue.parse(Array(DatasetDocument.encode(repriced).utf8))
        #expect(value["format"] == 2)
        #expect(value["delivery"] == "declared")
        #expect(value["version"] == 2)
        #expect(value["title"] == "北京市交通流量")
        #expect(value["openness"] == "conditional")
        #expect(value["grade"] == "important")
        #expect(value["units"] == ["call", "record"])
        #expect(value["currency"] == "CNY")
        #expect(value["ceiling_prices"] == ["call": "0.5", "record": "0.000125"])
        #expect(value["revenue_share_bps"] == 3000)
        #expect(value["fields"]?[2] == ["name": "plate", "type": "string", "sensitive": true, "filterable": false])
        #expect(value["published_at"] == .number(Double(Timestamp.milliseconds(Samples.time(0.123)))))
        #expect(value["updated_at"] == .number(Double(Timestamp.milliseconds(Samples.time(60)))))
    }

    @Test("a document written before datasets had a delivery mode reads as declared, with no filterable field")
    func formatOne() throws {
        let dataset = try LicensingSamples.dataset("bj-traffic")
        var root = try #require(try JSONValue.parse(Array(DatasetDocument.encode(dataset).utf8)).objectValue)
        root["format"] = 1
        root["delivery"] = nil
        root["fields"] = .array(try #require(root["fields"]?.arrayValue).map { field in
            var members = field.objectValue ?? [:]
            members["filterable"] = nil
            return .object(members)
        })
        let read = try DatasetDocument.decode(try JSONValue.object(root).canonicalString())
        #expect(read == dataset)
        #expect(read.delivery == .declared)
        #expect(read.fields.allSatisfy { !$0.filterable })

        // A format-1 document holding a member of format 2 is not what any version wrote.
        root["delivery"] = "gateway"
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) {
            try DatasetDocument.decode(try JSONValue.object(root).canonicalString())
        }
    }

    @Test("a grant with every optional member set round-trips exactly")
    func fullGrant() throws {
        let full = try LicensingSamples.fullyPopulated().grant
        #expect(full.approvals.allSatisfy { $0.decision == .approve && $0.at != nil && $0.reviewerID != nil })
        #expect(full.approvals.map(\.reason) == ["fits the purpose", nil])
        #expect(full.reasons.map(\.datasetID) == ["bj-traffic"])
        #expect(full.history.map(\.action) == [.requested, .activated, .suspended])
        let text = GrantDocument.encode(full)
        _ = try CanonicalJSON.validate(Array(text.utf8))
        #expect(try GrantDocument.decode(text) == full)
        #expect(GrantDocument.encode(try GrantDocument.decode(text)) == text)

        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["format"] == 1)
        #expect(value["status"] == "suspended")
        #expect(value["suspension_cause"] == "dataset")
        #expect(value["revision"] == .number(Double(full.revision)))
        #expect(value["starts_at"] == .number(Double(Timestamp.milliseconds(Samples.time(10)))))
        #expect(value["agreement"]?["id"] == "standard-data-use")
        #expect(value["datasets"]?[1] == [
            "dataset_id": "tj-port", "authority_id": "tj", "fields": ["road_id", "flow"],
            "unit_prices": ["call": "0.01"], "price_tiers": [:], "quota_per_period": ["call": 100_000],
        ])
        #expect(value["approvals"]?[0]?["at"] == .number(Double(Timestamp.milliseconds(Samples.time(20.5)))))
        #expect(value["approvals"]?[1]?["reason"] == .null)
        #expect(value["reasons"]?[0]?["code"] == "grade_core")
        #expect(value["reasons"]?[0]?["dataset_id"] == "bj-traffic")
        #expect(value["history"]?[0]?["from"] == .null)
        #expect(value["history"]?[2]?["reason"] == "reclassified as core data")
    }

    @Test("an amended grant keeps every earlier version with its approvals; a document missing one is refused")
    func amendedGrant() throws {
        let full = try LicensingSamples.fullyPopulated().grant
        #expect(try JSONValue.parse(Array(GrantDocument.encode(full).utf8))["version"] == nil, "written only once amended")
        let first = GrantVersion(version: 1, items: full.items, endsAt: full.endsAt.addingTimeInterval(86_400), approvals: full.approvals,
                                 at: full.requestedAt, actor: full.requestedBy, reason: nil)
        let amended = Grant(
            id: full.id, operatorID: full.operatorID, requestedBy: full.requestedBy, purpose: full.purpose, scenario: full.scenario,
            startsAt: full.startsAt, endsAt: full.endsAt, agreement: full.agreement, items: full.items, currency: full.currency,
            requestedAt: full.requestedAt, status: .pending,
            approvals: full.approvals.map { Approval(authorityID: $0.authorityID, decision: nil, reviewerID: nil, reason: nil, at: nil) },
            reasons: [], suspensionCause: nil,
            history: full.history + [GrantStatusChange(action: .amended, from: .suspended, to: .pending, at: Samples.time(40),
                                                       actor: full.requestedBy, reason: "a shorter term")],
            revision: full.revision + 1, terms: full.terms, version: 2, earlierVersions: [first])
        let text = GrantDocument.encode(amended)
        _ = try CanonicalJSON.validate(Array(text.utf8))
        #expect(try GrantDocument.decode(text) == amended)
        #expect(GrantDocument.encode(try GrantDocument.decode(text)) == text)
        #expect(amended.versions.map(\.version) == [1, 2])
        #expect(amended.currentVersion.reason == "a shorter term")
        for (path, value) in [(["earlier_versions"], nil), (["version"], JSONValue(3)), (["version"], JSONValue(1)),
                              (["earlier_versions", "0", "version"], JSONValue(2))] as [([String], JSONValue?)] {
            let broken = try Self.altered(text, path, value)
            #expect(throws: StorageError(code: .unexpectedData, detail: "")) { try GrantDocument.decode(broken) }
        }
    }

    @Test("grants with optional members unset round-trip exactly")
    func sparseGrants() throws {
        let op = try LicensingSamples.approvedOperator()
        let open = try LicensingSamples.dataset("bj-open")
        let conditional = try LicensingSamples.dataset("bj-cond", openness: .conditional)
        let closed = try LicensingSamples.dataset("bj-closed", openness: .closed)
        // Active at once: no approvals, no reasons, no suspension cause.
        let active = try LicensingSamples.requested("gr-active", operator: op, datasets: [open])
        // Pending: one undecided approval (every member of it null).
        let pending = try LicensingSamples.requested("gr-pending", operator: op, datasets: [conditional], scenario: .publicInterest)
        // Denied by the rules: a reason with a dataset and one without.
        let denied = try LicensingSamples.requested("gr-denied", operator: op, datasets: [closed], days: 400)
        // Revoked after a suspension: the cause is cleared again.
        let revoked = try #require(LicensingSamples.lifecycle.revoke(try LicensingSamples.suspended(active, at: 50),
                                                                     by: LicensingSamples.admin, reason: "breach",
                                                                     at: Samples.time(60)).change).updated
        #expect(active.status == .active && active.approvals.isEmpty && active.reasons.isEmpty)
        #expect(pending.status == .pending && pending.approvals == [Approval(authorityID: "bj", decision: nil, reviewerID: nil, reason: nil, at: nil)])
        #expect(denied.status == .denied && denied.reasons.map(\.datasetID) == ["bj-closed", nil])
        #expect(revoked.status == .revoked && revoked.suspensionCause == nil)
        for grant in [active, pending, denied, revoked] {
            let text = GrantDocument.encode(grant)
            #expect(try GrantDocument.decode(text) == grant, "\(grant.id)")
            #expect(GrantDocument.encode(try GrantDocument.decode(text)) == text)
        }
        let value = try JSONValue.parse(Array(GrantDocument.encode(pending).utf8))
        #expect(value["approvals"] == [["authority_id": "bj", "decision": nil, "reviewer_id": nil, "reason": nil, "at": nil]])
        #expect(value["suspension_cause"] == .null)
        #expect(value["scenario"] == "public_interest")
        #expect(value["datasets"]?[0]?["unit_prices"] == ["call": "0"])
    }

    /// `text` with one change applied at `path`.
    static func altered(_ text: String, _ path: [String], _ value: JSONValue?) throws -> String {
        func set(_ current: JSONValue, _ path: ArraySlice<String>) -> JSONValue? {
            guard let key = path.first else { return value }
            if var elements = current.arrayValue, let index = Int(key), elements.indices.contains(index) {
                elements[index] = set(elements[index], path.dropFirst()) ?? .null
                return .array(elements)
            }
            guard var members = current.objectValue else { return current }
            members[key] = path.count == 1 ? value : members[key].flatMap { set($0, path.dropFirst()) }
            return .object(members)
        }
        let root = try JSONValue.parse(Array(text.utf8))
        return try #require(set(root, path[...])).canonicalString()
    }

    @Test("a dataset document that is not exactly what the codec writes is unexpected_data", arguments: [
        (["format"], JSONValue(3)),
        (["delivery"], "pigeon"),
        (["delivery"], nil),
        (["fields", "0", "filterable"], "yes"),
        (["id"], nil),
        (["extra"], "member"),
        (["openness"], "secret"),
        (["grade"], "top"),
        (["version"], "2"),
        (["published_at"], "2026-10-01T02:00:00.000Z"),
        (["units"], ["call", "minute"]),
        (["currency"], "XBT"),
        (["ceiling_prices", "call"], "0.050"),
        (["ceiling_prices", "call"], 0.05),
        (["ceiling_prices", "minute"], "1"),
        (["fields", "0", "type"], "blob"),
        (["fields", "0", "sensitive"], "no"),
        (["fields", "0", "comment"], "x"),
    ] as [([String], JSONValue?)])
    func strictDataset(path: [String], value: JSONValue?) throws {
        let text = try Self.altered(DatasetDocument.encode(try LicensingSamples.dataset("bj-traffic")), path, value)
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) {
            try DatasetDocument.decode(text)
        }
    }

    @Test("a grant document that is not exactly what the codec writes is unexpected_data", arguments: [
        (["format"], JSONValue(0)),
        (["status"], "paused"),
        (["scenario"], "military"),
        (["suspension_cause"], "weather"),
        (["suspension_cause"], 1),
        (["revision"], 1.5),
        (["ends_at"], nil),
        (["requested_at"], 1e300),
        (["agreement", "signed"], true),
        (["datasets", "0", "unit_prices", "call"], "1e-2"),
        (["datasets", "0", "unit_prices", "byte"], "-1"),
        (["datasets", "0", "quota_per_period", "call"], 1.5),
        (["datasets", "0", "quota_per_period", "call"], "100000"),
        (["datasets", "0", "quota_per_period", "minute"], 1),
        (["datasets", "0", "fields"], [1]),
        (["datasets", "1", "dataset_id"], "bj-traffic"),
        (["approvals", "0", "decision"], "maybe"),
        (["approvals", "0", "at"], "yesterday"),
        (["reasons", "0", "code"], "too_late"),
        (["reasons", "0", "dataset_id"], nil),
        (["history", "0", "action"], "paused"),
        (["history", "1", "from"], "limbo"),
        (["history", "2", "at"], nil),
        (["currency"], "cny"),
    ] as [([String], JSONValue?)])
    func strictGrant(path: [String], value: JSONValue?) throws {
        let text = try Self.altered(GrantDocument.encode(try LicensingSamples.fullyPopulated().grant), path, value)
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) {
            try GrantDocument.decode(text)
        }
    }

    @Test("text that is not a JSON object is unexpected_data", arguments: ["", "[]", "{\"format\":1", "null"])
    func notAnObject(text: String) {
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) { try DatasetDocument.decode(text) }
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) { try GrantDocument.decode(text) }
    }
}

@Suite("Graduated prices in grant documents")
struct PriceTierDocumentTests {
    /// `grant` with its first item priced by steps for `call`.
    func tiered(_ grant: Grant) -> Grant {
        var items = grant.items
        let first = items[0]
        items[0] = GrantItem(datasetID: first.datasetID, authorityID: first.authorityID, fields: first.fields,
                             unitPrices: first.unitPrices,
                             priceTiers: [.call: [PriceTier(upTo: 1_000, unitPrice: UnitPrice("0.04")!), PriceTier(upTo: nil, unitPrice: UnitPrice("0.025")!)]],
                             quotas: first.quotas)
        return Grant(id: grant.id, operatorID: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose,
                     scenario: grant.scenario, startsAt: grant.startsAt, endsAt: grant.endsAt, agreement: grant.agreement, items: items,
                     currency: grant.currency, requestedAt: grant.requestedAt, status: grant.status, approvals: grant.approvals,
                     reasons: grant.reasons, suspensionCause: grant.suspensionCause, history: grant.history, revision: grant.revision)
    }

    @Test("the steps round-trip exactly")
    func roundTrip() throws {
        let grant = tiered(try LicensingSamples.fullyPopulated().grant)
        let text = GrantDocument.encode(grant)
        #expect(try GrantDocument.decode(text) == grant)
        #expect(try JSONValue.parse(Array(text.utf8))["datasets"]?[0]?["price_tiers"]
                == ["call": [["up_to": 1_000, "unit_price": "0.04"], ["up_to": nil, "unit_price": "0.025"]]])
    }

    @Test("a grant stored before graduated prices existed reads as having none")
    func olderDocument() throws {
        let grant = try LicensingSamples.fullyPopulated().grant
        let older = GrantDocument.encode(grant).replacingOccurrences(of: #""price_tiers":{},"#, with: "")
        #expect(!older.contains("price_tiers"))
        #expect(try GrantDocument.decode(older) == grant)
    }

    @Test("malformed steps are refused as unexpected data", arguments: [
        #""price_tiers":{"token":[]},"#, #""price_tiers":{"call":[{"up_to":"x","unit_price":"0.04"}]},"#,
        #""price_tiers":{"call":[{"up_to":null,"unit_price":"0.040"}]},"#, #""price_tiers":{"call":[{"unit_price":"0.04"}]},"#,
        #""price_tiers":[],"#,
    ])
    func malformed(replacement: String) throws {
        let text = GrantDocument.encode(try LicensingSamples.fullyPopulated().grant)
            .replacingOccurrences(of: #""price_tiers":{},"#, with: replacement)
        #expect(throws: StorageError.self) { try GrantDocument.decode(text) }
    }
}

@Suite("Sensitive-field justifications in grant documents")
struct JustificationDocumentTests {
    /// `grant` with its first item asking for `plate`, justified.
    func justified(_ grant: Grant) -> Grant {
        var items = grant.items
        let first = items[0]
        items[0] = GrantItem(datasetID: first.datasetID, authorityID: first.authorityID, fields: first.fields + ["plate"],
                             unitPrices: first.unitPrices, priceTiers: first.priceTiers, quotas: first.quotas,
                             justifications: ["plate": "fleet matching\nper district"])
        return Grant(id: grant.id, operatorID: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose,
                     scenario: grant.scenario, startsAt: grant.startsAt, endsAt: grant.endsAt, agreement: grant.agreement, items: items,
                     currency: grant.currency, requestedAt: grant.requestedAt, status: grant.status, approvals: grant.approvals,
                     reasons: grant.reasons, suspensionCause: grant.suspensionCause, history: grant.history, revision: grant.revision)
    }

    @Test("justifications round-trip exactly, and are absent from a grant without them")
    func roundTrip() throws {
        let plain = try LicensingSamples.fullyPopulated().grant
        let grant = justified(plain)
        let text = GrantDocument.encode(grant)
        #expect(try GrantDocument.decode(text) == grant)
        #expect(try JSONValue.parse(Array(text.utf8))["datasets"]?[0]?["justifications"] == ["plate": "fleet matching\nper district"])
        #expect(!GrantDocument.encode(plain).contains("justifications"), "documents without them keep their bytes")
        #expect(try GrantDocument.decode(GrantDocument.encode(plain)).items.allSatisfy { $0.justifications.isEmpty })
    }

    @Test("malformed justifications are unexpected data", arguments: [#"{"plate":1}"#, #"["plate"]"#, "null"])
    func malformed(replacement: String) throws {
        let text = GrantDocument.encode(justified(try LicensingSamples.fullyPopulated().grant))
            .replacingOccurrences(of: #"{"plate":"fleet matching\nper district"}"#, with: replacement)
        #expect(text.contains(replacement))
        #expect(throws: StorageError.self) { try GrantDocument.decode(text) }
    }
}
