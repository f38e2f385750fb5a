import AuditLog
import Foundation
@testable import Licensing
import Testing
import Vetting

@Suite("Grant review: agreements bound to scenarios, sensitive fields")
struct GrantReviewRuleTests {
    @Test("a template that does not govern the request's scenario throws agreement_scenario_mismatch")
    func scenarioMismatch() throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        let publicInterest = try #require(AgreementCatalog.builtIn.template(id: "public-interest-data-use", version: "1"))
        for (scenario, template, price) in [(Scenario.publicInterest, standardAgreement, "0"), (.industry, publicInterest, "0.01")] {
            let request = try GrantRequest(purpose: "p", scenario: scenario, startsAt: Term.start, endsAt: Term.end,
                                           agreementID: template.id, agreementVersion: template.version,
                                           items: [item("bj-a", prices: ["call": price])])
            #expect(thrownCode {
                try market.lifecycle.request(request, id: "g-1", operator: market.op, requestedBy: People.requester,
                                             datasets: market.datasets, agreement: template, at: Clock.start)
            } == .agreementScenarioMismatch, "\(scenario)")
        }
        #expect(standardAgreement.governs(.industry) && !standardAgreement.governs(.publicInterest))
    }

    @Test("a sensitive field of an open dataset is never approved automatically")
    func sensitiveWaits() throws {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("tj-a", authority: "tj")], operator: try Operators.approved())
        var asked = item("bj-a", fields: ["flow", "plate_number"])
        asked.justifications = ["plate_number": " fleet matching "]
        let change = try market.request([asked, item("tj-a")])
        #expect(change.updated.status == .pending)
        #expect(change.updated.approvals.map(\.authorityID) == ["bj"])
        #expect(change.updated.items[0].justifications == ["plate_number": "fleet matching"])
        #expect(change.updated.items[0].sensitiveFields == ["plate_number"])
        #expect(change.updated.items[1].justifications.isEmpty)
        #expect(change.records.map(\.action) == ["grant.requested"])
        #expect(change.records[0].data["datasets"]?[0]?["justifications"] == ["plate_number": "fleet matching"])
        #expect(change.records[0].data["datasets"]?[1]?["justifications"] == nil)
        #expect(change.records[0].data["approvals_required"] == ["bj"])

        let approved = try #require(market.decide(change.updated, by: People.bj, .approve).change)
        #expect(approved.updated.status == .active)
        #expect(approved.records.last?.data["via"] == "co-approval")
        // The same datasets without the sensitive field: active at once.
        #expect(try market.request([item("bj-a"), item("tj-a")], id: "g-2").updated.status == .active)
    }

    @Test("a conditional dataset still asks every providing authority, sensitive fields or not")
    func conditionalUnchanged() throws {
        let market = Market([try Datasets.published("bj-a"), try Datasets.published("tj-a", authority: "tj", openness: .conditional)],
                            operator: try Operators.approved())
        var asked = item("bj-a", fields: ["plate_number"])
        asked.justifications = ["plate_number": "fleet matching"]
        #expect(try market.request([asked, item("tj-a")]).updated.approvals.map(\.authorityID) == ["bj", "tj"])
    }

    @Test("justifications must be exactly one per requested sensitive field",
          arguments: [
              (["flow", "plate_number"], [:], LicensingErrorCode.justificationRequired),
              (["flow"], ["flow": "volumes"], .justificationNotApplicable),
              (["flow", "plate_number"], ["plate_number": "fleet", "road_id": "segments"], .justificationNotApplicable),
          ] as [([String], [String: String], LicensingErrorCode)])
    func justificationsChecked(fields: [String], justifications: [String: String], code: LicensingErrorCode) throws {
        let market = Market([try Datasets.published("bj-a")], operator: try Operators.approved())
        var asked = item("bj-a", fields: fields)
        asked.justifications = justifications
        #expect(thrownCode { try market.request([asked]) } == code)
    }

    @Test("a justification is trimmed, not blank, at most 500 characters, without control characters",
          arguments: [
              ("   ", LicensingErrorCode.justificationRequired),
              (String(repeating: "x", count: 501), .justificationTooLong),
              ("fleet\u{7}matching", .invalidJustification),
              ("fleet\u{2028}matching", .invalidJustification),
          ])
    func justificationShape(text: String, code: LicensingErrorCode) throws {
        var asked = item("bj-a", fields: ["plate_number"])
        asked.justifications = ["plate_number": text]
        #expect(thrownCode { try grantRequest([asked]) } == code)
        asked.justifications = ["plate_number": "line one\nline two " + String(repeating: "x", count: 400)]
        #expect(try grantRequest([asked]).items[0].justifications["plate_number"]?.hasPrefix("line one\nline two") == true)
    }
}
