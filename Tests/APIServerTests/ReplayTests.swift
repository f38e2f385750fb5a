import Identity
import APIServer
import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Licensing
import Metering
import NIOCore
import PDXTesting
import Persistence
import Replay
import Settlement
import Testing

/// A month and a half of a marketplace, walked over HTTP: open, co-approved, rejected and tiered
/// grants, usage with duplicates, two closes, an adjustment and a revenue cap. Its log is what the
/// replay tests replay, untouched and then edited.
struct ReplayScenario {
    var s: SettlementMarket
    var coGrant: String
    var rejectedGrant: String
    var first: Period
    var second: Period
    /// Every entry of the log.
    var entries: [AuditEntry]

    static func run(_ market: TestMarketplace, _ runtime: Runtime, _ client: any TestClientProtocol) async throws -> ReplayScenario {
        let s = try await SettlementMarket.setUp(market, client)
        let m = s.m
        #expect(try await m.publish("bj-cond", by: "bj-a", openness: "conditional", client).status == .created)
        #expect(try await m.publish("tj-open", by: "tj-a", client).status == .created)
        let startsAt = RFC3339.format(s.start.addingTimeInterval(-3600))
        let endsAt = RFC3339.format(s.start.addingTimeInterval(200 * 86_400))
        let co = try await m.requestGrant("big", LicensingMarket.grantBody([("bj-cond", "0.04"), ("tj-open", "0.05")], startsAt: startsAt, endsAt: endsAt), client)
        let coGrant = try #require(co["id"] as? String)
        for reviewer in ["bj-a", "tj-a"] {
            let decided = try await client.request(.post, "/v1/grants/\(coGrant)/decisions", key: m.actors[reviewer], body: #"{"decision":"approve"}"#)
            #expect(decided.status == .ok, "\(decided.text)")
        }
        let refused = try await m.requestGrant("acme", LicensingMarket.grantBody([("bj-cond", "0.04")], startsAt: startsAt, endsAt: endsAt), client)
        let rejectedGrant = try #require(refused["id"] as? String)
        let rejected = try await client.request(.post, "/v1/grants/\(rejectedGrant)/decisions", key: m.actors["bj-a"],
                                                body: #"{"decision":"reject","reason":"Purpose too broad"}"#)
        #expect(rejected.status == .ok, "\(rejected.text)")

        let calendar = MarketCalendar()
        let first = calendar.period(of: s.start)
        let second = calendar.period(of: calendar.end(of: first))
        let t = s.start.addingTimeInterval(60)
        #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, t), ("a-2", 5, t), ("a-3", 1, t)], client) == ["accepted", "accepted", "accepted"])
        #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, t), ("a-4", 2, t)], client) == ["duplicate", "accepted"])
        #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 12, t), ("b-2", 4, t)], client) == ["accepted", "accepted"])
        let coBody = usageBody([usageEvent("c-1", grant: coGrant, dataset: "bj-cond", quantity: 7, time: t),
                                usageEvent("c-2", grant: coGrant, dataset: "tj-open", quantity: 9, time: t)])
        #expect(try await client.request(.post, "/v1/usage", key: m.actors["big"], body: coBody).usageStatuses() == ["accepted", "accepted"])

        try await s.advance(to: calendar.end(of: first).addingTimeInterval(25 * 3600), client)
        let closed = try await s.close(first, client)
        #expect(closed.status == .ok, "\(closed.text)")
        let line = try #require(lines(try await s.report(first, client).json()).first { $0["grant_id"] as? String == s.acmeGrant })
        let correction = #"{"corrects":"\#(line["line_id"] as? String ?? "")","amount_minor":-10,"reason":"Retried calls billed twice"}"#
        #expect(try await client.request(.post, "/v1/settlements/\(second)/adjustments", key: m.actors["fin"], body: correction).status == .created)
        let bigID = try #require(m.operators["big"])
        let cap = try await client.request(.put, "/v1/operators/\(bigID)/revenue-cap", key: m.actors["fin"],
                                           body: #"{"year":\#(second.year),"amount_minor":100,"reason":"最高准许收入"}"#)
        #expect(cap.status == .ok, "\(cap.text)")
        let inSecond = calendar.start(of: second).addingTimeInterval(7200)
        #expect(try await s.use("big", grant: s.bigGrant, [("b-3", 100, inSecond)], client) == ["accepted"])
        try await s.advance(to: calendar.end(of: second).addingTimeInterval(25 * 3600), client)
        #expect(try await s.close(second, client).status == .ok)

        let size = try await runtime.log.head().size
        var entries: [AuditEntry] = []
        while UInt64(entries.count) < size {
            entries += try await runtime.log.entries(start: UInt64(entries.count), limit: 500).map { try AuditEntry(decoding: $0.body) }
        }
        return ReplayScenario(s: s, coGrant: coGrant, rejectedGrant: rejectedGrant, first: first, second: second, entries: entries)
    }

    /// The replay of `entries`, renumbered from 0, finished.
    static func replay(_ entries: [AuditEntry]) -> LogReplay {
        var replay = LogReplay()
        for (index, entry) in entries.enumerated() {
            replay.apply(AuditEntry(seq: UInt64(index), time: entry.time, record: entry.record))
        }
        replay.finish()
        return replay
    }

    /// The index of the first entry with `action` whose data member `key` is `value` (any, when nil).
    func index(of action: String, where key: String? = nil, is value: String? = nil, from start: Int = 0) throws -> Int {
        try #require(entries.indices.first { index in
            index >= start && entries[index].record.action == action
                && (key == nil || entries[index].record.data[key!]?.stringValue == value)
        })
    }
}

@Suite("Replay: the log alone rebuilds the marketplace and proves it lawful")
struct ReplayTests {
    @Test("replaying the log gives the live state: grants, operators, counters, settlements", arguments: Backend.available)
    func replayEqualsLiveState(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await ReplayScenario.run(market, runtime, client)
            let replay = ReplayScenario.replay(scenario.entries)
            #expect(replay.findings.isEmpty, "\(replay.findings)")
            let state = replay.state
            #expect(state.entryCount == UInt64(scenario.entries.count))
            try await runtime.database.read { tx in
                for (id, replayed) in state.grants {
                    let live = try #require(try await tx.grant(id: id))
                    #expect(replayed.grant.status == live.status, "\(id)")
                    #expect(replayed.grant.items == live.items, "\(id)")
                    #expect(replayed.grant.activeSpans == live.activeSpans, "\(id)")
                }
                #expect(state.grants[scenario.coGrant]?.grant.status == .active)
                #expect(state.grants[scenario.rejectedGrant]?.grant.status == .denied)
                for period in [scenario.first, scenario.second] {
                    let live = Set(try await tx.usageCounters(period: period, filter: UsageFilter()))
                    let replayed = Set(state.counters.values.filter { $0.key.period == period })
                    #expect(replayed == live, "\(period)")
                    let stored = try #require(try await tx.settlement(period))
                    let report = try #require(state.settlements[period])
                    #expect(report.report == (try SettlementReport(json: stored.document)))
                    #expect(report.digests == stored.digests)
                    #expect(report.seq == stored.logIndex)
                }
                for id in state.operatorRecords.keys {
                    var copy = replay
                    let live = try #require(try await tx.operatorByID(id))
                    #expect(copy.currentOperator(id) == live)
                }
            }
            // Seven accepted events of acme (one duplicate not counted), three of big's tiered grant, two co-approved.
            #expect(state.eventCount == 4 + 3 + 2)
        }
    }

    @Test("every kind of unlawful entry is found, at its entry", arguments: Backend.available)
    func craftedLogs(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await ReplayScenario.run(market, runtime, client)
            let base = scenario.entries
            func expectFinding(_ code: ReplayFinding.Code, at index: Int?, _ edit: (inout [AuditEntry]) throws -> Void,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
                var entries = base
                try edit(&entries)
                let findings = ReplayScenario.replay(entries).findings
                let found = findings.first { $0.code == code }
                #expect(found != nil, "no \(code.rawValue) in \(findings)", sourceLocation: sourceLocation)
                if let index, let found {
                    #expect(found.location == "entry \(index)", "\(found)", sourceLocation: sourceLocation)
                }
            }
            func setData(_ entries: inout [AuditEntry], _ index: Int, _ change: (inout [String: JSONValue]) -> Void) {
                var record = entries[index].record
                change(&record.data)
                entries[index].record = record
            }

            let decidedBJ = try scenario.index(of: "grant.decided", where: "grant_id", is: scenario.coGrant)
            let decidedTJ = try scenario.index(of: "grant.decided", where: "grant_id", is: scenario.coGrant, from: decidedBJ + 1)
            let activatedCo = try scenario.index(of: "grant.activated", where: "grant_id", is: scenario.coGrant)
            // Tianjin's approval removed: the grant is activated on Beijing's alone.
            try expectFinding(.activatedWithoutApproval, at: activatedCo - 1) { $0.remove(at: decidedTJ) }
            // Beijing's decision made by Tianjin's reviewer.
            let tjReviewer = try #require(base[decidedTJ].record.data["reviewer_id"]?.stringValue)
            try expectFinding(.reviewerIneligible, at: decidedBJ) { entries in
                setData(&entries, decidedBJ) { $0["reviewer_id"] = .string(tjReviewer) }
                entries[decidedBJ].record.actor = tjReviewer
            }
            // Suspended by Beijing, reinstated by Tianjin: only the suspending authority or an admin may.
            let activated = base[activatedCo]
            let revision = try #require(activated.record.data["revision"]?.integerValue)
            func step(_ action: String, _ revision: Int, _ members: [String: JSONValue], actor: String) -> AuditEntry {
                var entry = activated
                entry.record.action = action
                entry.record.actor = actor
                for key in ["via", "approvals"] { entry.record.data[key] = nil }
                entry.record.data["revision"] = JSONValue(revision)
                for (key, value) in members { entry.record.data[key] = value }
                return entry
            }
            var crossed = base
            crossed.insert(step("grant.suspended", revision + 1, ["cause": "authority", "authority_id": "bj", "reason": "audit", "reasons": []],
                                actor: "pr_bj"), at: activatedCo + 1)
            crossed.insert(step("grant.reinstated", revision + 2, ["cause": "authority", "authority_id": "tj", "reason": .null],
                                actor: "pr_tj"), at: activatedCo + 2)
            let crossedFindings = ReplayScenario.replay(crossed).findings
            #expect(crossedFindings.contains { $0.code == .grantStepInvalid && $0.location == "entry \(activatedCo + 2)"
                && $0.reason.contains("authority:bj suspended it") }, "\(crossedFindings)")
            // By Beijing itself, the same steps are lawful.
            crossed[activatedCo + 2] = step("grant.reinstated", revision + 2, ["cause": "authority", "authority_id": "bj", "reason": .null],
                                            actor: "pr_bj")
            let lawful = ReplayScenario.replay(crossed).findings
            #expect(!lawful.contains { $0.reason.contains("suspended it") }, "\(lawful)")

            // Beijing decides twice.
            try expectFinding(.reviewerRepeated, at: decidedBJ + 1) { $0.insert($0[decidedBJ], at: decidedBJ + 1) }
            // The open grant's price raised above the dataset's ceiling of 0.05.
            let requestedAcme = try scenario.index(of: "grant.requested", where: "grant_id", is: scenario.s.acmeGrant)
            try expectFinding(.priceAboveCeiling, at: requestedAcme + 1) { entries in
                setData(&entries, requestedAcme) { data in
                    var items = data["datasets"]?.arrayValue ?? []
                    var item = items[0].objectValue ?? [:]
                    item["unit_prices"] = ["call": "0.09"]
                    items[0] = .object(item)
                    data["datasets"] = .array(items)
                }
            }
            // A denied grant activated.
            let deniedAt = try scenario.index(of: "grant.denied", where: "grant_id", is: scenario.rejectedGrant)
            try expectFinding(.grantStepInvalid, at: deniedAt + 1) { entries in
                var activated = entries[activatedCo]
                activated.record.data["grant_id"] = .string(scenario.rejectedGrant)
                entries.insert(activated, at: deniedAt + 1)
            }
            // Usage moved onto the denied grant.
            let firstUsage = try scenario.index(of: "usage.recorded")
            func editUsage(_ entries: inout [AuditEntry], _ index: Int, _ change: (inout [String: JSONValue]) -> Void) {
                setData(&entries, index) { data in
                    var groups = data["usage"]?.arrayValue ?? []
                    var group = groups[0].objectValue ?? [:]
                    change(&group)
                    groups[0] = .object(group)
                    data["usage"] = .array(groups)
                }
            }
            try expectFinding(.usageWithoutGrant, at: firstUsage) { entries in
                editUsage(&entries, firstUsage) { $0["grant_id"] = .string(scenario.rejectedGrant); $0["dataset_id"] = "bj-cond" }
            }
            // One event's quantity above the quota of 1,000,000 calls a period.
            try expectFinding(.usageOverQuota, at: firstUsage) { entries in
                editUsage(&entries, firstUsage) { group in
                    var events = group["events"]?.arrayValue ?? []
                    var event = events[0].arrayValue ?? []
                    event[1] = JSONValue(2_000_000)
                    events[0] = .array(event)
                    group["events"] = .array(events)
                }
            }
            // Events logged under the next period.
            try expectFinding(.usagePeriodMismatch, at: firstUsage) { entries in
                editUsage(&entries, firstUsage) { $0["period"] = .string(scenario.second.description) }
            }
            // The same batch logged twice.
            try expectFinding(.usageDuplicate, at: firstUsage + 1) { $0.insert($0[firstUsage], at: firstUsage + 1) }
            // Usage of the first period appended after it was closed.
            let closeFirst = try scenario.index(of: "settlement.closed", where: "period", is: scenario.first.description)
            try expectFinding(.periodChangedAfterClose, at: closeFirst + 1) { entries in
                var late = entries[firstUsage]
                late.record.data["batch_id"] = "ub_late"
                entries.insert(late, at: closeFirst + 1)
                editUsage(&entries, closeFirst + 1) { group in
                    group["events"] = [["late-1", 1, group["events"]?[0]?[2] ?? 0]]
                }
            }
            // One fen moved from the authorities to the platform in the close's totals.
            try expectFinding(.settlementMismatch, at: closeFirst) { entries in
                setData(&entries, closeFirst) { data in
                    var totals = data["totals"]?.objectValue ?? [:]
                    totals["authority_minor"] = JSONValue((totals["authority_minor"]?.integerValue ?? 0) - 1)
                    totals["platform_minor"] = JSONValue((totals["platform_minor"]?.integerValue ?? 0) + 1)
                    data["totals"] = .object(totals)
                }
            }
            // A report digest replaced.
            try expectFinding(.settlementMismatch, at: closeFirst) { entries in
                setData(&entries, closeFirst) { data in
                    var reports = data["reports"]?.objectValue ?? [:]
                    reports["csv"] = .string(String(repeating: "0", count: 64))
                    data["reports"] = .object(reports)
                }
            }
            // The first period's close removed: the second closes while the first is open.
            let closeSecond = try scenario.index(of: "settlement.closed", where: "period", is: scenario.second.description)
            try expectFinding(.periodClosedOutOfOrder, at: closeSecond - 1) { $0.remove(at: closeFirst) }
            // The adjustment's copied split edited.
            let adjusted = try scenario.index(of: "settlement.adjusted")
            try expectFinding(.adjustmentInvalid, at: adjusted) { entries in
                setData(&entries, adjusted) { $0["authority_bps"] = 9000 }
            }
            // An operator's term lengthened.
            let approved = try scenario.index(of: "operator.approved")
            try expectFinding(.operatorStepInvalid, at: approved - 1) { entries in
                setData(&entries, approved) { $0["approved_until"] = "2099-01-01T00:00:00.000Z" }
            }
            // The open dataset published as core data: the grant activated on it breaks the rules.
            let published = try scenario.index(of: "dataset.published", where: "dataset_id", is: "bj-open")
            try expectFinding(.activatedAgainstPolicy, at: requestedAcme + 1) { entries in
                setData(&entries, published) { data in
                    var dataset = data["dataset"]?.objectValue ?? [:]
                    dataset["grade"] = "core"
                    data["dataset"] = .object(dataset)
                }
            }
            // A grant for an operator that never applied.
            try expectFinding(.unknownSubject, at: requestedAcme) { entries in
                setData(&entries, requestedAcme) { $0["operator_id"] = "op_nobody" }
            }
            // An action no release of PDX writes.
            try expectFinding(.unknownAction, at: 3) { entries in
                entries.insert(AuditEntry(seq: 0, time: entries[3].time, record: AuditRecord(actor: "system", action: "grant.approved")), at: 3)
            }
            // A member missing.
            try expectFinding(.recordMalformed, at: requestedAcme) { entries in
                setData(&entries, requestedAcme) { $0["datasets"] = nil }
            }
        }
    }

    @Test("reports are confirmed against the log, and an edited one is refused at its line", arguments: Backend.available)
    func reports(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let scenario = try await ReplayScenario.run(market, runtime, client)
            let replay = ReplayScenario.replay(scenario.entries)
            let period = scenario.first
            for query in ["format=json", "format=csv", "format=xlsx", "format=csv&party=operator:\(scenario.s.m.operators["acme"] ?? "")", "format=json&party=operator:\(scenario.s.m.operators["acme"] ?? "")"] {
                let bytes = Array(try await scenario.s.report(period, query: query, client).body.readableBytesView)
                let confirmed = try replay.checkReport(bytes, name: query).get()
                #expect(confirmed.period == period)
                #expect(confirmed.digestLogged == !query.contains("party"), "\(query)")
            }
            let json = try JSONValue.parse(Array(try await scenario.s.report(period, client).body.readableBytesView))
            var report = try #require(json.objectValue)
            var reportLines = report["lines"]?.arrayValue ?? []
            var line = try #require(reportLines[0].objectValue)
            let lineID = try #require(line["line_id"]?.stringValue)
            line["authority_minor"] = JSONValue((line["authority_minor"]?.integerValue ?? 0) - 1)
            line["platform_minor"] = JSONValue((line["platform_minor"]?.integerValue ?? 0) + 1)
            reportLines[0] = .object(line)
            report["lines"] = .array(reportLines)
            // Only the line edited: the report no longer reconciles with its own party totals.
            let unbalanced = try JSONValue.object(report).canonicalBytes()
            #expect(throws: ReplayFinding.self) { try replay.checkReport(unbalanced, name: "edited.json").get() }
            if case .failure(let finding) = replay.checkReport(unbalanced, name: "edited.json") {
                #expect(finding.code == .reportInvalid)
            }
            // The party totals moved too: it reconciles, and the line is named.
            var parties = report["parties"]?.arrayValue ?? []
            for (index, value) in parties.enumerated() {
                guard var party = value.objectValue, let name = party["party"]?.stringValue else { continue }
                let delta = name.hasPrefix("authority:\(line["authority_id"]?.stringValue ?? "")") ? -1 : name == "platform" ? 1 : 0
                party["amount_minor"] = JSONValue((party["amount_minor"]?.integerValue ?? 0) + delta)
                if let amount = party["amount_minor"]?.integerValue {
                    party["amount"] = .string(MinorUnits.decimal(Int64(amount), in: .cny))
                }
                parties[index] = .object(party)
            }
            report["parties"] = .array(parties)
            var totals = report["totals"]?.objectValue ?? [:]
            totals["authority_minor"] = JSONValue((totals["authority_minor"]?.integerValue ?? 0) - 1)
            totals["platform_minor"] = JSONValue((totals["platform_minor"]?.integerValue ?? 0) + 1)
            report["totals"] = .object(totals)
            line["authority_amount"] = .string(MinorUnits.decimal(Int64(line["authority_minor"]?.integerValue ?? 0), in: .cny))
            line["platform_amount"] = .string(MinorUnits.decimal(Int64(line["platform_minor"]?.integerValue ?? 0), in: .cny))
            reportLines[0] = .object(line)
            report["lines"] = .array(reportLines)
            let balanced = try JSONValue.object(report).canonicalBytes()
            switch replay.checkReport(balanced, name: "edited.json") {
            case .success: Issue.record("a report with a fen moved was confirmed")
            case .failure(let finding):
                #expect(finding.code == .reportDiffers, "\(finding)")
                #expect(finding.location == "edited.json line \(lineID)", "\(finding)")
                // The authority's part is named: its amount is the first member of the line that differs.
                #expect(finding.reason.hasPrefix("authority_amount is "), "\(finding)")
            }
            // A report of a period the log never closed.
            let unclosed = Array(String(decoding: balanced, as: UTF8.self)
                .replacingOccurrences(of: "\"period\":\"\(period)\"", with: "\"period\":\"2099-01\"").utf8)
            if case .failure(let finding) = replay.checkReport(unclosed, name: "x.json") { #expect(finding.code == .reportInvalid) }
        }
    }
}
