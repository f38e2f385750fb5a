public import AuditLog
public import Cryptography
internal import Delivery
public import Foundation
public import Identity
public import Licensing
public import Metering
import Persistence

/// What an operator asks of the data API: a page of a release's records under one of its grants.
public struct DataQuery: Sendable {
    public var datasetID: String
    /// The grant the call is made under; required.
    public var grantID: String?
    /// The fields wanted, in order; nil for every granted field.
    public var fields: [String]?
    /// The most records wanted.
    public var limit: Int
    /// A `next_cursor` of an earlier page.
    public var cursor: String?
    /// The release; nil for the latest (or the cursor's).
    public var release: String?
    /// Equality filters, field → value as received.
    public var filters: [(field: String, value: String)]

    public init(datasetID: String, grantID: String?, fields: [String]?, limit: Int, cursor: String?, release: String?,
                filters: [(field: String, value: String)]) {
        self.datasetID = datasetID
        self.grantID = grantID
        self.fields = fields
        self.limit = limit
        self.cursor = cursor
        self.release = release
        self.filters = filters
    }
}

/// A page served and metered: the records as JSON text, and the usage committed for them.
public struct DataPage: Sendable {
    public let datasetID: String
    public let release: String
    /// The JSON array of the records, `[{"field":value,…},…]`, fields in the order asked.
    public let records: [UInt8]
    public let recordCount: Int
    /// The cursor of the next page; nil on the last.
    public let nextCursor: String?
    /// The call's id: each unit's usage event is `<eventID>.<unit>`.
    public let eventID: String
    /// What the call was metered, per unit.
    public let units: [MeteringUnit: Int64]
}

/// Why the data API refuses a call; nothing is served or metered.
public typealias DataAccessError = ModuleError<DataAccessErrorCode>

/// The codes of ``DataAccessError``.
public enum DataAccessErrorCode: String, Sendable, CaseIterable {
    /// `grant_id` is missing.
    case grantRequired = "grant_required"
    /// A field asked for (or filtered on) is not one of the dataset's.
    case unknownField = "unknown_field"
    /// `fields` is empty or names a field twice.
    case invalidFields = "invalid_fields"
    /// A field asked for (or filtered on) is not granted: it is refused, never silently dropped.
    case fieldNotGranted = "field_not_granted"
    /// A filter on a field the dataset does not mark filterable.
    case filterNotAllowed = "filter_not_allowed"
    /// A filter value is not of its field's type, or a field is filtered twice.
    case invalidFilter = "invalid_filter"
    /// The cursor was not handed out by this listing.
    case invalidCursor = "invalid_cursor"
    /// No dataset has this id.
    case datasetNotFound = "dataset_not_found"
    /// The dataset is delivered outside PDX (`declared`), or through the other route (a gateway
    /// dataset's upstream or an upstream dataset's records): PDX does not serve it there.
    case datasetNotServed = "dataset_not_served"
    /// An upstream path that could leave the dataset's base path or change the host: `..` or
    /// `.` segments, `//`, backslashes, encoded slashes, backslashes or dots, characters a
    /// path may not hold unencoded.
    case invalidUpstreamPath = "invalid_upstream_path"
    /// A query parameter that cannot be forwarded as given: characters a query may not hold
    /// unencoded, or a malformed escape.
    case invalidUpstreamQuery = "invalid_upstream_query"
    /// The authority's interface could not be reached, or answered with a status other than 2xx.
    case upstreamFailed = "upstream_failed"
    /// The authority's interface answered with a redirect; PDX never follows one.
    case upstreamRedirect = "upstream_redirect"
    /// The interface's host name resolved to an address in a range PDX does not forward to
    /// (loopback, private, link-local, …) on a server started without `--upstream-allow-private`.
    case upstreamAddressNotAllowed = "upstream_address_not_allowed"
    /// The answer was not JSON records: `{"records":[{…},…]}` or `[{…},…]`.
    case upstreamMalformed = "upstream_malformed"
    /// The answer was larger than the configured limit; PDX stopped reading it.
    case upstreamTooLarge = "upstream_too_large"
    /// The authority's interface did not answer within the configured time.
    case upstreamTimeout = "upstream_timeout"
    /// The dataset's credential cannot be opened: the data directory's `upstream-key` is not
    /// the one it was sealed with, or missing.
    case upstreamCredentialUnavailable = "upstream_credential_unavailable"
    /// The dataset has no published release of that version (or none at all).
    case releaseNotFound = "release_not_found"
    /// The grant check refused the call; the usage rejection codes, one for one.
    case grantNotFound = "grant_not_found"
    case grantNotOwned = "grant_not_owned"
    case datasetNotInGrant = "dataset_not_in_grant"
    case unitNotGranted = "unit_not_granted"
    case grantNotStarted = "grant_not_started"
    case grantExpired = "grant_expired"
    case grantNotActive = "grant_not_active"
    case operatorNotActive = "operator_not_active"
    /// Serving the call would take a unit past the grant's quota for the period.
    case quotaExceeded = "quota_exceeded"
    /// Serving the call would take the grant's amount for the period past the money limit.
    case amountLimitExceeded = "amount_limit_exceeded"
    /// The period is closed for settlement.
    case periodClosed = "period_closed"
    /// The call's events could not be told apart from others: try again.
    case meteringConflict = "metering_conflict"
}

extension DataAccessError {
    /// The refusal of a metered call for `rejection`.
    init(_ rejection: UsageRejection) {
        switch rejection {
        case .grantNotFound: self.init(.grantNotFound, "No grant has this id, or it was never in force.")
        case .grantNotOwned: self.init(.grantNotOwned, "The grant belongs to another operator.")
        case .datasetNotInGrant: self.init(.datasetNotInGrant, "The dataset is not in the grant.")
        case .unitNotGranted: self.init(.unitNotGranted, "A unit the dataset is metered in is not granted.")
        case .grantNotStarted: self.init(.grantNotStarted, "The grant's term has not started.")
        case .grantExpired: self.init(.grantExpired, "The grant's term has ended.")
        case .grantNotActive: self.init(.grantNotActive, "The grant is not in force: pending, suspended or revoked.")
        case .operatorNotActive: self.init(.operatorNotActive, "The operator's approval is not in force.")
        case .quotaExceeded: self.init(.quotaExceeded, "The grant's quota for this period is used up.")
        case .amountLimitExceeded: self.init(.amountLimitExceeded, "The grant's amount for this period would pass the limit.")
        case .periodClosed: self.init(.periodClosed, "The current period is closed for settlement.")
        case .invalidID, .unknownUnit, .invalidQuantity, .invalidTime, .timeInFuture, .conflict, .meteredAtSource:
            self.init(.meteringConflict, "The call could not be metered (\(rejection.rawValue)); try again.")
        }
    }
}

/// The data API: operators read releases of gateway datasets under their grants, and each call is
/// metered by PDX, durably, before a byte is served.
///
/// Every check comes before any row is read: the dataset is served by PDX, the grant is the caller's,
/// in force and covers the dataset, every field asked for or filtered on is granted. The page is
/// cut to what the grant's quota still allows for records; the usage is then committed with the
/// group committer, which decides it again against the quotas as they are when it commits (another
/// call may have used them meanwhile): a refusal there serves nothing.
public struct DataService: Sendable {
    let context: ServiceContext
    let usage: UsageService
    let checker: GrantChecker
    /// The most records one page holds.
    public let maxLimit: Int
    /// Opens the credentials of upstream datasets; nil forwards nothing.
    let upstreamKey: AESGCMKey?

    public init(_ context: ServiceContext, usage: UsageService, checker: GrantChecker, maxLimit: Int = 1000,
                upstreamKey: AESGCMKey? = nil) {
        self.upstreamKey = upstreamKey
        self.context = context
        self.usage = usage
        self.checker = checker
        self.maxLimit = maxLimit
    }

    /// A data service with a usage committer of its own on `context`'s database and log, for callers
    /// outside this package (the benchmarks' unmetered baseline reads through ``prepare(_:by:)``);
    /// `directory` is the grant snapshots of the server it runs beside.
    public init(_ context: ServiceContext, directory: GrantDirectory, maxLimit: Int = 1000) {
        let committer = UsageCommitter(database: context.database, log: context.log, directory: directory)
        self.init(context, usage: UsageService(committer: committer, policy: MeteringPolicy(), clock: context.clock, random: context.random),
                  checker: GrantChecker(database: context.database, directory: directory), maxLimit: maxLimit)
    }

    /// One page of `query`, metered; `requestID` names the call in the log and the access log.
    public func page(_ query: DataQuery, by caller: Principal, requestID: String) async throws -> DataPage {
        let prepared = try await prepare(query, by: caller)
        return try await meter(prepared, by: caller, requestID: requestID)
    }

    /// A page read and checked, not yet metered: nothing of it may reach the caller before
    /// ``meter(_:by:requestID:)`` has committed its usage.
    public struct PreparedPage: Sendable {
        public let datasetID: String
        public let grantID: String
        public let release: String
        public let records: [UInt8]
        public let recordCount: Int
        public let nextCursor: String?
        public let units: [MeteringUnit: Int64]
        let at: Date
    }

    /// Commits the usage of `prepared` with the group committer; returns the page once it is durable,
    /// or throws the refusal (and nothing is counted).
    public func meter(_ prepared: PreparedPage, by caller: Principal, requestID: String) async throws -> DataPage {
        let eventID = try await commit(prepared.units, grantID: prepared.grantID, datasetID: prepared.datasetID,
                                       at: prepared.at, by: caller, requestID: requestID)
        return DataPage(datasetID: prepared.datasetID, release: prepared.release, records: prepared.records,
                        recordCount: prepared.recordCount, nextCursor: prepared.nextCursor, eventID: eventID, units: prepared.units)
    }

    /// What every check of a call established: what it may read and how much of the quota is left.
    struct Authorized {
        let dataset: Dataset
        /// The release read, for a gateway dataset; nil for an upstream one.
        let release: Release?
        /// The sealed credential, for an upstream dataset.
        let sealedCredential: [UInt8]?
        let grantID: String
        let units: [MeteringUnit]
        /// The columns served: each field's name and its index in the release's stored rows.
        let columns: [(name: String, index: Int)]
        let filters: [(field: String, value: String)]
        let cursor: DataCursor?
        /// Per unit, what the period's quota (or the grant's money limit) still allows; nil for no limit.
        let left: [MeteringUnit: Int64]
        let now: Date
    }

    /// Every check of `query` and the page's records, read; see the type's description.
    public func prepare(_ query: DataQuery, by caller: Principal) async throws -> PreparedPage {
        let call = try await authorize(query, by: caller)
        guard let release = call.release else { throw DataAccessError(.releaseNotFound, "No release.") }
        let (dataset, grantID, units, columns, filters, cursor, now) =
            (call.dataset, call.grantID, call.units, call.columns, call.filters, call.cursor, call.now)
        // The quota left for records cuts the page; with none left for a call, nothing is read.
        if let calls = call.left[.call], calls < 1 { throw DataAccessError(UsageRejection.quotaExceeded) }
        var limit = query.limit
        if let records = call.left[.record] {
            guard records >= 1 else { throw DataAccessError(UsageRejection.quotaExceeded) }
            limit = Int(min(Int64(limit), records))
        }

        let rows = try await context.database.read { tx in
            try await tx.releaseRows(datasetID: dataset.id, version: release.version, after: cursor?.row ?? 0,
                                     limit: limit + 1, filters: filters)
        }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { DataCursor(datasetID: dataset.id, release: release.version, row: $0.rowNumber).token } : nil
        let records = Self.json(page.map(\.document), columns: columns.map { ($0.name, $0.index) })

        var metered: [MeteringUnit: Int64] = [:]
        for unit in units {
            switch unit {
            case .call: metered[.call] = 1
            case .record: metered[.record] = Int64(page.count)
            case .byte: metered[.byte] = Int64(records.count)
            }
        }
        return PreparedPage(datasetID: dataset.id, grantID: grantID, release: release.version, records: records,
                            recordCount: page.count, nextCursor: next, units: metered.filter { $0.value > 0 }, at: now)
    }

    /// The checks of a call, in order, before anything is read; throws the first refusal.
    ///
    /// - Parameter delivery: the route's: `gateway` reads a release, `upstream` the sealed credential.
    func authorize(_ query: DataQuery, by caller: Principal, delivery: DeliveryMode = .gateway) async throws -> Authorized {
        guard let operatorID = caller.operatorID else {
            throw MarketplaceError(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        guard let grantID = query.grantID, !grantID.isEmpty else {
            throw DataAccessError(.grantRequired, "Name the grant the call is made under: grant_id=….")
        }
        let now = context.clock.now()
        let period = usage.policy.calendar.period(of: now)
        let cursor = try query.cursor.map { token throws(DataAccessError) in try DataCursor(token: token, datasetID: query.datasetID) }
        if let cursor, let release = query.release, release != cursor.release {
            throw DataAccessError(.invalidCursor, "The cursor is of release \(cursor.release), not \(release).")
        }

        let (dataset, release, sealed, snapshot, used) = try await context.database.read { tx in
            try await tx.refresh(checker.directory)
            guard let dataset = try await tx.dataset(id: query.datasetID) else {
                throw DataAccessError(.datasetNotFound, "No dataset '\(query.datasetID)'.")
            }
            guard dataset.delivery == delivery else {
                let detail = switch dataset.delivery {
                case .declared: "Dataset '\(dataset.id)' is delivered outside PDX; its usage is declared."
                case .gateway: "Dataset '\(dataset.id)' is served from its releases: GET /v1/data/\(dataset.id)/records."
                case .upstream: "Dataset '\(dataset.id)' is forwarded to its authority: GET /v1/data/\(dataset.id)/upstream/{path}."
                }
                throw DataAccessError(.datasetNotServed, detail)
            }
            let snapshot = checker.directory.snapshot(grantID)
            var release: Release?
            var sealed: [UInt8]?
            if delivery == .upstream {
                sealed = try await tx.sealedUpstreamCredential(datasetID: dataset.id)
            } else if let version = cursor?.release ?? query.release {
                release = try await tx.release(datasetID: dataset.id, version: version)
            } else {
                release = try await tx.latestRelease(datasetID: dataset.id)
            }
            var used: [CounterKey: Int64] = [:]
            if let item = snapshot?.items[dataset.id] {
                used = try await tx.usageQuantities(item.units.sorted().map {
                    CounterKey(grantID: grantID, datasetID: dataset.id, unit: $0, period: period)
                })
            }
            return (dataset, release, sealed, snapshot, used)
        }

        // The grant check, for every unit the grant meters the dataset in, before anything is read.
        guard let snapshot else { throw DataAccessError(.grantNotFound, "No grant '\(grantID)' is or was in force.") }
        let granted = snapshot.items[dataset.id]
        let units: [MeteringUnit] = granted?.units.sorted() ?? [.call]
        for unit in units {
            let query = GrantCheckQuery(operatorID: operatorID, grantID: grantID, datasetID: dataset.id, unit: unit, time: now)
            if case .denied(let denial) = snapshot.check(query) {
                throw DataAccessError(UsageRejection(rawValue: denial.rawValue) ?? .grantNotFound)
            }
        }
        guard let granted else { throw DataAccessError(.datasetNotInGrant, "The dataset is not in the grant.") }

        // Fields: those asked for, each the dataset's and granted; by default every granted field.
        let grantedFields = Set(granted.fields)
        let names = query.fields ?? dataset.fields.map(\.name).filter(grantedFields.contains)
        guard !names.isEmpty else { throw DataAccessError(.invalidFields, "Ask for at least one field.") }
        var columns: [(name: String, index: Int)] = []
        for name in names {
            guard dataset.field(named: name) != nil else {
                throw DataAccessError(.unknownField, "Dataset '\(dataset.id)' has no field '\(name)'.")
            }
            guard grantedFields.contains(name) else {
                throw DataAccessError(.fieldNotGranted, "Field '\(name)' is not granted by \(grantID).")
            }
            guard !columns.contains(where: { $0.name == name }) else {
                throw DataAccessError(.invalidFields, "Field '\(name)' is asked for twice.")
            }
            columns.append((name, -1))
        }
        var filters: [(field: String, value: String)] = []
        for filter in query.filters {
            guard let field = dataset.field(named: filter.field) else {
                throw DataAccessError(.unknownField, "Dataset '\(dataset.id)' has no field '\(filter.field)' to filter on.")
            }
            guard grantedFields.contains(field.name) else {
                throw DataAccessError(.fieldNotGranted, "Field '\(field.name)' is not granted by \(grantID): it may not be filtered on.")
            }
            guard field.filterable else {
                throw DataAccessError(.filterNotAllowed, "Field '\(field.name)' is not filterable.")
            }
            guard !filters.contains(where: { $0.field == field.name }) else {
                throw DataAccessError(.invalidFilter, "Field '\(field.name)' is filtered twice.")
            }
            guard let key = ReleaseValue.filterKey(for: field.type, text: filter.value) else {
                throw DataAccessError(.invalidFilter, "'\(filter.value)' is not a \(field.type.rawValue) value for '\(field.name)'.")
            }
            filters.append((field.name, key))
        }
        if delivery == .gateway {
            guard let release else {
                throw DataAccessError(.releaseNotFound, query.release.map { "Dataset '\(dataset.id)' has no release '\($0)'." }
                    ?? "Dataset '\(dataset.id)' has no release yet.")
            }
            // A stored row holds its values in the order of the release's fields.
            columns = columns.map { ($0.name, release.fields.firstIndex(of: $0.name) ?? -1) }
        }

        var left: [MeteringUnit: Int64] = [:]
        for unit in units {
            guard let quota = granted.quotas[unit] else { continue }
            let limit = min(quota, granted.amountLimits[unit] ?? .max)
            left[unit] = limit - (used[CounterKey(grantID: grantID, datasetID: dataset.id, unit: unit, period: period)] ?? 0)
        }
        return Authorized(dataset: dataset, release: release, sealedCredential: sealed, grantID: grantID, units: units, columns: columns,
                          filters: filters, cursor: cursor, left: left, now: now)
    }

    // MARK: a whole release as a file

    /// A release checked for a whole-file download, not yet metered.
    public struct PreparedFile: Sendable {
        public let datasetID: String
        public let grantID: String
        public let release: String
        public let rows: Int64
        public let units: [MeteringUnit: Int64]
        let columns: [Column]
        let at: Date

        struct Column: Sendable {
            let name: String
            let index: Int
        }
    }

    /// Every check of a download of `version` (the page checks, with `limit` and `cursor` left out),
    /// and what it will be metered: `call` 1, `record` every row of the release, `byte` the file's
    /// length (counted by reading the release once before). A release larger than what the quota
    /// still allows is refused whole.
    public func prepareFile(datasetID: String, version: String, grantID: String?, fields: [String]?,
                            by caller: Principal) async throws -> PreparedFile {
        let query = DataQuery(datasetID: datasetID, grantID: grantID, fields: fields, limit: 1, cursor: nil, release: version,
                              filters: [])
        let call = try await authorize(query, by: caller)
        guard let release = call.release else { throw DataAccessError(.releaseNotFound, "No release.") }
        let rows = release.rows
        if let calls = call.left[.call], calls < 1 { throw DataAccessError(UsageRejection.quotaExceeded) }
        if let records = call.left[.record], records < rows {
            throw DataAccessError(.quotaExceeded, "The release has \(rows) records; the grant's quota allows \(max(0, records)) more this period.")
        }
        var prepared = PreparedFile(datasetID: call.dataset.id, grantID: call.grantID, release: release.version, rows: rows,
                                    units: [:], columns: call.columns.map { .init(name: $0.name, index: $0.index) }, at: call.now)
        var metered: [MeteringUnit: Int64] = [:]
        for unit in call.units {
            switch unit {
            case .call: metered[.call] = 1
            case .record: metered[.record] = rows
            case .byte:
                var bytes: Int64 = 0
                for try await chunk in file(prepared) { bytes += Int64(chunk.count) }
                metered[.byte] = bytes
            }
        }
        prepared = PreparedFile(datasetID: prepared.datasetID, grantID: prepared.grantID, release: prepared.release, rows: rows,
                                units: metered.filter { $0.value > 0 }, columns: prepared.columns, at: prepared.at)
        return prepared
    }

    /// Commits the download's usage; returns its event id once durable, or throws the refusal.
    public func meter(_ prepared: PreparedFile, by caller: Principal, requestID: String) async throws -> String {
        try await commit(prepared.units, grantID: prepared.grantID, datasetID: prepared.datasetID, at: prepared.at,
                         by: caller, requestID: requestID)
    }

    /// Commits the usage of an upstream answer; returns its event id once durable, or throws the refusal.
    public func meter(_ answer: UpstreamAnswer, by caller: Principal, requestID: String) async throws -> String {
        try await commit(answer.units, grantID: answer.grantID, datasetID: answer.datasetID, at: answer.at,
                         by: caller, requestID: requestID, source: .upstream)
    }

    /// Commits a call's usage events (all or none) and returns the call's event id, or throws the
    /// refusal. `source` is the route's: `gateway` for a release served, `upstream` for a call forwarded.
    func commit(_ units: [MeteringUnit: Int64], grantID: String, datasetID: String, at now: Date,
                by caller: Principal, requestID: String, source: UsageSource = .gateway) async throws -> String {
        // Derived from the request id, which the access log carries, but never its text: a client may
        // choose its own request id, and nothing a client writes freely goes into a log that cannot
        // forget. The random part keeps two calls with one request id apart.
        let digest = SHA256.hash(Array(requestID.utf8)).bytes.prefix(8)
        let eventID = "gw-\(Hex.encode(Array(digest)))-\(Hex.encode(try context.random.bytes(6)))"
        let decision = try await usage.meter(units, grantID: grantID, datasetID: datasetID, eventID: eventID, by: caller,
                                             at: now, source: source)
        if let refusal = decision.outcomes.lazy.compactMap({ if case .rejected(let reason) = $0 { reason } else { nil } }).first {
            throw DataAccessError(refusal)
        }
        guard decision.accepted.count == units.count else {
            throw DataAccessError(.meteringConflict, "The call could not be metered; try again.")
        }
        return eventID
    }

    /// The release as CSV (RFC 4180, CRLF, a header row of the columns), read in chunks of rows.
    public func file(_ prepared: PreparedFile, rowsPerChunk: Int = 5000) -> AsyncThrowingStream<[UInt8], any Error> {
        let database = context.database
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    continuation.yield(Array((prepared.columns.map { CSVCell.quoted($0.name) }.joined(separator: ",") + "\r\n").utf8))
                    var after: Int64 = 0
                    while true {
                        let rows = try await database.read { tx in
                            try await tx.releaseRows(datasetID: prepared.datasetID, version: prepared.release, after: after,
                                                     limit: rowsPerChunk)
                        }
                        guard let last = rows.last else { break }
                        var out: [UInt8] = []
                        for row in rows {
                            let fragments = ReleaseRow.fragments(of: row.document)
                            for (position, column) in prepared.columns.enumerated() {
                                if position > 0 { out.append(UInt8(ascii: ",")) }
                                if column.index >= 0, column.index < fragments.count {
                                    out.append(contentsOf: CSVCell.text(fromJSON: fragments[column.index]).utf8)
                                }
                            }
                            out.append(contentsOf: [0x0D, 0x0A])
                        }
                        continuation.yield(out)
                        after = last.rowNumber
                        if rows.count < rowsPerChunk { break }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// `[{"name":value,…},…]` from stored rows, taking each column's fragment.
    static func json(_ documents: [String], columns: [(name: String, index: Int)]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(documents.count * (columns.count * 24 + 2) + 2)
        let keys = columns.map { Array("\"\($0.name)\":".utf8) }
        for (offset, document) in documents.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            let fragments = ReleaseRow.fragments(of: document)
            for (position, column) in columns.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: keys[position])
                if column.index >= 0, column.index < fragments.count {
                    out.append(contentsOf: fragments[column.index].utf8)
                } else {
                    out.append(contentsOf: "null".utf8)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}

/// Where the next page of a release starts: the dataset, its release and the last row served, as an
/// opaque token (base64url of `data1`, the dataset id, the release and the row, separated by line
/// feeds). Naming the dataset makes a cursor of one dataset useless for another.
struct DataCursor: Equatable {
    var datasetID: String
    var release: String
    var row: Int64

    init(datasetID: String, release: String, row: Int64) {
        self.datasetID = datasetID
        self.release = release
        self.row = row
    }

    var token: String {
        var text = Base64.encode(Array("data1\n\(datasetID)\n\(release)\n\(row)".utf8))
        while text.last == "=" { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// Reads `token`; throws `invalid_cursor` for anything this listing did not hand out.
    init(token: String, datasetID: String) throws(DataAccessError) {
        let invalid = DataAccessError(.invalidCursor, "The cursor was not handed out by this listing.")
        guard (1...512).contains(token.utf8.count), token.utf8.allSatisfy(Self.isBase64url) else { throw invalid }
        var text = String(token.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text.append("=") }
        guard let bytes = Base64.decode(text), let decoded = String(validating: bytes, as: UTF8.self) else { throw invalid }
        let parts = decoded.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "data1", parts[1] == datasetID, let row = Int64(parts[3]), row >= 1,
              String(row) == parts[3], Self.isVersion(parts[2])
        else { throw invalid }
        self.init(datasetID: datasetID, release: parts[2], row: row)
    }

    private static func isBase64url(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// 1–64 characters of `A-Z a-z 0-9 . _ -`: the form of a release version.
    private static func isVersion(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { isBase64url($0) || $0 == UInt8(ascii: ".") }
    }
}

/// A value as a CSV cell: quoted when it holds a comma, a quote or a line break.
enum CSVCell {
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The cell for a stored value's JSON text: a string's text, a number's or boolean's as written,
    /// nothing for null.
    static func text(fromJSON fragment: Substring) -> String {
        guard let first = fragment.first else { return "" }
        if first == "\"" {
            guard let value = try? JSONValue.parse(Array(fragment.utf8)), let text = value.stringValue else { return "" }
            return quoted(text)
        }
        return fragment == "null" ? "" : String(fragment)
    }
}
