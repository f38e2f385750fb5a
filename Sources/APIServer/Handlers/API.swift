import Identity
import AuditLog
import HTTPTypes
import Marketplace
import Cryptography
import Foundation
import OpenAPIRuntime
import Licensing
import Metering
import Persistence
import Settlement
import Vetting
import Delivery

/// The handlers of `Contracts/openapi.yaml`. Each checks the caller's role first, then calls the domain.
struct API: APIProtocol {
    let database: any Database
    let vetting: OperatorLifecycle
    let catalog: Catalog
    let grants: GrantLifecycle
    let agreements: AgreementCatalog
    /// The grant check of the usage path.
    let grantChecker: GrantChecker
    let metering: MeteringPolicy
    let usageCommitter: UsageCommitter
    let settlements: SettlementDesk
    let settlementPolicy: SettlementPolicy
    let log: TransparencyLog
    let clock: ServerClock
    /// Randomness for new ids and API keys.
    let random: any RandomSource
    let readiness: Readiness
    let metrics: MetricsExposition
    /// Request, usage and rate-limit counters.
    let serverMetrics: ServerMetrics
    let clockStore: (any TestClockStore)?
    /// The limits of release uploads.
    var releasePolicy = ReleasePolicy()
    /// Seals and opens the credentials of upstream datasets.
    var upstreamKey: AESGCMKey?
    /// Forwards the calls of upstream datasets.
    var upstream: UpstreamClient

    // MARK: services: the transactions the handlers ask for

    var context: ServiceContext { ServiceContext(database: database, log: log, clock: clock, random: random) }
    var identity: IdentityService { IdentityService(context) }
    var grantService: GrantService { GrantService(context, lifecycle: grants, agreements: agreements) }
    var catalogService: CatalogService { CatalogService(context, catalog: catalog, grants: grantService, upstreamKey: upstreamKey) }
    var usage: UsageService { UsageService(committer: usageCommitter, policy: metering, clock: clock, random: random) }
    var vettingService: VettingService { VettingService(context, lifecycle: vetting, grants: grantService) }
    var releaseService: ReleaseService { ReleaseService(context, policy: releasePolicy) }
    var dataService: DataService { DataService(context, usage: usage, checker: grantChecker, upstreamKey: upstreamKey) }

    // MARK: health

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        let checks = await readiness.check()
        let body = Components.Schemas.Readiness(
            status: checks.isReady ? .ready : .notReady,
            checks: .init(additionalProperties: checks.results))
        if checks.isReady { return .ok(.init(body: .json(body))) }
        return .serviceUnavailable(.init(headers: .init(retryAfter: 5), body: .json(body)))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        await metrics.refresh(from: log, now: clock.now())
        return .ok(.init(body: .plainText(HTTPBody(metrics.render()))))
    }

    // MARK: audit

    func getCheckpoint(_ input: Operations.GetCheckpoint.Input) async throws -> Operations.GetCheckpoint.Output {
        _ = try Authorization.require(.getCheckpoint)
        guard let note = try await log.latestCheckpoint() else {
            throw Problem.notFound("The log has no checkpoint yet.")
        }
        return .ok(.init(body: .plainText(HTTPBody(note.serialized))))
    }

    func listEntries(_ input: Operations.ListEntries.Input) async throws -> Operations.ListEntries.Output {
        _ = try Authorization.require(.listEntries)
        let start = input.query.start ?? 0
        let limit = input.query.limit ?? 100
        guard start >= 0 else { throw Problem.invalidRequest("'start' must be 0 or more.") }
        guard (1...1000).contains(limit) else { throw Problem.invalidRequest("'limit' must be 1…1000.") }
        let head = try await log.head()
        let entries = try await log.entries(start: UInt64(start), limit: limit)
        let last = entries.last.map { Int64($0.seq) + 1 }
        let next = last.flatMap { $0 < Int64(head.size) ? $0 : nil }
        return .ok(.init(body: .json(.init(
            treeSize: Int64(head.size),
            next: next,
            entries: entries.map {
                .init(seq: Int64($0.seq), leafHash: Base64.encode($0.leafHash.bytes),
                      entry: String(decoding: $0.body, as: UTF8.self))
            }
        ))))
    }

    func getInclusionProof(_ input: Operations.GetInclusionProof.Input) async throws -> Operations.GetInclusionProof.Output {
        _ = try Authorization.require(.getInclusionProof)
        let index = input.query.index
        guard index >= 0 else { throw Problem.invalidRequest("'index' must be 0 or more.") }
        let treeSize = try await resolvedTreeSize(input.query.treeSize)
        let hashes = try await log.inclusionProof(leafIndex: UInt64(index), treeSize: treeSize)
        guard let entry = try await log.entries(start: UInt64(index), limit: 1).first else {
            throw Problem(.indexOutOfRange, "No entry \(index).")
        }
        return .ok(.init(body: .json(.init(
            leafIndex: index, treeSize: Int64(treeSize), leafHash: Base64.encode(entry.leafHash.bytes),
            hashes: hashes.map { Base64.encode($0.bytes) }))))
    }

    func getConsistencyProof(_ input: Operations.GetConsistencyProof.Input) async throws -> Operations.GetConsistencyProof.Output {
        _ = try Authorization.require(.getConsistencyProof)
        let oldSize = input.query.oldSize
        guard oldSize >= 1 else { throw Problem.invalidRequest("'old_size' must be 1 or more.") }
        let newSize = try await resolvedTreeSize(input.query.newSize)
        let hashes = try await log.consistencyProof(oldSize: UInt64(oldSize), newSize: newSize)
        return .ok(.init(body: .json(.init(
            oldSize: oldSize, newSize: Int64(newSize), hashes: hashes.map { Base64.encode($0.bytes) }))))
    }

    /// An explicit size, or the latest checkpoint's.
    private func resolvedTreeSize(_ requested: Int64?) async throws -> UInt64 {
        if let requested {
            guard requested >= 1 else { throw Problem.invalidRequest("Tree sizes start at 1.") }
            return UInt64(requested)
        }
        guard let note = try await log.latestCheckpoint() else {
            throw Problem.notFound("The log has no checkpoint yet.")
        }
        return try Checkpoint.parse(note.text).size
    }

    // MARK: test clock

    func getTestClock(_ input: Operations.GetTestClock.Input) async throws -> Operations.GetTestClock.Output {
        guard clock.isTestClock else { throw Problem.notFound("No route for GET /v1/test-clock.") }
        _ = try Authorization.require(.getTestClock)
        return .ok(.init(body: .json(.init(now: clock.now()))))
    }

    func advanceTestClock(_ input: Operations.AdvanceTestClock.Input) async throws -> Operations.AdvanceTestClock.Output {
        guard clock.isTestClock, let clockStore else { throw Problem.notFound("No route for POST /v1/test-clock.") }
        let admin = try Authorization.require(.advanceTestClock)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        try clock.checkForward(to: body.now)
        try await clockStore.saveTestClock(body.now, actor: admin.id)
        clock.observe(body.now)
        // A walk through time ends the grants it passes, as the expiry service would have.
        try await GrantExpiry(database: database, log: log, lifecycle: grants).expire(at: clock.now())
        return .ok(.init(body: .json(.init(now: clock.now()))))
    }
}
