public import Foundation
import AuditLog
import Cryptography
import Licensing
import Metering
import Vetting

/// What ``SampleLog/write(events:to:seed:progress:)`` wrote.
public struct SampleLogSummary: Sendable {
    /// The log's origin, the name of its key.
    public var origin: String
    /// The verifier key that signs the checkpoint (also in the export's `vkey` file).
    public var verifierKey: String
    /// Entries in the log.
    public var entries: UInt64
    /// `usage.recorded` entries and the usage events in them.
    public var usageEntries: Int
    public var usageEvents: Int
    /// Operators that applied, and how many of them were rejected.
    public var operators: Int
    public var rejectedOperators: Int
    /// Grants in force.
    public var grants: Int
    public var datasets: Int

    /// One line for a person.
    public var text: String {
        """
        wrote \(entries) entries: \(usageEvents) usage events in \(usageEntries) usage.recorded entries, \
        \(operators) operators (\(rejectedOperators) rejected), \(grants) grants on \(datasets) datasets; \
        log "\(origin)", key \(verifierKey)
        """
    }
}

/// A year of a busy marketplace as a signed audit-log export (C2SP tlog-tiles), written directly
/// with the log's own entry, tile and checkpoint code rather than through a server: minutes for
/// ten million usage events, where the HTTP path would take hours and a database besides.
///
/// The marketplace: three authorities with a reviewer each, twelve open datasets, operators that
/// apply and are reviewed through the vetting lifecycle (one in ten rejected), one to three grants
/// on a year's term for each approved operator, and usage declared in batches of 100 to 900 events,
/// spread evenly over the twelve monthly periods of 2026. Every entry is lawful: `pdx-verify`
/// replays the log without a finding. Periods are left open (no settlement is closed): closing
/// them needs the reports the server renders, which this writer does not.
///
/// The same seed gives the same export, byte for byte. The signing key is derived from the seed,
/// which is public: such an export proves nothing about anyone.
public enum SampleLog {
    /// 2026-01-01T00:00:00+08:00: the first instant of period 2026-01.
    static let yearStart = Date(timeIntervalSince1970: 1_767_196_800)
    static let day: TimeInterval = 86_400

    /// Writes about `events` usage events (at least one batch) and the marketplace they belong to
    /// into `directory`, which must not hold an export yet; `progress` gets the usage events written
    /// so far after every batch.
    public static func write(events: Int, to directory: String, seed: UInt64 = 1,
                             progress: (Int) -> Void = { _ in }) throws -> SampleLogSummary {
        var random = SplitMix64(seed: seed)
        var keySeed: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: random.next().littleEndian) { keySeed += $0 } }
        let origin = "sample.pdx.example/year"
        let signer = try NoteSigner(name: origin, key: try Ed25519PrivateKey(seed: keySeed))
        var log = try EntryWriter(directory: directory)
        let setup = yearStart.addingTimeInterval(-day)
        var clock = setup
        func tick() -> Date {
            clock = clock.addingTimeInterval(1)
            return clock
        }

        try log.append(AuditRecord(actor: "system", action: LogKeys.initializedAction, subjects: ["log:\(origin)"],
                                   data: ["origin": .string(origin), "vkeys": [.string(signer.verifierKey)]]), at: setup)
        var commitments = 0
        func commitment() -> JSONValue {
            commitments += 1
            let digits = String(commitments, radix: 16)
            return PersonalDataCommitment(id: "pd_" + String(repeating: "0", count: 32 - digits.count) + digits,
                                          commitment: SHA256.hash(Array("sample \(commitments)".utf8))).json
        }
        func principal(_ id: String, role: String, authority: String?) throws {
            try log.append(AuditRecord(actor: "system", action: "principal.created", subjects: ["principal:\(id)"], data: [
                "id": .string(id), "name": commitment(), "email": .null, "role": .string(role),
                "authority_id": authority.map(JSONValue.string) ?? .null, "expires_at": .null, "key_id": .string("key_\(id)"),
            ]), at: tick())
        }
        let admin = "pr_admin"
        try principal(admin, role: "admin", authority: nil)

        // Authorities, their reviewers and their open datasets.
        let authorities = [("bj", "北京市大数据中心", "Beijing"), ("tj", "天津市数据局", "Tianjin"), ("he", "河北省数据和政务服务局", "Hebei")]
        let themes = ["traffic", "environment", "weather", "enterprise"]
        var datasets: [(id: String, authority: String)] = []
        for (authority, name, region) in authorities {
            try log.append(AuditRecord(actor: admin, action: "authority.created", subjects: ["authority:\(authority)"], data: [
                "id": .string(authority), "name": .string(name), "region": .string(region),
            ]), at: tick())
            try principal("pr_reviewer_\(authority)", role: "authority_reviewer", authority: authority)
            for theme in themes {
                let id = "\(authority)-\(theme)"
                datasets.append((id, authority))
                let at = tick()
                try log.append(AuditRecord(actor: "pr_reviewer_\(authority)", action: "dataset.published",
                                           subjects: ["dataset:\(id)", "authority:\(authority)"], data: [
                    "dataset_id": .string(id), "version": 1, "at": time(at),
                    "dataset": [
                        "id": .string(id), "title": .string("\(region) \(theme)"), "description": .string("\(region) \(theme) records (sample)"),
                        "authority_id": .string(authority), "theme": .string(theme), "openness": "open", "grade": "general",
                        "fields": [["name": "key", "type": "string", "sensitive": false, "filterable": true],
                                   ["name": "value", "type": "integer", "sensitive": false, "filterable": false]],
                        "units": ["call", "record"], "currency": "CNY", "ceiling_prices": ["call": "0.05", "record": "0.002"],
                        "revenue_share_bps": 3000, "delivery": "declared",
                    ],
                ]), at: at)
            }
        }

        // Operators through the vetting lifecycle, then their grants.
        let lifecycle = OperatorLifecycle()
        let operatorCount = min(2_000, max(4, events / 20_000))
        var grants: [(id: String, operatorIndex: Int, datasets: [String])] = []
        var rejected = 0
        for index in 0..<operatorCount {
            let operatorID = String(format: "op_%06d", index)
            let applicant = "pr_op_\(index)"
            try principal(applicant, role: "operator", authority: nil)
            let prefix = "9111010\(String(format: "%010d", index))"
            let uscc = prefix + String(USCC.checkCharacter(forPrefix: prefix) ?? "0")
            let application = try OperatorApplication(
                legalName: "样例数据科技有限公司 \(index)", uscc: uscc, mlpsLevel: 3, tier: .standard,
                securityOfficer: SecurityOfficer(name: try PersonalDataCommitment(json: commitment()).unwrap(),
                                                 email: try PersonalDataCommitment(json: commitment()).unwrap()),
                certifications: ["ISO27001"], documents: [("business-licence.pdf", String(repeating: "ab", count: 32))],
                applicant: applicant)
            let submittedAt = tick()
            guard let applied = lifecycle.submit(application, id: operatorID, existing: [], at: submittedAt).change else {
                throw SampleLogError(reason: "the vetting lifecycle refused operator \(operatorID)'s application")
            }
            for record in applied.records { try log.append(record, at: submittedAt) }
            let authority = authorities[index % authorities.count].0
            let reviewer = Reviewer(principalID: "pr_reviewer_\(authority)", authorityID: authority)
            let reject = index % 10 == 9
            let reviewedAt = tick()
            guard let reviewed = lifecycle.review(applied.updated, by: reviewer, decision: reject ? .reject : .approve,
                                                  reason: reject ? "资质证明不全 (certificates incomplete)" : nil, at: reviewedAt).change else {
                throw SampleLogError(reason: "the vetting lifecycle refused the review of operator \(operatorID)")
            }
            for record in reviewed.records { try log.append(record, at: reviewedAt) }
            if reject {
                rejected += 1
                continue
            }
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let grantID = String(format: "gr_%06d", grants.count)
                var chosen = [datasets[Int(random.next() % UInt64(datasets.count))].id]
                let second = datasets[Int(random.next() % UInt64(datasets.count))].id
                if random.next() % 2 == 0, second != chosen[0] { chosen.append(second) }
                let at = tick()
                try log.append(AuditRecord(actor: applicant, action: "grant.requested",
                                           subjects: ["grant:\(grantID)", "operator:\(operatorID)"], data: [
                    "grant_id": .string(grantID), "operator_id": .string(operatorID), "revision": 1, "at": time(at),
                    "requested_by": .string(applicant), "purpose": "样例数据产品 (sample data product)", "scenario": "industry",
                    "starts_at": time(setup), "ends_at": time(setup.addingTimeInterval(365 * day)),
                    "agreement": ["id": "standard-data-use", "version": "1", "sha256": .string(String(repeating: "00", count: 32))],
                    "currency": "CNY",
                    "datasets": .array(chosen.map { dataset in
                        [
                            "dataset_id": .string(dataset), "authority_id": .string(String(dataset.prefix(2))), "fields": ["key", "value"],
                            "unit_prices": ["call": "0.04", "record": "0.001"], "price_tiers": [:],
                            "quota_per_period": ["call": 1_000_000_000_000, "record": 1_000_000_000_000],
                        ]
                    }),
                    "approvals_required": [],
                ]), at: at)
                try log.append(AuditRecord(actor: "system", action: "grant.activated",
                                           subjects: ["grant:\(grantID)", "operator:\(operatorID)"], data: [
                    "grant_id": .string(grantID), "operator_id": .string(operatorID), "revision": 1, "at": time(at),
                    "via": "automatic", "approvals": [],
                ]), at: at)
                grants.append((grantID, index, chosen))
            }
        }

        // Usage: batches spread evenly over the year, ending a day before the operators' approvals
        // and the grants' terms do.
        let calendar = MarketCalendar()
        let span = 363 * day
        var written = 0
        var batches = 0
        while written < max(events, 1) {
            let size = min(max(events, 1) - written, 100 + Int(random.next() % 801))
            let grant = grants[Int(random.next() % UInt64(grants.count))]
            let dataset = grant.datasets[Int(random.next() % UInt64(grant.datasets.count))]
            let unit = random.next() % 4 == 0 ? MeteringUnit.record : .call
            var first = yearStart.addingTimeInterval(span * Double(written) / Double(max(events, 1)))
            first = Timestamp.normalized(first)
            var period = calendar.period(of: first)
            // The batch's events, a millisecond apart, stay in one period.
            let last = first.addingTimeInterval(Double(size) / 1_000)
            if calendar.period(of: last) != period {
                first = calendar.start(of: calendar.period(of: last))
                period = calendar.period(of: first)
            }
            let firstMilliseconds = Int(Timestamp.milliseconds(first))
            var ids: [JSONValue] = []
            ids.reserveCapacity(size)
            for offset in 0..<size {
                let quantity = unit == .call ? 1 : 1 + Int(random.next() % 100)
                ids.append([.string(eventID(written + offset)), JSONValue(quantity), JSONValue(firstMilliseconds + offset)])
            }
            let at = max(clock, first.addingTimeInterval(Double(size) / 1_000 + 1))
            clock = at
            batches += 1
            let operatorID = String(format: "op_%06d", grant.operatorIndex)
            try log.append(AuditRecord(actor: "pr_op_\(grant.operatorIndex)", action: MeteringAction.recorded.rawValue,
                                       subjects: ["operator:\(operatorID)"], data: [
                "operator_id": .string(operatorID), "batch_id": .string(String(format: "ub_%08d", batches)),
                "part": 1, "parts": 1, "at": time(at),
                "usage": [[
                    "grant_id": .string(grant.id), "dataset_id": .string(dataset), "unit": .string(unit.rawValue),
                    "period": .string(period.description), "events": .array(ids),
                ]],
            ]), at: at)
            written += size
            progress(written)
        }

        let checkpoint = Checkpoint(origin: origin, size: log.size, rootHash: log.root)
        try log.finish(checkpoint: try checkpoint.sign(with: [signer]), verifierKey: signer.verifierKey)
        return SampleLogSummary(origin: origin, verifierKey: signer.verifierKey, entries: log.size, usageEntries: batches,
                                usageEvents: written, operators: operatorCount, rejectedOperators: rejected,
                                grants: grants.count, datasets: datasets.count)
    }

    /// `ev-` and ten hex digits: unique in the whole log, so in each operator's ids.
    static func eventID(_ number: Int) -> String {
        let digits = String(number, radix: 16)
        return "ev-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    static func time(_ date: Date) -> JSONValue {
        .string(Timestamp.format(Timestamp.milliseconds(date)))
    }
}

/// Why the sample log could not be written.
public struct SampleLogError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension Optional {
    fileprivate func unwrap() throws -> Wrapped {
        guard let self else { throw SampleLogError(reason: "a sample value did not build") }
        return self
    }
}

/// Entries encoded as the log encodes them, written to the tiles and hashed into the tree.
private struct EntryWriter {
    private let tiles: TlogTilesWriter
    private var frontier = MerkleFrontier()
    private let hasher = SHA256()
    private(set) var size: UInt64 = 0

    init(directory: String) throws {
        tiles = try TlogTilesWriter(directory: directory)
    }

    var root: SHA256Digest { frontier.root(using: hasher) }

    mutating func append(_ record: AuditRecord, at time: Date) throws {
        let bytes = try AuditEntry(seq: size, time: Timestamp.normalized(time), record: record).encoded()
        try tiles.append(entry: bytes)
        frontier.append(leafHash: MerkleHash.leaf(bytes, using: hasher), using: hasher)
        size += 1
    }

    func finish(checkpoint: SignedNote, verifierKey: String) throws {
        try tiles.finish(checkpoint: checkpoint, verifierKey: verifierKey)
    }
}
