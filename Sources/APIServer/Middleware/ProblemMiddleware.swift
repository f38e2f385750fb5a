import Marketplace
import Identity
import AuditLog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import OpenAPIRuntime

/// Turns every error that reaches the edge into an RFC 9457 problem. The one place where errors
/// become status codes.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Self.problem(for: error)
            // The error's type and description only: never the request (its headers carry the key,
            // its body may carry anything), and not `String(reflecting:)`, which for some drivers
            // includes the values a query was run with.
            if problem.status.kind == .serverError {
                // The cause, not the generated code's wrapper, which describes the request.
                var cause = error
                while let wrapped = cause as? ServerError { cause = wrapped.underlyingError }
                let metadata: Logger.Metadata = [
                    "code": .string(problem.code),
                    "error_type": .string(String(reflecting: type(of: cause))),
                    "error": .string(String(describing: cause)),
                ]
                if problem.code == "internal_error" {
                    context.logger.error("request failed", metadata: metadata)
                } else {
                    context.logger.warning("request refused", metadata: metadata)
                }
            }
            return problem.response(instance: request.uri.path)
        }
    }

    /// Maps any error to a problem. Errors the server does not know become a 500 `internal_error`
    /// whose detail says nothing about the cause (it is logged instead).
    static func problem(for error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as ServerError:
            return problem(forServerError: error)
        case let error as HTTPError:
            return problem(status: error.status, detail: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            return problem(status: error.status, detail: error.status.reasonPhrase)
        case let error as DecodingError:
            return .invalidRequest(describe(error))
        case let error as HTTPParserError:
            // A body the parser refused while a handler was reading it.
            return ParseErrorProblemHandler.problem(for: error)
        default:
            if let mapped = DomainErrors.problem(for: error) { return mapped }
            return Problem(.internalError, "The server could not complete the request.")
        }
    }

    /// Errors from generated code: the request did not match the contract, or a handler threw.
    private static func problem(forServerError error: ServerError) -> Problem {
        let underlying = error.underlyingError
        if underlying is Problem || underlying is DecodingError || DomainErrors.problem(for: underlying) != nil {
            return problem(for: underlying)
        }
        if let nested = underlying as? ServerError { return problem(forServerError: nested) }
        if let decoding = innermostDecodingError(underlying) { return .invalidRequest(describe(decoding)) }
        let status = error.httpStatus
        if status.kind == .clientError {
            return problem(status: status, detail: "\(error.causeDescription): \(underlying)")
        }
        return problem(for: underlying)
    }

    private static func innermostDecodingError(_ error: any Error) -> DecodingError? {
        let mirror = Mirror(reflecting: error)
        for child in mirror.children {
            if let decoding = child.value as? DecodingError { return decoding }
        }
        return nil
    }

    /// A problem for a bare status, with the code the contract gives that status.
    static func problem(status: HTTPResponse.Status, detail: String) -> Problem {
        let code: ServerCode = switch status.code {
        case 400: .invalidRequest
        case 401: .unauthenticated
        case 403: .forbidden
        case 404: .notFound
        case 405: .methodNotAllowed
        case 406: .notAcceptable
        case 413: .payloadTooLarge
        case 415: .unsupportedMediaType
        case 429: .rateLimited
        case 503: .serviceUnavailable
        // Statuses are open-ended: any other keeps its number under the code of its class.
        default: status.kind == .clientError ? .invalidRequest : .internalError
        }
        return Problem(status, code: code.rawValue, detail: detail)
    }

    /// A readable sentence for a JSON decoding failure: where, and what.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "the body" : "'\(path)'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing required field '\(key.stringValue)' in \(parent)"
        case .typeMismatch(let type, let context):
            return "\(path(context)) has the wrong type (expected \(type))"
        case .valueNotFound(_, let context):
            return "\(path(context)) must not be null"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "the body does not match the contract"
        }
    }
}
