import AuditLog
import Foundation
import Identity
import PDXTesting
@testable import Persistence
import Testing
import Vetting

/// The principal generation moves with every committed change to principals and operators, in the
/// writer's transaction, and with nothing else; servers trust their verified-key caches by it.
@Suite("Persistence: the principal generation")
struct PrincipalGenerationTests {
    @Test("principals and operators written through one handle move it for another; a rollback and other writes do not",
          arguments: Backend.available)
    func movesWithPrincipalsAndOperators(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let writer = try await fixture.open()
            // Another handle on the same database, as another process would hold.
            let other = try await fixture.open()
            func generation() async throws -> Int64 { try await other.read { try await $0.principalGeneration() } }
            var seen = try await generation()
            func moved() async throws -> Bool {
                let now = try await generation()
                defer { seen = now }
                return now > seen
            }

            try await writer.transaction { tx in try await tx.insertPrincipal(Samples.principal("pr_a")) }
            #expect(try await moved())
            let submitted = try Samples.submitted("op_1")
            try await writer.transaction { tx in try await tx.insert(submitted) }
            #expect(try await moved())
            try await writer.transaction { tx in _ = try await tx.bindPrincipal(id: "pr_a", toOperator: "op_1") }
            #expect(try await moved())
            let suspended = try #require(OperatorLifecycle().review(submitted, by: Samples.alice, decision: .approve,
                                                                    reason: nil, at: Samples.time(60)).change).updated
            try await writer.transaction { tx in try await tx.update(suspended) }
            #expect(try await moved())

            // Seen inside the writer's transaction, not by the other handle before the commit; gone with a rollback.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await writer.transaction { tx in
                    _ = try await tx.revokePrincipal(id: "pr_a", at: Samples.time(120))
                    #expect(try await tx.principalGeneration() > seen)
                    #expect(try await generation() == seen)
                    throw Abort()
                }
            }
            #expect(try await !moved())

            try await writer.transaction { tx in try await tx.setMetaValue("x", forKey: "unrelated") }
            #expect(try await !moved())

            try await writer.transaction { tx in _ = try await tx.revokePrincipal(id: "pr_a", at: Samples.time(120)) }
            #expect(try await moved())
        }
    }
}
