import AuditLog
import Foundation
import Licensing
import Testing
import Vetting

/// One bad member of a dataset draft and the code it must be refused with.
struct DraftProblem: Sendable, CustomTestStringConvertible {
    let name: String
    let code: LicensingError.Code
    let change: @Sendable (inout DatasetDraft) -> Void

    init(_ name: String, _ code: LicensingError.Code, _ change: @escaping @Sendable (inout DatasetDraft) -> Void) {
        self.name = name
        self.code = code
        self.change = change
    }

    var testDescription: String { "\(name) → \(code.rawValue)" }

    static let all: [DraftProblem] = [
        DraftProblem("empty title", .invalidTitle) { $0.title = "" },
        DraftProblem("title with leading space", .invalidTitle) { $0.title = " Flow" },
        DraftProblem("title with trailing space", .invalidTitle) { $0.title = "Flow " },
        DraftProblem("title with a line feed", .invalidTitle) { $0.title = "Road\nflow" },
        DraftProblem("title with a tab", .invalidTitle) { $0.title = "Road\tflow" },
        DraftProblem("title of 201 characters", .invalidTitle) { $0.title = String(repeating: "流", count: 201) },
        DraftProblem("description with a tab", .invalidDescription) { $0.description = "counts\tper road" },
        DraftProblem("description with a carriage return", .invalidDescription) { $0.description = "counts\r\nper road" },
        DraftProblem("description with a bell", .invalidDescription) { $0.description = "counts\u{07}" },
        DraftProblem("description with a line separator", .invalidDescription) { $0.description = "counts\u{2028}per road" },
        DraftProblem("description of 4001 characters", .invalidDescription) { $0.description = String(repeating: "x", count: 4001) },
        DraftProblem("empty theme", .invalidTheme) { $0.theme = "" },
        DraftProblem("one-letter theme", .invalidTheme) { $0.theme = "t" },
        DraftProblem("upper-case theme", .invalidTheme) { $0.theme = "Traffic" },
        DraftProblem("theme with an underscore", .invalidTheme) { $0.theme = "road_traffic" },
        DraftProblem("theme starting with a digit", .invalidTheme) { $0.theme = "5g" },
        DraftProblem("theme of 41 characters", .invalidTheme) { $0.theme = "t" + String(repeating: "a", count: 40) },
        DraftProblem("no fields", .fieldsRequired) { $0.fields = [] },
        DraftProblem("201 fields", .tooManyFields) { draft in
            draft.fields = (0..<201).map { DatasetDraft.Field(name: "f\($0)", type: "string", sensitive: false) }
        },
        DraftProblem("upper-case field name", .invalidFieldName) { $0.fields[1] = .init(name: "Flow", type: "integer", sensitive: false) },
        DraftProblem("field name with a hyphen", .invalidFieldName) { $0.fields[1] = .init(name: "road-flow", type: "integer", sensitive: false) },
        DraftProblem("field name starting with a digit", .invalidFieldName) { $0.fields[1] = .init(name: "5min", type: "integer", sensitive: false) },
        DraftProblem("empty field name", .invalidFieldName) { $0.fields[1] = .init(name: "", type: "integer", sensitive: false) },
        DraftProblem("field name of 65 characters", .invalidFieldName) {
            $0.fields[1] = .init(name: "f" + String(repeating: "a", count: 64), type: "integer", sensitive: false)
        },
        DraftProblem("duplicate field", .duplicateField) { $0.fields.append(.init(name: "flow", type: "decimal", sensitive: false)) },
        DraftProblem("unknown field type", .invalidFieldType) { $0.fields[1] = .init(name: "flow", type: "int", sensitive: false) },
        DraftProblem("field type in upper case", .invalidFieldType) { $0.fields[1] = .init(name: "flow", type: "Integer", sensitive: false) },
        DraftProblem("no units", .unitsRequired) { $0.units = [] },
        DraftProblem("unknown unit", .unknownUnit) { $0.units = ["call", "token"] },
        DraftProblem("unit in upper case", .unknownUnit) { $0.units = ["Call"] },
        DraftProblem("duplicate unit", .duplicateUnit) { $0.units = ["call", "record", "call"] },
        DraftProblem("another supported currency", .unsupportedCurrency) { $0.currency = "USD" },
        DraftProblem("currency in lower case", .unsupportedCurrency) { $0.currency = "cny" },
        DraftProblem("empty currency", .unsupportedCurrency) { $0.currency = "" },
        DraftProblem("price with 7 places", .invalidPrice) { $0.ceilingPrices["call"] = "0.0000001" },
        DraftProblem("negative price", .invalidPrice) { $0.ceilingPrices["call"] = "-0.05" },
        DraftProblem("price with exponent", .invalidPrice) { $0.ceilingPrices["record"] = "1e-3" },
        DraftProblem("price above the maximum", .invalidPrice) { $0.ceilingPrices["call"] = "1000000000.000001" },
        DraftProblem("ceiling for an unknown unit", .unknownUnit) { $0.ceilingPrices["token"] = "1" },
        DraftProblem("ceiling missing for a unit", .ceilingPricesMismatch) { $0.ceilingPrices["record"] = nil },
        DraftProblem("ceiling for a unit not metered", .ceilingPricesMismatch) { $0.ceilingPrices["byte"] = "0.0001" },
        DraftProblem("no ceilings", .ceilingPricesMismatch) { $0.ceilingPrices = [:] },
        DraftProblem("negative revenue share", .revenueShareOutOfRange) { $0.revenueShareBPS = -1 },
        DraftProblem("revenue share above 100 %", .revenueShareOutOfRange) { $0.revenueShareBPS = 10_001 },
    ]
}

@Suite("Catalog: publishing")
struct CatalogPublishTests {
    let catalog = Catalog()

    @Test("the sample draft is valid")
    func sampleIsValid() throws {
        _ = try catalog.publish(Datasets.draft(), id: "bj-traffic-flow", authorityID: "bj", by: People.bj, at: Clock.start)
    }

    @Test("each bad member is refused with its own code", arguments: DraftProblem.all)
    func badMember(_ problem: DraftProblem) {
        var draft = Datasets.draft()
        problem.change(&draft)
        #expect(thrownCode { try catalog.publish(draft, id: "bj-traffic-flow", authorityID: "bj", by: People.bj, at: Clock.start) } == problem.code)
    }

    @Test("dataset ids are 2 to 64 characters of a-z, 0-9 and -, starting with a letter", arguments: [
        "", "b", "Bj-traffic", "1traffic", "-traffic", "bj_traffic", "bj traffic", "bj.traffic", "北京-traffic",
        "b" + String(repeating: "a", count: 64),
    ])
    func badID(_ id: String) {
        #expect(thrownCode { try catalog.publish(Datasets.draft(), id: id, authorityID: "bj", by: People.bj, at: Clock.start) } == .invalidDatasetID)
    }

    @Test("the id limits are inclusive", arguments: ["bj", "b" + String(repeating: "a", count: 63), "bj-traffic-2026"])
    func goodID(_ id: String) throws {
        let change = try catalog.publish(Datasets.draft(), id: id, authorityID: "bj", by: People.bj, at: Clock.start)
        #expect(change.updated.id == id)
    }

    @Test("accepted edge values: line feeds in a description, empty description, revenue share 0 and 10000, 200 fields")
    func acceptedEdges() throws {
        var draft = Datasets.draft()
        draft.description = "第一行\nsecond line\n\nfourth"
        #expect(try catalog.publish(draft, id: "bj-a", authorityID: "bj", by: People.bj, at: Clock.start).updated.description == draft.description)
        draft.description = ""
        draft.revenueShareBPS = 0
        _ = try catalog.publish(draft, id: "bj-b", authorityID: "bj", by: People.bj, at: Clock.start)
        draft.revenueShareBPS = 10_000
        draft.title = String(repeating: "流", count: 200)
        draft.fields = (0..<200).map { DatasetDraft.Field(name: "f\($0)", type: "string", sensitive: false) }
        let published = try catalog.publish(draft, id: "bj-c", authorityID: "bj", by: People.bj, at: Clock.start).updated
        #expect(published.fields.count == 200)
        #expect(published.revenueShareBPS == 10_000)
    }

    @Test("the published dataset: version 1, units sorted, prices parsed, times to the millisecond")
    func publishedValue() throws {
        var draft = Datasets.draft(openness: .conditional, grade: .important)
        draft.units = ["record", "call"]
        let change = try catalog.publish(draft, id: "bj-traffic-flow", authorityID: "bj", by: People.bj,
                                         at: Clock.start.addingTimeInterval(0.000_4))
        let dataset = change.updated
        #expect(dataset.id == "bj-traffic-flow")
        #expect(dataset.authorityID == "bj")
        #expect(dataset.openness == .conditional)
        #expect(dataset.grade == .important)
        #expect(dataset.units == [.call, .record])
        #expect(dataset.ceilingPrices == [.call: UnitPrice(micros: 50_000), .record: UnitPrice(micros: 1_000)])
        #expect(dataset.fields.map(\.type) == [.string, .integer, .string])
        #expect(dataset.field(named: "plate_number")?.sensitive == true)
        #expect(dataset.currency == .cny)
        #expect(dataset.version == 1)
        #expect(dataset.publishedAt == Clock.start)
        #expect(dataset.updatedAt == Clock.start)
        #expect(dataset.subject == "dataset:bj-traffic-flow")
        #expect(dataset.isGrantable)
        #expect(!change.isStricter)
    }

    @Test("the published record holds the whole dataset")
    func publishedRecord() throws {
        let change = try catalog.publish(Datasets.draft(), id: "bj-traffic-flow", authorityID: "bj", by: People.bj, at: Clock.start)
        let record = try #require(change.records.first)
        #expect(change.records.count == 1)
        #expect(record.action == "dataset.published")
        #expect(record.actor == "principal-bj")
        #expect(record.subjects == ["dataset:bj-traffic-flow", "authority:bj"])
        #expect(record.data == [
            "dataset_id": "bj-traffic-flow",
            "version": 1,
            "at": "2026-10-01T02:00:00.000Z",
            "dataset": [
                "id": "bj-traffic-flow",
                "title": "道路交通流量 Road traffic flow",
                "description": "5-minute traffic counts per road segment.\n每5分钟统计。",
                "authority_id": "bj",
                "theme": "traffic",
                "openness": "open",
                "grade": "general",
                "delivery": "gateway",
                "fields": [
                    ["name": "road_id", "type": "string", "sensitive": false, "filterable": false],
                    ["name": "flow", "type": "integer", "sensitive": false, "filterable": false],
                    ["name": "plate_number", "type": "string", "sensitive": true, "filterable": false],
                ],
                "units": ["call", "record"],
                "currency": "CNY",
                "ceiling_prices": ["call": "0.05", "record": "0.001"],
                "revenue_share_bps": 3000,
            ],
        ])
    }

    @Test("ceiling prices are recorded in their shortest form")
    func canonicalPricesInRecord() throws {
        let draft = Datasets.draft(ceilings: ["call": "0.050", "record": "1.000000"])
        let record = try #require(try catalog.publish(draft, id: "bj-a", authorityID: "bj", by: People.bj, at: Clock.start).records.first)
        #expect(record.data["dataset"]?["ceiling_prices"] == ["call": "0.05", "record": "1"])
    }

    @Test("a core or closed dataset is published but never grantable", arguments: [
        (Openness.closed, Grade.general), (.open, .core), (.closed, .core),
    ])
    func notGrantable(_ openness: Openness, _ grade: Grade) throws {
        let dataset = try Datasets.published("bj-secret", openness: openness, grade: grade)
        #expect(!dataset.isGrantable)
    }
}

@Suite("Catalog: reclassifying and repricing")
struct CatalogUpdateTests {
    let catalog = Catalog()

    @Test("a change needs a reason, and blank is no reason", arguments: [nil, "", "  ", "\n"] as [String?])
    func reasonRequired(_ reason: String?) throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(openness: .conditional, reason: reason)) } == .reasonRequired)
    }

    @Test("a reason with a control character is refused", arguments: ["bad\u{07}reason", "tab\there"])
    func invalidReason(_ reason: String) throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(openness: .conditional, reason: reason)) } == .invalidReason)
    }

    @Test("a reason over 2000 characters is refused as too long, like every other reason")
    func reasonTooLong() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        let reason = String(repeating: "理", count: 2001)
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(openness: .conditional, reason: reason)) } == .reasonTooLong)
    }

    @Test("a change that changes nothing is refused", arguments: [
        DatasetUpdate(reason: "nothing"),
        DatasetUpdate(openness: .open, reason: "same openness"),
        DatasetUpdate(grade: .general, reason: "same grade"),
        DatasetUpdate(ceilingPrices: ["call": "0.050"], reason: "same price written differently"),
        DatasetUpdate(ceilingPrices: [:], reason: "no prices"),
    ])
    func noChange(_ update: DatasetUpdate) throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(thrownCode { try Datasets.updated(dataset, update) } == .noChange)
    }

    @Test("ceiling prices may only name the dataset's units, with valid prices", arguments: [
        (["byte": "0.0001"], LicensingError.Code.ceilingPricesMismatch),
        (["token": "1"], .unknownUnit),
        (["call": "0.0000001"], .invalidPrice),
        (["call": "-1"], .invalidPrice),
    ])
    func badPrices(_ prices: [String: String], _ code: LicensingError.Code) throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(ceilingPrices: prices, reason: "reprice")) } == code)
    }

    @Test("stricter means openness up, grade up or a ceiling down", arguments: [
        (Openness.open, Grade.general, DatasetUpdate(openness: .conditional, reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(openness: .closed, reason: "r"), true, "dataset.reclassified"),
        (.conditional, .general, DatasetUpdate(openness: .closed, reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(grade: .important, reason: "r"), true, "dataset.reclassified"),
        (.open, .important, DatasetUpdate(grade: .core, reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(ceilingPrices: ["call": "0.04"], reason: "r"), true, "dataset.repriced"),
        (.open, .general, DatasetUpdate(ceilingPrices: ["call": "0.06", "record": "0.0009"], reason: "r"), true, "dataset.repriced"),
        (.conditional, .general, DatasetUpdate(openness: .open, reason: "r"), false, "dataset.reclassified"),
        (.closed, .general, DatasetUpdate(openness: .conditional, reason: "r"), false, "dataset.reclassified"),
        (.open, .important, DatasetUpdate(grade: .general, reason: "r"), false, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(ceilingPrices: ["call": "0.06"], reason: "r"), false, "dataset.repriced"),
        (.conditional, .general, DatasetUpdate(openness: .open, ceilingPrices: ["call": "0.01"], reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(delivery: .declared, reason: "r"), false, "dataset.delivery_changed"),
        (.open, .general, DatasetUpdate(grade: .important, delivery: .declared, reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(fields: [.init(name: "flow", sensitive: true)], reason: "r"), true, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(fields: [.init(name: "plate_number", sensitive: false)], reason: "r"), false, "dataset.reclassified"),
        (.open, .general, DatasetUpdate(title: "Flow", reason: "r"), false, "dataset.described"),
        (.open, .general, DatasetUpdate(description: "", reason: "r"), false, "dataset.described"),
        (.open, .general, DatasetUpdate(title: "Flow", ceilingPrices: ["call": "0.06"], reason: "r"), false, "dataset.repriced"),
    ])
    func stricter(_ openness: Openness, _ grade: Grade, _ update: DatasetUpdate, _ stricter: Bool, _ action: String) throws {
        let dataset = try Datasets.published("bj-traffic-flow", openness: openness, grade: grade)
        let change = try Datasets.updated(dataset, update)
        #expect(change.isStricter == stricter)
        #expect(change.records.map(\.action) == [action])
        #expect(change.records.first?.data["stricter"] == .bool(stricter))
    }

    @Test("a new title, description or sensitivity is checked as at publication", arguments: [
        (DatasetUpdate(title: "", reason: "r"), LicensingError.Code.invalidTitle),
        (DatasetUpdate(title: "Flow\n", reason: "r"), .invalidTitle),
        (DatasetUpdate(title: String(repeating: "长", count: 201), reason: "r"), .invalidTitle),
        (DatasetUpdate(description: "tab\u{7}", reason: "r"), .invalidDescription),
        (DatasetUpdate(description: String(repeating: "x", count: 4001), reason: "r"), .invalidDescription),
        (DatasetUpdate(fields: [], reason: "r"), .fieldsRequired),
        (DatasetUpdate(fields: [.init(name: "speed", sensitive: true)], reason: "r"), .unknownField),
        (DatasetUpdate(fields: [.init(name: "flow", sensitive: true), .init(name: "flow", sensitive: false)], reason: "r"), .duplicateField),
        (DatasetUpdate(fields: [.init(name: "flow", sensitive: false)], reason: "r"), .noChange),
        (DatasetUpdate(title: "道路交通流量 Road traffic flow", reason: "r"), .noChange),
        (DatasetUpdate(title: "Flow", reason: nil), .reasonRequired),
    ])
    func badDescription(_ update: DatasetUpdate, _ code: LicensingError.Code) throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(thrownCode { try Datasets.updated(dataset, update) } == code)
    }

    @Test("a sensitivity change keeps each field's name, type and filterability, and logs only the flags that changed")
    func sensitivityRecord() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        let change = try Datasets.updated(dataset, DatasetUpdate(
            fields: [.init(name: "flow", sensitive: true), .init(name: "road_id", sensitive: false)], reason: "residents"))
        #expect(change.updated.fields.map(\.name) == dataset.fields.map(\.name))
        #expect(change.updated.fields.map(\.type) == dataset.fields.map(\.type))
        #expect(change.updated.fields.map(\.sensitive) == [false, true, true])
        #expect(change.records.first?.data["changes"] == ["fields": ["flow": ["sensitive": ["from": false, "to": true]]]])
    }

    @Test("each change raises the version by one and moves updated_at, never published_at")
    func versions() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        let first = try Datasets.updated(dataset, DatasetUpdate(openness: .conditional, reason: "policy"), at: Clock.day(1)).updated
        let second = try Datasets.updated(first, DatasetUpdate(ceilingPrices: ["record": "0.002"], reason: "cost"), at: Clock.day(2)).updated
        #expect([dataset.version, first.version, second.version] as [Int] == [1, 2, 3])
        #expect(second.publishedAt == Clock.start)
        #expect(first.updatedAt == Clock.day(1))
        #expect(second.updatedAt == Clock.day(2))
        #expect(second.openness == .conditional)
        #expect(second.ceilingPrices == [.call: UnitPrice(micros: 50_000), .record: UnitPrice(micros: 2_000)])
        // Members not changed stay as they were.
        #expect(second.title == dataset.title && second.fields == dataset.fields && second.units == dataset.units)
    }

    @Test("the reclassified record names what changed, from and to, with the reason trimmed")
    func reclassifiedRecord() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        let change = try Datasets.updated(dataset, DatasetUpdate(openness: .conditional, grade: .important, reason: "  new rules \n"))
        let record = try #require(change.records.first)
        #expect(record.actor == "principal-bj")
        #expect(record.subjects == ["dataset:bj-traffic-flow", "authority:bj"])
        #expect(record.data == [
            "dataset_id": "bj-traffic-flow", "version": 2, "at": "2026-10-02T02:00:00.000Z",
            "authority_id": "bj",
            "changes": [
                "openness": ["from": "open", "to": "conditional"],
                "grade": ["from": "general", "to": "important"],
            ],
            "reason": "new rules",
            "stricter": true,
        ])
    }

    @Test("new datasets are served through PDX unless the publisher says otherwise; a change of delivery is logged with a reason")
    func delivery() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        #expect(dataset.delivery == .gateway)
        #expect(dataset.json["delivery"] == "gateway")
        let change = try Datasets.updated(dataset, DatasetUpdate(delivery: .declared, reason: "served by the bureau's own portal"))
        #expect(change.updated.delivery == .declared)
        #expect(change.updated.version == dataset.version + 1)
        let record = try #require(change.records.first)
        #expect(record.action == "dataset.delivery_changed")
        #expect(record.data["changes"] == ["delivery": ["from": "gateway", "to": "declared"]])
        #expect(record.data["reason"] == "served by the bureau's own portal")
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(delivery: .gateway, reason: "r")) } == .noChange)
        #expect(thrownCode { try Datasets.updated(dataset, DatasetUpdate(delivery: .declared, reason: nil)) } == .reasonRequired)
    }

    @Test("only string, integer, boolean and date fields may be filterable", arguments: FieldType.allCases)
    func filterable(_ type: FieldType) throws {
        var draft = Datasets.draft()
        draft.fields = [.init(name: "key", type: type.rawValue, sensitive: false, filterable: true)]
        let publisher = Reviewer(principalID: "principal-bj", authorityID: "bj")
        let published = Result { () throws(LicensingError) -> Dataset in
            try Catalog().publish(draft, id: "bj-keys", authorityID: "bj", by: publisher, at: Clock.start).updated
        }
        switch (type, published) {
        case (.string, .success(let dataset)), (.integer, .success(let dataset)), (.boolean, .success(let dataset)),
             (.date, .success(let dataset)):
            #expect(dataset.fields.first?.filterable == true)
            #expect(dataset.json["fields"]?[0]?["filterable"] == true)
        case (_, .failure(let error)):
            #expect(!type.isFilterable)
            #expect(error.code == .fieldNotFilterable)
        case (_, .success):
            Issue.record("\(type.rawValue) was accepted as filterable")
        }
    }

    @Test("the repriced record lists only the ceilings that changed")
    func repricedRecord() throws {
        let dataset = try Datasets.published("bj-traffic-flow")
        let change = try Datasets.updated(dataset, DatasetUpdate(ceilingPrices: ["call": "0.05", "record": "0.0005"], reason: "cheaper"))
        let record = try #require(change.records.first)
        #expect(record.action == "dataset.repriced")
        #expect(record.data["changes"] == ["ceiling_prices": ["record": ["from": "0.001", "to": "0.0005"]]])
        #expect(record.data["stricter"] == true)
        #expect(change.updated.ceilingPrices[.call] == UnitPrice(micros: 50_000))
    }
}
