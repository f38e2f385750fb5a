import Cryptography
import AuditLog
import Foundation
import PDXTesting
import Testing
import Vetting

/// A log written entry by entry from the real lifecycles' records, for replay tests: an authority,
/// its reviewer, an admin, an approved operator, an open dataset and a grant in force on it.
struct LogFixture {
    private(set) var records: [(time: Date, record: AuditRecord)] = []
    let lifecycle = OperatorLifecycle()
    let operatorID = "op_1"
    let grantID = "gr_1"
    let datasetID = "bj-open"
    let reviewer = Reviewer(principalID: "pr_reviewer", authorityID: "bj")
    let admin = Reviewer(principalID: "pr_admin", authorityID: nil)
    /// 2026-10-01T00:00:00+08:00, the first instant of period 2026-10.
    static let octoberStart = Date(timeIntervalSince1970: 1_790_784_000)
    /// The operator as its records so far make it.
    private(set) var current: Operator
    private var usageBatches = 0

    /// `delivery`: the dataset's delivery as `dataset.published` writes it; nil leaves the member
    /// out, as records written before datasets had one do.
    init(delivery: String? = nil) throws {
        let start = Self.octoberStart.addingTimeInterval(-86_400)
        let application = try OperatorApplication(
            legalName: "京津冀交通数据有限公司", uscc: "91440300708461136T", mlpsLevel: 3, tier: .standard,
            securityOfficer: .sample(1000), officerValues: ("王芳", "wang.fang@jjj-data.example"), certifications: ["ISO27001"],
            documents: [("营业执照.pdf", String(repeating: "ab", count: 32))], applicant: "pr_applicant")
        let applied = try #require(lifecycle.submit(application, id: operatorID, existing: [], at: start).change)
        current = applied.updated
        append("authority.created", actor: admin.principalID, at: start,
               ["id": "bj", "name": "Beijing Big Data Bureau", "region": "Beijing"])
        for (n, (id, role, authority)) in [("pr_reviewer", "authority_reviewer", JSONValue.string("bj")), ("pr_admin", "admin", .null),
                                           ("pr_applicant", "operator", .null)].enumerated() {
            append("principal.created", actor: "system", at: start,
                   ["id": .string(id), "name": PersonalDataCommitment.sample(n).json, "email": .null, "role": .string(role), "authority_id": authority,
                    "expires_at": .null, "key_id": .string("key_\(id)")])
        }
        for record in applied.records { records.append((start, record)) }
        try step(lifecycle.review(current, by: reviewer, decision: .approve, reason: nil, at: start.addingTimeInterval(60)),
                 at: start.addingTimeInterval(60))
        let at = Timestamp.format(Timestamp.milliseconds(start))
        var dataset: [String: JSONValue] = [
            "id": .string(datasetID), "title": "Traffic", "description": "Road traffic counts", "authority_id": "bj",
            "theme": "traffic", "openness": "open", "grade": "general",
            "fields": [["name": "road", "type": "string", "sensitive": false]], "units": ["call"], "currency": "CNY",
            "ceiling_prices": ["call": "0.05"], "revenue_share_bps": 3000,
        ]
        if let delivery { dataset["delivery"] = .string(delivery) }
        append("dataset.published", actor: reviewer.principalID, at: start, [
            "dataset_id": .string(datasetID), "version": 1, "at": .string(at), "dataset": .object(dataset),
        ])
        let grantAt = start.addingTimeInterval(120)
        let grantTime = JSONValue.string(Timestamp.format(Timestamp.milliseconds(grantAt)))
        append("grant.requested", actor: "pr_applicant", at: grantAt, [
            "grant_id": .string(grantID), "operator_id": .string(operatorID), "revision": 1, "at": grantTime,
            "requested_by": "pr_applicant", "purpose": "Congestion forecasts", "scenario": "industry",
            "starts_at": .string(Timestamp.format(Timestamp.milliseconds(start))),
            "ends_at": .string(Timestamp.format(Timestamp.milliseconds(start.addingTimeInterval(90 * 86_400)))),
            "agreement": ["id": "dua-standard", "version": "1", "sha256": .string(String(repeating: "00", count: 32))],
            "currency": "CNY",
            "datasets": [[
                "dataset_id": .string(datasetID), "authority_id": "bj", "fields": ["road"], "unit_prices": ["call": "0.04"],
                "price_tiers": [:], "quota_per_period": ["call": 1_000_000_000],
            ]],
            "approvals_required": [],
        ])
        append("grant.activated", actor: "system", at: grantAt, [
            "grant_id": .string(grantID), "operator_id": .string(operatorID), "revision": 1, "at": grantTime,
            "via": "automatic", "approvals": [],
        ])
    }

    mutating func append(_ action: String, actor: String, at time: Date, _ data: [String: JSONValue]) {
        records.append((time, AuditRecord(actor: actor, action: action, data: data)))
    }

    /// Appends an accepted lifecycle step's records.
    mutating func step(_ outcome: LifecycleOutcome, at time: Date) throws {
        let change = try #require(outcome.change, "refused: \(outcome.reasons)")
        current = change.updated
        for record in change.records { records.append((time, record)) }
    }

    /// A `usage.recorded` entry of the grant's operator: `events` as (id, quantity, time); `source`
    /// as the entry names it (nil: declared usage, which leaves the member out); `period`, the events'.
    mutating func usage(_ events: [(String, Int, Date)], at time: Date, source: JSONValue? = nil, period: String = "2026-10") {
        usageBatches += 1
        var data: [String: JSONValue] = [
            "operator_id": .string(operatorID), "batch_id": .string("ub_\(usageBatches)"), "part": 1, "parts": 1,
            "at": .string(Timestamp.format(Timestamp.milliseconds(time))),
            "usage": [[
                "grant_id": .string(grantID), "dataset_id": .string(datasetID), "unit": "call", "period": .string(period),
                "events": .array(events.map { [.string($0.0), JSONValue($0.1), JSONValue(Int(Timestamp.milliseconds($0.2)))] }),
            ]],
        ]
        if let source { data["source"] = source }
        append("usage.recorded", actor: "pr_applicant", at: time, data)
    }

    /// A grant step (`grant.suspended`, `grant.reinstated`) by the admin.
    mutating func grantStep(_ action: String, revision: Int, at time: Date) {
        var data: [String: JSONValue] = [
            "grant_id": .string(grantID), "operator_id": .string(operatorID), "revision": JSONValue(revision),
            "at": .string(Timestamp.format(Timestamp.milliseconds(time))), "cause": "authority", "authority_id": .null,
            "reason": "Review of the purpose",
        ]
        if action == "grant.suspended" { data["reasons"] = [] }
        append(action, actor: admin.principalID, at: time, data)
    }

    /// Puts `record` in place of the last entry's record, keeping its time.
    mutating func replaceLast(with record: AuditRecord) {
        guard let last = records.popLast() else { return }
        records.append((last.time, record))
    }

    /// The entries, numbered from 0.
    var entries: [AuditEntry] {
        records.enumerated().map { AuditEntry(seq: UInt64($0.offset), time: Timestamp.normalized($0.element.time), record: $0.element.record) }
    }

    /// Each entry's canonical bytes.
    func encoded() throws -> [[UInt8]] {
        try entries.map { try $0.encoded() }
    }
}
