import Identity
import APIServer
import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Licensing
import Metering
import OpenAPIRuntime
import PDXClient
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
            _ = try await api("admin").createAuthority(body: .json(.init(id: id, name: name, region: region))).created
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
            let body = Components.Schemas.DatasetInput(
                id: id, title: title, description: "\(title)（演示数据）", theme: theme,
                openness: try Self.choice(openness), grade: try Self.choice(grade),
                fields: fields.map { .init(name: $0.0, _type: $0.1, sensitive: $0.2, filterable: Self.filterable.contains($0.0)) },
                units: ceilings.map(\.0), currency: "CNY",
                ceilingPrices: .init(additionalProperties: Dictionary(uniqueKeysWithValues: ceilings.map { ($0.0, $0.1) })),
                revenueShareBps: share, delivery: Self.served.contains(id) ? .gateway : .declared)
            _ = try await api(reviewer).publishDataset(body: .json(body)).created
            datasetCounts.openness[openness, default: 0] += 1
            datasetCounts.grade[grade, default: 0] += 1
        }

        // Beijing keeps its signal timings in its own system: PDX forwards calls to it with a
        // credential no operator sees.
        _ = try await api("bj-zhang").publishDataset(body: .json(.init(
            id: Self.upstreamDataset, title: "路口信号配时", description: "路口信号配时（演示接口，由北京市大数据中心自有系统提供）",
            theme: "traffic", openness: .open, grade: .general,
            fields: [
                .init(name: "junction_id", _type: "string", sensitive: false),
                .init(name: "district", _type: "string", sensitive: false),
                .init(name: "cycle_seconds", _type: "integer", sensitive: false),
                .init(name: "camera_operator", _type: "string", sensitive: true),
            ],
            units: ["call", "record"], currency: "CNY", ceilingPrices: .init(additionalProperties: ["call": "0.03", "record": "0.001"]),
            revenueShareBps: 3000, delivery: .upstream,
            upstream: .init(baseUrl: DemoUpstream.baseURL, credentialHeader: DemoUpstream.credentialHeader, secret: DemoUpstream.secret)
        ))).created
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
            let release = try await api(reviewer).loadRelease(path: .init(id: dataset, version: version),
                                                              body: .csv(HTTPBody(csv))).created.body.json
            releaseLines.append("\(dataset) \(version): \(release.rows) rows, sha256 " + String(release.sha256.prefix(16)) + "…")
        }
    }

    private mutating func principal(_ name: String, displayName: String, role: String, authority: String? = nil,
                                    email: String? = nil) async throws {
        let created = try await api("admin").createPrincipal(body: .json(.init(
            name: displayName, role: try Self.choice(role), authorityId: authority, email: email))).created.body.json
        keys[name] = created.value2.apiKey
        principals[name] = created.value1.id
        roles[name] = role
    }

    // MARK: 09-29: applications and reviews

    private mutating func vetOperators() async throws {
        for (name, company) in Self.companies {
            guard let check = USCC.checkCharacter(forPrefix: company.usccPrefix) else {
                throw DemoError("the demo's code prefix \(company.usccPrefix) is not 17 characters of the USCC alphabet")
            }
            let licence = Hex.encode(SHA256.hash(Array("\(company.legalName) 营业执照 (demo)".utf8)).bytes)
            let application = Components.Schemas.OperatorApplication(
                legalName: company.legalName, uscc: company.usccPrefix + String(check), mlpsLevel: company.mlps,
                tier: try Self.choice(company.tier), securityOfficer: .init(name: company.officer, email: company.officerEmail),
                certifications: company.certifications, documents: [.init(name: "business-licence.pdf", sha256: licence)])
            let id = try await api(name).applyAsOperator(body: .json(application)).created.body.json.id
            operators[name] = id
            var status = ""
            for (reviewer, decision, reason) in company.reviews {
                let review = Components.Schemas.ReviewInput(decision: try Self.choice(decision), reason: reason)
                status = try await api(reviewer).reviewOperator(path: .init(id: id), body: .json(review)).ok.body.json.status.rawValue
            }
            let reviewers = company.reviews.map(\.0).joined(separator: ", ")
            operatorLines.append("\(id)  \(company.tier.padding(toLength: 8, withPad: " ", startingAt: 0))  \(status) by \(reviewers)  \(company.legalName)")
        }
    }

    /// The rejected applicant's security officer asks for their data to be deleted (PIPL): the admin
    /// erases both values; the log keeps the commitments and still verifies.
    private mutating func eraseRejectedOfficer() async throws {
        guard let id = operators["huabei"] else { return }
        let items = try await api("admin").listPersonalData(query: .init(subject: "operator:\(id)")).ok.body.json.items
        for item in items {
            _ = try await api("admin").erasePersonalData(path: .init(id: item.id),
                                                        body: .json(.init(reason: "个人信息删除请求 PI-2026-001 (erasure request)"))).ok
        }
        operatorLines.append("\(id)  its security officer's name and e-mail erased on request (\(items.count) values; the log keeps commitments)")
    }

    // MARK: 09-30: grants

    private mutating func requestGrants() async throws {
        guard let starts = RFC3339.parse("2026-10-01T00:00:00+08:00"), let ends = RFC3339.parse("2027-03-31T23:59:59+08:00") else {
            throw DemoError("bad demo term")
        }
        let term = (starts: starts, ends: ends)
        // Quotas and price steps follow the demo's size, so that a small demo still runs out of
        // quota and still reaches the second price step.
        // The port data is read through the data API, one call at a time: 70 % of the calls expected.
        let portQuota = Int(Double(events) * Self.share("jinjin", "tj-port-traffic") * 0.7)
        let healthCalls = Double(events) * Self.share("jiyun", "bj-health-records") * 6.5
        let firstStep = max(100, Int(healthCalls * 0.5) / 100 * 100)

        func item(_ id: String, fields: [String], prices: [(String, String)], quota: [(String, Int)],
                  tiers: [String: [Components.Schemas.PriceTier]]? = nil,
                  justifications: [String: String] = [:]) -> Components.Schemas.GrantItemInput {
            .init(id: id, fields: fields, unitPrices: .init(additionalProperties: Dictionary(uniqueKeysWithValues: prices)),
                  priceTiers: tiers.map { .init(additionalProperties: $0) },
                  quotaPerPeriod: .init(additionalProperties: Dictionary(uniqueKeysWithValues: quota.map { ($0.0, Int64($0.1)) })),
                  justifications: justifications.isEmpty ? nil : .init(additionalProperties: justifications))
        }
        func body(_ purpose: String, scenario: Components.Schemas.Scenario = .industry, agreement: String = "standard-data-use",
                  _ items: [Components.Schemas.GrantItemInput]) -> Components.Schemas.GrantRequest {
            .init(purpose: purpose, scenario: scenario, startsAt: term.starts, endsAt: term.ends,
                  agreement: .init(id: agreement, version: "1"), datasets: items)
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
                 tiers: ["call": [.init(upTo: Int64(firstStep), unitPrice: "0.18"), .init(unitPrice: "0.12")]]),
            item("he-industrial-emissions", fields: ["site_id", "pollutant", "value"], prices: [("record", "0.008")],
                 quota: [("record", 100_000_000)]),
        ]))
        try await decide(health, by: ["bj-liu", "he-zhao"])
        grants["health"] = health
        try await note(health, "co-approved by bj and he; graduated: first \(firstStep) calls at 0.18, then 0.12")

        // Public interest: free, open data, active at once.
        let civic = try await request("civic", body("重污染天气公众出行提示", scenario: .publicInterest,
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
        _ = try await api("tj-wang").decideGrant(path: .init(id: registry), body: .json(.init(
            decision: .reject, reason: "用途与企业登记数据的开放条件不符 (purpose does not meet the registry's conditions)"))).ok
        try await note(registry, "rejected by tj")
    }

    private mutating func request(_ company: String, _ body: Components.Schemas.GrantRequest) async throws -> String {
        try await api(company).requestGrant(body: .json(body)).created.body.json.id
    }

    private func decide(_ grant: String, by reviewers: [String]) async throws {
        for reviewer in reviewers {
            _ = try await api(reviewer).decideGrant(path: .init(id: grant), body: .json(.init(
                decision: .approve, reason: "用途、字段与期限已核 (purpose, fields and term checked)"))).ok
        }
    }

    /// Reads the grant back and records its outcome.
    private mutating func note(_ grant: String, _ detail: String) async throws {
        let read = try await api("auditor").getGrant(path: .init(id: grant)).ok.body.json
        let status = read.status.rawValue
        var line = "\(grant)  \(status.padding(toLength: 6, withPad: " ", startingAt: 0))  \(read.operatorId)  "
            + read.datasets.map(\.datasetId).joined(separator: " + ") + "  — \(detail)"
        let reasons = read.reasons.map(\.code)
        if !reasons.isEmpty { line += ": " + reasons.joined(separator: ", ") }
        grantLines.append(line)
        grantCounts[status, default: 0] += 1
    }

    // MARK: operators, caps, corrections

    private mutating func suspend(_ company: String, at time: String) async throws {
        try await advance(to: time)
        _ = try await api("tj-wang").suspendOperator(path: .init(id: operators[company] ?? ""), body: .json(.init(
            reason: "数据安全事件调查中 (security incident under investigation)"))).ok
        suspended.insert(company)
        operatorLines.append("\(operators[company] ?? "")  suspended \(time.prefix(16)) by tj-wang, its grants with it")
    }

    private mutating func reinstate(_ company: String, at time: String) async throws {
        try await advance(to: time)
        _ = try await api("tj-wang").reinstateOperator(path: .init(id: operators[company] ?? ""), body: .json(.init(
            reason: "调查结束，整改完成 (investigation closed, fixes verified)"))).ok
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
        _ = try await api("finance").setRevenueCap(path: .init(id: id), body: .json(.init(
            year: 2026, amountMinor: capMinor, reason: "最高准许收入，价格主管部门核定 (cap set by the pricing authority)"))).ok
        operatorLines.append("\(id)  revenue cap 2026: \(MinorUnits.decimal(capMinor, in: .cny)) yuan, set by finance")
    }

    /// Finance credits 2 % of the logistics operator's traffic-flow line of `period`, in `later`.
    private mutating func correct(_ period: Period, in later: Period) async throws {
        try await advance(to: "2026-11-03T10:00:00+08:00")
        let report = try await sealedReport(period)
        guard let line = report.lines.first(where: { $0.grantID == grants["logistics"] && $0.datasetID == "bj-traffic-flow" }) else {
            throw DemoError("no traffic-flow line in \(period) to correct")
        }
        let credit = -max(1, line.amountMinor / 50)
        let made = try await api("finance").addAdjustment(path: .init(period: "\(later)"), body: .json(.init(
            corrects: line.id, amountMinor: credit,
            reason: "重试调用被重复计费，冲减 2% (retried calls billed twice; 2 % credited, ticket 4711)"))).created.body.json
        adjustment = "\(made.id) corrects \(line.id) by \(MinorUnits.decimal(credit, in: .cny)) yuan"
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
            let days = try await api(reviewer).getUsageSummary(query: .init(period: "\(period)", grantId: grantID, by: .day))
                .ok.body.json.items.filter { $0.datasetId == dataset }
            let busiest = days.max { $0.quantity < $1.quantity }?.day
            let reports: [Components.Schemas.ProviderUsageReport] = try days.map { item in
                guard let day = item.day else { throw DemoError("a summary by day without its day") }
                return .init(id: "\(dataset)-\(day)", grantId: grantID, datasetId: dataset, unit: item.unit, day: day,
                             quantity: item.quantity * (doubled && day == busiest ? 2 : 1))
            }
            guard !reports.isEmpty else { continue }
            let answer = try await api(reviewer).reportProviderUsage(body: .json(.init(reports: reports))).ok.body.json
            guard answer.accepted == reports.count else {
                throw DemoError("provider usage of \(dataset): \(answer.accepted) of \(reports.count) accepted")
            }
        }
    }

    /// 11-02: the close is refused over the Hebei discrepancy; finance reads the reconciliation and
    /// acknowledges it (the month is billed on the declaration), and the close then goes through.
    private mutating func reconcile(_ period: Period) async throws {
        let finance = try api("finance")
        let open = try await finance.getReconciliation(path: .init(period: "\(period)")).ok.body.json.lines
            .filter { $0.status == .discrepancy }
        if !open.isEmpty {
            let refused = try await finance.closeSettlement(path: .init(period: "\(period)")).conflict.body.applicationProblemJson
            guard refused.code == .unresolvedDiscrepancies else { throw DemoError("closing \(period) answered \(refused.code)") }
        }
        for line in open {
            _ = try await finance.acknowledgeDiscrepancy(path: .init(period: "\(period)"), body: .json(.init(
                grantId: line.grantId, datasetId: line.datasetId, unit: line.unit,
                reason: "河北局将一日的记录计了两次，以运营方申报为准 (the bureau counted one day twice; the declaration stands)"))).created
        }
        for line in try await finance.getReconciliation(path: .init(period: "\(period)")).ok.body.json.lines {
            guard let provided = line.providerQuantity else {
                summary.unreportedLines += 1
                continue
            }
            summary.reconciliation.append(
                "\(line.datasetId) \(line.unit): declared \(line.declaredQuantity), provider \(provided), \(line.status.rawValue)")
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
        let events = batch.map {
            Components.Schemas.UsageEventInput(id: $0.id, grantId: $0.grant, datasetId: $0.dataset, unit: $0.unit,
                                               quantity: Int64($0.quantity), time: Self.beijing($0.time))
        }
        let results = try await api(company).reportUsage(body: .json(.init(events: events))).ok.body.json.results
        guard results.count == batch.count else {
            throw DemoError("a usage batch of \(batch.count) was answered with another number of results")
        }
        summary.usage[index].sent += batch.count
        for (event, result) in zip(batch, results) {
            switch result.status {
            case .accepted:
                summary.usage[index].accepted += 1
                if late { summary.usage[index].lateAccepted += 1 }
                accepted[period, default: []].insert("\(company)/\(event.id)")
                recentlyAccepted[company, default: []].append(event)
                if recentlyAccepted[company, default: []].count > 40 { recentlyAccepted[company]?.removeFirst() }
            case .duplicate:
                summary.usage[index].duplicates += 1
            case .rejected:
                summary.usage[index].rejected[result.code ?? "unknown", default: 0] += 1
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
        var query = Operations.ReadRecords.Input.Query(grantId: stream.grant, limit: limit)
        let key = "\(stream.company)/\(stream.dataset)"
        let filter = random.chance(0.2) ? Self.filterable.sorted().first(where: Self.fields(of: stream.dataset).contains) : nil
        if let filter {
            let value = filter == "road_id" ? "R0\(random.int(in: 1...9))" : "北疆港区-0\(random.int(in: 1...9))"
            query.filters = .init(additionalProperties: [filter: value])
        } else {
            query.cursor = cursors[key]
        }
        summary.usage[index].calls += 1
        let page: Components.Schemas.DataPage
        switch try await api(stream.company).readRecords(path: .init(datasetId: stream.dataset), query: query) {
        case .ok(let ok):
            page = try ok.body.json
        case let refused:
            summary.usage[index].refused[try Self.problemCode(refused), default: 0] += 1
            return
        }
        summary.usage[index].served += 1
        summary.usage[index].records += page.records.count
        summary.usage[index].gatewayEvents += page.usage.units.additionalProperties.count
        // Paging on from where the unfiltered reading got to; after the last page, from the start.
        if filter == nil { cursors[key] = page.nextCursor }
    }

    /// One call of the upstream dataset through PDX: forwarded to Beijing's interface, cut to the
    /// granted fields, metered before it is answered.
    private mutating func readUpstream(district: String) async throws {
        guard let grant = grants["signals"] else { throw DemoError("no grant of the upstream dataset") }
        let page = try await api("jinjin").readUpstream(
            path: .init(datasetId: Self.upstreamDataset, path: "junctions"),
            query: .init(grantId: grant, forwarded: .init(additionalProperties: ["district": district]))).ok.body.json
        let records = page.records.map(\.additionalProperties.value)
        if records.contains(where: { $0["camera_operator"] != nil || $0["maintenance_contact"] != nil }) {
            throw DemoError("an upstream record kept a field the grant does not cover")
        }
        upstreamTally.calls += 1
        upstreamTally.records += records.count
        if let index = summary.usage.firstIndex(where: { $0.period == DemoMarketplace.secondPeriod }) {
            summary.usage[index].upstreamEvents += page.usage.units.additionalProperties.count
        }
    }

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
        let closed = try await api("finance").closeSettlement(path: .init(period: "\(period)")).ok.body.json
        guard closed.status == .closed, let index = closed.logIndex else {
            throw DemoError("closing \(period) answered \(closed.status.rawValue)")
        }
        let report = try await sealedReport(period)
        let digests = closed.reports?.additionalProperties ?? [:]
        let clawback = report.lines.filter { $0.kind == .clawback }.map(\.authorityMinor).reduce(0, +)
        summary.closed.append(DemoSummary.Closed(period: period, logIndex: UInt64(index), totals: report.totals,
                                                 parties: report.parties, clawbackMinor: clawback, digests: digests))
    }

    /// Every format of `period`'s report as finance downloads it, and one operator's own statement.
    private mutating func writeReports(_ period: Period) async throws {
        try FileManager.default.createDirectory(atPath: paths.reports, withIntermediateDirectories: true)
        try write(bytes: try await sealedReportBytes(period), to: paths.report(period, "json"))
        for format in [Operations.GetSettlementReport.Input.Query.FormatPayload.csv, .xlsx] {
            try await download(period, .init(format: format), as: "finance", to: paths.report(period, format.rawValue))
        }
        try await download(period, .init(format: .csv, section: .parties), as: "finance", to: paths.parties(period))
        summary.statementOperator = operators["jiyun"] ?? ""
        try await download(period, .init(format: .csv), as: "jiyun", to: paths.statement(period, operatorID: summary.statementOperator))
    }

    /// A CSV or XLSX report of `period` as `actor` downloads it, written to `file` as it came.
    private func download(_ period: Period, _ query: Operations.GetSettlementReport.Input.Query, as actor: String,
                          to file: String) async throws {
        let body: HTTPBody
        switch try await api(actor).getSettlementReport(path: .init(period: "\(period)"), query: query).ok.body {
        case .csv(let csv): body = csv
        case .applicationVnd_openxmlformatsOfficedocument_spreadsheetml_sheet(let xlsx): body = xlsx
        case .json: throw DemoError("the \(period) report came as JSON, not as \(query.format?.rawValue ?? "asked")")
        }
        try write(bytes: try await [UInt8](collecting: body, upTo: Self.largestFile), to: file)
    }

    /// The JSON report of `period`, byte for byte as it was sealed: the generated client would decode
    /// it into its types, so it is read with a plain request.
    private func sealedReportBytes(_ period: Period) async throws -> [UInt8] {
        let path = "/v1/settlements/\(period)/report?format=json"
        let answer = try await client.send(.get, path, key: keys["finance"])
        guard answer.status == .ok else { throw DemoError("GET \(path) answered \(answer.status.code): \(answer.text.prefix(300))") }
        return answer.body
    }

    private func sealedReport(_ period: Period) async throws -> SettlementReport {
        try SettlementReport(json: try await sealedReportBytes(period))
    }

    /// The largest report file the demo expects (a year's XLSX is a few MB).
    private static let largestFile = 512 << 20

    private func write(bytes: [UInt8], to file: String) throws {
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else { throw DemoError("cannot write \(file)") }
    }

    /// The generated client with `actor`'s key (`admin`, or a name of ``keys``).
    private func api(_ actor: String) throws -> Client {
        guard let key = actor == "admin" ? adminKey : keys[actor] else { throw DemoError("the scenario has no key for \(actor)") }
        return client.api(key: key)
    }

    /// The contract's value spelled `raw` (an openness, a grade, a role, …).
    static func choice<Value: RawRepresentable>(_ raw: String) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: raw) else { throw DemoError("'\(raw)' is not a \(Value.self) of the contract") }
        return value
    }

    /// The problem code of a refused data API call.
    static func problemCode(_ output: Operations.ReadRecords.Output) throws -> String {
        switch output {
        case .ok: throw DemoError("a served page is not a refusal")
        case .badRequest(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .unauthorized(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .forbidden(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .notFound(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .conflict(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .tooManyRequests(let answer): try answer.body.applicationProblemJson.code.rawValue
        case .default(_, let answer): try answer.body.applicationProblemJson.code.rawValue
        }
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
        _ = try await api("admin").advanceTestClock(body: .json(.init(now: date))).ok
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
