import Marketplace
import Identity
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

// The HTTP/1 parser refuses what it cannot parse — raw non-ASCII bytes in the request target, a
// malformed header line, a header section over the limit — before any middleware runs, and
// Hummingbird answers each such request with an empty 400. Those answers are the only refusals that
// would not be problems, so a handler right behind the parser gives them a body and a code.

extension HTTPServerBuilder {
    /// HTTP/1.1 whose refusals of unparsable requests are problem+json like every other refusal.
    static func http1WithProblems(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in ProblemHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}

/// Hummingbird's HTTP/1 channel with ``ParseErrorProblemHandler`` behind the request decoder.
struct ProblemHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(ParseErrorProblemHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Remembers the parser's error as it passes on its way to Hummingbird, and rewrites the empty 400
/// Hummingbird then writes into the problem for that error.
///
/// Only a bodiless 400 written after a parser error is rewritten: an answer the router produced
/// already is a problem and carries a body.
final class ParseErrorProblemHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var parseError: HTTPParserError?
    /// The body owed after the rewritten head, written before the response's end.
    private var pendingBody: [UInt8]?

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { parseError = error }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where parseError != nil && head.status == .badRequest && head.headers["content-length"] == ["0"]:
            let problem = Self.problem(for: parseError ?? .unknown)
            let body = problem.body(instance: nil)
            head.status = .init(statusCode: Int(problem.status.code))
            head.headers.replaceOrAdd(name: "content-type", value: "application/problem+json")
            head.headers.replaceOrAdd(name: "content-length", value: String(body.count))
            pendingBody = body
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end(let trailers) where pendingBody != nil:
            let body = pendingBody ?? []
            pendingBody = nil
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// The problem a parser error becomes: 431 for a request target and headers over the limit, 400 otherwise.
    static func problem(for error: HTTPParserError) -> Problem {
        switch error {
        case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment, .invalidHost, .invalidPort:
            return .invalidRequest(
                "The request target must be percent-encoded: every byte outside printable ASCII, such as the UTF-8 of "
                    + "non-Latin text, is sent as %XX (RFC 3986).")
        case .headerOverflow:
            // The parser counts the request target toward the same limit, and cannot tell which overflowed.
            return Problem(.headersTooLarge, "The request target and header fields together are larger than the server accepts.")
        case .invalidHeaderToken, .invalidCharactersUsed, .lfExpected:
            return .invalidRequest("The request is not well-formed HTTP/1.1: a request or header line is malformed.")
        case .invalidContentLength, .unexpectedContentLength:
            return .invalidRequest("The request's Content-Length is not valid.")
        case .invalidChunkSize:
            return .invalidRequest("The request's chunked body is malformed.")
        case .invalidMethod:
            return .invalidRequest("The request method is not valid.")
        case .invalidVersion:
            return .invalidRequest("Only HTTP/1.0 and HTTP/1.1 are served on this port.")
        default:
            return .invalidRequest("The request is not well-formed HTTP/1.1.")
        }
    }
}
