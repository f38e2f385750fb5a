import Identity
import APIServer
import Marketplace
public import AuditLog
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization

/// How `pdx demo` talks to the marketplace: every request goes through the router that
/// ``buildRouter(configuration:dependencies:directUsageRoute:)`` builds for `pdx serve` — its
/// middleware, API-key authentication, authorization, the handlers generated from
/// `Contracts/openapi.yaml` and the direct usage route — in process, without a socket, the way
/// HummingbirdTesting's `.router` framework sends requests. Only the network is left out.
struct DemoClient: Sendable {
    /// An HTTP answer: the status and the body.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }

        /// The body as JSON.
        func json() throws -> JSONValue {
            do {
                return try JSONValue.parse(body)
            } catch {
                throw DemoError("expected JSON, got: \(text.prefix(300))")
            }
        }
    }

    private let responder: RouterResponder<PDXRequestContext>
    /// Numbers the requests: each is sent with `X-Request-ID: demo-<n>`, so the ids the server
    /// derives from it (a metered call's usage events) are the same for the same seed.
    private let sequence = Sequence()
    /// Contexts need a channel; nothing reads or writes it.
    private let channel: NIOAsyncTestingChannel
    private let logger: Logger

    init(router: Router<PDXRequestContext>, logger: Logger) {
        self.responder = router.buildResponder()
        self.channel = NIOAsyncTestingChannel()
        self.logger = logger
    }

    /// Sends one request with `key` as its bearer API key.
    func send(_ method: HTTPRequest.Method, _ path: String, key: String?, body: [UInt8]? = nil,
              contentType: String = "application/json") async throws -> Answer {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        headers[HTTPField.Name("X-Request-ID")!] = "demo-\(sequence.next())"
        var requestBody = RequestBody(buffer: ByteBuffer())
        if let body {
            headers[.contentType] = contentType
            headers[.contentLength] = String(body.count)
            requestBody = RequestBody(buffer: ByteBuffer(bytes: body))
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers),
            body: requestBody)
        let context = PDXRequestContext(source: .init(channel: channel, logger: logger))
        let response = try await responder.respond(to: request, context: context)
        let collected = CollectedBody()
        try await response.body.write(Collector(into: collected))
        return Answer(status: response.status, body: collected.bytes)
    }

    /// Sends a request (a JSON body, or `raw` bytes) and insists on `expected`; anything else stops
    /// the demo with the problem.
    func expect(_ expected: HTTPResponse.Status, _ method: HTTPRequest.Method, _ path: String, key: String?,
                json body: JSONValue? = nil, raw: [UInt8]? = nil) async throws -> JSONValue {
        let answer = try await send(method, path, key: key, body: try raw ?? body?.canonicalBytes())
        guard answer.status == expected else {
            throw DemoError("\(method) \(path) answered \(answer.status.code), expected \(expected.code): \(answer.text.prefix(500))")
        }
        return answer.body.isEmpty ? .null : try answer.json()
    }

    /// A counter shared by the copies of a client.
    private final class Sequence: Sendable {
        private let value = Atomic<Int>(0)

        func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    }

    /// Accumulates a response body.
    private final class CollectedBody {
        var bytes: [UInt8] = []
    }

    private struct Collector: ResponseBodyWriter {
        let into: CollectedBody

        mutating func write(_ buffer: ByteBuffer) async throws {
            into.bytes += buffer.readableBytesView
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

/// The demo could not run its scenario as written: a step the real code refused.
public typealias DemoError = PlainCodedError<DemoErrorCode>

/// The code of ``DemoError``.
public enum DemoErrorCode: String, Sendable, CaseIterable {
    /// A step of the scenario was refused or answered otherwise than the scenario expects.
    case demoFailed = "demo_failed"
}

extension DemoError {
    /// An error with `detail`, printed as it is.
    init(_ detail: String) { self.init(.demoFailed, detail) }
}
