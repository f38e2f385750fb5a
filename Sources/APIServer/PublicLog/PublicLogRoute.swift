import AuditLog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The log as C2SP tlog-tiles, public and read-only: `GET /tlog/checkpoint` (the latest checkpoint,
/// with the witness cosignatures collected for it), `GET /tlog/tile/<L>/<N>[.p/<W>]` (hash tiles) and
/// `GET /tlog/tile/entries/<N>[.p/<W>]` (entry bundles), without an API key, so any monitor can
/// follow the log. Turned off with `--no-public-log`, when these paths answer 404 like any other
/// unknown path.
///
/// Tiles are served only within the latest checkpoint, so what a monitor reads is always committed
/// by a signature. Their bytes never change: full tiles are cached here (up to ``cacheBytes``) and
/// sent `immutable`; partial ones are read each time and cached downstream for a minute.
struct PublicLogRoute<Context: RequestContext>: RouterMiddleware {
    static var prefix: String { "/tlog/" }
    /// Bytes of full tiles kept in memory.
    static var cacheBytes: Int { 64 << 20 }
    /// How long a known checkpoint size is trusted before a tile beyond it makes the route look again.
    static var sizeRefresh: Duration { .seconds(1) }

    let log: TransparencyLog
    let state = PublicLogState()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix(Self.prefix) else { return try await next(request, context) }
        guard request.method == .get || request.method == .head else {
            var problem = Problem(.methodNotAllowed, "The public log is read-only: use GET.")
            problem.allow = "GET, HEAD"
            throw problem
        }
        if path == "/tlog/checkpoint" { return try await checkpoint() }
        guard let address = TileAddress(path: String(path.dropFirst(Self.prefix.count))) else {
            throw Problem.notFound("\(path) is not a tile path of the public log (see Docs/auditor-guide.md).")
        }
        return try await tile(address)
    }

    private func checkpoint() async throws -> Response {
        guard let latest = try await log.latestCheckpoint() else {
            throw Problem.notFound("The log has no checkpoint yet.")
        }
        if let size = try? Checkpoint.parse(latest.text).size { state.observe(size: size) }
        var note = latest
        if let cosigned = try await log.cosignedCheckpoint(), cosigned.text == latest.text {
            note = latest.adding(cosigned.signatures)
        }
        return Self.response(Array(note.serialized.utf8), contentType: "text/plain; charset=utf-8", cache: "no-cache")
    }

    private func tile(_ address: TileAddress) async throws -> Response {
        let full = !address.isPartial
        if full, let bytes = state.cached(address.path) {
            return Self.response(bytes, contentType: "application/octet-stream", cache: Self.immutable)
        }
        var size = state.knownSize
        if !Self.covers(address, size: size), let refreshed = try await refreshedSize() { size = refreshed }
        guard Self.covers(address, size: size), let bytes = try await log.tile(address, treeSize: size) else {
            throw Problem.notFound("No tile \(address.path) in the tree of the latest checkpoint (size \(size)).")
        }
        if full { state.cache(bytes, at: address.path, limit: Self.cacheBytes) }
        return Self.response(bytes, contentType: "application/octet-stream",
                             cache: full ? Self.immutable : "public, max-age=60")
    }

    /// The latest checkpoint's size read again, unless it was read within ``sizeRefresh``: requests
    /// for tiles beyond the log cost the database one read a second, not one each.
    private func refreshedSize() async throws -> UInt64? {
        guard state.recentSize(within: Self.sizeRefresh) == nil else { return nil }
        guard let latest = try await log.latestCheckpoint(), let size = try? Checkpoint.parse(latest.text).size else {
            state.observe(size: 0)
            return nil
        }
        state.observe(size: size)
        return size
    }

    static func covers(_ address: TileAddress, size: UInt64) -> Bool {
        let count = address.kind == .entries ? size
            : { if case .hashes(let level) = address.kind, level < 8 { size >> UInt64(8 * level) } else { 0 } }()
        return address.index < (1 << 56) && (address.index << 8) + UInt64(address.width) <= count
    }

    static var immutable: String { "public, max-age=31536000, immutable" }

    static func response(_ bytes: [UInt8], contentType: String, cache: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentLength] = String(bytes.count)
        headers[.cacheControl] = cache
        headers[.accessControlAllowOrigin] = "*"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The route's memory, shared by every request: the latest checkpoint size seen and when, and the
/// full tiles read so far (first in, first out past the byte limit).
final class PublicLogState: Sendable {
    private struct Memory {
        var size: UInt64 = 0
        var sizeSeen: ContinuousClock.Instant?
        var tiles: [String: [UInt8]] = [:]
        var order: [String] = []
        var bytes = 0
    }

    private let memory = Mutex(Memory())

    func observe(size: UInt64) {
        memory.withLock { memory in
            memory.size = max(memory.size, size)
            memory.sizeSeen = .now
        }
    }

    /// The largest checkpoint size seen.
    var knownSize: UInt64 { memory.withLock { $0.size } }

    /// The size last seen, if it was seen within `interval`.
    func recentSize(within interval: Duration) -> UInt64? {
        memory.withLock { memory in
            guard let seen = memory.sizeSeen, seen.duration(to: .now) < interval else { return nil }
            return memory.size
        }
    }

    func cached(_ path: String) -> [UInt8]? {
        memory.withLock { $0.tiles[path] }
    }

    func cache(_ bytes: [UInt8], at path: String, limit: Int) {
        guard bytes.count <= limit else { return }
        memory.withLock { memory in
            guard memory.tiles[path] == nil else { return }
            while memory.bytes + bytes.count > limit, !memory.order.isEmpty {
                let oldest = memory.order.removeFirst()
                memory.bytes -= memory.tiles.removeValue(forKey: oldest)?.count ?? 0
            }
            memory.tiles[path] = bytes
            memory.order.append(path)
            memory.bytes += bytes.count
        }
    }
}
