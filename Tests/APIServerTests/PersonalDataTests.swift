import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Replay
import Testing

/// The names and addresses of people in a scenario, to search exports for.
private enum People {
    static let reviewerName = "张小明"
    static let reviewerEmail = "zhang.xiaoming@bj.gov.example"
    static let officerName = "王芳芳"
    static let officerEmail = "wang.fangfang@officer.example"

    static var all: [String] { [reviewerName, reviewerEmail, officerName, officerEmail] }

    /// An application whose officer is ``officerName``.
    static func application(uscc: String) -> String {
        """
        {"legal_name":"北京数联科技有限公司","uscc":"\(uscc)","mlps_level":3,"tier":"standard",
         "security_officer":{"name":"\(officerName)","email":"\(officerEmail)"},"certifications":["ISO27001"],
         "documents":[{"name":"licence.pdf","sha256":"\(String(repeating: "cd", count: 32))"}]}
        """
    }
}

/// Every file under `directory`, recursively, with its bytes.
private func files(under directory: String) throws -> [(path: String, bytes: [UInt8])] {
    let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
    var found: [(String, [UInt8])] = []
    while let relative = enumerator.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        found.append((relative, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
    }
    return found
}

private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let bytes = Array(needle.utf8)
    guard bytes.count <= haystack.count else { return false }
    return (0...(haystack.count - bytes.count)).contains { start in haystack[start..<(start + bytes.count)].elementsEqual(bytes) }
}

/// The whole log of `runtime`, decoded.
private func entries(_ runtime: Runtime) async throws -> [AuditEntry] {
    let size = try await runtime.log.head().size
    var entries: [AuditEntry] = []
    while UInt64(entries.count) < size {
        entries += try await runtime.log.entries(start: UInt64(entries.count), limit: 500).map { try AuditEntry(decoding: $0.body) }
    }
    return entries
}

@Suite("Personal data: none in the log or its exports; erasure and disclosure")
struct PersonalDataTests {
    @Test("no exported file holds a name or e-mail address of a person; the log holds commitments that replay",
          arguments: Backend.available)
    func exportHoldsNoPersonalData(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await ReplayScenario.run(market, runtime, client)
            var actors = scenario.s.m.actors
            try await actors.principal(People.reviewerName, role: .authorityReviewer, authority: "hb",
                                       email: People.reviewerEmail, client)
            try await actors.principal("applicant", role: .operator, client)
            let applied = try await client.request(.post, "/v1/operators", key: actors["applicant"],
                                                   body: People.application(uscc: "91350100MA2Y00Q1XH"))
            #expect(applied.status == .created, "\(applied.text)")
            let reviewed = try await client.request(.post, "/v1/operators/\(try #require(try applied.json()["id"] as? String))/reviews",
                                                    key: actors[People.reviewerName], body: #"{"decision":"approve"}"#)
            #expect(reviewed.status == .ok, "\(reviewed.text)")

            let export = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-pd-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: export) }
            _ = try await runtime.exportLog(to: export)
            let exported = try files(under: export)
            #expect(exported.count >= 3, "checkpoint, vkey and at least one bundle")
            // Every name and address the scenario used, the test marketplace's own included.
            let people = People.all + ["a@bj.gov.cn", "b@bj.gov.cn", "a@tj.gov.cn", "a@hb.gov.cn", "Li Wei", "security@example.com"]
            for file in exported {
                for person in people {
                    #expect(!contains(file.bytes, person), "\(file.path) holds \(person)")
                }
            }

            let log = try await entries(runtime)
            let created = try #require(log.last { $0.record.action == "principal.created" })
            #expect(PersonalDataCommitment(json: try #require(created.record.data["name"])) != nil)
            let replay = ReplayScenario.replay(log)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            // Each principal's name and e-mail (when given), each operator's officer name and e-mail.
            let emails = log.filter { $0.record.action == "principal.created" && !($0.record.data["email"]?.isNull ?? true) }.count
            #expect(emails >= 5)
            #expect(replay.state.personalData.count
                    == replay.state.principals.count + emails + 2 * replay.state.operatorRecords.count)
        }
    }

    @Test("erasure removes the value and salt, logs personal_data.erased, and leaves the log verifiable",
          arguments: Backend.available)
    func erasure(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var m = try await LicensingMarket.setUp(market, client)
            try await m.actors.principal("aud", role: .auditor, client)
            try await m.actors.principal("applicant", role: .operator, client)
            let applied = try await client.request(.post, "/v1/operators", key: m.actors["applicant"],
                                                   body: People.application(uscc: "91350100MA2Y00Q1XH"))
            let operatorID = try #require(try applied.json()["id"] as? String)
            let officer = try #require(try applied.json()["security_officer"] as? [String: Any])
            #expect(officer["name"] as? String == People.officerName)
            #expect(officer["erased"] as? [String] == [])

            // The values are the reviewers' and the operator's to see, not the auditor's.
            let asAuditor = try await client.request(.get, "/v1/operators/\(operatorID)", key: m.actors["aud"])
            let withheld = try #require(try asAuditor.json()["security_officer"] as? [String: Any])
            #expect(withheld["withheld"] as? Bool == true && withheld["name"] == nil && withheld["email"] == nil)
            #expect(!asAuditor.text.contains(People.officerEmail))

            let listed = try await client.request(.get, "/v1/personal-data?subject=operator:\(operatorID)", key: m.actors.admin)
            #expect(listed.status == .ok, "\(listed.text)")
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(items.map { $0["field"] as? String } == ["security_officer.name", "security_officer.email"]
                    || items.map { $0["field"] as? String } == ["security_officer.email", "security_officer.name"])
            #expect(!listed.text.contains(People.officerName), "the listing shows references, never values")
            let nameID = try #require(items.first { $0["field"] as? String == "security_officer.name" }?["id"] as? String)

            let size = try await runtime.log.head().size
            for (key, body, status, code) in [
                (m.actors["bj-a"], #"{"reason":"request 17"}"#, HTTPResponse.Status.forbidden, "forbidden"),
                (m.actors.admin, #"{"reason":"  "}"#, .unprocessableContent, "reason_required"),
                (m.actors.admin, #"{}"#, .badRequest, "invalid_request"),
            ] {
                let refused = try await client.request(.post, "/v1/personal-data/\(nameID)/erase", key: key, body: body)
                #expect(refused.status == status, "\(refused.text)")
                #expect(try refused.problem()["code"] as? String == code)
            }
            let unknown = try await client.request(.post, "/v1/personal-data/pd_\(String(repeating: "0", count: 32))/erase",
                                                   key: m.actors.admin, body: #"{"reason":"request 17"}"#)
            #expect(unknown.status == .notFound)
            let badSubject = try await client.request(.get, "/v1/personal-data?subject=dataset:x", key: m.actors.admin)
            #expect(badSubject.status == .unprocessableContent)
            #expect(try badSubject.problem()["code"] as? String == "invalid_subject")
            #expect(try await runtime.log.head().size == size, "a refusal writes nothing")

            let erased = try await client.request(.post, "/v1/personal-data/\(nameID)/erase", key: m.actors.admin,
                                                  body: #"{"reason":"PIPL request 2026-17"}"#)
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(try erased.json()["erased_at"] != nil)
            #expect((try erased.json()["erased_by"] as? String)?.hasPrefix("pr_") == true)
            #expect(try await runtime.log.head().size == size + 1)
            let again = try await client.request(.post, "/v1/personal-data/\(nameID)/erase", key: m.actors.admin,
                                                 body: #"{"reason":"PIPL request 2026-17"}"#)
            #expect(again.status == .conflict)
            #expect(try again.problem()["code"] as? String == "already_erased")

            let stored = try #require(try await runtime.database.read { try await $0.personalDatum(id: nameID) })
            #expect(stored.value == nil && stored.salt == nil && stored.erasure?.reason == "PIPL request 2026-17")
            let shown = try await client.request(.get, "/v1/operators/\(operatorID)", key: m.actors["bj-a"])
            let after = try #require(try shown.json()["security_officer"] as? [String: Any])
            #expect(after["name"] == nil && after["email"] as? String == People.officerEmail)
            #expect(after["erased"] as? [String] == ["name"])
            #expect(!shown.text.contains(People.officerName))

            // A principal's name, likewise.
            let reviewerID = try #require(m.actors.ids["bj-a"])
            let reviewerData = try await client.request(.get, "/v1/personal-data?subject=principal:\(reviewerID)", key: m.actors.admin)
            let reviewerItems = try #require(try reviewerData.json()["items"] as? [[String: Any]])
            #expect(Set(reviewerItems.compactMap { $0["field"] as? String }) == ["name", "email"])
            for item in reviewerItems {
                let id = try #require(item["id"] as? String)
                #expect(try await client.request(.post, "/v1/personal-data/\(id)/erase", key: m.actors.admin,
                                                 body: #"{"reason":"left the bureau"}"#).status == .ok)
            }
            let principals = try await client.request(.get, "/v1/principals?limit=200", key: m.actors.admin)
            let reviewer = try #require((try principals.json()["items"] as? [[String: Any]])?.first { $0["id"] as? String == reviewerID })
            #expect(reviewer["name"] == nil && reviewer["email"] == nil)
            #expect(reviewer["erased"] as? [String] == ["name", "email"])
            // The erased reviewer's key still works: erasure is of data, not of access.
            #expect(try await client.request(.get, "/v1/operators/\(operatorID)", key: m.actors["bj-a"]).status == .ok)

            let log = try await entries(runtime)
            let erasures = log.filter { $0.record.action == "personal_data.erased" }
            #expect(erasures.map { $0.record.data["field"]?.stringValue } == ["security_officer.name", "name", "email"]
                    || erasures.map { $0.record.data["field"]?.stringValue } == ["security_officer.name", "email", "name"])
            let replay = ReplayScenario.replay(log)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            #expect(replay.state.personalData[nameID]?.erasedAt != nil)
            let integrity = try await runtime.log.verifyIntegrity()
            #expect(integrity.isIntact, "\(integrity)")
        }
    }

    @Test("a disclosure opens the log's commitments; a changed value or salt is a mismatch", arguments: Backend.available)
    func disclosure(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            var m = try await LicensingMarket.setUp(market, client)
            try await m.actors.principal("applicant", role: .operator, client)
            let applied = try await client.request(.post, "/v1/operators", key: m.actors["applicant"],
                                                   body: People.application(uscc: "91350100MA2Y00Q1XH"))
            let operatorID = try #require(try applied.json()["id"] as? String)
            let subject = "operator:\(operatorID)"
            let data = try await runtime.database.read { try await $0.personalData(subject: subject) }
            let bytes = try PersonalDataDisclosure(subject: subject, data: data).rendered()
            let replay = ReplayScenario.replay(try await entries(runtime))

            let confirmed = try #require(replay.checkDisclosure(bytes, name: "d.json").confirmation)
            #expect(confirmed.opened == 2 && confirmed.unlogged == 0 && confirmed.erased == 0)

            func mismatch(_ edit: (inout PersonalDataDisclosure) -> Void) throws -> [ReplayFinding] {
                var disclosure = try PersonalDataDisclosure(parsing: bytes)
                edit(&disclosure)
                guard case .mismatched(let findings) = replay.checkDisclosure(try disclosure.rendered(), name: "d.json") else {
                    Issue.record("an edited disclosure was confirmed")
                    return []
                }
                return findings
            }
            #expect(try mismatch { $0.values[0].value += "x" }.map(\.code) == [.disclosureMismatch])
            #expect(try mismatch { $0.values[1].salt[5] ^= 0x40 }.map(\.code) == [.disclosureMismatch])
            #expect(try mismatch { $0.subject = "operator:op_other" }.map(\.code) == [.disclosureMismatch, .disclosureMismatch])
            // Each value disclosed as the other field.
            #expect(try mismatch { disclosure in
                let first = disclosure.values[0].field
                disclosure.values[0].field = disclosure.values[1].field
                disclosure.values[1].field = first
            }.count == 2)
            #expect(try mismatch { $0.erased.append(.init(id: $0.values[0].id, field: "x", commitment: "", erasedAt: "")) }
                .map(\.code) == [.disclosureMismatch])
            if case .confirmed = replay.checkDisclosure(Array("not json".utf8), name: "d.json") {
                Issue.record("a file that is not a disclosure was confirmed")
            }

            // A principal's name and e-mail.
            let reviewer = "principal:\(try #require(m.actors.ids["bj-a"]))"
            let reviewerData = try await runtime.database.read { try await $0.personalData(subject: reviewer) }
            let reviewerBytes = try PersonalDataDisclosure(subject: reviewer, data: reviewerData).rendered()
            let reviewerCheck = try #require(replay.checkDisclosure(reviewerBytes, name: "r.json").confirmation)
            #expect(reviewerCheck.opened == 2 && reviewerCheck.unlogged == 0)
        }
    }
}
