import Cryptography
import AuditLog
import Foundation
import PDXTesting
import Testing
import Vetting

/// Golden vectors under `Contracts/vectors/`, found from this file's location so tests run from any
/// directory.
enum Vectors {
    /// The repository root.
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // VettingTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The text of `<repository>/<path>`.
    static func text(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: repository.appendingPathComponent(path)), as: UTF8.self)
    }

    /// The non-blank, non-comment lines of `Contracts/vectors/<path>`.
    static func lines(_ path: String) throws -> [String] {
        try text("Contracts/vectors/" + path)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.allSatisfy(\.isWhitespace) }
    }

    /// The codes of `Contracts/vectors/uscc/valid.txt`.
    static func validUSCCs() throws -> [String] {
        try lines("uscc/valid.txt").map { String($0.split(separator: " ")[0]) }
    }
}

/// A settable clock: tests move time explicitly, never read the wall clock.
struct TestClock {
    /// 2026-10-01T10:00:00 in Beijing.
    static let start = date("2026-10-01T02:00:00.000Z")

    var now: Date = start

    /// Moves forward by calendar units in Asia/Shanghai.
    mutating func advance(months: Int = 0, days: Int = 0, hours: Int = 0) {
        var components = DateComponents()
        components.month = months
        components.day = days
        components.hour = hours
        now = Self.shanghai.date(byAdding: components, to: now)!
    }

    static let shanghai: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()
}

/// A date from the audit log's time form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
func date(_ text: String) -> Date {
    Timestamp.date(milliseconds: Timestamp.parse(text)!)
}

/// The audit log's time form of `date`.
func text(_ date: Date?) -> String? {
    date.map { Timestamp.format(Timestamp.milliseconds($0)) }
}

enum Sample {
    static let officerEmail = "Security.Officer@example-op.cn"

    /// A valid application; pass changes to vary one field.
    static func application(
        legalName: String = "深圳市腾讯计算机系统有限公司",
        uscc: String = "91440300708461136T",
        mlpsLevel: Int = 3,
        tier: OperatorTier = .standard,
        officer: (name: String, email: String) = ("王芳", officerEmail),
        certifications: [String] = ["ISO27001"],
        documents: [(name: String, sha256: String)] = [
            ("营业执照.pdf", String(repeating: "ab", count: 32)),
            ("等保测评报告.pdf", String(repeating: "0f", count: 32)),
        ],
        applicant: String = "principal-applicant"
    ) throws -> OperatorApplication {
        try OperatorApplication(
            legalName: legalName,
            uscc: uscc,
            mlpsLevel: mlpsLevel,
            tier: tier,
            securityOfficer: .sample(),
            officerValues: officer,
            certifications: certifications,
            documents: documents,
            applicant: applicant
        )
    }

    static let alice = Reviewer(principalID: "principal-alice", authorityID: "bj")
    static let bob = Reviewer(principalID: "principal-bob", authorityID: "tj")
    static let carol = Reviewer(principalID: "principal-carol", authorityID: "bj")
    static let admin = Reviewer(principalID: "principal-admin", authorityID: nil)
}

/// Unwraps an accepted outcome, recording an issue with the reasons otherwise.
func accepted(_ outcome: LifecycleOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> LifecycleChange {
    try #require(outcome.change, "refused: \(outcome.reasons)", sourceLocation: sourceLocation)
}

/// The codes of a refused outcome, in order; empty when accepted.
func codes(_ outcome: LifecycleOutcome) -> [VettingReason.Code] {
    outcome.reasons.map(\.code)
}

/// Drives one operator through the lifecycle, keeping every audit record, as a server would.
struct Scenario {
    let lifecycle: OperatorLifecycle
    var clock = TestClock()
    var current: Operator
    var records: [AuditRecord]

    init(
        tier: OperatorTier = .standard,
        mlpsLevel: Int = 3,
        policy: VettingPolicy = VettingPolicy(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        lifecycle = OperatorLifecycle(policy: policy)
        let application = try Sample.application(mlpsLevel: mlpsLevel, tier: tier)
        let change = try accepted(
            lifecycle.submit(application, id: "op-1", existing: [], at: clock.now),
            sourceLocation: sourceLocation
        )
        current = change.updated
        records = change.records
    }

    /// Applies an outcome that must be accepted and returns the change.
    @discardableResult
    mutating func apply(_ outcome: LifecycleOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> LifecycleChange {
        let change = try accepted(outcome, sourceLocation: sourceLocation)
        current = change.updated
        records += change.records
        return change
    }

    @discardableResult
    mutating func approve(by reviewer: Reviewer, sourceLocation: SourceLocation = #_sourceLocation) throws -> LifecycleChange {
        try apply(
            lifecycle.review(current, by: reviewer, decision: .approve, reason: nil, at: clock.now),
            sourceLocation: sourceLocation
        )
    }
}
