import AuditLog
import Cryptography
import Foundation
@testable import Persistence
import PDXTesting
import Testing

/// The console's sessions in the store: found by the hash of their id, purged when past their time,
/// and their forms' one-time tokens used once across handles.
@Suite("Store: console sessions")
struct ConsoleSessionStorageTests {
    static func session(_ hash: [UInt8], lastSeen: Double, expires: Double) -> StoredConsoleSession {
        StoredConsoleSession(idHash: hash, keyID: "k1", principalID: "pr_1", role: "auditor", authorityID: nil,
                             csrfToken: "token", createdAt: Samples.time(0), lastSeen: Samples.time(lastSeen),
                             expiresAt: Samples.time(expires))
    }

    @Test("a session is stored by its hash, read by another handle, touched forward only, purged and deleted",
          arguments: Backend.available)
    func lifecycle(backend: Backend) async throws {
        try await Fixture.with(backend) { fixture in
            let one = try await fixture.open()
            let two = try await fixture.open()
            let live = SHA256.hash(Array("live".utf8)).bytes
            let idle = SHA256.hash(Array("idle".utf8)).bytes
            let old = SHA256.hash(Array("old".utf8)).bytes
            var stored = Self.session(live, lastSeen: 100, expires: 1_000)
            stored.authorityID = "bj"
            try await one.transaction { tx in
                try await tx.insertConsoleSession(stored)
                try await tx.insertConsoleSession(Self.session(idle, lastSeen: 10, expires: 1_000))
                try await tx.insertConsoleSession(Self.session(old, lastSeen: 100, expires: 150))
            }
            #expect(try await two.read { try await $0.consoleSession(idHash: live) } == stored)
            #expect(try await two.read { try await $0.consoleSession(idHash: Array("live".utf8)) } == nil)

            try await two.transaction { try await $0.touchConsoleSession(idHash: live, at: Samples.time(120)) }
            try await one.transaction { try await $0.touchConsoleSession(idHash: live, at: Samples.time(110)) }
            #expect(try await one.read { try await $0.consoleSession(idHash: live) }?.lastSeen == Samples.time(120),
                    "a late touch from another instance does not move it back")

            #expect(try await one.transaction { try await $0.useConsoleFormToken("once", sessionHash: old, at: Samples.time(120)) })
            #expect(try await two.transaction { try await $0.useConsoleFormToken("once", sessionHash: old, at: Samples.time(121)) } == false,
                    "the second use through another handle")
            let purged = try await one.transaction { try await $0.purgeConsoleSessions(idleSince: Samples.time(50), now: Samples.time(150)) }
            #expect(purged == 2, "the idle one and the expired one")
            #expect(try await one.read { try await $0.consoleSessionCount() } == 1)
            #expect(try await one.read { try await $0.context.query("SELECT token FROM console_form_tokens") }.isEmpty,
                    "a purged session's tokens go with it")

            #expect(try await one.transaction { try await $0.useConsoleFormToken("form", sessionHash: live, at: Samples.time(130)) })
            try await two.transaction { try await $0.deleteConsoleSession(idHash: live) }
            #expect(try await one.read { try await $0.consoleSession(idHash: live) } == nil)
            #expect(try await one.read { try await $0.context.query("SELECT token FROM console_form_tokens") }.isEmpty)
        }
    }
}
