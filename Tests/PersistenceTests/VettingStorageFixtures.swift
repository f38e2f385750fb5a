import Identity
import AuditLog
import Cryptography
import Foundation
import PDXTesting
@testable import Persistence
import Testing
import Vetting

/// Sample data for the authority, principal and operator tests.
enum Samples {
    /// 2026-10-01T02:00:00.000Z; every time in these tests is whole milliseconds, as stored.
    static let start = Timestamp.date(milliseconds: 1_790_820_000_000)

    /// `start` plus `seconds`.
    static func time(_ seconds: Double) -> Date {
        Timestamp.normalized(start.addingTimeInterval(seconds))
    }

    /// A valid unified social credit code, distinct for each `n` below 10,000.
    static func uscc(_ n: Int) -> String {
        let digits = String(n)
        let prefix = "9111010800000" + String(repeating: "0", count: 4 - digits.count) + digits
        return prefix + String(USCC.checkCharacter(forPrefix: prefix)!)
    }

    static func application(
        uscc n: Int = 1,
        tier: OperatorTier = .standard,
        applicant: String = "principal-applicant"
    ) throws -> OperatorApplication {
        try OperatorApplication(
            legalName: "北京数据科技有限公司 \(n)",
            uscc: uscc(n),
            mlpsLevel: 3,
            tier: tier,
            securityOfficer: .sample(2 * n),
            officerValues: (name: "王芳", email: "Security.Officer@example-op.cn"),
            certifications: ["ISO27001", "ISO27701"],
            documents: [
                ("营业执照.pdf", String(repeating: "ab", count: 32)),
                ("等保测评报告.pdf", String(repeating: "0f", count: 32)),
            ],
            applicant: applicant
        )
    }

    /// A freshly submitted operator (revision 1), as `OperatorLifecycle` creates it.
    static func submitted(
        _ id: String,
        uscc n: Int = 1,
        tier: OperatorTier = .standard,
        applicant: String = "principal-applicant",
        at time: Date = start
    ) throws -> Operator {
        let outcome = OperatorLifecycle().submit(try application(uscc: n, tier: tier, applicant: applicant),
                                                 id: id, existing: [], at: time)
        return try #require(outcome.change).updated
    }

    static let alice = Reviewer(principalID: "principal-alice", authorityID: "bj")
    static let bob = Reviewer(principalID: "principal-bob", authorityID: "tj")

    /// An `enhanced` operator approved by two reviewers, then suspended: every optional part set.
    static func fullyPopulated(_ id: String = "op-full") throws -> Operator {
        let lifecycle = OperatorLifecycle()
        var current = try submitted(id, uscc: 42, tier: .enhanced)
        current = try #require(lifecycle.review(current, by: alice, decision: .approve, reason: "criteria met",
                                                at: time(3600)).change).updated
        current = try #require(lifecycle.review(current, by: bob, decision: .approve, reason: nil,
                                                at: time(7200.123)).change).updated
        current = try #require(lifecycle.suspend(current, by: alice, reason: "  audit pending\n", at: time(86_400)).change).updated
        return current
    }

    static func authority(_ id: String, at seconds: Double = 0) -> Authority {
        Authority(id: id, name: "\(id) 大数据中心", region: "Region \(id)", createdAt: time(seconds))
    }

    static func principal(
        _ id: String,
        role: Role = .operator,
        at seconds: Double = 0,
        email: String? = nil,
        operatorID: String? = nil
    ) -> Principal {
        Principal(id: id, name: "Name \(id)", role: role, keyID: "key-\(id)",
                  keyHash: SHA256.hash(Array("secret-\(id)".utf8)), createdAt: time(seconds),
                  email: email, operatorID: operatorID)
    }
}

/// Every page of a listing, following cursors; fails the test after `maxPages`.
func allPages<Item>(
    maxPages: Int = 100,
    _ fetch: (String?) async throws -> (items: [Item], next: String?)
) async throws -> [[Item]] {
    var pages: [[Item]] = []
    var cursor: String?
    repeat {
        let page = try await fetch(cursor)
        pages.append(page.items)
        cursor = page.next
        try #require(pages.count <= maxPages, "the listing does not end")
    } while cursor != nil
    return pages
}

extension Principal {
    /// The principal as it was inserted: without the personal-data references the store assigned.
    var unreferenced: Principal {
        var copy = self
        copy.nameReference = nil
        copy.emailReference = nil
        return copy
    }
}
