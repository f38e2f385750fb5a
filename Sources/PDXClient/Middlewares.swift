public import Foundation
public import HTTPTypes
public import OpenAPIRuntime

/// How ``PDXClient`` retries: how many attempts in all, and the waits between them (doubling from
/// `initialDelay` up to `maximumDelay`; a `Retry-After` the server sends is waited instead, up to
/// `maximumDelay`).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; 1 never retries.
    public var attempts: Int
    public var initialDelay: Duration
    public var maximumDelay: Duration

    public init(attempts: Int = 4, initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(5)) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// One attempt, no retry.
    public static let never = RetryPolicy(attempts: 1)
}

/// `Authorization: Bearer <key>` on every request.
struct BearerAuthentication: ClientMiddleware {
    let apiKey: String

    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(apiKey)"
        return try await next(request, body, baseURL)
    }
}

/// Retries what is safe to send again (``PDXClient``): reads, and creating requests under one
/// `Idempotency-Key`.
struct Retrying: ClientMiddleware {
    /// The operations whose contract takes an `Idempotency-Key`: every creating POST. A test checks
    /// this list against the contract.
    static let keyedOperations: Set<String> = [
        "createAuthority", "createPrincipal", "applyAsOperator", "publishDataset", "requestGrant", "amendGrant", "reportUsage",
        "addAdjustment", "reportProviderUsage", "acknowledgeDiscrepancy",
    ]
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// A request body is held in memory to be sent again only up to this size.
    static let replayableBodyLimit = 64 << 20

    let policy: RetryPolicy

    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        let keyed = Self.keyedOperations.contains(operationID)
        let safe = request.method == .get || request.method == .head
        guard policy.attempts > 1, keyed || safe else { return try await next(request, body, baseURL) }
        var request = request
        if keyed, request.headerFields[Self.idempotencyKey] == nil {
            request.headerFields[Self.idempotencyKey] = UUID().uuidString.lowercased()
        }
        var replayable = body
        if let body, body.iterationBehavior == .single {
            replayable = HTTPBody(try await Data(collecting: body, upTo: Self.replayableBodyLimit))
        }
        var delay = policy.initialDelay
        for attempt in 1... {
            let last = attempt >= policy.attempts
            let response: HTTPResponse
            let responseBody: HTTPBody?
            do {
                (response, responseBody) = try await next(request, replayable, baseURL)
            } catch let error as CancellationError {
                throw error
            } catch {
                if last { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, policy.maximumDelay)
                continue
            }
            guard !last, Self.isRetryable(response) else { return (response, responseBody) }
            // Read what is left of the answer, so the connection can be used again.
            if let responseBody { _ = try? await Data(collecting: responseBody, upTo: 1 << 20) }
            try await Task.sleep(for: min(Self.retryAfter(response) ?? delay, policy.maximumDelay))
            delay = min(delay * 2, policy.maximumDelay)
        }
        preconditionFailure("unreachable: the loop returns or throws on its last attempt")
    }

    /// Worth sending again: rate limited, the server or what is in front of it unavailable, or (409
    /// with `Retry-After`) the same key's first request still running.
    static func isRetryable(_ response: HTTPResponse) -> Bool {
        switch response.status.code {
        case 429, 502, 503, 504: true
        case 409: response.headerFields[.retryAfter] != nil
        default: false
        }
    }

    /// `Retry-After` in seconds, when the server sent one.
    static func retryAfter(_ response: HTTPResponse) -> Duration? {
        guard let text = response.headerFields[.retryAfter], let seconds = Int(text), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}

/// The API's dates: RFC 3339, read with or without fractional seconds and with any offset, written in
/// UTC with milliseconds — as the server writes them.
struct APIDateTranscoder: DateTranscoder {
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let whole = Date.ISO8601FormatStyle()

    func encode(_ date: Date) throws -> String { Self.fractional.format(date) }

    func decode(_ text: String) throws -> Date {
        if let date = try? Self.fractional.parse(text) { return date }
        if let date = try? Self.whole.parse(text) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Expected an RFC 3339 date-time, got \(text)."))
    }
}
