import Identity
import APIServer
import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Licensing
import Metering
import Settlement
import Vetting

/// The demo's story, told through the HTTP API by the roles that would tell it:
///
/// - 09-28 the admin creates the Beijing, Tianjin and Hebei authorities, their reviewers, finance, an
///   auditor and five companies' keys; the reviewers publish datasets of every openness and grade;
/// - 09-29 the companies apply; a `standard` operator needs one approval, an `enhanced` one two
///   reviewers; an `enhanced` applicant without MLPS level 3 is rejected;
/// - 09-30 grants are requested: two co-approved by two authorities (one graduated-priced), a
///   public-interest one, an open one, and three refused (a price above the ceiling and a core,
///   closed dataset by policy; a registry request by the Tianjin reviewer);
/// - October: usage every evening, a retried batch now and then (duplicates), a quota that runs
///   out, finance sets a revenue cap, one operator is suspended on the 20th and reinstated on the
///   25th (its usage in between is refused), late events arrive on 11-01 within the grace;
/// - 11-02 finance closes October, the log is exported, a straggler event is refused as
///   `period_closed` — but first the Hebei and Beijing bureaus report their own counts of two
///   datasets delivered outside PDX (11-01), the close is refused over a discrepancy, and finance
///   acknowledges it with a reason; 11-03 finance corrects an October line in November; November's usage; 12-02
///   November is closed; reports, a statement, the final export and the verifier key are written.
struct DemoScenario {
    let client: DemoClient
    let runtime: Runtime
    let paths: DemoSummary.Paths
    /// The usage's randomness: days' volumes, quantities, times, retries.
    let random: DemoRandom
    let events: Int
    let adminKey: String
    let seed: UInt64
    let calendar = MarketCalendar()

    /// API keys by actor name (authorities' reviewers, finance, auditor, companies).
    private var keys: [String: String] = [:]
    /// Principal ids by actor name.
    private var principals: [String: String] = [:]
    private var roles: [String: String] = [:]
    /// Operator ids by company name.
    private var operators: [String: String] = [:]
    private var operatorLines: [String] = []
    private var grantLines: [String] = []
    private var grantCounts: [String: Int] = [:]
    private var datasetCounts = (openness: [String: Int](), grade: [String: Int]())
    /// The grants that carry usage, by name.
    private var grants: [String: String] = [:]
    private var now = DemoMarketplace.start
    private var summary: DemoSummary
    /// Events each company has not sent yet, and those it holds back to send late.
    private var outbox: [String: [Event]] = [:]
    /// Data API calls each company will make at the day's end: the stream and the records it asks for.
    private var calls: [String: [(Stream, Int)]] = [:]
    private var lateBox: [String: [Event]] = [:]
    private var lastBatch: [String: [Event]] = [:]
    /// The last events accepted from each company: what a retry resends.
    private var recentlyAccepted: [String: [Event]] = [:]
    private var suspended: Set<String> = []
    private var sequence: [String: Int] = [:]
    private var accepted: [Period: Set<String>] = [:]
    /// The calls of the upstream dataset, and the records they were answered.
    private var upstreamTally = (calls: 0, records: 0)
    private var capMinor: Int64 = 0
    private var releaseLines: [String] = []
    /// Where each company's reading of a served dataset has got to: the next page's cursor.
    private var cursors: [String: String] = [:]
    private var adjustment = ""

    init(client: DemoClient, runtime: Runtime, paths: DemoSummary.Paths, random: DemoRandom, events: Int,
         adminKey: String, seed: UInt64) {
        self.client = client
        self.runtime = runtime
        self.paths = paths
        self.random = random
        self.events = events
        self.adminKey = adminKey
        self.seed = seed
        self.summary = DemoSummary(seed: seed, paths: paths)
    }

    /// One usage event as a company reports it.
    struct Event: Sendable {
        var id: String
        var grant: String
        var dataset: String
        var unit: String
        var quantity: Int
        var time: Date

        var json: String {
            #"{"id":"\#(id)","grant_id":"\#(grant)","dataset_id":"\#(dataset)","unit":"\#(unit)","quantity":\#(quantity),"time":"\#(DemoScenario.beijing(time))"}"#
        }
    }

    /// One grant × dataset × unit that a company uses every day.
    struct Stream {
        var company: String
        var grant: String
        var dataset: String
        var unit: String
        /// Its share of the month's events.
        var share: Double
        var quantity: ClosedRange<Int>

        var meanQuantity: Double { Double(quantity.lowerBound + quantity.upperBound) / 2 }
    }

    // MARK: the story

    mutating func play() async throws -> DemoSummary {
        try await setUpCatalog()
        try await loadReleases()
        try await advance(to: "2026-09-29T10:00:00+08:00")
        try await vetOperators()
        try await eraseRejectedOfficer()
        try await advance(to: "2026-09-30T10:00:00+08:00")
        try await requestGrants()

        let first = DemoMarketplace.firstPeriod
        let second = DemoMarketplace.secondPeriod
        summary.usage = [DemoSummary.Usage(period: first), DemoSummary.Usage(period: second)]
        try await walk(first, events: events) { scenario, day in
            switch day {
            case 15: try await scenario.setRevenueCap()
            case 20: try await scenario.suspend("bohai", at: "2026-10-20T10:00:00+08:00")
            case 25: try await scenario.reinstate("bohai", at: "2026-10-25T09:00:00+08:00")
            default: break
            }
        }
        try await sendLate(first, conflict: true)
        try await advance(to: "2026-11-01T18:00:00+08:00")
        try await reportProviderUsage(first)

        try await advance(to: "2026-11-02T01:00:00+08:00")
        try await reconcile(first)
        try await close(first)
        _ = try await runtime.exportLog(to: paths.firstAudit)
        try await advance(to: "2026-11-02T01:05:00+08:00")
        try await sendStraggler(first)

        try await walk(second, events: max(1, events / 3)) { scenario, day in
            if day == 3 { try await scenario.correct(first, in: second) }
            if day % 7 == 5 { try await scenario.readUpstream(district: DemoUpstream.districts[(day / 7) % DemoUpstream.districts.count]) }
        }
        try await sendLate(second, conflict: false)
        try await advance(to: "2026-12-02T01:00:00+08:00")
        try await close(second)

        for period in [first, second] { try await writeReports(period) }
        let exported = try await cosignAndExport()
        try write(try await runtime.verifierKeys().map { $0 + "\n" }.joined(), to: paths.vkey)
        try writeKeys()
        summary.logSize = exported.size
        summary.rootBase64 = exported.rootBase64
        summary.text = report()
        return summary
    }

    // MARK: 09-28: authorities, principals, datasets

    private mutating func setUpCatalog() async throws {
        for (id, name, region) in [("bj", "北京市大数据中心", "Beijing"), ("tj", "天津市数据局", "Tianjin"),
                                   ("he", "河北省数据和政务服务局", "Hebei")] {
            _ = try await client.expect(.created, .post, "/v1/authorities", key: adminKey,
                                        json: ["id": .string(id), "name": .string(name), "region": .string(region)])
        }
        for (name, person, authority, email) in Self.reviewers {
            try await principal(name, displayName: person, role: "authority_reviewer", authority: authority, email: email)
        }
        try await principal("finance", displayName: "平台财务部", role: "finance", email: "finance@pdx.example")
        try await principal("auditor", displayName: "区域审计组", role: "auditor", email: "audit@pdx.example")
        for (name, company) in Self.companies {
            try await principal(name, displayName: company.legalName, role: "operator", email: company.officerEmail)
        }

        for dataset in Self.datasets {
            let (id, reviewer, title, theme, openness, grade, fields, ceilings, share) = dataset
            let body: JSONValue = [
                "id": .string(id), "title": .string(title), "description": .string("\(title)（演示数据）"),
                "theme": .string(theme), "openness": .string(openness), "grade": .string(grade),
                "fields": .array(fields.map {
                    ["name": .string($0.0), "type": .string($0.1), "sensitive": .bool($0.2),
                     "filterable": .bool(Self.filterable.contains($0.0))]
                }),
                "units": .array(ceilings.map { .string($0.0) }), "currency": "CNY",
                "ceiling_prices": .object(Dictionary(uniqueKeysWithValues: ceilings.map { ($0.0, JSONValue.string($0.1)) })),
                "revenue_share_bps": .number(Double(share)),
                "delivery": .string(Self.served.contains(id) ? "gateway" : "declared"),
            ]
            _ = try await client.expect(.created, .post, "/v1/datasets", key: keys[reviewer], json: body)
            datasetCounts.openness[openness, default: 0] += 1
            datasetCounts.grade[grade, default: 0] += 1
        }

        // Beijing keeps its signal timings in its own system: PDX forwards calls to it with a
        // credential no operator sees.
        _ = try await client.expect(.created, .post, "/v1/datasets", key: keys["bj-zhang"], json: [
            "id": .string(Self.upstreamDataset), "title": "路口信号配时", "description": "路口信号配时（演示接口，由北京市大数据中心自有系统提供）",
            "theme": "traffic", "openness": "open", "grade": "general",
            "fields": [
                ["name": "junction_id", "type": "string", "sensitive": false],
                ["name": "district", "type": "string", "sensitive": false],
                ["name": "cycle_seconds", "type": "integer", "sensitive": false],
                ["name": "camera_operator", "type": "string", "sensitive": true],
            ],
            "units": ["call", "record"], "currency": "CNY", "ceiling_prices": ["call": "0.03", "record": "0.001"],
            "revenue_share_bps": 3000, "delivery": "upstream",
            "upstream": ["base_url": .string(DemoUpstream.baseURL), "credential_header": .string(DemoUpstream.credentialHeader),
                         "secret": .string(DemoUpstream.secret)],
        ])
        datasetCounts.openness["open", default: 0] += 1
        datasetCounts.grade["general", default: 0] += 1
    }

    /// The releases of the datasets PDX serves, as their authorities load them: synthetic, from the
    /// seed's randomness, as CSV.
    private mutating func loadReleases() async throws {
        var traffic = "road_id,hour,flow,plate\r\n"
        for road in 1...40 {
            for hour in 0..<24 {
                let flow = random.int(in: 200...2400) * (hour >= 7 && hour <= 19 ? 3 : 1)
                let plate = random.chance(0.1) ? "京A\(random.int(in: 10000...99999))" : ""
                traffic += "R\(road < 10 ? "0" : "")\(road),2026-09-27T\(hour < 10 ? "0" : "")\(hour):00:00+08:00,\(flow),\(plate)\r\n"
            }
        }
        var port = "berth,day,vessels\n"
        for berth in 1...40 {
            for day in 1...30 {
                port += "北疆港区-\(berth < 10 ? "0" : "")\(berth),2026-09-\(day < 10 ? "0" : "")\(day),\(random.int(in: 0...6))\n"
            }
        }
        for (dataset, reviewer, version, csv) in [("bj-traffic-flow", "bj-zhang", "2026-09-27", traffic),
                                                  ("tj-port-traffic", "tj-wang", "2026-09", port)] {
            let answer = try await client.send(.put, "/v1/datasets/\(dataset)/releases/\(version)", key: keys[reviewer],
                                               body: Array(csv.utf8), contentType: "text/csv")
            guard answer.status == .created else {
                throw DemoError("loading release \(version) of \(dataset) answered \(answer.status.code): \(answer.text.prefix(300))")
            }
            let release = try answer.json()
            releaseLines.append("\(dataset) \(version): \(release["rows"]?.integerValue ?? 0) rows, sha256 "
                                + String(try Self.string(release, "sha256").prefix(16)) + "…")
        }
    }

    private mutating func principal(_ name: String, displayName: String, role: String, authority: String? = nil,
                                    email: String? = nil) async throws {
        var body: [String: JSONValue] = ["name": .string(displayName), "role": .string(role)]
        if let authority { body["authority_id"] = .string(authority) }
        if let email { body["email"] = .string(email) }
        let created = try await client.expect(.created, .post, "/v1/principals", key: adminKey, json: .object(body))
        keys[name] = try Self.string(created, "api_key")
        principals[name] = try Self.string(created, "id")
        roles[name] = role
    }

    // MARK: 09-29: applications and reviews

    private mutating func vetOperators() async throws {
        for (name, company) in Self.companies {
            guard let check = USCC.checkCharacter(forPrefix: company.usccPrefix) else {
                throw DemoError("the demo's code prefix \(company.usccPrefix) is not 17 characters of the USCC alphabet")
            }
            let licence = Hex.encode(SHA256.hash(Array("\(company.legalName) 营业执照 (demo)".utf8)).bytes)
            let body: JSONValue = [
                "legal_name": .string(company.legalName), "uscc": .string(company.usccPrefix + String(check)),
                "mlps_level": .number(Double(company.mlps)), "tier": .string(company.tier),
                "security_officer": ["name": .string(company.officer), "email": .string(company.officerEmail)],
                "certifications": .array(company.certifications.map(JSONValue.string)),
                "documents": [["name": "business-licence.pdf", "sha256": .string(licence)]],
            ]
            let applied = try await client.expect(.created, .post, "/v1/operators", key: keys[name], json: body)
            let id = try Self.string(applied, "id")
            operators[name] = id
            var status = ""
            for (reviewer, decision, reason) in company.reviews {
                var review: [String: JSONValue] = ["decision": .string(decision)]
                if let reason { review["reason"] = .string(reason) }
                status = try Self.string(try await client.expect(.ok, .post, "/v1/operators/\(id)/reviews", key: keys[reviewer],
                                                                 json: .object(review)), "status")
            }
            let reviewers = company.reviews.map(\.0).joined(separator: ", ")
            operatorLines.append("\(id)  \(company.tier.padding(toLength: 8, withPad: " ", startingAt: 0))  \(status) by \(reviewers)  \(company.legalName)")
        }
    }

    /// The rejected applicant's security officer asks for their data to be deleted (PIPL): the admin
    /// erases both values; the log keeps the commitments and still verifies.
    private mutating func eraseRejectedOfficer() async throws {
        guard let id = operators["huabei"] else { return }
        let listed = try await client.expect(.ok, .get, "/v1/personal-data?subject=operator:\(id)", key: adminKey)
        let items = listed["items"]?.arrayValue ?? []
        for item in items {
            let reference = try Self.string(item, "id")
            _ = try await client.expect(.ok, .post, "/v1/personal-data/\(reference)/erase", key: adminKey,
                                        json: ["reason": "个人信息删除请求 PI-2026-001 (erasure request)"])
        }
        operatorLines.append("\(id)  its security officer's name and e-mail erased on request (\(items.count) values; the log keeps commitments)")
    }

    // MARK: 09-30: grants

    private mutating func requestGrants() async throws {
        let term = (starts: "2026-10-01T00:00:00+08:00", ends: "2027-03-31T23:59:59+08:00")
        // Quotas and price steps follow the demo's size, so that a small demo still runs out of
        // quota and still reaches the second price step.
        // The port data is read through the data API, one call at a time: 70 % of the calls expected.
        let portQuota = Int(Double(events) * Self.share("jinjin", "tj-port-traffic") * 0.7)
        let healthCalls = Double(events) * Self.share("jiyun", "bj-health-records") * 6.5
        let firstStep = max(100, Int(healthCalls * 0.5) / 100 * 100)

        func item(_ id: String, fields: [String], prices: [(String, String)], quota: [(String, Int)],
                  tiers: JSONValue? = nil, justifications: [String: String] = [:]) -> JSONValue {
            var item: [String: JSONValue] = [
                "id": .string(id), "fields": .array(fields.map(JSONValue.string)),
                "unit_prices": .object(Dictionary(uniqueKeysWithValues: prices.map { ($0.0, JSONValue.string($0.1)) })),
                "quota_per_period": .object(Dictionary(uniqueKeysWithValues: quota.map { ($0.0, JSONValue.number(Double($0.1))) })),
            ]
            if let tiers { item["price_tiers"] = tiers }
            if !justifications.isEmpty { item["justifications"] = .object(justifications.mapValues(JSONValue.string)) }
            return .object(item)
        }
        func body(_ purpose: String, scenario: String = "industry", agreement: String = "standard-data-use",
                  _ items: [JSONValue]) -> JSONValue {
            ["purpose": .string(purpose), "scenario": .string(scenario), "starts_at": .string(term.starts),
             "ends_at": .string(term.ends), "agreement": ["id": .string(agreement), "version": "1"], "datasets": .array(items)]
        }

        // Beijing and Tianjin both approve: conditional traffic flow with open port data.
        let logistics = try await request("jinjin", body("京津冀干线物流拥堵预测", [
            item("bj-traffic-flow", fields: ["road_id", "hour", "flow"], prices: [("call", "0.04")], quota: [("call", 1_000_000)]),
            item("tj-port-traffic", fields: ["berth", "vessels"], prices: [("call", "0.02")], quota: [("call", max(1, portQuota))]),
        ]))
        try await decide(logistics, by: ["bj-zhang", "tj-wang"])
        grants["logistics"] = logistics
        try await note(logistics, "co-approved by bj and tj; port calls capped at \(max(1, portQuota)) a month")

        // Important data for an enhanced operator, Beijing and Hebei both approve; graduated calls.
        let health = try await request("jiyun", body("区域慢病与环境暴露关联分析", [
            item("bj-health-records", fields: ["district", "month", "visits"], prices: [], quota: [("call", 10_000_000)],
                 tiers: ["call": [["up_to": .number(Double(firstStep)), "unit_price": "0.18"], ["unit_price": "0.12"]]]),
            item("he-industrial-emissions", fields: ["site_id", "pollutant", "value"], prices: [("record", "0.008")],
                 quota: [("record", 100_000_000)]),
        ]))
        try await decide(health, by: ["bj-liu", "he-zhao"])
        grants["health"] = health
        try await note(health, "co-approved by bj and he; graduated: first \(firstStep) calls at 0.18, then 0.12")

        // Public interest: free, open data, active at once.
        let civic = try await request("civic", body("重污染天气公众出行提示", scenario: "public_interest",
                                                   agreement: "public-interest-data-use", [
            item("bj-air-quality", fields: ["station", "pm25", "aqi"], prices: [("call", "0")], quota: [("call", 5_000_000)]),
            item("he-weather-stations", fields: ["station", "temperature", "wind"], prices: [("call", "0")], quota: [("call", 5_000_000)]),
        ]))
        grants["civic"] = civic
        try await note(civic, "public interest, free; open data, active at once")

        let signals = try await request("jinjin", body("干线绿波带配时评估", [
            item(Self.upstreamDataset, fields: ["junction_id", "district", "cycle_seconds"], prices: [("call", "0.02"), ("record", "0.0005")],
                 quota: [("call", 10_000), ("record", 100_000)]),
        ]))
        grants["signals"] = signals
        try await note(signals, "open data, active at once; read through Beijing's own interface")

        let port = try await request("bohai", body("港口集疏运车辆调度", [
            item("tj-port-traffic", fields: ["berth", "vessels"], prices: [("call", "0.025")], quota: [("call", 1_000_000)]),
        ]))
        grants["port"] = port
        try await note(port, "open data, active at once")

        // Refused by policy: a price above the ceiling; a core, closed dataset.
        let pricey = try await request("bohai", body("港口数据转售", [
            item("tj-port-traffic", fields: ["berth", "vessels"], prices: [("call", "0.05")], quota: [("call", 1_000_000)]),
        ]))
        try await note(pricey, "refused by policy")
        let census = try await request("jiyun", body("人口画像", [
            // person_id is sensitive: the request says why (the rules refuse the dataset regardless).
            item("bj-census-microdata", fields: ["person_id", "district"], prices: [("record", "0.01")], quota: [("record", 1_000)],
                 justifications: ["person_id": "按人去重统计各区常住人口 (count residents per district once each)"]),
        ]))
        try await note(census, "refused by policy")

        // Refused by an authority: Tianjin's reviewer rejects the registry request.
        let registry = try await request("bohai", body("企业信用画像", [
            item("tj-enterprise-registry", fields: ["company", "status"], prices: [("record", "0.002")], quota: [("record", 100_000)]),
        ]))
        _ = try await client.expect(.ok, .post, "/v1/grants/\(registry)/decisions", key: keys["tj-wang"],
                                    json: ["decision": "reject", "reason": "用途与企业登记数据的开放条件不符 (purpose does not meet the registry's conditions)"])
        try await note(registry, "rejected by tj")
    }

    private mutating func request(_ company: String, _ body: JSONValue) async throws -> String {
        try Self.string(try await client.expect(.created, .post, "/v1/grants", key: keys[company], json: body), "id")
    }

    private func decide(_ grant: String, by reviewers: [String]) async throws {
        for reviewer in reviewers {
            _ = try await client.expect(.ok, .post, "/v1/grants/\(grant)/decisions", key: keys[reviewer],
                                        json: ["decision": "approve", "reason": "用途、字段与期限已核 (purpose, fields and term checked)"])
        }
    }

    /// Reads the grant back and records its outcome.
    private mutating func note(_ grant: String, _ detail: String) async throws {
        let read = try await client.expect(.ok, .get, "/v1/grants/\(grant)", key: keys["auditor"])
        let status = try Self.string(read, "status")
        let owner = try Self.string(read, "operator_id")
        var line = "\(grant)  \(status.padding(toLength: 6, withPad: " ", startingAt: 0))  \(owner)  "
            + (read["datasets"]?.arrayValue ?? []).compactMap { $0["dataset_id"]?.stringValue }.joined(separator: " + ")
            + "  — \(detail)"
        let reasons = (read["reasons"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
        if !reasons.isEmpty { line += ": " + reasons.joined(separator: ", ") }
        grantLines.append(line)
        grantCounts[status, default: 0] += 1
    }

    // MARK: operators, caps, corrections

    private mutating func suspend(_ company: String, at time: String) async throws {
        try await advance(to: time)
        _ = try await client.expect(.ok, .post, "/v1/operators/\(operators[company] ?? "")/suspend", key: keys["tj-wang"],
                                    json: ["reason": "数据安全事件调查中 (security incident under investigation)"])
        suspended.insert(company)
        operatorLines.append("\(operators[company] ?? "")  suspended \(time.prefix(16)) by tj-wang, its grants with it")
    }

    private mutating func reinstate(_ company: String, at time: String) async throws {
        try await advance(to: time)
        _ = try await client.expect(.ok, .post, "/v1/operators/\(operators[company] ?? "")/reinstate", key: keys["tj-wang"],
                                    json: ["reason": "调查结束，整改完成 (investigation closed, fixes verified)"])
        suspended.remove(company)
        operatorLines.append("\(operators[company] ?? "")  reinstated \(time.prefix(16)); usage it reports for the suspension is refused")
    }

    /// An annual cap on the enhanced operator, low enough that the close claws income back.
    private mutating func setRevenueCap() async throws {
        try await advance(to: "2026-10-15T09:30:00+08:00")
        let health = Double(events) * Self.share("jiyun", "bj-health-records") * 6.5 * 0.15
            + Double(events) * Self.share("jiyun", "he-industrial-emissions") * 1025 * 0.008
        // 40 % of what it should keep: whole hundreds of yuan, or whole yuan in a small demo.
        let kept = health * 0.65 * 0.4
        let yuan = kept >= 200 ? Int(kept) / 100 * 100 : max(1, Int(kept))
        capMinor = Int64(yuan) * 100
        let id = operators["jiyun"] ?? ""
        _ = try await client.expect(.ok, .put, "/v1/operators/\(id)/revenue-cap", key: keys["finance"],
                                    json: ["year": 2026, "amount_minor": .number(Double(capMinor)),
                                           "reason": "最高准许收入，价格主管部门核定 (cap set by the pricing authority)"])
        operatorLines.append("\(id)  revenue cap 2026: \(MinorUnits.decimal(capMinor, in: .cny)) yuan, set by finance")
    }

    /// Finance credits 2 % of the logistics operator's traffic-flow line of `period`, in `later`.
    private mutating func correct(_ period: Period, in later: Period) async throws {
        try await advance(to: "2026-11-03T10:00:00+08:00")
        let report = try SettlementReport(json: try await client.send(.get, "/v1/settlements/\(period)/report?format=json",
                                                                       key: keys["finance"]).body)
        guard let line = report.lines.first(where: { $0.grantID == grants["logistics"] && $0.datasetID == "bj-traffic-flow" }) else {
            throw DemoError("no traffic-flow line in \(period) to correct")
        }
        let credit = -max(1, line.amountMinor / 50)
        let answer = try await client.expect(.created, .post, "/v1/settlements/\(later)/adjustments", key: keys["finance"], json: [
            "corrects": .string(line.id), "amount_minor": .number(Double(credit)),
            "reason": "重试调用被重复计费，冲减 2% (retried calls billed twice; 2 % credited, ticket 4711)",
        ])
        adjustment = "\(try Self.string(answer, "id")) corrects \(line.id) by \(MinorUnits.decimal(credit, in: .cny)) yuan"
    }

    // MARK: usage

    /// Walks `period` day by day: `hook` runs first, then at 23:55 each company not suspended sends
    /// what it has not sent yet, in batches of 1,000; now and then one retries its last batch.
    private mutating func walk(_ period: Period, events: Int,
                               hook: (inout DemoScenario, Int) async throws -> Void) async throws {
        let start = calendar.start(of: period)
        let days = Int(calendar.end(of: period).timeIntervalSince(start) / 86_400)
        for day in 1...days {
            try await hook(&self, day)
            let midnight = start.addingTimeInterval(Double(day - 1) * 86_400)
            for stream in streams() {
                let base = Double(events) * stream.share / Double(days)
                // Rounded at random, so that a small demo's thin streams still get their share.
                let expected = base * (0.5 + random.unit())
                let count = Int(expected) + (random.chance(expected - expected.rounded(.down)) ? 1 : 0)
                if Self.served.contains(stream.dataset) {
                    calls[stream.company, default: []] += (0..<count).map { _ in (stream, random.int(in: stream.quantity)) }
                    continue
                }
                for _ in 0..<count {
                    // 00:00 to 23:50, before the evening send.
                    let time = midnight.addingTimeInterval(Double(random.int(in: 0...(23 * 3600 + 50 * 60 - 1))))
                    let event = Event(id: nextID(stream.company, period), grant: stream.grant, dataset: stream.dataset,
                                      unit: stream.unit, quantity: random.int(in: stream.quantity), time: time)
                    // Now and then an event is held back and sent after the period, within the
                    // grace; on the period's last day every company holds back its first.
                    if random.chance(0.05) || (day == days && lateBox[stream.company] == nil) {
                        lateBox[stream.company, default: []].append(event)
                    } else {
                        outbox[stream.company, default: []].append(event)
                    }
                }
            }
            try await advance(to: max(now, midnight.addingTimeInterval(23 * 3600 + 55 * 60)))
            // Reading served data: a suspended company tries too, and is refused at the source.
            for company in Self.companies.map(\.0) {
                for (stream, limit) in calls.removeValue(forKey: company) ?? [] {
                    try await read(stream, limit: limit, period: period)
                }
            }
            for company in Self.companies.map(\.0) where !suspended.contains(company) {
                let waiting = (outbox.removeValue(forKey: company) ?? []).sorted { ($0.time, $0.id) < ($1.time, $1.id) }
                for batch in stride(from: 0, to: waiting.count, by: 1000).map({ Array(waiting[$0..<min($0 + 1000, waiting.count)]) }) {
                    try await send(batch, as: company, period: period)
                    lastBatch[company] = batch
                }
                if !waiting.isEmpty, random.chance(0.1), let last = lastBatch[company] {
                    // A timeout, and the whole batch again: every event a duplicate.
                    try await send(last, as: company, period: period)
                }
            }
        }
    }

    /// Half a day after `period` ended, inside the grace: the events each company held back, some
    /// of its last batch again, and (once) an event id reused with other content.
    private mutating func sendLate(_ period: Period, conflict: Bool) async throws {
        try await advance(to: calendar.end(of: period).addingTimeInterval(12 * 3600))
        for company in Self.companies.map(\.0) {
            var batch = (lateBox.removeValue(forKey: company) ?? []).sorted { ($0.time, $0.id) < ($1.time, $1.id) }
            let recent = recentlyAccepted[company] ?? []
            batch += recent.suffix(20)
            if conflict, company == "jiyun", var reused = recent.first {
                reused.quantity += 1
                batch.append(reused)
            }
            guard !batch.isEmpty else { continue }
            try await send(batch, as: company, period: period, late: true)
        }
    }

    /// The providing authorities' own counts of two declared datasets, day by day: the Beijing bureau's
    /// air-quality figures agree with the operator's; the Hebei bureau counted its busiest day of
    /// emissions records twice.
    private mutating func reportProviderUsage(_ period: Period) async throws {
        for (reviewer, grant, dataset, doubled) in [("bj-liu", "civic", "bj-air-quality", false),
                                                    ("he-zhao", "health", "he-industrial-emissions", true)] {
            guard let grantID = grants[grant] else { throw DemoError("no grant \(grant)") }
            let days = try await client.expect(.ok, .get, "/v1/usage/summary?period=\(period)&grant_id=\(grantID)&by=day",
                                               key: keys[reviewer])
            let items = (days["items"]?.arrayValue ?? []).filter { $0["dataset_id"]?.stringValue == dataset }
            let busiest = items.max { ($0["quantity"]?.integerValue ?? 0) < ($1["quantity"]?.integerValue ?? 0) }?["day"]?.stringValue
            let reports: [JSONValue] = try items.map { item in
                let day = try Self.string(item, "day")
                let quantity = (item["quantity"]?.integerValue ?? 0) * (doubled && day == busiest ? 2 : 1)
                return [
                    "id": .string("\(dataset)-\(day)"), "grant_id": .string(grantID), "dataset_id": .string(dataset),
                    "unit": .string(try Self.string(item, "unit")), "day": .string(day), "quantity": JSONValue(quantity),
                ]
            }
            guard !reports.isEmpty else { continue }
            let answer = try await client.expect(.ok, .post, "/v1/provider-usage", key: keys[reviewer], json: ["reports": .array(reports)])
            guard answer["accepted"]?.integerValue == reports.count else {
                throw DemoError("provider usage of \(dataset) answered \(answer)")
            }
        }
    }

    /// 11-02: the close is refused over the Hebei discrepancy; finance reads the reconciliation and
    /// acknowledges it (the month is billed on the declaration), and the close then goes through.
    private mutating func reconcile(_ period: Period) async throws {
        let reconciliation = try await client.expect(.ok, .get, "/v1/reconciliation/\(period)", key: keys["finance"])
        let lines = reconciliation["lines"]?.arrayValue ?? []
        let open = lines.filter { $0["status"]?.stringValue == "discrepancy" }
        if !open.isEmpty {
            let refused = try await client.expect(.conflict, .post, "/v1/settlements/\(period)/close", key: keys["finance"])
            guard refused["code"]?.stringValue == "unresolved_discrepancies" else { throw DemoError("closing \(period) answered \(refused)") }
        }
        for line in open {
            _ = try await client.expect(.created, .post, "/v1/reconciliation/\(period)/acknowledgements", key: keys["finance"], json: [
                "grant_id": line["grant_id"] ?? .null, "dataset_id": line["dataset_id"] ?? .null, "unit": line["unit"] ?? .null,
                "reason": "河北局将一日的记录计了两次，以运营方申报为准 (the bureau counted one day twice; the declaration stands)",
            ])
        }
        let after = try await client.expect(.ok, .get, "/v1/reconciliation/\(period)", key: keys["finance"])
        for line in after["lines"]?.arrayValue ?? [] {
            guard let provided = line["provider_quantity"]?.integerValue else {
                summary.unreportedLines += 1
                continue
            }
            summary.reconciliation.append(
                "\(try Self.string(line, "dataset_id")) \(try Self.string(line, "unit")): declared \(line["declared_quantity"]?.integerValue ?? 0), "
                + "provider \(provided), \(try Self.string(line, "status"))")
        }
    }

    /// After `period` closed: three events of it that the health analytics company found too late.
    private mutating func sendStraggler(_ period: Period) async throws {
        let noon = calendar.end(of: period).addingTimeInterval(-12 * 3600)
        guard let stream = streams().first(where: { $0.company == "jiyun" }) else { return }
        let batch = (0..<3).map { offset in
            Event(id: nextID("jiyun", period), grant: stream.grant, dataset: stream.dataset, unit: stream.unit,
                  quantity: 1 + offset, time: noon.addingTimeInterval(Double(offset) * 60))
        }
        try await send(batch, as: "jiyun", period: period)
    }

    private mutating func send(_ batch: [Event], as company: String, period: Period, late: Bool = false) async throws {
        guard let index = summary.usage.firstIndex(where: { $0.period == period }) else {
            throw DemoError("no tally for \(period)")
        }
        let body = #"{"events":["# + batch.map(\.json).joined(separator: ",") + "]}"
        let answer = try await client.expect(.ok, .post, "/v1/usage", key: keys[company], raw: Array(body.utf8))
        guard let results = answer["results"]?.arrayValue, results.count == batch.count else {
            throw DemoError("a usage batch of \(batch.count) was answered with another number of results")
        }
        summary.usage[index].sent += batch.count
        for (event, result) in zip(batch, results) {
            switch result["status"]?.stringValue {
            case "accepted":
                summary.usage[index].accepted += 1
                if late { summary.usage[index].lateAccepted += 1 }
                accepted[period, default: []].insert("\(company)/\(event.id)")
                recentlyAccepted[company, default: []].append(event)
                if recentlyAccepted[company, default: []].count > 40 { recentlyAccepted[company]?.removeFirst() }
            case "duplicate":
                summary.usage[index].duplicates += 1
            default:
                summary.usage[index].rejected[result["code"]?.stringValue ?? "unknown", default: 0] += 1
            }
        }
        summary.usage[index].distinctAccepted = accepted[period]?.count ?? 0
    }

    /// One data API call: the next page of the stream's dataset (one call in five filtered to one
    /// road or berth), metered by PDX before it answers.
    private mutating func read(_ stream: Stream, limit: Int, period: Period) async throws {
        guard let index = summary.usage.firstIndex(where: { $0.period == period }) else {
            throw DemoError("no tally for \(period)")
        }
        var path = "/v1/data/\(stream.dataset)/records?grant_id=\(stream.grant)&limit=\(limit)"
        let key = "\(stream.company)/\(stream.dataset)"
        let filter = random.chance(0.2) ? Self.filterable.sorted().first(where: Self.fields(of: stream.dataset).contains) : nil
        if let filter {
            let value = filter == "road_id" ? "R0\(random.int(in: 1...9))" : "北疆港区-0\(random.int(in: 1...9))"
            path += "&\(filter)=\(value.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? value)"
        } else if let cursor = cursors[key] {
            path += "&cursor=\(cursor)"
        }
        summary.usage[index].calls += 1
        let answer = try await client.send(.get, path, key: keys[stream.company])
        guard answer.status == .ok else {
            let code = (try? answer.json())?["code"]?.stringValue ?? "status_\(answer.status.code)"
            summary.usage[index].refused[code, default: 0] += 1
            return
        }
        let page = try answer.json()
        summary.usage[index].served += 1
        summary.usage[index].records += page["records"]?.arrayValue?.count ?? 0
        summary.usage[index].gatewayEvents += page["usage"]?["units"]?.objectValue?.count ?? 0
        // Paging on from where the unfiltered reading got to; after the last page, from the start.
        if filter == nil { cursors[key] = page["next_cursor"]?.stringValue }
    }

    /// One call of the upstream dataset through PDX: forwarded to Beijing's interface, cut to the
    /// granted fields, metered before it is answered.
    private mutating func readUpstream(district: String) async throws {
        guard let grant = grants["signals"] else { throw DemoError("no grant of the upstream dataset") }
        let answer = try await client.send(.get, "/v1/data/\(Self.upstreamDataset)/upstream/junctions?district=\(district)&grant_id=\(grant)",
                                           key: keys["jinjin"])
        guard answer.status == .ok else {
            throw DemoError("reading \(Self.upstreamDataset) answered \(answer.status.code): \(answer.text.prefix(300))")
        }
        let records = try answer.json()["records"]?.arrayValue ?? []
        if records.contains(where: { $0["camera_operator"] != nil || $0["maintenance_contact"] != nil }) {
            throw DemoError("an upstream record kept a field the grant does not cover")
        }
        upstreamTally.calls += 1
        upstreamTally.records += records.count
        if let index = summary.usage.firstIndex(where: { $0.period == DemoMarketplace.secondPeriod }) {
            summary.usage[index].upstreamEvents += try answer.json()["usage"]?["units"]?.objectValue?.count ?? 0
        }
    }

    /// What a query value may hold unencoded (RFC 3986's unreserved characters).
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func fields(of dataset: String) -> [String] {
        datasets.first { $0.0 == dataset }?.6.map(\.0) ?? []
    }

    private mutating func nextID(_ company: String, _ period: Period) -> String {
        let next = (sequence[company] ?? 0) + 1
        sequence[company] = next
        let number = String(next)
        return "\(company)-\(period)-" + String(repeating: "0", count: max(0, 6 - number.count)) + number
    }

    private func streams() -> [Stream] {
        Self.streams.map { company, grant, dataset, unit, share, quantity in
            Stream(company: company, grant: grants[grant] ?? "", dataset: dataset, unit: unit, share: share, quantity: quantity)
        }
    }

    // MARK: closes, reports, files

    private mutating func close(_ period: Period) async throws {
        let closed = try await client.expect(.ok, .post, "/v1/settlements/\(period)/close", key: keys["finance"])
        guard closed["status"]?.stringValue == "closed", let index = closed["log_index"]?.integerValue else {
            throw DemoError("closing \(period) answered \(closed)")
        }
        let report = try SettlementReport(json: try await client.send(.get, "/v1/settlements/\(period)/report?format=json",
                                                                       key: keys["finance"]).body)
        let digests = (closed["reports"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        let clawback = report.lines.filter { $0.kind == .clawback }.map(\.authorityMinor).reduce(0, +)
        summary.closed.append(DemoSummary.Closed(period: period, logIndex: UInt64(index), totals: report.totals,
                                                 parties: report.parties, clawbackMinor: clawback, digests: digests))
    }

    /// Every format of `period`'s report as finance downloads it, and one operator's own statement.
    private mutating func writeReports(_ period: Period) async throws {
        try FileManager.default.createDirectory(atPath: paths.reports, withIntermediateDirectories: true)
        let base = "/v1/settlements/\(period)/report"
        for format in ["json", "csv", "xlsx"] {
            try await download("\(base)?format=\(format)", as: "finance", to: paths.report(period, format))
        }
        try await download("\(base)?format=csv&section=parties", as: "finance", to: paths.parties(period))
        summary.statementOperator = operators["jiyun"] ?? ""
        try await download("\(base)?format=csv", as: "jiyun", to: paths.statement(period, operatorID: summary.statementOperator))
    }

    private func download(_ path: String, as actor: String, to file: String) async throws {
        let answer = try await client.send(.get, path, key: keys[actor])
        guard answer.status == .ok else { throw DemoError("GET \(path) answered \(answer.status.code): \(answer.text.prefix(300))") }
        guard FileManager.default.createFile(atPath: file, contents: Data(answer.body)) else { throw DemoError("cannot write \(file)") }
    }

    /// 12-02: the three regional authorities' witnesses, in process, cosign the final checkpoint (each
    /// checks it with its own key and state), and the final export is of that cosigned checkpoint.
    /// Cosignatures are not log entries: the log is the same with or without them. Their keys follow
    /// from the seed and their time is the walk's last instant, so the export stays byte-identical per seed.
    private func cosignAndExport() async throws -> ExportResult {
        var connections: [any WitnessConnection] = []
        var vkeys = ""
        for authority in DemoMarketplace.witnessAuthorities {
            let seedBytes = SHA256.hash(Array("pdx-demo-witness-\(authority)-\(seed)".utf8)).bytes
            let signer = try CosignatureSigner(name: "witness.\(authority).pdx-demo.example", key: try Ed25519PrivateKey(seed: seedBytes))
            let witness = try LogWitness(signer: signer, logKeys: runtime.log.verifiers,
                                         state: try WitnessStateFile(directory: "\(paths.witnesses)/\(authority)"),
                                         clock: { [now] in now })
            connections.append(InProcessWitness(witness))
            vkeys += signer.verifierKey + "\n"
        }
        _ = try await runtime.log.signCheckpoint()
        let round = try await CosignatureCollector(log: runtime.log, witnesses: connections).collect()
        guard round.failures.isEmpty else { throw DemoError("a demo witness did not cosign: \(round.failures)") }
        try write(vkeys, to: paths.witnessKeys)
        return try await runtime.exportLog(to: paths.audit, cosigned: true)
    }

    private func writeKeys() throws {
        var text = "# The demo marketplace's API keys (a demo only: the seed makes them predictable).\n"
            + "# Serve it with: swift run pdx serve --data-dir \(paths.data) --test-clock\n"
            + "# name\trole\tprincipal\tapi key\n"
        text += "admin\tadmin\t-\t\(adminKey)\n"
        for name in keys.keys.sorted() {
            text += "\(name)\t\(roles[name] ?? "")\t\(principals[name] ?? "")\t\(keys[name] ?? "")\n"
        }
        // Created owner-only from the first byte: never a moment when others may read the keys.
        try DataDirectory.replaceOwnerOnly(paths.keys, contents: text)
    }

    private func write(_ text: String, to file: String) throws {
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else { throw DemoError("cannot write \(file)") }
    }

    private mutating func advance(to text: String) async throws {
        guard let date = RFC3339.parse(text) else { throw DemoError("bad demo time \(text)") }
        try await advance(to: date)
    }

    /// Moves the test clock as the admin does (`POST /v1/test-clock`).
    private mutating func advance(to date: Date) async throws {
        guard date > now else { return }
        _ = try await client.expect(.ok, .post, "/v1/test-clock", key: adminKey, json: ["now": .string(Self.beijing(date))])
        now = date
    }

    // MARK: the printed summary

    private func report() -> String {
        var out: [String] = []
        let names = Dictionary(uniqueKeysWithValues: Self.companies.compactMap { name, company in
            operators[name].map { ($0, company.legalName) }
        })
        out.append("PDX demo, seed \(seed): a marketplace walked through two months on the real API, in \(paths.root)")
        out.append("")
        out.append("Authorities  bj 北京市大数据中心 · tj 天津市数据局 · he 河北省数据和政务服务局")
        out.append("Datasets     \(Self.datasets.count + 1): "
                   + ["open", "conditional", "closed"].map { "\($0) \(datasetCounts.openness[$0] ?? 0)" }.joined(separator: ", ") + "; "
                   + ["general", "important", "core"].map { "\($0) \(datasetCounts.grade[$0] ?? 0)" }.joined(separator: ", "))
        out.append("Operators")
        out += operatorLines.map { "  " + $0 }
        out.append("Grants       " + ["active", "denied"].map { "\($0) \(grantCounts[$0] ?? 0)" }.joined(separator: ", "))
        out += grantLines.map { "  " + $0 }
        out.append("Releases     " + releaseLines.joined(separator: "; "))
        out.append("Data API (bj-traffic-flow and tj-port-traffic are served by PDX and metered at the source)")
        for usage in summary.usage {
            let refused = usage.refused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out.append("  \(usage.period): calls \(usage.calls), served \(usage.served) (\(usage.records) records, "
                       + "\(usage.gatewayEvents) usage events), refused \(usage.refused.values.reduce(0, +))"
                       + (refused.isEmpty ? "" : " (\(refused))"))
        }
        out.append("Upstream     \(Self.upstreamDataset) is forwarded to Beijing's own interface (\(DemoUpstream.baseURL)) with a "
                   + "credential operators never see: \(upstreamTally.calls) calls, \(upstreamTally.records) records, only granted fields kept")
        out.append("Usage events (declared datasets; each answered per event by POST /v1/usage)")
        for usage in summary.usage {
            let rejected = usage.rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out.append("  \(usage.period): sent \(usage.sent), accepted \(usage.accepted) (\(usage.lateAccepted) of them late, within the grace), "
                       + "duplicates \(usage.duplicates) (not counted again), rejected \(usage.rejected.values.reduce(0, +))"
                       + (rejected.isEmpty ? "" : " (\(rejected))"))
        }
        out.append("Reconciliation of \(DemoMarketplace.firstPeriod) (declared against provider-reported usage; a discrepancy above "
                   + "tolerance stops the close until finance acknowledges it)")
        for line in summary.reconciliation { out.append("  \(line)") }
        out.append("  \(summary.unreportedLines) more lines unreported by their authority (listed, not blocking)")
        out.append("Settlement (yuan)")
        for closed in summary.closed {
            let totals = closed.totals
            out.append("  \(closed.period) closed, settlement.closed at log index \(closed.logIndex): \(totals.lineCount) lines, "
                       + "\(totals.eventCount) events, gross \(Self.yuan(totals.grossMinor))")
            for party in closed.parties {
                let name: String = if case .operator(let id) = party.party { "  " + (names[id] ?? "") } else { "" }
                out.append("    \(party.party.description.padding(toLength: 28, withPad: " ", startingAt: 0)) \(Self.yuan(party.amountMinor).leftPadded(to: 12))\(name)")
            }
            if closed.clawbackMinor != 0 {
                out.append("    (the revenue cap moved \(Self.yuan(closed.clawbackMinor)) from its operator to the authorities: clawback lines)")
            }
        }
        if !adjustment.isEmpty { out.append("  \(DemoMarketplace.secondPeriod) adjustment: \(adjustment)") }
        out.append("")
        out.append("Look at")
        for closed in summary.closed {
            let period = closed.period
            out.append("  reports    \(paths.report(period, "json")), .csv, .xlsx, \(paths.parties(period))")
            out.append("             \(paths.statement(period, operatorID: summary.statementOperator)) (the operator's own statement)")
        }
        out.append("  audit log  \(paths.audit) (\(summary.logSize) entries, root \(summary.rootBase64))")
        out.append("             \(paths.firstAudit) (taken right after \(DemoMarketplace.firstPeriod) closed)")
        out.append("  key        \(paths.vkey) (as `pdx audit vkey` prints it; pin it with --vkey)")
        out.append("  witnesses  \(paths.witnessKeys) (the keys of the bj, tj and he witnesses that cosigned the final checkpoint)")
        out.append("  data       \(paths.data); serve it: swift run pdx serve --data-dir \(paths.data) --test-clock")
        out.append("             the admin key is in \(paths.data)/admin.token, every demo key in \(paths.keys)")
        out.append("")
        out.append("Verify offline")
        out.append("  \(summary.verifyCommand)")
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: the cast

    struct Company {
        var legalName: String
        var usccPrefix: String
        var mlps: Int
        var tier: String
        var officer: String
        var officerEmail: String
        var certifications: [String]
        /// (reviewer, decision, reason) in order.
        var reviews: [(String, String, String?)]
    }

    /// The reviewers: (principal, person's name, authority, e-mail address).
    static let reviewers = [("bj-zhang", "张敏", "bj", "zhang.min@bj.gov.cn"), ("bj-liu", "刘洋", "bj", "liu.yang@bj.gov.cn"),
                            ("tj-wang", "王芳", "tj", "wang.fang@tj.gov.cn"), ("he-zhao", "赵磊", "he", "zhao.lei@he.gov.cn")]

    /// Every name and e-mail address of a person in the cast: what no export may hold.
    static var personalData: [String] {
        reviewers.flatMap { [$0.1, $0.3] } + ["finance@pdx.example", "audit@pdx.example"]
            + companies.flatMap { [$0.1.officer, $0.1.officerEmail] }
    }

    static let companies: [(String, Company)] = [
        ("jinjin", Company(legalName: "京津冀物流数据科技有限公司", usccPrefix: "91120116MA05KJ7L3", mlps: 3, tier: "standard",
                           officer: "陈静", officerEmail: "security@jinjin-logistics.example", certifications: ["ISO27001"],
                           reviews: [("bj-zhang", "approve", "营业执照与等保证明已核 (licence and MLPS certificate checked)")])),
        ("jiyun", Company(legalName: "冀云健康数据服务有限公司", usccPrefix: "91130104MA0CY8R2X", mlps: 3, tier: "enhanced",
                          officer: "李伟", officerEmail: "security@jiyun-health.example", certifications: ["ISO27001", "ISO27701"],
                          reviews: [("bj-zhang", "approve", "等保三级，证书齐全 (MLPS level 3, certified)"),
                                    ("he-zhao", "approve", "第二名审核人复核 (second reviewer concurs)")])),
        ("bohai", Company(legalName: "渤海智慧出行有限公司", usccPrefix: "91120118MA06BH4T1", mlps: 2, tier: "standard",
                          officer: "周宁", officerEmail: "security@bohai-mobility.example", certifications: [],
                          reviews: [("tj-wang", "approve", nil)])),
        ("civic", Company(legalName: "北京城市交通研究中心", usccPrefix: "12110000400001234", mlps: 3, tier: "standard",
                          officer: "孙悦", officerEmail: "security@civic-transport.example", certifications: ["ISO27001"],
                          reviews: [("bj-liu", "approve", "公益研究机构 (public research institute)")])),
        ("huabei", Company(legalName: "华北数联科技有限公司", usccPrefix: "91130600MA0DQ5N8W", mlps: 2, tier: "enhanced",
                           officer: "吴刚", officerEmail: "security@huabei-datalink.example", certifications: [],
                           reviews: [("he-zhao", "reject", "增强级需等保三级，申请人为二级 (the enhanced tier needs MLPS level 3; the applicant has 2)")])),
    ]

    /// (id, publishing reviewer, title, theme, openness, grade, fields, ceiling prices, revenue share).
    static let datasets: [(String, String, String, String, String, String, [(String, String, Bool)], [(String, String)], Int)] = [
        ("bj-traffic-flow", "bj-zhang", "北京市道路交通流量", "traffic", "conditional", "general",
         [("road_id", "string", false), ("hour", "datetime", false), ("flow", "integer", false), ("plate", "string", true)],
         [("call", "0.05"), ("record", "0.001")], 3000),
        ("bj-air-quality", "bj-liu", "北京市空气质量监测", "environment", "open", "general",
         [("station", "string", false), ("pm25", "decimal", false), ("aqi", "integer", false)], [("call", "0.02")], 2000),
        ("bj-health-records", "bj-zhang", "北京市医疗机构诊疗统计", "healthcare", "conditional", "important",
         [("district", "string", false), ("month", "date", false), ("visits", "integer", false), ("diagnosis", "string", true)],
         [("call", "0.20")], 3000),
        ("bj-census-microdata", "bj-liu", "北京市人口普查个体数据", "population", "closed", "core",
         [("person_id", "string", true), ("district", "string", false)], [("record", "0.01")], 3000),
        ("tj-port-traffic", "tj-wang", "天津港船舶靠泊", "transport", "open", "general",
         [("berth", "string", false), ("day", "date", false), ("vessels", "integer", false)], [("call", "0.03")], 2500),
        ("tj-enterprise-registry", "tj-wang", "天津市企业登记信息", "enterprise", "conditional", "general",
         [("company", "string", false), ("status", "string", false), ("legal_person", "string", true)], [("record", "0.002")], 2500),
        ("tj-water-network", "tj-wang", "天津市供水管网", "utilities", "closed", "important",
         [("pipe_id", "string", false), ("geometry", "geometry", true)], [("record", "0.005")], 2500),
        ("he-weather-stations", "he-zhao", "河北省气象观测站", "weather", "open", "general",
         [("station", "string", false), ("temperature", "decimal", false), ("wind", "decimal", false)], [("call", "0.01")], 2000),
        ("he-industrial-emissions", "he-zhao", "河北省重点企业排放监测", "environment", "conditional", "important",
         [("site_id", "string", false), ("pollutant", "string", false), ("value", "decimal", false)], [("record", "0.01")], 2500),
    ]

    /// (company, grant, dataset, unit, share of the events, quantity per event).
    static let streams: [(String, String, String, String, Double, ClosedRange<Int>)] = [
        ("jinjin", "logistics", "bj-traffic-flow", "call", 0.26, 1...40),
        ("jinjin", "logistics", "tj-port-traffic", "call", 0.14, 1...20),
        ("jiyun", "health", "bj-health-records", "call", 0.16, 1...12),
        ("jiyun", "health", "he-industrial-emissions", "record", 0.10, 50...2000),
        ("civic", "civic", "bj-air-quality", "call", 0.12, 1...60),
        ("civic", "civic", "he-weather-stations", "call", 0.08, 1...60),
        ("bohai", "port", "tj-port-traffic", "call", 0.14, 1...30),
    ]

    /// The datasets PDX serves (delivery `gateway`); the others are delivered outside it and their
    /// usage declared.
    static let served: Set<String> = ["bj-traffic-flow", "tj-port-traffic"]
    /// The dataset PDX forwards to its authority's own interface (delivery `upstream`).
    static let upstreamDataset = "bj-signal-timing"
    /// The fields the data API may filter on.
    static let filterable: Set<String> = ["road_id", "berth"]

    static func share(_ company: String, _ dataset: String) -> Double {
        streams.first { $0.0 == company && $0.2 == dataset }?.4 ?? 0
    }

    // MARK: helpers

    static func string(_ value: JSONValue, _ member: String) throws -> String {
        guard let text = value[member]?.stringValue else { throw DemoError("no '\(member)' in \(value)") }
        return text
    }

    static func yuan(_ minor: Int64) -> String { MinorUnits.decimal(minor, in: .cny) }

    /// `date` in Beijing time, RFC 3339 with `+08:00`, to the second (China keeps no daylight saving).
    static func beijing(_ date: Date) -> String {
        // The log's UTC timestamp of the same wall-clock reading, eight hours on, to the second.
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        return String(Timestamp.format(seconds * 1000).prefix(19)) + "+08:00"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
