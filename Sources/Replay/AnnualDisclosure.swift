public import AuditLog
public import Foundation
public import Licensing
public import Metering
public import Settlement
import Vetting

/// The annual public announcement (公示) of a year's authorized operation, derived from the log
/// alone: whom the marketplace authorized (the operators of every grant in force at some moment of
/// the year), the datasets published by the year's end with their classification, those grants with
/// their scenario, term and prices, and the revenue returned to each authority in each closed month
/// of the year. Companies are named (a legal name and a unified social credit code are not personal
/// data); no person is.
///
/// Derived from the replay of the log's first ``logSize`` entries, so that an auditor replaying an
/// export at least that long derives the same files byte for byte (`pdx-verify --disclosure-report`).
public struct AnnualDisclosure: Sendable {
    /// The format of ``files``; a change of any file's layout is a new format.
    public static let format = "pdx-disclosure/1"

    public let year: Int
    /// The log's origin, from `log.initialized`.
    public let origin: String
    /// The entries it was derived from: the log's first `logSize`.
    public let logSize: UInt64
    public let operators: [OperatorRow]
    public let datasets: [DatasetRow]
    public let grants: [GrantRow]
    public let revenue: [RevenueRow]
    /// The months of the year whose settlement was closed, in order: revenue is known for these.
    public let closedPeriods: [Period]

    /// An operator authorized in the year.
    public struct OperatorRow: Sendable, Hashable {
        public let id: String
        public let legalName: String
        public let uscc: String
        public let tier: String
    }

    /// A dataset of the catalogue at the year's end.
    public struct DatasetRow: Sendable, Hashable {
        public let id: String
        public let authorityID: String
        public let title: String
        public let theme: String
        public let openness: Openness
        public let grade: Grade
    }

    /// One dataset of a grant in force in the year, with the grant's terms as last amended.
    public struct GrantRow: Sendable, Hashable {
        public let grantID: String
        public let operatorID: String
        public let purpose: String
        public let scenario: Scenario
        public let startsAt: Date
        public let endsAt: Date
        public let datasetID: String
        public let authorityID: String
        /// `call=0.04; record=0.001`, units in order.
        public let prices: String
        /// `call: up to 1000 at 0.18, then 0.12`, or empty.
        public let tiers: String
    }

    /// What an authority was credited for a closed month: its share of every line of the month's
    /// settlement (usage, adjustments and clawbacks alike).
    public struct RevenueRow: Sendable, Hashable {
        public let authorityID: String
        public let period: Period
        public let currency: Currency
        public let authorityMinor: Int64
    }

    /// The disclosure of `year` from `replay`, which has replayed (and finished) the log's first
    /// `logSize` entries.
    public init(year: Int, replay: inout LogReplay, logSize: UInt64) {
        let state = replay.state
        let calendar = replay.calendar
        let first = Period(year: year, month: 1), last = Period(year: year, month: 12)
        let yearStart = first.map { calendar.start(of: $0) } ?? .distantFuture
        let yearEnd = last.map { calendar.end(of: $0) } ?? .distantPast
        self.year = year
        self.origin = state.origin ?? ""
        self.logSize = logSize

        let grants = state.grants.values.map(\.grant)
            .filter { grant in grant.activeSpans.contains { $0.from < yearEnd && $0.until > yearStart } }
            .sorted { $0.id < $1.id }
        self.grants = grants.flatMap { grant in
            grant.items.map { item in
                GrantRow(grantID: grant.id, operatorID: grant.operatorID, purpose: grant.purpose, scenario: grant.scenario,
                         startsAt: grant.startsAt, endsAt: grant.endsAt, datasetID: item.datasetID, authorityID: item.authorityID,
                         prices: item.units.map { "\($0.rawValue)=\(item.unitPrices[$0] ?? .zero)" }.joined(separator: "; "),
                         tiers: Self.tiers(item.priceTiers))
            }
        }
        var operators: [OperatorRow] = []
        for id in Set(grants.map(\.operatorID)).sorted() {
            guard let found = replay.currentOperator(id) else { continue }
            operators.append(OperatorRow(id: id, legalName: found.application.legalName,
                                         uscc: found.application.uscc.description, tier: found.application.tier.rawValue))
        }
        self.operators = operators
        self.datasets = state.datasets.values.filter { $0.publishedAt < yearEnd }.sorted { $0.id < $1.id }.map {
            DatasetRow(id: $0.id, authorityID: $0.authorityID, title: $0.title, theme: $0.theme, openness: $0.openness, grade: $0.grade)
        }
        let closed = state.settlements.filter { $0.key.year == year }.sorted { $0.key < $1.key }
        self.closedPeriods = closed.map(\.key)
        self.revenue = closed.flatMap { period, settled in
            settled.report.parties.compactMap { part -> RevenueRow? in
                guard case .authority(let id) = part.party else { return nil }
                return RevenueRow(authorityID: id, period: period, currency: settled.report.currency, authorityMinor: part.amountMinor)
            }.sorted { $0.authorityID < $1.authorityID }
        }
        authorityNames = state.authorities
        operatorNames = Dictionary(uniqueKeysWithValues: operators.map { ($0.id, $0.legalName) })
    }

    private let authorityNames: [String: String]
    private let operatorNames: [String: String]

    static func tiers(_ tiers: [MeteringUnit: [PriceTier]]) -> String {
        tiers.keys.sorted().map { unit in
            "\(unit.rawValue): " + (tiers[unit] ?? []).map { tier in
                tier.upTo.map { "up to \($0) at \(tier.unitPrice)" } ?? "then \(tier.unitPrice)"
            }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    // MARK: the files

    /// The file names, in the order ``files()`` gives them.
    public static let fileNames = ["disclosure.json", "operators.csv", "datasets.csv", "grants.csv", "revenue.csv", "index.html"]

    /// Every file of the announcement, by name: the JSON document, one CSV per table, and one printable
    /// page in Chinese. The same disclosure always gives the same bytes.
    public func files() -> [(name: String, bytes: [UInt8])] {
        [("disclosure.json", json()), ("operators.csv", operatorsCSV()), ("datasets.csv", datasetsCSV()),
         ("grants.csv", grantsCSV()), ("revenue.csv", revenueCSV()), ("index.html", html())]
    }

    func json() -> [UInt8] {
        let document: JSONValue = .object([
            "format": .string(Self.format), "year": JSONValue(year), "origin": .string(origin), "log_size": JSONValue(Int(logSize)),
            "closed_periods": .array(closedPeriods.map { .string($0.description) }),
            "operators": .array(operators.map {
                ["id": .string($0.id), "legal_name": .string($0.legalName), "uscc": .string($0.uscc), "tier": .string($0.tier)]
            }),
            "datasets": .array(datasets.map {
                ["id": .string($0.id), "authority_id": .string($0.authorityID), "title": .string($0.title), "theme": .string($0.theme),
                 "openness": .string($0.openness.rawValue), "grade": .string($0.grade.rawValue)]
            }),
            "grants": .array(grants.map {
                ["grant_id": .string($0.grantID), "operator_id": .string($0.operatorID), "purpose": .string($0.purpose),
                 "scenario": .string($0.scenario.rawValue), "starts_at": .string(RFC3339.format($0.startsAt)),
                 "ends_at": .string(RFC3339.format($0.endsAt)), "dataset_id": .string($0.datasetID),
                 "authority_id": .string($0.authorityID), "prices": .string($0.prices), "tiers": .string($0.tiers)]
            }),
            "revenue": .array(revenue.map {
                ["authority_id": .string($0.authorityID), "period": .string($0.period.description), "currency": .string($0.currency.code),
                 "authority_minor": JSONValue(Int($0.authorityMinor)), "amount": .string(MinorUnits.decimal($0.authorityMinor, in: $0.currency))]
            }),
        ])
        return ((try? document.canonicalBytes()) ?? []) + [0x0A]
    }

    func operatorsCSV() -> [UInt8] {
        CSVDocument.bytes(header: ["operator_id", "legal_name", "uscc", "tier"],
                          rows: operators.map { [$0.id, $0.legalName, $0.uscc, $0.tier] })
    }

    func datasetsCSV() -> [UInt8] {
        CSVDocument.bytes(header: ["dataset_id", "authority_id", "title", "theme", "openness", "grade"],
                          rows: datasets.map { [$0.id, $0.authorityID, $0.title, $0.theme, $0.openness.rawValue, $0.grade.rawValue] })
    }

    func grantsCSV() -> [UInt8] {
        CSVDocument.bytes(
            header: ["grant_id", "operator_id", "purpose", "scenario", "starts_at", "ends_at", "dataset_id", "authority_id", "prices", "tiers"],
            rows: grants.map {
                [$0.grantID, $0.operatorID, $0.purpose, $0.scenario.rawValue, RFC3339.format($0.startsAt), RFC3339.format($0.endsAt),
                 $0.datasetID, $0.authorityID, $0.prices, $0.tiers]
            })
    }

    func revenueCSV() -> [UInt8] {
        CSVDocument.bytes(header: ["authority_id", "period", "currency", "authority_minor", "amount"],
                          rows: revenue.map {
                              [$0.authorityID, $0.period.description, $0.currency.code, String($0.authorityMinor),
                               MinorUnits.decimal($0.authorityMinor, in: $0.currency)]
                          })
    }

    // MARK: the printable page

    func html() -> [UInt8] {
        func cell(_ text: String) -> String { "<td>\(MarkupText.escaped(text))</td>" }
        func table(_ caption: String, _ headers: [String], _ rows: [[String]]) -> String {
            var out = "<h2>\(MarkupText.escaped(caption))</h2>\n"
            guard !rows.isEmpty else { return out + "<p>无。</p>\n" }
            out += "<table>\n<thead><tr>" + headers.map { "<th>\(MarkupText.escaped($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for row in rows { out += "<tr>" + row.map(cell).joined() + "</tr>\n" }
            return out + "</tbody>\n</table>\n"
        }
        func authority(_ id: String) -> String { authorityNames[id].map { "\($0)（\(id)）" } ?? id }
        // The calendar date in Beijing (UTC+8, no daylight saving).
        func date(_ value: Date) -> String { String(Timestamp.format(Timestamp.milliseconds(value) + 8 * 3_600_000).prefix(10)) }

        var page = """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(year) 年度公共数据授权运营情况公示</title>
            <style>
            body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #111; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; font-size: 0.9em; }
            th, td { border: 1px solid #888; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
            th { background: #eee; }
            @media print { body { margin: 0; } h2 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
            </style>
            </head>
            <body>
            <h1>\(year) 年度公共数据授权运营情况公示</h1>
            <p>本公示由审计日志 \(MarkupText.escaped(origin)) 的前 \(logSize) 条记录推导生成，可用 <code>pdx-verify --disclosure-report</code> 逐字节复核。\
            已结算月份：\(closedPeriods.isEmpty ? "无" : closedPeriods.map(\.description).joined(separator: "、"))。</p>

            """
        page += table("一、获得授权的运营单位", ["运营单位编号", "单位名称", "统一社会信用代码", "类别"],
                      operators.map { [$0.id, $0.legalName, $0.uscc, $0.tier == "enhanced" ? "增强" : "标准"] })
        page += table("二、数据集及其分类分级", ["数据集编号", "提供机构", "名称", "主题", "开放属性", "数据级别"],
                      datasets.map { [$0.id, authority($0.authorityID), $0.title, $0.theme, Self.openness($0.openness), Self.grade($0.grade)] })
        page += table("三、授权情况（场景、期限与价格）",
                      ["授权编号", "运营单位", "用途", "场景", "起始日期", "截止日期", "数据集", "单价", "阶梯价格"],
                      grants.map {
                          [$0.grantID, operatorNames[$0.operatorID] ?? $0.operatorID, $0.purpose,
                           $0.scenario == .publicInterest ? "公共治理与公益事业" : "产业发展与行业应用",
                           date($0.startsAt), date($0.endsAt), $0.datasetID, $0.prices, $0.tiers]
                      })
        page += table("四、各数据提供机构每月收益返还（元）", ["数据提供机构", "月份", "币种", "返还金额"],
                      revenue.map { [authority($0.authorityID), $0.period.description, $0.currency.code,
                                     MinorUnits.decimal($0.authorityMinor, in: $0.currency)] })
        page += "</body>\n</html>\n"
        return Array(page.utf8)
    }

    static func openness(_ value: Openness) -> String {
        switch value {
        case .open: "无条件开放"
        case .conditional: "有条件开放"
        case .closed: "不予开放"
        }
    }

    static func grade(_ value: Grade) -> String {
        switch value {
        case .general: "一般数据"
        case .important: "重要数据"
        case .core: "核心数据"
        }
    }
}

extension AnnualDisclosure {
    /// What `disclosure.json` says it was derived from: the year and the log's size. Nil for a file
    /// that is not a disclosure.
    public static func header(of json: [UInt8]) -> (year: Int, logSize: UInt64)? {
        guard let document = try? JSONValue.parse(json), document["format"]?.stringValue == format,
              let year = document["year"]?.integerValue, (1970...9999).contains(year),
              let size = document["log_size"]?.integerValue, size >= 0
        else { return nil }
        return (year, UInt64(size))
    }

    /// The findings of comparing the files of a disclosure as given (`given`, by file name) with
    /// those derived: one per file that is missing, different or added, naming the first line that
    /// differs. Empty when every byte is the same.
    public func differences(from given: [String: [UInt8]], directory: String) -> [ReplayFinding] {
        var findings: [ReplayFinding] = []
        for (name, derived) in files() {
            let location = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            guard let bytes = given[name] else {
                findings.append(ReplayFinding(.disclosureReportDiffers, at: location, "the file is missing"))
                continue
            }
            guard bytes != derived else { continue }
            let givenLines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            let derivedLines = derived.split(separator: 0x0A, omittingEmptySubsequences: false)
            let line = zip(givenLines, derivedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(givenLines.count, derivedLines.count)
            findings.append(ReplayFinding(.disclosureReportDiffers, at: location,
                                          "line \(line + 1) is not what the log derives (the derived line: "
                                          + "\(String(decoding: line < derivedLines.count ? derivedLines[line].prefix(200) : [], as: UTF8.self)))"))
        }
        for name in given.keys.sorted() where !Self.fileNames.contains(name) {
            findings.append(ReplayFinding(.disclosureReportDiffers, at: directory, "\(name) is not a file of the disclosure"))
        }
        return findings
    }
}
