import AuditLog
import Foundation
import Licensing
import Testing

/// One bad member of a grant request and the code it must be refused with.
struct RequestProblem: Sendable, CustomTestStringConvertible {
    let name: String
    let code: LicensingError.Code
    let purpose: String
    let items: [GrantRequest.Item]
    let endsAt: Date

    init(_ name: String, _ code: LicensingError.Code, purpose: String = "traffic analytics",
         items: [GrantRequest.Item] = [item("bj-traffic-flow")], endsAt: Date = Term.end) {
        self.name = name
        self.code = code
        self.purpose = purpose
        self.items = items
        self.endsAt = endsAt
    }

    var testDescription: String { "\(name) → \(code.rawValue)" }

    static let all: [RequestProblem] = [
        RequestProblem("empty purpose", .invalidPurpose, purpose: ""),
        RequestProblem("blank purpose", .invalidPurpose, purpose: " \n\t "),
        RequestProblem("purpose with a control character", .invalidPurpose, purpose: "traffic\u{0}analytics"),
        RequestProblem("purpose with a tab", .invalidPurpose, purpose: "traffic\tanalytics"),
        RequestProblem("purpose of 2001 characters", .invalidPurpose, purpose: String(repeating: "用", count: 2001)),
        RequestProblem("no datasets", .datasetsRequired, items: []),
        RequestProblem("21 datasets", .tooManyDatasets, items: (0..<21).map { item("bj-\($0)") }),
        RequestProblem("a dataset twice", .duplicateDataset, items: [item("bj-a"), item("tj-b"), item("bj-a")]),
        RequestProblem("no fields", .fieldsRequired, items: [item("bj-a", fields: [])]),
        RequestProblem("upper-case field", .invalidFieldName, items: [item("bj-a", fields: ["road_id", "Flow"])]),
        RequestProblem("empty field name", .invalidFieldName, items: [item("bj-a", fields: [""])]),
        RequestProblem("field name with a space", .invalidFieldName, items: [item("bj-a", fields: ["road id"])]),
        RequestProblem("a field twice", .duplicateField, items: [item("bj-a", fields: ["flow", "road_id", "flow"])]),
        RequestProblem("no unit prices", .unitPricesRequired, items: [item("bj-a", prices: [:], quotas: [:])]),
        RequestProblem("unknown unit", .unknownUnit, items: [item("bj-a", prices: ["token": "0.01"])]),
        RequestProblem("price with 7 places", .invalidPrice, items: [item("bj-a", prices: ["call": "0.0000001"])]),
        RequestProblem("negative price", .invalidPrice, items: [item("bj-a", prices: ["call": "-0.01"])]),
        RequestProblem("price with grouping", .invalidPrice, items: [item("bj-a", prices: ["call": "1,000"])]),
        RequestProblem("quota missing", .invalidQuota, items: [item("bj-a", prices: ["call": "0.01", "record": "0.001"], quotas: ["call": 10])]),
        RequestProblem("no quotas at all", .invalidQuota, items: [item("bj-a", prices: ["call": "0.01"], quotas: [:])]),
        RequestProblem("quota for an unpriced unit", .invalidQuota, items: [item("bj-a", prices: ["call": "0.01"], quotas: ["call": 10, "record": 10])]),
        RequestProblem("quota for an unknown unit", .unknownUnit, items: [item("bj-a", prices: ["call": "0.01"], quotas: ["call": 10, "token": 10])]),
        RequestProblem("zero quota", .invalidQuota, items: [item("bj-a", quotas: ["call": 0])]),
        RequestProblem("negative quota", .invalidQuota, items: [item("bj-a", quotas: ["call": -5])]),
        RequestProblem("quota too large", .invalidQuota, items: [item("bj-a", quotas: ["call": GrantRequest.maxQuota + 1])]),
        RequestProblem("a bad second dataset", .invalidQuota, items: [item("bj-a"), item("tj-b", quotas: ["call": 0])]),
        RequestProblem("end equal to start", .invalidTerm, endsAt: Term.start),
        RequestProblem("end before start", .invalidTerm, endsAt: Term.start.addingTimeInterval(-1)),
        RequestProblem("end within the same millisecond", .invalidTerm, endsAt: Term.start.addingTimeInterval(0.000_4)),
    ]
}

@Suite("Grant request shape")
struct GrantRequestTests {
    @Test("each malformed member is refused with its own code", arguments: RequestProblem.all)
    func malformed(_ problem: RequestProblem) {
        #expect(thrownCode {
            try GrantRequest(purpose: problem.purpose, scenario: .industry, startsAt: Term.start, endsAt: problem.endsAt,
                             agreementID: "standard-data-use", agreementVersion: "1", items: problem.items)
        } == problem.code)
    }

    @Test("a well-formed request keeps what was asked, parsed, with the purpose trimmed")
    func wellFormed() throws {
        let request = try GrantRequest(
            purpose: "  交通态势分析\nfor the city  ", scenario: .publicInterest,
            startsAt: Term.start.addingTimeInterval(0.000_6), endsAt: Term.end,
            agreementID: "standard-data-use", agreementVersion: "1",
            items: [
                item("bj-a", fields: ["flow", "road_id"], prices: ["call": "0", "record": "0.000"], quotas: ["call": 5, "record": GrantRequest.maxQuota]),
                item("tj-b", fields: ["road_id"]),
            ])
        #expect(request.purpose == "交通态势分析\nfor the city")
        #expect(request.scenario == .publicInterest)
        #expect(Timestamp.milliseconds(request.startsAt) == Timestamp.milliseconds(Term.start) + 1)
        #expect(request.startsAt == Timestamp.normalized(request.startsAt))
        #expect(request.endsAt == Term.end)
        #expect(request.items.map(\.datasetID) == ["bj-a", "tj-b"])
        #expect(request.items[0].fields == ["flow", "road_id"])
        #expect(request.items[0].unitPrices == [.call: .zero, .record: .zero])
        #expect(request.items[0].quotas == [.call: 5, .record: GrantRequest.maxQuota])
        #expect(request.items[1].unitPrices == [.call: UnitPrice(micros: 40_000)])
    }

    @Test("20 datasets are allowed; a policy may allow fewer")
    func datasetLimit() throws {
        let twenty = (0..<20).map { item("bj-\($0)") }
        _ = try grantRequest(twenty)
        let policy = GrantPolicy(maxDatasetsPerGrant: 2)
        #expect(thrownCode {
            try GrantRequest(purpose: "p", scenario: .industry, startsAt: Term.start, endsAt: Term.end, agreementID: "a",
                             agreementVersion: "1", items: [item("a"), item("b"), item("c")], policy: policy)
        } == .tooManyDatasets)
    }

    @Test("errors are equal by code; the detail is for people")
    func errorEquality() {
        let one = LicensingError(code: .invalidQuota, detail: "datasets[0].quota_per_period lacks 'call'")
        #expect(one == LicensingError(code: .invalidQuota, detail: "something else"))
        #expect(one != LicensingError(code: .invalidTerm, detail: one.detail))
        #expect(one.description == "invalid_quota: datasets[0].quota_per_period lacks 'call'")
    }
}
