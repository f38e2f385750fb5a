import AuditLog
import Foundation
import Testing
import Vetting

/// A `VettingStore` held in memory, as the contract describes it; the SQL stores follow the same
/// contract.
actor MemoryVettingStore: VettingStore {
    private var operators: [String: Operator] = [:]

    func insert(_ new: Operator) throws {
        guard operators[new.id] == nil else {
            throw VettingError(code: .operatorExists, detail: "operator \(new.id) exists")
        }
        operators[new.id] = new
    }

    func update(_ changed: Operator) throws {
        guard let stored = operators[changed.id] else {
            throw VettingError(code: .operatorNotFound, detail: "no operator \(changed.id)")
        }
        guard changed.revision == stored.revision + 1 else {
            throw VettingError(code: .concurrentUpdate, detail: "operator \(changed.id) is at revision \(stored.revision)")
        }
        operators[changed.id] = changed
    }

    func operatorByID(_ id: String) -> Operator? {
        operators[id]
    }

    func operators(status: OperatorStatus?, after cursor: String?, limit: Int) -> OperatorPage {
        let ordered = operators.values
            .filter { status == nil || $0.status == status }
            .sorted { (Self.key($0), $0.id) < (Self.key($1), $1.id) }
        let start: Int
        if let cursor, let separator = cursor.firstIndex(of: "|"), let millis = Int64(cursor[..<separator]) {
            let id = String(cursor[cursor.index(after: separator)...])
            start = ordered.firstIndex { (Self.key($0), $0.id) > (millis, id) } ?? ordered.count
        } else {
            start = 0
        }
        let page = Array(ordered[start...].prefix(limit))
        let more = start + page.count < ordered.count
        return OperatorPage(
            operators: page,
            nextCursor: more ? page.last.map { "\(Self.key($0))|\($0.id)" } : nil
        )
    }

    func latestOperator(appliedBy principalID: String) -> Operator? {
        operators.values.filter { $0.application.applicant == principalID }.max { Self.key($0) < Self.key($1) }
    }

    func latestOperator(uscc: USCC) -> Operator? {
        operators.values.filter { $0.application.uscc == uscc }.max { Self.key($0) < Self.key($1) }
    }

    private static func key(_ value: Operator) -> Int64 {
        Timestamp.milliseconds(value.submittedAt)
    }
}

@Suite("Vetting store contract")
struct StoreTests {
    let lifecycle = OperatorLifecycle()

    /// What `POST /v1/operators` does in its transaction.
    func apply(_ application: OperatorApplication, id: String, at now: Date, in store: some VettingStore) async throws -> LifecycleOutcome {
        let existing = [
            try await store.latestOperator(appliedBy: application.applicant),
            try await store.latestOperator(uscc: application.uscc),
        ].compactMap { $0 }
        let outcome = lifecycle.submit(application, id: id, existing: existing, at: now)
        if let change = outcome.change {
            try await store.insert(change.updated)
        }
        return outcome
    }

    @Test("one live application per applicant and per company, checked through the store")
    func uniqueness() async throws {
        let store: any VettingStore = MemoryVettingStore()
        var clock = TestClock()
        _ = try accepted(try await apply(try Sample.application(), id: "op-1", at: clock.now, in: store))
        clock.advance(hours: 1)
        let sameApplicant = try Sample.application(uscc: "914403001922038216")
        #expect(codes(try await apply(sameApplicant, id: "op-2", at: clock.now, in: store)) == [.applicationExists])
        let sameCompany = try Sample.application(applicant: "principal-other")
        #expect(codes(try await apply(sameCompany, id: "op-3", at: clock.now, in: store)) == [.applicationExists])
        let other = try Sample.application(uscc: "914403001922038216", applicant: "principal-other")
        _ = try accepted(try await apply(other, id: "op-4", at: clock.now, in: store))
        #expect(try await store.latestOperator(appliedBy: "principal-other")?.id == "op-4")
        await #expect(throws: VettingError(code: .operatorExists, detail: "")) {
            try await store.insert(try #require(await store.operatorByID("op-1")))
        }
    }

    @Test("an update computed from a stale read is refused")
    func staleUpdate() async throws {
        let store: any VettingStore = MemoryVettingStore()
        _ = try accepted(try await apply(try Sample.application(tier: .enhanced), id: "op-1", at: TestClock.start, in: store))
        let read = try #require(try await store.operatorByID("op-1"))
        // Two reviewers act on the same read at once: only one change may land.
        let first = try accepted(lifecycle.review(read, by: Sample.alice, decision: .approve, reason: nil, at: TestClock.start))
        let second = try accepted(lifecycle.review(read, by: Sample.bob, decision: .approve, reason: nil, at: TestClock.start))
        try await store.update(first.updated)
        await #expect(throws: VettingError(code: .concurrentUpdate, detail: "")) {
            try await store.update(second.updated)
        }
        // Retried on a fresh read, the second approval completes the two-person rule.
        let fresh = try #require(try await store.operatorByID("op-1"))
        let retried = try accepted(lifecycle.review(fresh, by: Sample.bob, decision: .approve, reason: nil, at: TestClock.start))
        try await store.update(retried.updated)
        #expect(try await store.operatorByID("op-1")?.status == .approved)
        await #expect(throws: VettingError(code: .operatorNotFound, detail: "")) {
            var ghost = retried.updated
            ghost = Operator(
                id: "op-9", application: ghost.application, submittedAt: ghost.submittedAt, status: ghost.status,
                reviews: ghost.reviews, approvedAt: ghost.approvedAt, approvedUntil: ghost.approvedUntil,
                history: ghost.history, round: ghost.round, revision: ghost.revision
            )
            try await store.update(ghost)
        }
    }

    @Test("operators are listed by status, page by page")
    func pages() async throws {
        let store: any VettingStore = MemoryVettingStore()
        var clock = TestClock()
        for number in 1...7 {
            let prefix = "9111000000000000" + String(number)
            let uscc = prefix + String(try #require(USCC.checkCharacter(forPrefix: prefix)))
            let application = try Sample.application(uscc: uscc, applicant: "principal-\(number)")
            let created = try accepted(try await apply(application, id: "op-\(number)", at: clock.now, in: store)).updated
            if number.isMultiple(of: 2) {
                try await store.update(try accepted(lifecycle.review(created, by: Sample.alice, decision: .approve, reason: nil, at: clock.now)).updated)
            }
            clock.advance(hours: 1)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.operators(status: .submitted, after: cursor, limit: 2)
            #expect(page.operators.count <= 2)
            #expect(page.operators.allSatisfy { $0.status == .submitted })
            seen += page.operators.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == ["op-1", "op-3", "op-5", "op-7"])
        let approved = try await store.operators(status: .approved, after: nil, limit: 10)
        #expect(approved.operators.map(\.id) == ["op-2", "op-4", "op-6"])
        #expect(approved.nextCursor == nil)
    }
}
