import Identity
import AuditLog
import Cryptography
import Foundation
@testable import Persistence
import PDXTesting
import Testing
import Vetting

@Suite("Authorities on SQLite and PostgreSQL")
struct AuthorityStorageTests {
    @Test("authorities are inserted, found by id and refused twice", arguments: Backend.available)
    func insertAndFind(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let beijing = Samples.authority("bj", at: 0.25)
            try await database.transaction { try await $0.insertAuthority(beijing) }
            #expect(try await database.read { try await $0.authority(id: "bj") } == beijing)
            #expect(try await database.transaction { try await $0.authority(id: "bj") } == beijing)
            #expect(try await database.read { try await $0.authority(id: "sh") } == nil)

            // The duplicate is reported without failing a statement, so the transaction can go on.
            var rival = Samples.authority("bj", at: 99)
            rival.name = "Another"
            try await database.transaction { transaction in
                await #expect(throws: VettingError(code: .authorityExists, detail: "")) {
                    try await transaction.insertAuthority(rival)
                }
                try await transaction.insertAuthority(Samples.authority("sh"))
            }
            #expect(try await database.read { try await $0.authority(id: "bj") } == beijing)
            #expect(try await database.read { try await $0.authority(id: "sh") } != nil)
        }
    }

    @Test("authorities are listed by id in pages", arguments: Backend.available)
    func paging(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let ids = ["tj", "bj", "sh", "gd", "cq"]
            try await database.transaction { transaction in
                for (offset, id) in ids.enumerated() {
                    try await transaction.insertAuthority(Samples.authority(id, at: Double(offset)))
                }
            }
            let pages = try await allPages { cursor in
                let page = try await database.read { try await $0.authorities(after: cursor, limit: 2) }
                return (page.authorities.map(\.id), page.nextCursor)
            }
            #expect(pages == [["bj", "cq"], ["gd", "sh"], ["tj"]])

            let exact = try await database.read { try await $0.authorities(after: nil, limit: 5) }
            #expect(exact.authorities.count == 5)
            #expect(exact.nextCursor == nil)
            let all = try await database.read { try await $0.authorities(after: nil, limit: 100) }
            #expect(all.authorities == ids.sorted().map { id in
                Samples.authority(id, at: Double(ids.firstIndex(of: id)!))
            })
        }
    }

    @Test("a cursor that this listing did not hand out is invalid_cursor", arguments: Backend.available)
    func badCursor(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { transaction in
                for id in ["aa", "bb", "cc"] { try await transaction.insertAuthority(Samples.authority(id)) }
                try await transaction.insert(try Samples.submitted("op-1", uscc: 1, applicant: "p1"))
                try await transaction.insert(try Samples.submitted("op-2", uscc: 2, applicant: "p2"))
            }
            let operatorCursor = try #require(try await database.read { try await $0.operators(status: nil, after: nil, limit: 1) }.nextCursor)
            for cursor in ["bb", "", "!!!", operatorCursor, PageCursor(listing: "authorities", key: ["a", "b"]).token] {
                await #expect(throws: VettingError(code: .invalidCursor, detail: ""), "\(cursor)") {
                    try await database.read { try await $0.authorities(after: cursor, limit: 1) }
                }
            }
        }
    }

    @Test("authority fields are validated", arguments: [
        ("bj", "北京市大数据中心", "Beijing", nil),
        ("shenzhen-2", "Shenzhen", "Guangdong", nil),
        (String(repeating: "a", count: 32), "N", "R", nil),
        ("b", "N", "R", VettingError.Code.invalidAuthorityID),
        (String(repeating: "a", count: 33), "N", "R", .invalidAuthorityID),
        ("2bj", "N", "R", .invalidAuthorityID),
        ("-bj", "N", "R", .invalidAuthorityID),
        ("Bj", "N", "R", .invalidAuthorityID),
        ("b_j", "N", "R", .invalidAuthorityID),
        ("bé", "N", "R", .invalidAuthorityID),
        ("bj", "", "R", .invalidName),
        ("bj", String(repeating: "名", count: 201), "R", .invalidName),
        ("bj", "line\nbreak", "R", .invalidName),
        ("bj", String(repeating: "名", count: 200), "", .invalidRegion),
        ("bj", "N", String(repeating: "r", count: 101), .invalidRegion),
        ("bj", "N", "tab\there", .invalidRegion),
    ] as [(String, String, String, VettingError.Code?)])
    func validation(id: String, name: String, region: String, expected: VettingError.Code?) {
        do {
            try Authority.validate(id: id, name: name, region: region)
            #expect(expected == nil)
        } catch {
            #expect(error.code == expected)
        }
    }
}

@Suite("Principals' e-mail and operator on SQLite and PostgreSQL")
struct PrincipalBindingTests {
    @Test("e-mail and operator id are stored and read back", arguments: Backend.available)
    func fields(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let reviewer = Samples.principal("p-rev", role: .authorityReviewer, email: "alice@bjdata.gov.cn")
            let applicant = Samples.principal("p-op", at: 1, email: "ops@example.cn", operatorID: "op-1")
            let plain = Samples.principal("p-plain", at: 2)
            try await database.transaction { transaction in
                for principal in [reviewer, applicant, plain] { try await transaction.insertPrincipal(principal) }
            }
            let read = try await database.read { reader async throws in
                (try await reader.principal(id: "p-rev"), try await reader.principal(keyID: "key-p-op"),
                 try await reader.principal(id: "p-plain"))
            }
            #expect(read.0?.unreferenced == reviewer)
            #expect(read.0?.email == "alice@bjdata.gov.cn")
            #expect(read.1?.unreferenced == applicant)
            #expect(read.1?.operatorID == "op-1")
            #expect(read.2?.unreferenced == plain)
            #expect(read.0?.nameReference != nil && read.0?.emailReference != nil && read.2?.emailReference == nil)
            #expect(read.2?.email == nil && read.2?.operatorID == nil)
        }
    }

    @Test("principals are listed by creation time, then id, in pages", arguments: Backend.available)
    func paging(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            // Three share a creation time, so the id decides among them and the cursor must carry both.
            let principals = [
                Samples.principal("p-c", at: 5), Samples.principal("p-a", at: 5), Samples.principal("p-z", at: 1),
                Samples.principal("p-b", at: 5), Samples.principal("p-y", at: 9.001), Samples.principal("p-x", at: 9),
            ]
            try await database.transaction { transaction in
                for principal in principals { try await transaction.insertPrincipal(principal) }
            }
            for limit in [1, 2, 4] {
                let pages = try await allPages { cursor in
                    let page = try await database.read { try await $0.principals(after: cursor, limit: limit) }
                    return (page.principals, page.nextCursor)
                }
                #expect(pages.flatMap { $0 }.map(\.id) == ["p-z", "p-a", "p-b", "p-c", "p-x", "p-y"], "limit \(limit)")
                #expect(pages.count == (6 + limit - 1) / limit)
                #expect(pages.dropLast().allSatisfy { $0.count == limit })
            }
            #expect(try await database.read { try await $0.principals(after: nil, limit: 10) }.principals
                == (try await database.read { try await $0.principals() }))
            await #expect(throws: VettingError(code: .invalidCursor, detail: "")) {
                try await database.read { try await $0.principals(after: "p-a", limit: 2) }
            }
        }
    }

    @Test("a principal is bound to the operator it applies as", arguments: Backend.available)
    func bind(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { try await $0.insertPrincipal(Samples.principal("p-op")) }
            #expect(try await database.transaction { try await $0.bindPrincipal(id: "p-op", toOperator: "op-1") })
            #expect(try await database.read { try await $0.principal(id: "p-op") }?.operatorID == "op-1")
            // Applying again after a rejection binds it to the new operator.
            #expect(try await database.transaction { try await $0.bindPrincipal(id: "p-op", toOperator: "op-2") })
            #expect(try await database.read { try await $0.principal(id: "p-op") }?.operatorID == "op-2")
            #expect(try await database.transaction { try await $0.bindPrincipal(id: "nobody", toOperator: "op-1") } == false)
        }
    }

    @Test("revoking by operator revokes exactly its unrevoked principals", arguments: Backend.available)
    func revokeByOperator(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let earlier = Samples.time(10)
            var alreadyRevoked = Samples.principal("p-3", operatorID: "op-1")
            alreadyRevoked.revokedAt = earlier
            try await database.transaction { transaction in
                try await transaction.insertPrincipal(Samples.principal("p-2", operatorID: "op-1"))
                try await transaction.insertPrincipal(Samples.principal("p-1", operatorID: "op-1"))
                try await transaction.insertPrincipal(alreadyRevoked)
                try await transaction.insertPrincipal(Samples.principal("p-other", operatorID: "op-2"))
                try await transaction.insertPrincipal(Samples.principal("p-none"))
            }
            let now = Samples.time(100)
            let revoked = try await database.transaction { try await $0.revokePrincipals(boundToOperator: "op-1", at: now) }
            #expect(revoked == ["p-1", "p-2"])
            let after = try await database.read { try await $0.principals() }
            let revokedAt = Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0.revokedAt) })
            #expect(revokedAt == ["p-1": now, "p-2": now, "p-3": earlier, "p-other": nil, "p-none": nil])
            #expect(try await database.transaction { try await $0.revokePrincipals(boundToOperator: "op-1", at: now + 5) } == [])
            #expect(try await database.transaction { try await $0.revokePrincipals(boundToOperator: "op-9", at: now) } == [])
        }
    }
}

@Suite("Operators on SQLite and PostgreSQL")
struct OperatorStorageTests {
    @Test("an operator is inserted once and read back whole", arguments: Backend.available)
    func insert(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let first = try Samples.submitted("op-1")
            try await database.transaction { try await $0.insert(first) }
            #expect(try await database.read { try await $0.operatorByID("op-1") } == first)
            #expect(try await database.transaction { try await $0.operatorByID("op-1") } == first)
            #expect(try await database.read { try await $0.operatorByID("op-2") } == nil)

            let impostor = try Samples.submitted("op-1", uscc: 7, applicant: "someone-else", at: Samples.time(60))
            try await database.transaction { transaction async throws -> Void in
                await #expect(throws: VettingError(code: .operatorExists, detail: "")) {
                    try await transaction.insert(impostor)
                }
            }
            #expect(try await database.read { try await $0.operatorByID("op-1") } == first)
        }
    }

    @Test("a fully populated operator survives storage exactly", arguments: Backend.available)
    func roundTrip(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let full = try Samples.fullyPopulated()
            #expect(full.application.tier == .enhanced)
            #expect(full.reviews.count == 2)
            #expect(full.history.map(\.action) == [.applied, .approved, .suspended])
            #expect(full.approvedAt != nil && full.approvedUntil != nil)
            try await database.transaction { try await $0.insert(full) }
            let stored = try #require(try await database.read { try await $0.operatorByID(full.id) })
            #expect(stored == full)
            #expect(stored.reviews.map(\.reason) == ["criteria met", nil])
            #expect(stored.history.last?.reason == "audit pending")
            #expect(stored.revision == 4)
        }
    }

    @Test("an update at the next revision replaces the operator; a stale one changes nothing", arguments: Backend.available)
    func update(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let lifecycle = OperatorLifecycle()
            let submitted = try Samples.submitted("op-1", tier: .enhanced)
            try await database.transaction { try await $0.insert(submitted) }

            // Two reviewers read revision 1 and each compute revision 2; only the first may store it.
            let read = try #require(try await database.read { try await $0.operatorByID("op-1") })
            let byAlice = try #require(lifecycle.review(read, by: Samples.alice, decision: .approve, reason: nil,
                                                        at: Samples.time(60)).change).updated
            let byBob = try #require(lifecycle.review(read, by: Samples.bob, decision: .reject, reason: "no",
                                                      at: Samples.time(61)).change).updated
            #expect(byAlice.revision == 2 && byBob.revision == 2)
            try await database.transaction { try await $0.update(byAlice) }
            await #expect(throws: VettingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.update(byBob) }
            }
            #expect(try await database.read { try await $0.operatorByID("op-1") } == byAlice)
            // Skipping a revision is stale too.
            let second = try #require(lifecycle.review(byAlice, by: Samples.bob, decision: .approve, reason: nil,
                                                       at: Samples.time(120)).change).updated
            let skipped = try #require(lifecycle.suspend(second, by: Samples.alice, reason: "check",
                                                         at: Samples.time(180)).change).updated
            await #expect(throws: VettingError(code: .concurrentUpdate, detail: "")) {
                try await database.transaction { try await $0.update(skipped) }
            }
            #expect(try await database.read { try await $0.operatorByID("op-1") } == byAlice)
            // The rejected writer's status is not searchable either: the row's columns did not move.
            #expect(try await database.read { try await $0.operators(status: .rejected, after: nil, limit: 10) }.operators.isEmpty)

            try await database.transaction { try await $0.update(second) }
            try await database.transaction { try await $0.update(skipped) }
            let stored = try #require(try await database.read { try await $0.operatorByID("op-1") })
            #expect(stored == skipped)
            #expect(stored.status == .suspended && stored.revision == 4)
            #expect(try await database.read { try await $0.operators(status: .suspended, after: nil, limit: 10) }.operators == [skipped])

            let ghost = try Samples.submitted("op-ghost", uscc: 9)
            let ghostNext = try #require(lifecycle.review(ghost, by: Samples.alice, decision: .approve, reason: nil,
                                                          at: Samples.time(60)).change).updated
            await #expect(throws: VettingError(code: .operatorNotFound, detail: "")) {
                try await database.transaction { try await $0.update(ghostNext) }
            }
        }
    }

    @Test("operators are listed by submission time, then id, with and without a status", arguments: Backend.available)
    func paging(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let lifecycle = OperatorLifecycle()
            func approved(_ value: Operator) throws -> Operator {
                try #require(lifecycle.review(value, by: Samples.alice, decision: .approve, reason: nil,
                                              at: Samples.time(10_000)).change).updated
            }
            // (id, seconds after start, approved?); op-b, op-c and op-d share a submission time.
            let plan: [(String, Double, Bool)] = [
                ("op-e", 300, true), ("op-d", 100, false), ("op-a", 400, false), ("op-c", 100, true),
                ("op-b", 100, true), ("op-f", 0.001, false), ("op-g", 500, true),
            ]
            try await database.transaction { transaction in
                for (n, (id, seconds, approve)) in plan.enumerated() {
                    let value = try Samples.submitted(id, uscc: n + 1, applicant: "p-\(id)", at: Samples.time(seconds))
                    try await transaction.insert(approve ? try approved(value) : value)
                }
            }
            let everyone = ["op-f", "op-b", "op-c", "op-d", "op-e", "op-a", "op-g"]
            let approvedOnes = ["op-b", "op-c", "op-e", "op-g"]
            for limit in [1, 2, 3, 7] {
                for (status, expected) in [(nil, everyone), (.approved, approvedOnes), (.submitted, ["op-f", "op-d", "op-a"]),
                                           (.revoked, [])] as [(OperatorStatus?, [String])] {
                    let pages = try await allPages { cursor in
                        let page = try await database.read {
                            try await $0.operators(status: status, after: cursor, limit: limit)
                        }
                        return (page.operators, page.nextCursor)
                    }
                    let listed = pages.flatMap { $0 }
                    #expect(listed.map(\.id) == expected, "status \(String(describing: status)), limit \(limit)")
                    #expect(listed.allSatisfy { status == nil || $0.status == status })
                    #expect(pages.count == max(1, (expected.count + limit - 1) / limit))
                }
            }
            let first = try await database.read { try await $0.operators(status: .approved, after: nil, limit: 2) }
            await #expect(throws: VettingError(code: .invalidCursor, detail: "")) {
                try await database.read { try await $0.principals(after: first.nextCursor, limit: 2) }
            }
        }
    }

    @Test("the latest operator by applicant and by unified social credit code", arguments: Backend.available)
    func latest(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            let old = try Samples.submitted("op-old", uscc: 1, applicant: "p-1", at: Samples.time(0))
            let new = try Samples.submitted("op-new", uscc: 2, applicant: "p-1", at: Samples.time(50))
            let otherApplicant = try Samples.submitted("op-other", uscc: 1, applicant: "p-2", at: Samples.time(20))
            let later = try Samples.submitted("op-z", uscc: 3, applicant: "p-3", at: Samples.time(5))
            try await database.transaction { transaction in
                for value in [new, old, otherApplicant, later] { try await transaction.insert(value) }
            }
            try await database.read { reader async throws in
                #expect(try await reader.latestOperator(appliedBy: "p-1") == new)
                #expect(try await reader.latestOperator(appliedBy: "p-2") == otherApplicant)
                #expect(try await reader.latestOperator(appliedBy: "p-9") == nil)
                #expect(try await reader.latestOperator(uscc: USCC(validating: Samples.uscc(1))) == otherApplicant)
                #expect(try await reader.latestOperator(uscc: USCC(validating: Samples.uscc(2))) == new)
                #expect(try await reader.latestOperator(uscc: USCC(validating: Samples.uscc(4))) == nil)
            }
        }
    }

    @Test("a row whose document does not decode is unexpected_data", arguments: Backend.available)
    func corruptDocument(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { try await $0.insert(try Samples.submitted("op-1")) }
            try await database.transaction { transaction in
                try await transaction.context.execute(
                    "UPDATE operators SET document = replace(document, '\"status\":\"submitted\"', '\"status\":\"approved\"')"
                )
            }
            // The document now says approved while the searchable column says submitted.
            let error = await #expect(throws: StorageError.self) {
                try await database.read { try await $0.operatorByID("op-1") }
            }
            #expect(error?.code == .unexpectedData)
            try await database.transaction { transaction in
                try await transaction.context.execute("UPDATE operators SET document = $1", [.text("{\"version\":1}")])
            }
            let truncated = await #expect(throws: StorageError.self) {
                try await database.read { try await $0.operators(status: nil, after: nil, limit: 5) }
            }
            #expect(truncated?.code == .unexpectedData)
        }
    }
}

@Suite("Rolled-back vetting changes")
struct VettingRollbackTests {
    @Test("a rolled-back transaction leaves no authority, principal, binding or operator", arguments: Backend.available)
    func rollback(backend: Backend) async throws {
        struct Abandon: Error {}
        try await Fixture.with(backend) { fixture in
            let database = try await fixture.open()
            try await database.transaction { try await $0.insertPrincipal(Samples.principal("p-existing")) }
            let submitted = try Samples.submitted("op-1", applicant: "p-existing")
            await #expect(throws: Abandon.self) {
                try await database.transaction { transaction in
                    try await transaction.insertAuthority(Samples.authority("bj"))
                    try await transaction.insertPrincipal(Samples.principal("p-new", email: "a@b.cn"))
                    try await transaction.insert(submitted)
                    try await transaction.bindPrincipal(id: "p-existing", toOperator: "op-1")
                    // Seen inside the transaction…
                    #expect(try await transaction.operatorByID("op-1") == submitted)
                    #expect(try await transaction.authority(id: "bj") != nil)
                    throw Abandon()
                }
            }
            // …and gone after it.
            try await database.read { reader async throws in
                #expect(try await reader.authority(id: "bj") == nil)
                #expect(try await reader.authorities(after: nil, limit: 10).authorities.isEmpty)
                #expect(try await reader.principal(id: "p-new") == nil)
                #expect(try await reader.principal(id: "p-existing")?.operatorID == nil)
                #expect(try await reader.operatorByID("op-1") == nil)
                #expect(try await reader.operators(status: nil, after: nil, limit: 10).operators.isEmpty)
                #expect(try await reader.latestOperator(appliedBy: "p-existing") == nil)
            }
        }
    }
}

@Suite("Schema upgrade for vetting")
struct VettingMigrationTests {
    @Test("a database at schema version 1 gains the vetting tables and keeps its principals", arguments: Backend.available)
    func upgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            // Take the fresh database back to version 1, as a deployment before this change has it.
            try await current.transaction { transaction in
                for statement in undoPrincipalGeneration(backend) + [
                    "DROP INDEX principals_operator_id", "DROP INDEX principals_created_at",
                    "DROP TABLE personal_data", "ALTER TABLE principals DROP COLUMN name_ref",
                    "ALTER TABLE principals DROP COLUMN email_ref", "ALTER TABLE principals ADD COLUMN name TEXT NOT NULL DEFAULT ''",
                    "ALTER TABLE principals DROP COLUMN operator_id",
                    "DROP TABLE authorities", "DROP TABLE operators", "DROP TABLE idempotency_keys",
                    "DROP TABLE grant_datasets", "DROP TABLE grants", "DROP TABLE datasets", "DROP TABLE grant_generation",
                    "DROP TABLE usage_events", "DROP TABLE usage_counters", "DROP TABLE usage_daily",
                    "DROP TABLE settlement_periods", "DROP TABLE settlement_reports", "DROP TABLE settlement_parties", "DROP TABLE settlement_adjustments", "DROP TABLE revenue_caps", 
                    "DROP TABLE releases", "DROP TABLE release_rows", "DROP TABLE release_values",
                    "DROP TABLE provider_usage", "DROP TABLE discrepancy_acknowledgements", "DROP TABLE upstream_credentials",
                    "DROP TABLE marketplace_settings", "DROP TABLE console_form_tokens", "DROP TABLE console_sessions",
                    "DELETE FROM schema_migrations WHERE version >= 2",
                ] {
                    try await transaction.context.execute(statement)
                }
                try await transaction.context.execute(
                    "INSERT INTO principals (id, name, role, key_id, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    [.text("p-old"), .text("Old"), .text("admin"), .text("key-old"), .blob(Array(repeating: 7, count: 32)),
                     .integer(1_790_820_000_000)]
                )
            }
            await current.close()

            let upgraded = try await fixture.open()
            let old = try #require(try await upgraded.read { try await $0.principal(id: "p-old") })
            #expect(old.email == nil && old.operatorID == nil && old.role == .admin)
            #expect(old.name == "Old", "the name moved into the personal-data store")
            try await upgraded.transaction { transaction in
                try await transaction.insertAuthority(Samples.authority("bj"))
                try await transaction.insert(try Samples.submitted("op-1", applicant: "p-old"))
                #expect(try await transaction.bindPrincipal(id: "p-old", toOperator: "op-1"))
            }
            #expect(try await upgraded.read { try await $0.latestOperator(appliedBy: "p-old") }?.id == "op-1")
            #expect(try await upgraded.read { try await $0.principal(id: "p-old") }?.operatorID == "op-1")
        }
    }

    @Test("a database at schema version 6 moves principals' and officers' personal data into the store", arguments: Backend.available)
    func personalDataUpgrade(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let current = try await fixture.open()
            let submitted = try Samples.submitted("op-1", applicant: "p-op")
            try await current.transaction { transaction in
                try await transaction.insertPrincipal(Samples.principal("p-op", email: "ops@example.cn"))
                try await transaction.insertPrincipal(Samples.principal("p-admin", role: .admin))
                try await transaction.insertAuthority(Samples.authority("bj"))
                try await transaction.insert(submitted)
            }
            // Back to version 6: names and e-mail addresses in the principals, the officer in the document.
            var document = try #require(try JSONValue.parse(Array(OperatorDocument.encode(submitted).utf8)).objectValue)
            var application = try #require(document["application"]?.objectValue)
            application["security_officer"] = .object(["name": "王芳", "email": "wang.fang@officer.example"])
            document["application"] = .object(application)
            document["version"] = 1
            try await current.transaction { transaction in
                for statement in undoPrincipalGeneration(backend) + [
                    "DROP TABLE personal_data", "ALTER TABLE principals DROP COLUMN name_ref",
                    "ALTER TABLE principals DROP COLUMN email_ref", "ALTER TABLE principals ADD COLUMN name TEXT NOT NULL DEFAULT ''",
                    "ALTER TABLE principals ADD COLUMN email TEXT NULL",
                    "UPDATE principals SET name = 'Ops Person', email = 'ops@example.cn' WHERE id = 'p-op'",
                    "UPDATE principals SET name = 'Admin Person' WHERE id = 'p-admin'",
                    "DROP TABLE releases", "DROP TABLE release_rows", "DROP TABLE release_values",
                    "ALTER TABLE usage_counters DROP COLUMN gateway_quantity", "ALTER TABLE usage_counters DROP COLUMN gateway_events",
                    "ALTER TABLE usage_counters DROP COLUMN upstream_quantity", "ALTER TABLE usage_counters DROP COLUMN upstream_events",
                    "DROP TABLE provider_usage", "DROP TABLE discrepancy_acknowledgements", "DROP TABLE upstream_credentials",
                    "DROP TABLE marketplace_settings", "DROP TABLE console_form_tokens", "DROP TABLE console_sessions",
                    "DELETE FROM schema_migrations WHERE version >= 7",
                ] {
                    try await transaction.context.execute(statement)
                }
                try await transaction.context.execute("UPDATE operators SET document = $1 WHERE id = 'op-1'",
                                                      [.text(try JSONValue.object(document).canonicalString())])
            }
            await current.close()

            let upgraded = try await fixture.open()
            try await upgraded.read { reader in
                let op = try #require(try await reader.principal(id: "p-op"))
                #expect(op.name == "Ops Person" && op.email == "ops@example.cn" && op.erased.isEmpty)
                let admin = try #require(try await reader.principal(id: "p-admin"))
                #expect(admin.name == "Admin Person" && admin.email == nil && admin.emailReference == nil)
                let migrated = try #require(try await reader.operatorByID("op-1"))
                let officer = migrated.application.securityOfficer
                let data = try await reader.personalData(ids: [officer.name.id, officer.email.id])
                let name = try #require(data[officer.name.id])
                let email = try #require(data[officer.email.id])
                #expect(name.value == "王芳" && name.subject == "operator:op-1" && name.field == "security_officer.name")
                #expect(officer.name.opens(value: "王芳", salt: try #require(name.salt)))
                #expect(officer.email.opens(value: "wang.fang@officer.example", salt: try #require(email.salt)))
                #expect(try await reader.personalData(subject: "principal:p-op").map(\.field) .sorted() == ["email", "name"])
            }
            // The columns that held the values are gone.
            await #expect(throws: StorageError.self) {
                try await upgraded.read { try await $0.context.query("SELECT name FROM principals") }
            }
        }
    }
}
