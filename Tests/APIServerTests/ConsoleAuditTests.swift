import Identity
@testable import APIServer
@testable import Console
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

/// The auditor's entry browser in the console.
@Suite("Console: the log's entries for auditors")
struct ConsoleAuditTests {
    typealias Browser = ConsoleTests.Browser

    /// Appends `count` records of `action` by `actor`.
    static func append(_ count: Int, action: String, actor: String, to runtime: Runtime) async throws {
        try await runtime.database.transaction { tx in
            let records = (0..<count).map { AuditRecord(actor: actor, action: action, subjects: ["test:\($0)"], data: ["n": .number(Double($0))]) }
            _ = try await runtime.log.append(records, in: tx)
        }
    }

    /// The entry numbers a page lists, in order.
    static func listed(_ page: TestResponse) -> [Int] {
        page.text.components(separatedBy: #"<a href="/console/audit/entries/"#).dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    }

    @Test("newest first, filtered by action, prefix, actor and day, paged by 'older'", arguments: Backend.available)
    func browseAndFilter(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("auditor", role: .auditor, client)
            try await Self.append(60, action: "test.bulk", actor: "pr_bulk", to: runtime)
            try await Self.append(3, action: "test.rare", actor: "pr_rare", to: runtime)
            let size = Int(try await runtime.log.head().size)
            let browser = Browser(client)
            #expect(try await browser.signIn(actors["auditor"]).status == .seeOther)

            let first = try await browser.send(.get, "/console/audit/entries")
            #expect(first.status == .ok)
            #expect(Self.listed(first) == Array((size - 50..<size).reversed()))
            let older = try #require(first.text.range(of: #"id="older" href=""#)).upperBound
            let link = String(first.text[older...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
            #expect(link == "/console/audit/entries?before=\(size - 50)")
            let second = try await browser.send(.get, link)
            #expect(Self.listed(second) == Array((0..<size - 50).reversed()))
            #expect(!second.text.contains(#"id="older""#), "the log's start has no older page")

            let rare = try await browser.send(.get, "/console/audit/entries?action=test.rare")
            #expect(Self.listed(rare) == [size - 1, size - 2, size - 3])
            let prefix = try await browser.send(.get, "/console/audit/entries?action=test.")
            #expect(Self.listed(prefix).count == 50)
            let byActor = try await browser.send(.get, "/console/audit/entries?actor=pr_bulk&action=test.")
            #expect(Self.listed(byActor) == Array((size - 53..<size - 3).reversed()))
            let today = String(RFC3339.format(Date()).prefix(10))
            let onDay = try await browser.send(.get, "/console/audit/entries?action=test.rare&from=\(today)&to=\(today)")
            #expect(Self.listed(onDay).count == 3)
            let dayBefore = try await browser.send(.get, "/console/audit/entries?action=test.rare&to=2000-01-01")
            #expect(Self.listed(dayBefore).isEmpty)
            #expect(dayBefore.text.contains(#"id="no-entries""#))

            for bad in ["from=2026-13-45", "to=yesterday", "before=-1", "actor=" + String(repeating: "a", count: 201), "action=%01"] {
                let refused = try await browser.send(.get, "/console/audit/entries?\(bad)")
                #expect(refused.status == .badRequest, "\(bad)")
                #expect(refused.text.contains("role=\"alert\""))
            }
        }
    }

    @Test("an entry shows its exact bytes and an inclusion proof that is checked against the latest checkpoint", arguments: Backend.available)
    func entryWithProof(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            try await Self.append(7, action: "test.proved", actor: "pr_x", to: runtime)
            _ = try await runtime.log.signCheckpoint()
            try await Self.append(1, action: "test.unsigned", actor: "pr_x", to: runtime)
            let size = try await runtime.log.head().size
            let browser = Browser(client, language: "en")
            #expect(try await browser.signIn(try market.adminToken).status == .seeOther)

            let seq = size - 3
            let page = try await browser.send(.get, "/console/audit/entries/\(seq)")
            #expect(page.status == .ok)
            let stored = try #require(try await runtime.log.entries(start: seq, limit: 1).first)
            let canonical = String(decoding: stored.body, as: UTF8.self)
                .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            #expect(page.text.contains(#"<pre tabindex="0" id="entry-body">\#(canonical)</pre>"#))
            #expect(page.text.contains(Hex.encode(stored.leafHash.bytes)))
            #expect(page.text.contains("Verified: the entry is in the tree"))
            let proof = try await runtime.log.inclusionProof(leafIndex: seq, treeSize: size - 1)
            #expect(!proof.isEmpty)
            for hash in proof { #expect(page.text.contains(Hex.encode(hash.bytes))) }

            let unsigned = try await browser.send(.get, "/console/audit/entries/\(size - 1)")
            #expect(unsigned.status == .ok)
            #expect(unsigned.text.contains("not in a signed checkpoint yet"))
            for missing in ["\(size)", "99999999999", "-1", "x", "1e3"] {
                #expect(try await browser.send(.get, "/console/audit/entries/\(missing)").status == .notFound, "\(missing)")
            }
        }
    }

    @Test("only auditors and administrators browse entries", arguments: Backend.available)
    func rolesOnly(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var actors = Actors(admin: try market.adminToken)
            try await actors.principal("finance", role: .finance, client)
            let browser = Browser(client)
            #expect(try await browser.signIn(actors["finance"]).status == .seeOther)
            #expect(try await browser.send(.get, "/console/audit").status == .ok)
            #expect(!(try await browser.send(.get, "/console/audit").text.contains("/console/audit/entries\"")))
            #expect(try await browser.send(.get, "/console/audit/entries").status == .forbidden)
            #expect(try await browser.send(.get, "/console/audit/entries/0").status == .forbidden)
            // Signed out, the pages ask for a sign-in, not for a role.
            let stranger = try await Browser(client).send(.get, "/console/audit/entries/0")
            #expect(stranger.status == .seeOther)
        }
    }
}
