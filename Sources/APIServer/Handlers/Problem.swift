import Marketplace
import Identity
public import HTTPTypes
import Foundation
import Hummingbird
import NIOCore

/// An RFC 9457 problem: what the API answers for every refused or failed request.
///
/// `code` is stable and part of the contract (`Contracts/openapi.yaml` lists the catalog); `detail` is
/// for people and never carries secrets.
public struct Problem: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    /// Seconds a client should wait before retrying (sent as `Retry-After`), for 429 and 503.
    public var retryAfter: Int?
    /// Every rule that refused the request, when several may apply; the first one is `code`.
    public var reasons: [(code: String, detail: String)]
    /// The methods the path takes (sent as `Allow`), for 405.
    public var allow: String?

    public init(_ status: HTTPResponse.Status, code: String, detail: String, retryAfter: Int? = nil,
                reasons: [(code: String, detail: String)] = []) {
        self.status = status
        self.code = code
        self.detail = detail
        self.retryAfter = retryAfter
        self.reasons = reasons
    }

    public static func == (lhs: Problem, rhs: Problem) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code
    }

    /// The problem `type`: the section of the problem catalog (`Docs/problems.md`, served at
    /// `GET /problems`) that explains the code, as a reference relative to the request's URL.
    public var type: String { "/problems#\(code)" }

    /// The JSON body, members in a fixed order so responses are byte-stable.
    func body(instance: String?) -> [UInt8] {
        var json = "{\"type\":\(Self.quote(type)),\"title\":\(Self.quote(status.reasonPhrase))"
        json += ",\"status\":\(status.code),\"code\":\(Self.quote(code)),\"detail\":\(Self.quote(detail))"
        if let instance { json += ",\"instance\":\(Self.quote(instance))" }
        if !reasons.isEmpty {
            json += ",\"reasons\":[" + reasons.map {
                "{\"code\":\(Self.quote($0.code)),\"detail\":\(Self.quote($0.detail))}"
            }.joined(separator: ",") + "]"
        }
        json += "}"
        return Array(json.utf8)
    }

    /// The Hummingbird response for this problem.
    func response(instance: String?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let body = body(instance: instance)
        headers[.contentLength] = String(body.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Problem {
    static func invalidRequest(_ detail: String) -> Problem { Problem(.invalidRequest, detail) }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, detail) }
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, detail) }
    static func unauthenticated(_ detail: String) -> Problem {
        Problem(.unauthenticated, detail)
    }
}
