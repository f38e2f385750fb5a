import AuditLog
import Cryptography
import Foundation
import Licensing
import Testing
import Vetting

@Suite("Licensing audit records")
struct LicensingAuditRecordTests {
    let lifecycle = GrantLifecycle()

    /// Members a record may hold as `null`, by action: optional reasons and the authority of a step
    /// an admin or the system took. Anything else must hold a value.
    static let nullable: [String: Set<String>] = [
        "grant.decided": ["reason"],
        "grant.denied": ["reason"],
        "grant.suspended": ["authority_id"],
        "grant.reinstated": ["authority_id", "reason"],
        "grant.revoked": ["authority_id"],
        "grant.amended": ["reason"],
        // An endpoint that is set for the first time, or removed with the upstream delivery.
        "dataset.delivery_changed": ["changes.upstream.from", "changes.upstream.to"],
        "dataset.reclassified": ["changes.upstream.from", "changes.upstream.to"],
        "dataset.repriced": ["changes.upstream.from", "changes.upstream.to"],
    ]

    /// Every action at least once: datasets published and changed; grants activated automatically
    /// and by co-approval, denied by the policy, an authority, a dataset and an operator; suspended,
    /// reinstated, revoked and expired by hand and by cascades.
    func everyAction() throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        let bjA = try Datasets.catalog.publish(Datasets.draft(), id: "bj-a", authorityID: "bj", by: People.bj, at: Clock.start)
        let tjA = try Datasets.catalog.publish(Datasets.draft(openness: .conditional), id: "tj-a", authorityID: "tj", by: People.tj, at: Clock.start)
        records += bjA.records + tjA.records
        var market = Market([bjA.updated, tjA.updated], operator: try Operators.approved())

        // Automatic, suspended and reinstated by an admin, revoked.
        var automatic = Track(try market.request([item("bj-a")], id: "g-auto"))
        try automatic.apply(lifecycle.suspend(automatic.grant, by: People.admin, reason: "incident", at: Clock.day(1)))
        try automatic.apply(market.reinstate(automatic.grant, by: People.admin, at: Clock.day(2)))
        try automatic.apply(lifecycle.revoke(automatic.grant, by: People.bj, reason: "misuse", at: Clock.day(3)))
        records += automatic.records

        // Co-approved, then expired.
        var coApproved = Track(try market.request([item("bj-a"), item("tj-a")], id: "g-co"))
        try coApproved.apply(market.decide(coApproved.grant, by: People.bj, .approve))
        try coApproved.apply(market.decide(coApproved.grant, by: People.tj, .approve, reason: "fine"))
        try coApproved.apply(lifecycle.expire(coApproved.grant, at: Term.end))
        records += coApproved.records

        // Denied by the policy and by an authority.
        records += try market.request([item("bj-a", prices: ["call": "1"])], id: "g-policy").records
        var rejected = Track(try market.request([item("tj-a")], id: "g-rejected"))
        try rejected.apply(market.decide(rejected.grant, by: People.tj, .reject, reason: "too broad"))
        records += rejected.records

        // Amended while pending: a new version, its approvals asked afresh.
        var amended = Track(try market.request([item("tj-a")], id: "g-amended"))
        try amended.apply(try lifecycle.amend(amended.grant, with: GrantAmendment(version: 1, endsAt: Term.end.addingTimeInterval(-86_400)),
                                              by: People.requester, operator: market.op, datasets: market.datasets,
                                              agreement: agreement(for: .industry), at: Clock.start))
        records += amended.records

        // Cascades of an operator's suspension, reinstatement and revocation.
        var cascaded = Track(try market.request([item("bj-a")], id: "g-cascade"))
        let pending = Track(try market.request([item("tj-a")], id: "g-pending"))
        var op = market.op
        for step in [Operators.suspend, Operators.reinstate, Operators.revoke] {
            let change = try step(op, Clock.day(4))
            op = change.updated
            try cascaded.apply(lifecycle.operatorChanged(cascaded.grant, cascade: change.cascade, operator: op,
                                                         datasets: market.datasets, reason: "vetting", at: Clock.day(4)))
        }
        records += cascaded.records
        var deniedPending = pending
        try deniedPending.apply(lifecycle.operatorChanged(pending.grant, cascade: .revoke, operator: op, datasets: market.datasets,
                                                          reason: "vetting", at: Clock.day(4)))
        records += deniedPending.records

        // A dataset made stricter: reclassified and repriced, suspending and denying grants.
        market.op = try Operators.approved(id: "op-2")
        let active = try market.request([item("bj-a")], id: "g-dataset").updated
        let waiting = try market.request([item("bj-a"), item("tj-a")], id: "g-dataset-pending").updated
        let repriced = try Datasets.updated(bjA.updated, DatasetUpdate(ceilingPrices: ["call": "0.03"], reason: "cost"), at: Clock.day(5))
        let reclassified = try Datasets.updated(repriced.updated, DatasetUpdate(openness: .closed, reason: "withdrawn"), at: Clock.day(6))
        let redelivered = try Datasets.updated(reclassified.updated, DatasetUpdate(delivery: .declared, reason: "own portal"), at: Clock.day(6))
        let retolerated = try Datasets.updated(redelivered.updated, DatasetUpdate(reconciliationToleranceBPS: 0, reason: "exact counts"),
                                               at: Clock.day(6))
        let forwarded = try Datasets.updated(retolerated.updated, DatasetUpdate(
            delivery: .upstream, upstream: UpstreamDraft(baseURL: "https://api.example.gov.cn/flow", credentialHeader: "X-Api-Key", setsSecret: true),
            reason: "own interface"), at: Clock.day(6))
        let rotated = try Datasets.updated(forwarded.updated, DatasetUpdate(
            upstream: UpstreamDraft(baseURL: nil, credentialHeader: nil, setsSecret: true), reason: "rotation"), at: Clock.day(6))
        let described = try Datasets.updated(bjA.updated, DatasetUpdate(title: "Flow per road", description: "Counts\nper hour",
                                                                      reason: "clearer"), at: Clock.day(5))
        #expect(described.records.map(\.action) == ["dataset.described"])
        #expect(described.records.first?.data["changes"] == [
            "title": ["from": .string(bjA.updated.title), "to": "Flow per road"],
            "description": ["from": .string(bjA.updated.description), "to": "Counts\nper hour"],
        ])
        records += described.records
        #expect(rotated.records.map(\.action) == ["dataset.upstream_changed"])
        #expect(rotated.records.first?.data["changes"] == ["upstream_secret": "changed"], "that it changed, never the secret")
        records += repriced.records + reclassified.records + redelivered.records + retolerated.records + forwarded.records + rotated.records
        market.replace(rotated.updated)
        for grant in [active, waiting] {
            let change = try #require(lifecycle.datasetChanged(grant, datasets: market.datasets, operator: market.op, by: People.bj,
                                                              reason: "withdrawn", at: Clock.day(6)))
            records += change.records
        }
        return records
    }

    @Test("every action is written, with its actor and subjects")
    func everyActionWritten() throws {
        let records = try everyAction()
        #expect(Set(records.map(\.action)) == Set(LicensingAction.allCases.map(\.rawValue)))
        for record in records {
            #expect(!record.actor.isEmpty)
            if record.action.hasPrefix("dataset.") {
                let id = try #require(record.data["dataset_id"]?.stringValue)
                #expect(record.subjects.first == "dataset:\(id)")
                #expect(record.subjects.count == 2 && record.subjects[1].hasPrefix("authority:"))
            } else {
                let id = try #require(record.data["grant_id"]?.stringValue)
                let op = try #require(record.data["operator_id"]?.stringValue)
                #expect(record.subjects == ["grant:\(id)", "operator:\(op)"])
            }
        }
    }

    @Test("every record carries its common members: grant_id, operator_id, revision, at — or dataset_id, version, at")
    func commonMembers() throws {
        for record in try everyAction() {
            #expect(record.data["at"]?.stringValue.flatMap(Timestamp.parse) != nil, "\(record.action)")
            if record.action.hasPrefix("dataset.") {
                #expect(record.data["dataset_id"]?.stringValue?.isEmpty == false)
                #expect((record.data["version"]?.integerValue ?? 0) >= 1)
            } else {
                #expect(record.data["grant_id"]?.stringValue?.isEmpty == false)
                #expect(record.data["operator_id"]?.stringValue?.isEmpty == false)
                #expect((record.data["revision"]?.integerValue ?? 0) >= 1)
            }
        }
    }

    @Test("no record holds null where a value is required")
    func noNulls() throws {
        func nulls(in value: JSONValue, at path: String) -> [String] {
            switch value {
            case .null: return [path]
            case .object(let members): return members.flatMap { nulls(in: $0.value, at: path.isEmpty ? $0.key : "\(path).\($0.key)") }
            case .array(let elements): return elements.enumerated().flatMap { nulls(in: $0.element, at: "\(path)[\($0.offset)]") }
            default: return []
            }
        }
        for record in try everyAction() {
            let allowed = Self.nullable[record.action, default: []]
            for path in nulls(in: .object(record.data), at: "") {
                // A reason's dataset is absent when the reason is about the operator or the term.
                let isReasonDataset = path.hasPrefix("reasons[") && path.hasSuffix(".dataset_id")
                #expect(allowed.contains(path) || isReasonDataset, "\(record.action): \(path) is null")
            }
        }
    }

    @Test("every record encodes as a canonical log entry and reads back the same")
    func canonical() throws {
        for (index, record) in try everyAction().enumerated() {
            let entry = AuditEntry(seq: UInt64(index), time: Clock.start, record: record)
            let bytes = try entry.encoded()
            #expect(try AuditEntry(decoding: bytes) == entry)
            let value = try CanonicalJSON.validate(bytes)
            #expect(value["data"] == .object(record.data))
            #expect(value["action"] == .string(record.action))
        }
    }

    @Test("revisions: the request is 1, each later change one more, and records of one change share it")
    func revisions() throws {
        let market = Market([try Datasets.published("bj-a", openness: .conditional), try Datasets.published("tj-a", authority: "tj")],
                            operator: try Operators.approved())
        var track = Track(try market.request([item("bj-a"), item("tj-a")]))
        var expected = [1]
        #expect(track.grant.revision == 1)
        let steps: [(inout Track) throws -> GrantChange] = [
            { try $0.apply(market.decide($0.grant, by: People.bj, .approve)) },
            { try $0.apply(market.decide($0.grant, by: People.tj, .approve)) },
            { try $0.apply(self.lifecycle.suspend($0.grant, by: People.bj, reason: "audit", at: Clock.day(1))) },
            { try $0.apply(market.reinstate($0.grant, by: People.bj, at: Clock.day(2))) },
            { try $0.apply(self.lifecycle.suspend($0.grant, by: People.tj, reason: "audit", at: Clock.day(3))) },
            { try $0.apply(self.lifecycle.revoke($0.grant, by: People.tj, reason: "misuse", at: Clock.day(4))) },
        ]
        for (index, step) in steps.enumerated() {
            let change = try step(&track)
            let revision = index + 2
            #expect(change.updated.revision == revision)
            #expect(change.records.allSatisfy { $0.data["revision"] == JSONValue(revision) })
            expected += Array(repeating: revision, count: change.records.count)
        }
        #expect(track.records.map { $0.data["revision"]?.integerValue } == expected)
        #expect(expected == [1, 2, 3, 3, 4, 5, 6, 7])
    }

    @Test("records of the request and its immediate outcome share revision 1")
    func requestRevision() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        for change in [try market.request([item("bj-a")]), try market.request([item("bj-a", prices: ["call": "9"])])] {
            #expect(change.records.count == 2)
            #expect(change.records.allSatisfy { $0.data["revision"] == 1 })
            #expect(change.updated.revision == 1)
        }
    }

    @Test("the requested record holds the whole request")
    func requestedRecord() throws {
        let market = Market([try Datasets.published("bj-a", openness: .conditional), try Datasets.published("tj-a", authority: "tj")],
                            operator: try Operators.approved())
        let change = try market.request([
            item("bj-a", fields: ["road_id"], prices: ["call": "0.040", "record": "0.0005"], quotas: ["call": 1_000_000, "record": 50]),
            item("tj-a"),
        ])
        let record = change.records[0]
        #expect(record.actor == People.requester)
        #expect(record.data == [
            "grant_id": "g-1", "operator_id": "op-1", "revision": 1, "at": "2026-10-01T02:00:00.000Z",
            "requested_by": "principal-op",
            "purpose": "交通态势分析产品 traffic analytics",
            "scenario": "industry",
            "starts_at": "2026-09-30T16:00:00.000Z",
            "ends_at": "2027-03-31T16:00:00.000Z",
            "agreement": ["id": "standard-data-use", "version": "1", "sha256": .string(standardAgreement.sha256)],
            "currency": "CNY",
            "datasets": [
                ["dataset_id": "bj-a", "authority_id": "bj", "fields": ["road_id"],
                 "unit_prices": ["call": "0.04", "record": "0.0005"], "price_tiers": [:], "quota_per_period": ["call": 1_000_000, "record": 50]],
                ["dataset_id": "tj-a", "authority_id": "tj", "fields": ["road_id", "flow"],
                 "unit_prices": ["call": "0.04"], "price_tiers": [:], "quota_per_period": ["call": 1_000_000]],
            ],
            "approvals_required": ["bj", "tj"],
        ])
    }

    @Test("the decided record names the authority, reviewer, decision and reason")
    func decidedRecord() throws {
        let market = Market([try Datasets.published("bj-a", openness: .conditional)], operator: try Operators.approved())
        let grant = try market.request([item("bj-a")]).updated
        let change = try #require(market.decide(grant, by: People.bjOther, .reject, reason: "unclear purpose", at: Clock.day(1)).change)
        #expect(change.records[0].data == [
            "grant_id": "g-1", "operator_id": "op-1", "revision": 2, "at": "2026-10-02T02:00:00.000Z",
            "authority_id": "bj", "reviewer_id": "principal-bj-2", "decision": "reject", "reason": "unclear purpose",
        ])
        #expect(change.records[1].data == [
            "grant_id": "g-1", "operator_id": "op-1", "revision": 2, "at": "2026-10-02T02:00:00.000Z",
            "by": "authority", "reason": "unclear purpose", "reasons": [],
        ])
    }

    @Test("each built-in agreement template's digest is the SHA-256 of its file")
    func agreementDigests() throws {
        #expect(!AgreementCatalog.builtIn.templates.isEmpty)
        var checked = 0
        for template in AgreementCatalog.builtIn.templates {
            #expect(template.file == "\(template.id)-v\(template.version).md")
            let url = Repository.url("Contracts/agreements/\(template.file)")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let bytes = [UInt8](try Data(contentsOf: url))
            #expect(SHA256.hash(bytes).hex == template.sha256, "\(template.file)")
            checked += 1
        }
        #expect(AgreementCatalog.builtIn.template(id: "standard-data-use", version: "1") != nil)
        #expect(checked >= 1)
    }
}
