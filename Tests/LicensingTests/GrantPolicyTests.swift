import Foundation
import Licensing
import Testing
import Vetting

@Suite("Grant policy")
struct GrantPolicyTests {
    let policy = GrantPolicy()

    /// The reasons the policy gives for `items` of `datasets` requested by `op` at ``Clock/start``.
    func evaluate(
        _ items: [GrantRequest.Item], datasets: [Dataset], operator op: Operator, scenario: Scenario = .industry,
        startsAt: Date = Term.start, endsAt: Date = Term.end, at now: Date = Clock.start
    ) throws -> [GrantReason] {
        let request = try grantRequest(items, scenario: scenario, startsAt: startsAt, endsAt: endsAt)
        return policy.evaluate(request, operator: op, datasets: Dictionary(uniqueKeysWithValues: datasets.map { ($0.id, $0) }), at: now)
    }

    @Test("an approved operator asking for an open general dataset within its ceiling is allowed")
    func allowed() throws {
        let reasons = try evaluate([item("bj-traffic-flow")], datasets: [try Datasets.published("bj-traffic-flow")],
                                   operator: try Operators.approved())
        #expect(reasons.isEmpty)
    }

    // MARK: The operator

    @Test("a submitted (never approved) operator is not active")
    func operatorSubmitted() throws {
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: try Operators.submitted())
        #expect(reasons.map(\.code) == [.operatorNotActive])
        #expect(reasons.first?.datasetID == nil)
        #expect(reasons.first?.detail.contains("op-1") == true)
    }

    @Test("a suspended operator is not active")
    func operatorSuspended() throws {
        let suspended = try Operators.suspend(try Operators.approved(), at: Clock.day(-1)).updated
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: suspended)
        #expect(reasons.map(\.code) == [.operatorNotActive])
    }

    @Test("a revoked operator is not active")
    func operatorRevoked() throws {
        let revoked = try Operators.revoke(try Operators.approved(), at: Clock.day(-1)).updated
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: revoked)
        #expect(reasons.map(\.code) == [.operatorNotActive])
    }

    @Test("an operator past its 12-month term is not active, though still approved")
    func operatorExpired() throws {
        let lapsed = try Operators.approved(at: date("2025-09-01T02:00:00.000Z"))
        #expect(lapsed.status == .approved)
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: lapsed)
        #expect(reasons.map(\.code) == [.operatorNotActive])
        // The same operator, a day before its term ended, was allowed.
        let before = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: lapsed,
                                  startsAt: date("2026-08-01T00:00:00.000Z"), endsAt: date("2026-12-01T00:00:00.000Z"),
                                  at: date("2026-08-31T02:00:00.000Z"))
        #expect(before.isEmpty)
    }

    // MARK: The dataset

    @Test("a standard operator may not use important data")
    func tierInsufficient() throws {
        let reasons = try evaluate([item("bj-health")], datasets: [try Datasets.published("bj-health", grade: .important)],
                                   operator: try Operators.approved(tier: .standard))
        #expect(reasons.map(\.code) == [.tierInsufficient])
        #expect(reasons.first?.datasetID == "bj-health")
        #expect(reasons.first?.detail.contains("bj-health") == true)
    }

    @Test("an enhanced operator may use important data")
    func enhancedImportant() throws {
        let reasons = try evaluate([item("bj-health")], datasets: [try Datasets.published("bj-health", grade: .important)],
                                   operator: try Operators.approved(tier: .enhanced))
        #expect(reasons.isEmpty)
    }

    @Test("core data is never granted, whatever the tier", arguments: OperatorTier.allCases)
    func gradeCore(_ tier: OperatorTier) throws {
        let reasons = try evaluate([item("bj-core")], datasets: [try Datasets.published("bj-core", grade: .core)],
                                   operator: try Operators.approved(tier: tier))
        #expect(reasons.map(\.code) == [.gradeCore])
        #expect(reasons.first?.datasetID == "bj-core")
        #expect(reasons.first?.detail.contains("bj-core") == true)
    }

    @Test("closed data is never granted")
    func opennessClosed() throws {
        let reasons = try evaluate([item("bj-closed")], datasets: [try Datasets.published("bj-closed", openness: .closed)],
                                   operator: try Operators.approved(tier: .enhanced))
        #expect(reasons.map(\.code) == [.opennessClosed])
        #expect(reasons.first?.datasetID == "bj-closed")
        #expect(reasons.first?.detail.contains("bj-closed") == true)
    }

    @Test("conditional data is not refused by the rules: it awaits approval")
    func conditionalAllowed() throws {
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a", openness: .conditional)],
                                   operator: try Operators.approved())
        #expect(reasons.isEmpty)
    }

    @Test("a field the dataset lacks is refused")
    func unknownField() throws {
        let reasons = try evaluate([item("bj-a", fields: ["road_id", "speed"])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved())
        #expect(reasons.map(\.code) == [.unknownField])
        #expect(reasons.first?.datasetID == "bj-a")
        #expect(reasons.first?.detail.contains("speed") == true)
    }

    @Test("a unit the dataset is not metered in is refused")
    func unitNotOffered() throws {
        let reasons = try evaluate([item("bj-a", prices: ["byte": "0.000001"])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved())
        #expect(reasons.map(\.code) == [.unitNotOffered])
        #expect(reasons.first?.datasetID == "bj-a")
        #expect(reasons.first?.detail.contains("byte") == true)
    }

    // MARK: Prices

    @Test("a price above the ceiling is refused; one equal to it is allowed", arguments: [
        ("0.050001", true), ("0.06", true), ("0.05", false), ("0.050000", false), ("0", false),
    ])
    func ceiling(_ price: String, _ refused: Bool) throws {
        let reasons = try evaluate([item("bj-a", prices: ["call": price])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved())
        #expect(reasons.map(\.code) == (refused ? [.priceAboveCeiling] : []))
        #expect(reasons.allSatisfy { $0.datasetID == "bj-a" && $0.detail.contains("bj-a") && $0.detail.contains("0.05") })
    }

    @Test("each unit's price is held to that unit's ceiling")
    func ceilingPerUnit() throws {
        let reasons = try evaluate([item("bj-a", prices: ["call": "0.05", "record": "0.002"])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved())
        #expect(reasons.map(\.code) == [.priceAboveCeiling])
        #expect(reasons.first?.detail.contains("record") == true)
    }

    @Test("a public-interest grant must be free")
    func publicInterestPriced() throws {
        let reasons = try evaluate([item("bj-a", prices: ["call": "0.01"])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved(), scenario: .publicInterest)
        #expect(reasons.map(\.code) == [.publicInterestPriced])
        #expect(reasons.first?.datasetID == "bj-a")
        #expect(reasons.first?.detail.contains("bj-a") == true)
    }

    @Test("a public-interest grant at zero is allowed")
    func publicInterestFree() throws {
        let reasons = try evaluate([item("bj-a", prices: ["call": "0", "record": "0.000"])], datasets: [try Datasets.published("bj-a")],
                                   operator: try Operators.approved(), scenario: .publicInterest)
        #expect(reasons.isEmpty)
    }

    // MARK: The term

    @Test("the term is at most 365 days", arguments: [(365.0, false), (366.0, true), (365.0 + 0.001 / 86_400, true), (1.0, false)])
    func termLength(_ days: Double, _ refused: Bool) throws {
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: try Operators.approved(),
                                   startsAt: Term.start, endsAt: Term.start.addingTimeInterval(days * 86_400))
        #expect(reasons.map(\.code) == (refused ? [.termTooLong] : []))
    }

    @Test("a policy may configure a longer term")
    func configuredTerm() throws {
        let request = try grantRequest([item("bj-a")], endsAt: Term.start.addingTimeInterval(700 * 86_400))
        let datasets = ["bj-a": try Datasets.published("bj-a")]
        let op = try Operators.approved()
        #expect(GrantPolicy(maxTermDays: 730).evaluate(request, operator: op, datasets: datasets, at: Clock.start).isEmpty)
        #expect(GrantPolicy().evaluate(request, operator: op, datasets: datasets, at: Clock.start).map(\.code) == [.termTooLong])
    }

    @Test("a term that has already ended is refused; one ending later is not", arguments: [
        (Clock.start, true), (Clock.day(-1), true), (Clock.start.addingTimeInterval(0.001), false),
    ])
    func termEnded(_ end: Date, _ refused: Bool) throws {
        let reasons = try evaluate([item("bj-a")], datasets: [try Datasets.published("bj-a")], operator: try Operators.approved(),
                                   startsAt: date("2026-06-01T00:00:00.000Z"), endsAt: end)
        #expect(reasons.map(\.code) == (refused ? [.termEnded] : []))
    }

    // MARK: Together

    @Test("every reason that applies is listed, each naming its dataset")
    func everyReason() throws {
        let suspended = try Operators.suspend(try Operators.approved(), at: Clock.day(-1)).updated
        let datasets = [
            try Datasets.published("bj-closed", openness: .closed),
            try Datasets.published("tj-core", authority: "tj", grade: .core),
            try Datasets.published("he-health", authority: "he", grade: .important),
        ]
        let reasons = try evaluate(
            [
                item("bj-closed", fields: ["speed"], prices: ["call": "0.06"]),
                item("tj-core", prices: ["byte": "0"]),
                item("he-health", prices: ["call": "0.01"]),
            ],
            datasets: datasets, operator: suspended, scenario: .publicInterest,
            startsAt: date("2025-06-01T00:00:00.000Z"), endsAt: date("2026-07-01T00:00:00.000Z"))
        #expect(reasons.map(\.code) == [
            .operatorNotActive,
            .opennessClosed, .unknownField, .publicInterestPriced,
            .gradeCore, .unitNotOffered,
            .tierInsufficient, .publicInterestPriced,
            .termTooLong, .termEnded,
        ])
        #expect(reasons.map(\.datasetID) == [
            nil, "bj-closed", "bj-closed", "bj-closed", "tj-core", "tj-core", "he-health", "he-health", nil, nil,
        ])
        for reason in reasons {
            if let dataset = reason.datasetID { #expect(reason.detail.contains(dataset)) }
        }
    }

    // MARK: Who approves

    @Test("approvals: none when all open, else every providing authority once, sorted")
    func requiredApprovals() throws {
        let bjOpen = try Datasets.published("bj-a")
        let bjConditional = try Datasets.published("bj-b", openness: .conditional)
        let tjOpen = try Datasets.published("tj-a", authority: "tj")
        let heOpen = try Datasets.published("he-a", authority: "he")
        #expect(policy.requiredApprovals(for: [bjOpen, tjOpen]).isEmpty)
        #expect(policy.requiredApprovals(for: [tjOpen, bjConditional]) == ["bj", "tj"])
        #expect(policy.requiredApprovals(for: [heOpen, bjConditional, bjOpen, tjOpen]) == ["bj", "he", "tj"])
        #expect(policy.requiredApprovals(for: [bjConditional, bjOpen]) == ["bj"])
    }
}
