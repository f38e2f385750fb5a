import AuditLog
import Cryptography
import Foundation
@testable import Licensing
import PDXTesting
import Testing
import Vetting

/// The promises Licensing makes in `Contracts/`: the agreement files it binds and the action catalog.
@Suite("Licensing contracts")
struct ContractTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("every built-in agreement's digest is the SHA-256 of its file in Contracts/agreements", arguments: AgreementCatalog.builtIn.templates)
    func agreementDigests(template: AgreementTemplate) throws {
        let bytes = try Data(contentsOf: Self.repository.appendingPathComponent("Contracts/agreements/\(template.file)"))
        #expect(SHA256.hash(Array(bytes)).hex == template.sha256)
        #expect(template.file == "\(template.id)-v\(template.version).md")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("`\(template.id)`") && text.contains("`\(template.version)`"), "the file names its id and version")
    }

    @Test("each template governs exactly the scenarios its scope row and the README name", arguments: AgreementCatalog.builtIn.templates)
    func agreementScenarios(template: AgreementTemplate) throws {
        func named(_ text: Substring) -> Set<Scenario> { Set(Scenario.allCases.filter { text.contains("`\($0.rawValue)`") }) }
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Contracts/agreements/\(template.file)"), encoding: .utf8)
        let scope = try #require(text.split(separator: "\n").first { $0.hasPrefix("| 适用范围 Scope |") })
        #expect(named(scope) == Set(template.scenarios), "the file's scope row")
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("Contracts/agreements/README.md"), encoding: .utf8)
        let row = try #require(readme.split(separator: "\n").first { $0.hasPrefix("| `\(template.id)` | `\(template.version)` |") })
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells.count == 7)
        let listed = cells[5].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
        #expect(listed == template.scenarios.map(\.rawValue), "the README's scenarios column")
        #expect(!template.scenarios.isEmpty)
    }

    @Test("every scenario has a template that governs it")
    func everyScenarioGoverned() {
        for scenario in Scenario.allCases {
            #expect(AgreementCatalog.builtIn.templates.contains { $0.governs(scenario) }, "\(scenario)")
        }
    }

    @Test("every agreement file under Contracts/agreements is in the built-in catalog")
    func noUnlistedAgreement() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("Contracts/agreements").path)
            .filter { $0.hasSuffix(".md") && $0 != "README.md" }
        #expect(Set(files) == Set(AgreementCatalog.builtIn.templates.map(\.file)))
    }

    @Test("the action catalog lists exactly the members each action writes, and is copied into Contracts/audit-log.md")
    func catalogMatchesRecords() throws {
        let catalog = try String(contentsOf: Self.repository.appendingPathComponent("Sources/Licensing/README-actions.md"), encoding: .utf8)
        let contract = try String(contentsOf: Self.repository.appendingPathComponent("Contracts/audit-log.md"), encoding: .utf8)
        #expect(contract.contains(catalog.trimmingCharacters(in: .newlines)))
        var documented: [String: Set<String>] = [:]
        for line in catalog.split(separator: "\n") where line.hasPrefix("| `dataset.") || line.hasPrefix("| `grant.") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let action = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let common: Set<String> = action.hasPrefix("dataset.") ? ["dataset_id", "version", "at"] : ["grant_id", "operator_id", "revision", "at"]
            documented[action] = Set(Self.topLevelNames(cells[1])).union(common)
        }
        #expect(Set(documented.keys) == Set(LicensingAction.allCases.map(\.rawValue)))
        let records = try Walkthrough.everyAction()
        #expect(Set(records.map(\.action)) == Set(LicensingAction.allCases.map(\.rawValue)), "the walkthrough writes every action")
        for record in records {
            #expect(Set(record.data.keys) == documented[record.action], "\(record.action)")
            let entry = AuditEntry(seq: 0, time: Walkthrough.start, record: record)
            #expect(try AuditEntry(decoding: try entry.encoded()) == entry)
        }
    }

    /// The back-quoted names outside braces and brackets: `a`, `b` {`c`} → a, b.
    static func topLevelNames(_ cell: String) -> [String] {
        var names: [String] = []
        var depth = 0
        var current: String?
        for character in cell {
            switch character {
            case "{", "[": depth += 1
            case "}", "]": depth -= 1
            case "`" where depth == 0:
                if let name = current {
                    names.append(name)
                    current = nil
                } else {
                    current = ""
                }
            default:
                if depth == 0, current != nil { current!.append(character) }
            }
        }
        return names
    }
}

/// Takes datasets and grants through every step once, through the real catalog and lifecycle.
enum Walkthrough {
    static let start = Timestamp.date(milliseconds: Timestamp.parse("2026-10-01T02:00:00.000Z")!)

    static func everyAction() throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        let vetting = OperatorLifecycle()
        let application = try OperatorApplication(
            legalName: "北京数联科技有限公司", uscc: "914403001922038216", mlpsLevel: 3, tier: .standard,
            securityOfficer: .sample(), officerValues: ("Li Wei", "security@example.com"), certifications: ["ISO27001"],
            documents: [("licence.pdf", String(repeating: "ab", count: 32))], applicant: "pr_op")
        let submitted = try #require(vetting.submit(application, id: "op_1", existing: [], at: start).change).updated
        let bjReviewer = Reviewer(principalID: "pr_bj", authorityID: "bj")
        let tjReviewer = Reviewer(principalID: "pr_tj", authorityID: "tj")
        let op = try #require(vetting.review(submitted, by: bjReviewer, decision: .approve, reason: nil, at: start).change).updated

        let catalog = Catalog()
        func draft(_ openness: Openness) -> DatasetDraft {
            DatasetDraft(title: "Traffic", description: "", theme: "traffic", openness: openness, grade: .general,
                         fields: [.init(name: "flow", type: "integer", sensitive: false)], units: ["call"], currency: "CNY",
                         ceilingPrices: ["call": "0.05"], revenueShareBPS: 3000)
        }
        let open = try catalog.publish(draft(.open), id: "bj-open", authorityID: "bj", by: bjReviewer, at: start)
        let conditional = try catalog.publish(draft(.conditional), id: "tj-cond", authorityID: "tj", by: tjReviewer, at: start)
        let repriced = try catalog.update(open.updated, with: DatasetUpdate(ceilingPrices: ["call": "0.06"], reason: "review"), by: bjReviewer, at: start)
        let redelivered = try catalog.update(repriced.updated, with: DatasetUpdate(delivery: .declared, reason: "own portal"), by: bjReviewer, at: start)
        let retolerated = try catalog.update(redelivered.updated, with: DatasetUpdate(reconciliationToleranceBPS: 250, reason: "monthly counts"),
                                             by: bjReviewer, at: start)
        let forwarded = try catalog.update(retolerated.updated, with: DatasetUpdate(
            delivery: .upstream, upstream: UpstreamDraft(baseURL: "https://api.example.gov.cn/flow", credentialHeader: "X-Api-Key", setsSecret: true),
            reason: "own interface"), by: bjReviewer, at: start)
        let rotated = try catalog.update(forwarded.updated, with: DatasetUpdate(
            upstream: UpstreamDraft(baseURL: nil, credentialHeader: nil, setsSecret: true), reason: "rotation"), by: bjReviewer, at: start)
        let described = try catalog.update(rotated.updated, with: DatasetUpdate(title: "Flow per road", description: "Counts per hour",
                                                                         reason: "clearer"), by: bjReviewer, at: start)
        records += open.records + conditional.records + repriced.records + redelivered.records + retolerated.records + forwarded.records + rotated.records
            + described.records
        var datasets = ["bj-open": rotated.updated, "tj-cond": conditional.updated]

        let lifecycle = GrantLifecycle()
        func request(_ ids: [String], price: String = "0.04") throws -> GrantChange {
            let request = try GrantRequest(
                purpose: "Forecasting", scenario: .industry, startsAt: start, endsAt: start.addingTimeInterval(90 * 86_400),
                agreementID: "standard-data-use", agreementVersion: "1",
                items: ids.map { .init(datasetID: $0, fields: ["flow"], unitPrices: ["call": price], quotas: ["call": 100]) })
            return try lifecycle.request(request, id: "gr_\(ids.joined())\(price)", operator: op, requestedBy: "pr_op",
                                         datasets: datasets, agreement: AgreementCatalog.builtIn.templates[1], at: start)
        }
        let automatic = try request(["bj-open"])
        let pending = try request(["bj-open", "tj-cond"])
        let denied = try request(["bj-open"], price: "1")
        records += automatic.records + pending.records + denied.records
        let toAmend = try request(["tj-cond"], price: "0.03")
        let amended = try #require(try lifecycle.amend(
            toAmend.updated, with: GrantAmendment(version: 1, endsAt: start.addingTimeInterval(60 * 86_400), reason: "a shorter term"),
            by: "pr_op", operator: op, datasets: datasets, agreement: AgreementCatalog.builtIn.templates[1], at: start).change)
        records += toAmend.records + amended.records
        let first = try #require(lifecycle.decide(pending.updated, by: bjReviewer, decision: .approve, reason: nil, operator: op, datasets: datasets, at: start).change)
        let second = try #require(lifecycle.decide(first.updated, by: tjReviewer, decision: .approve, reason: nil, operator: op, datasets: datasets, at: start).change)
        records += first.records + second.records
        let suspended = try #require(lifecycle.suspend(second.updated, by: bjReviewer, reason: "audit", at: start).change)
        let reinstated = try #require(lifecycle.reinstate(suspended.updated, by: bjReviewer, reason: nil, operator: op, datasets: datasets, at: start).change)
        let revoked = try #require(lifecycle.revoke(reinstated.updated, by: bjReviewer, reason: "breach", at: start).change)
        let expired = try #require(lifecycle.expire(automatic.updated, at: start.addingTimeInterval(91 * 86_400)))
        records += suspended.records + reinstated.records + revoked.records + expired.records
        let reclassified = try catalog.update(datasets["tj-cond"]!, with: DatasetUpdate(openness: .closed, reason: "now closed"), by: tjReviewer, at: start)
        datasets["tj-cond"] = reclassified.updated
        records += reclassified.records
        return records
    }
}
