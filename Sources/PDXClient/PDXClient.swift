public import AsyncHTTPClient
public import Foundation
public import OpenAPIRuntime
import NIOCore
import OpenAPIAsyncHTTPClient

/// PDX's API for an operator's program: the client generated from `Contracts/openapi.yaml`, with the
/// API key sent on every request, creating requests retried safely, and dates read as the API writes
/// them.
///
/// ```swift
/// let pdx = PDXClient(serverURL: URL(string: "https://pdx.example.cn")!, apiKey: key)
/// let grant = try await pdx.api.requestGrant(body: .json(request)).created.body.json
/// ```
///
/// ``api`` has one method per operation of the contract. What this type adds:
/// - **Authentication**: `Authorization: Bearer <key>` on every request.
/// - **Retries** (``RetryPolicy``): a `GET` is retried when the connection fails or the server answers
///   429, 502, 503 or 504; a creating `POST` (the operations whose contract takes an
///   `Idempotency-Key`) is sent with a key — the caller's, or a new random one — and retried under the
///   same key, so the server applies it once and answers a retry with the first answer. Other requests
///   (decisions, suspensions, …) are never retried: whether they took effect is for the caller to read.
/// - **Paging**: ``pages(from:next:)`` and ``items(from:items:next:)`` follow `next_cursor`.
public struct PDXClient: Sendable {
    /// The generated client: one method per operation of the contract.
    public let api: Client

    /// A client of the server at `serverURL` (e.g. `https://pdx.example.cn`; the contract's paths
    /// start with `/v1/…` under it) with `apiKey`, over AsyncHTTPClient.
    public init(serverURL: URL, apiKey: String, retries: RetryPolicy = RetryPolicy(),
                httpClient: HTTPClient = .shared, timeout: Duration = .seconds(60)) {
        self.init(serverURL: serverURL, apiKey: apiKey, retries: retries,
                  transport: Self.transport(httpClient: httpClient, timeout: timeout))
    }

    /// The transport ``init(serverURL:apiKey:retries:httpClient:timeout:)`` uses: AsyncHTTPClient,
    /// each request given `timeout` (at least a second).
    public static func transport(httpClient: HTTPClient = .shared, timeout: Duration = .seconds(60)) -> any ClientTransport {
        let seconds = max(1, Int64(timeout.components.seconds))
        return AsyncHTTPClientTransport(configuration: .init(client: httpClient, timeout: TimeAmount.seconds(seconds)))
    }

    /// The operations sent with an `Idempotency-Key` and retried under it: the contract's creating POSTs.
    public static var idempotentOperations: Set<String> { Retrying.keyedOperations }

    /// A client over another transport (a test's, or a proxy's).
    public init(serverURL: URL, apiKey: String, retries: RetryPolicy = RetryPolicy(), transport: any ClientTransport) {
        api = Client(serverURL: serverURL,
                     configuration: Configuration(dateTranscoder: APIDateTranscoder()),
                     transport: transport,
                     middlewares: [BearerAuthentication(apiKey: apiKey), Retrying(policy: retries)])
    }

    /// Every page of a listing, first to last: `page(nil)` asks for the first, `page(cursor)` for the
    /// one after; `next` reads a page's `next_cursor` (nil on the last).
    public func pages<Page: Sendable>(from page: @escaping @Sendable (String?) async throws -> Page,
                                      next: @escaping @Sendable (Page) -> String?) -> Pages<Page> {
        Pages(fetch: page, next: next)
    }

    /// Every item of a listing, page after page (``pages(from:next:)``).
    public func items<Page: Sendable, Item: Sendable>(from page: @escaping @Sendable (String?) async throws -> Page,
                                                      items: @escaping @Sendable (Page) -> [Item],
                                                      next: @escaping @Sendable (Page) -> String?) async throws -> [Item] {
        var all: [Item] = []
        for try await one in pages(from: page, next: next) { all += items(one) }
        return all
    }
}

/// The pages of a listing, fetched as they are iterated: a page is asked for only when the one
/// before it was read. A cursor handed back twice in a row ends the iteration with an error rather
/// than looping forever.
public struct Pages<Page: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Page
    let fetch: @Sendable (String?) async throws -> Page
    let next: @Sendable (Page) -> String?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: @Sendable (String?) async throws -> Page
        let next: @Sendable (Page) -> String?
        var cursor: String?
        var done = false

        public mutating func next() async throws -> Page? {
            guard !done else { return nil }
            let page = try await fetch(cursor)
            let following = next(page)
            if let following, following == cursor { throw PagingError(cursor: following) }
            cursor = following
            done = following == nil
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch, next: next) }
}

/// A listing handed back the cursor it was asked with: following it would never end.
public struct PagingError: Error, Sendable, CustomStringConvertible {
    public let cursor: String
    public var description: String { "the listing answered its own cursor \(cursor) as the next one" }
}
