import Cryptography
import AuditLog
import Foundation
import PDXTesting
import Licensing
import Testing
import Vetting

/// The repository root, found from this file's location so tests run from any directory.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // LicensingTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `<repository>/<path>`.
    static func url(_ path: String) -> URL {
        root.appendingPathComponent(path)
    }
}

/// A date from the audit log's time form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
func date(_ text: String) -> Date {
    Timestamp.date(milliseconds: Timestamp.parse(text)!)
}

/// The audit log's time form of `date`.
func text(_ date: Date) -> String {
    Timestamp.format(Timestamp.milliseconds(date))
}

/// Fixed times: tests never read the wall clock.
enum Clock {
    /// 2026-10-01T10:00 in Beijing: datasets are published and grants requested then.
    static let start = date("2026-10-01T02:00:00.000Z")

    /// `days` days of 24 hours after `start`.
    static func day(_ days: Double) -> Date {
        start.addingTimeInterval(days * 86_400)
    }
}

/// The term the sample grants ask for: 2026-10-01 to 2027-04-01, midnight in Beijing, so already
/// begun when they are requested.
enum Term {
    static let start = date("2026-09-30T16:00:00.000Z")
    static let end = date("2027-03-31T16:00:00.000Z")
}

/// Principals acting on datasets and grants: reviewers of the Beijing (`bj`), Tianjin (`tj`) and
/// Hebei (`he`) authorities, and a platform admin.
enum People {
    static let bj = Reviewer(principalID: "principal-bj", authorityID: "bj")
    static let bjOther = Reviewer(principalID: "principal-bj-2", authorityID: "bj")
    static let tj = Reviewer(principalID: "principal-tj", authorityID: "tj")
    static let he = Reviewer(principalID: "principal-he", authorityID: "he")
    static let admin = Reviewer(principalID: "principal-admin", authorityID: nil)
    /// The operator's principal that requests grants.
    static let requester = "principal-op"
}

/// Operators obtained through the real vetting lifecycle.
enum Operators {
    static let lifecycle = OperatorLifecycle()
    static let vetter = Reviewer(principalID: "principal-vetter", authorityID: "bj")
    static let secondVetter = Reviewer(principalID: "principal-vetter-2", authorityID: "tj")

    /// Approved 30 days before ``Clock/start``, so active for the whole sample term.
    static let approvedAt = Clock.day(-30)

    static func submitted(tier: OperatorTier = .standard, id: String = "op-1", at now: Date = approvedAt) throws -> Operator {
        let application = try OperatorApplication(
            legalName: "深圳市腾讯计算机系统有限公司",
            uscc: "91440300708461136T",
            mlpsLevel: 3,
            tier: tier,
            securityOfficer: .sample(),
            officerValues: (name: "王芳", email: "security.officer@example-op.cn"),
            certifications: ["ISO27001"],
            documents: [("营业执照.pdf", String(repeating: "ab", count: 32))],
            applicant: People.requester
        )
        return try #require(lifecycle.submit(application, id: id, existing: [], at: now).change).updated
    }

    /// An approved operator: one vetter for `standard`, two for `enhanced`.
    static func approved(tier: OperatorTier = .standard, id: String = "op-1", at now: Date = approvedAt) throws -> Operator {
        var current = try submitted(tier: tier, id: id, at: now)
        let vetters = tier == .enhanced ? [vetter, secondVetter] : [vetter]
        for reviewer in vetters {
            current = try #require(lifecycle.review(current, by: reviewer, decision: .approve, reason: nil, at: now).change).updated
        }
        #expect(current.isActive(at: now))
        return current
    }

    /// The operator's suspension at `now`, with the cascade it asks for.
    static func suspend(_ current: Operator, at now: Date) throws -> LifecycleChange {
        try #require(lifecycle.suspend(current, by: vetter, reason: "security incident", at: now).change)
    }

    static func reinstate(_ current: Operator, at now: Date) throws -> LifecycleChange {
        try #require(lifecycle.reinstate(current, by: vetter, reason: "resolved", at: now).change)
    }

    static func revoke(_ current: Operator, at now: Date) throws -> LifecycleChange {
        // An admin: a reviewer's revocation is only a proposal until a second authority agrees.
        try #require(lifecycle.revoke(current, by: People.admin, reason: "licence withdrawn", at: now).change)
    }
}

/// Datasets published through the real catalog.
enum Datasets {
    static let catalog = Catalog()

    static let fields: [DatasetDraft.Field] = [
        .init(name: "road_id", type: "string", sensitive: false),
        .init(name: "flow", type: "integer", sensitive: false),
        .init(name: "plate_number", type: "string", sensitive: true),
    ]

    /// A valid draft: traffic flow, metered per call and per record.
    static func draft(
        openness: Openness = .open, grade: Grade = .general,
        ceilings: [String: String] = ["call": "0.05", "record": "0.001"]
    ) -> DatasetDraft {
        DatasetDraft(
            title: "道路交通流量 Road traffic flow", description: "5-minute traffic counts per road segment.\n每5分钟统计。",
            theme: "traffic", openness: openness, grade: grade, fields: fields, units: ["call", "record"], currency: "CNY",
            ceilingPrices: ceilings, revenueShareBPS: 3000)
    }

    /// Dataset `id` of `authority`, published at ``Clock/start`` by that authority's reviewer.
    static func published(
        _ id: String, authority: String = "bj", openness: Openness = .open, grade: Grade = .general,
        ceilings: [String: String] = ["call": "0.05", "record": "0.001"]
    ) throws -> Dataset {
        let publisher = Reviewer(principalID: "principal-\(authority)", authorityID: authority)
        return try catalog.publish(draft(openness: openness, grade: grade, ceilings: ceilings), id: id, authorityID: authority,
                                   by: publisher, at: Clock.start).updated
    }

    /// `dataset` after `update` by its authority's reviewer at `now`.
    static func updated(_ dataset: Dataset, _ update: DatasetUpdate, at now: Date = Clock.day(1)) throws -> CatalogChange {
        let reviewer = Reviewer(principalID: "principal-\(dataset.authorityID)", authorityID: dataset.authorityID)
        return try catalog.update(dataset, with: update, by: reviewer, at: now)
    }
}

/// The built-in standard agreement.
let standardAgreement = AgreementCatalog.builtIn.template(id: "standard-data-use", version: "1")!

/// The built-in agreement that governs `scenario`.
func agreement(for scenario: Scenario) -> AgreementTemplate {
    AgreementCatalog.builtIn.templates.first { $0.governs(scenario) }!
}

/// A requested dataset; by default two fields and calls at 0.04 with a million per period.
func item(
    _ datasetID: String, fields: [String] = ["road_id", "flow"], prices: [String: String] = ["call": "0.04"],
    quotas: [String: Int64]? = nil
) -> GrantRequest.Item {
    GrantRequest.Item(datasetID: datasetID, fields: fields, unitPrices: prices,
                      quotas: quotas ?? prices.mapValues { _ in 1_000_000 })
}

/// A request checked for shape, for ``Term`` by default.
func grantRequest(
    _ items: [GrantRequest.Item], scenario: Scenario = .industry, purpose: String = "交通态势分析产品 traffic analytics",
    startsAt: Date = Term.start, endsAt: Date = Term.end, agreementVersion: String = "1"
) throws -> GrantRequest {
    try GrantRequest(purpose: purpose, scenario: scenario, startsAt: startsAt, endsAt: endsAt,
                     agreementID: agreement(for: scenario).id, agreementVersion: agreementVersion, items: items)
}

/// The catalog and the operator a grant is requested against, as a server would read them.
struct Market {
    let lifecycle = GrantLifecycle()
    var datasets: [String: Dataset]
    var op: Operator

    init(_ datasets: [Dataset], operator op: Operator) {
        self.datasets = Dictionary(uniqueKeysWithValues: datasets.map { ($0.id, $0) })
        self.op = op
    }

    /// Requests `items` as grant `id` at `now`.
    func request(
        _ items: [GrantRequest.Item], id: String = "g-1", scenario: Scenario = .industry, at now: Date = Clock.start
    ) throws -> GrantChange {
        try lifecycle.request(grantRequest(items, scenario: scenario), id: id, operator: op, requestedBy: People.requester,
                              datasets: datasets, agreement: agreement(for: scenario), at: now)
    }

    /// `reviewer`'s decision on `grant` at `now`.
    func decide(_ grant: Grant, by reviewer: Reviewer, _ decision: GrantDecision, reason: String? = nil, at now: Date = Clock.start) -> GrantOutcome {
        lifecycle.decide(grant, by: reviewer, decision: decision, reason: reason, operator: op, datasets: datasets, at: now)
    }

    func reinstate(_ grant: Grant, by reviewer: Reviewer, reason: String? = nil, at now: Date) -> GrantOutcome {
        lifecycle.reinstate(grant, by: reviewer, reason: reason, operator: op, datasets: datasets, at: now)
    }

    /// Replaces a dataset by its changed version.
    mutating func replace(_ dataset: Dataset) {
        datasets[dataset.id] = dataset
    }
}

/// One grant followed through its lifecycle, keeping every audit record, as a server would.
struct Track {
    var grant: Grant
    var records: [AuditRecord]

    init(_ change: GrantChange) {
        grant = change.updated
        records = change.records
    }

    /// Applies an outcome that must be accepted.
    @discardableResult
    mutating func apply(_ outcome: GrantOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> GrantChange {
        try apply(outcome.change, "refused: \(outcome.reasons)", sourceLocation: sourceLocation)
    }

    /// Applies a change that must be there.
    @discardableResult
    mutating func apply(_ change: GrantChange?, _ comment: Comment = "no change", sourceLocation: SourceLocation = #_sourceLocation) throws -> GrantChange {
        let change = try #require(change, comment, sourceLocation: sourceLocation)
        grant = change.updated
        records += change.records
        return change
    }
}

/// The codes of a refused outcome, in order; empty when accepted.
func codes(_ outcome: GrantOutcome) -> [GrantReason.Code] {
    outcome.reasons.map(\.code)
}

/// The code of the ``LicensingError`` `body` throws, or nil when it returns; any other error is an issue.
func thrownCode<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> LicensingError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as LicensingError {
        return error.code
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The actions of `records`, in order.
func actions(_ records: [AuditRecord]) -> [String] {
    records.map(\.action)
}
