import Identity
import APIServer
import Marketplace
public import AuditLog
import HTTPTypes
import Hummingbird
import Logging
import Foundation
import NIOCore
import NIOEmbedded
import OpenAPIRuntime
import PDXClient
import Synchronization

/// How `pdx demo` talks to the marketplace: every request goes through the router that
/// ``buildRouter(configuration:dependencies:directUsageRoute:)`` builds for `pdx serve` — its
/// middleware, API-key authentication, authorization, the handlers generated from
/// `Contracts/openapi.yaml` and the direct usage route — in process, without a socket, the way
/// HummingbirdTesting's `.router` framework sends requests. Only the network is left out.
///
/// The scenario speaks through ``PDXClient``, the operators' client generated from the same
/// contract, with this type as its transport (``api(key:)``); ``send(_:_:key:body:contentType:)``
/// is left for the files kept byte for byte (the sealed JSON report).
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

    /// The generated client, sending with `key` through this router. The server's address is never
    /// dialled: paths are answered in process.
    func api(key: String) -> Client {
        PDXClient(serverURL: Self.serverURL, apiKey: key, retries: RetryPolicy(), transport: self).api
    }

    private static let serverURL = URL(string: "http://localhost")!

    /// Sends one request with `key` as its bearer API key.
    func send(_ method: HTTPRequest.Method, _ path: String, key: String?, body: [UInt8]? = nil,
              contentType: String = "application/json") async throws -> Answer {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = contentType }
        let answer = try await respond(to: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path,
                                                       headerFields: headers), body: body)
        return Answer(status: answer.head.status, body: answer.body)
    }

    /// Numbers the request, sends it through the router and collects the answer.
    private func respond(to head: HTTPRequest, body: [UInt8]?) async throws -> (head: HTTPResponse, body: [UInt8]) {
        var head = head
        head.headerFields[HTTPField.Name("X-Request-ID")!] = "demo-\(sequence.next())"
        var requestBody = RequestBody(buffer: ByteBuffer())
        if let body {
            head.headerFields[.contentLength] = String(body.count)
            requestBody = RequestBody(buffer: ByteBuffer(bytes: body))
        }
        let context = PDXRequestContext(source: .init(channel: channel, logger: logger))
        let response = try await responder.respond(to: Request(head: head, body: requestBody), context: context)
        let collected = CollectedBody()
        try await response.body.write(Collector(into: collected))
        return (HTTPResponse(status: response.status, headerFields: response.headers), collected.bytes)
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

extension DemoClient: ClientTransport {
    /// A request of the generated client: its path (with the query) is answered by the router as it
    /// stands; `baseURL` has no path of its own.
    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        var head = request
        head.scheme = "http"
        head.authority = "localhost"
        let bytes: [UInt8]? = if let body { try await [UInt8](collecting: body, upTo: Self.largestBody) } else { nil }
        let answer = try await respond(to: head, body: bytes)
        return (answer.head, answer.body.isEmpty ? nil : HTTPBody(answer.body))
    }

    /// The largest request body the demo sends (a usage batch of 1,000 events is about 150 KB).
    private static let largestBody = 16 << 20
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
