import Marketplace
import Identity
import HTTPTypes
import Hummingbird
import Metering
import NIOCore

/// `POST /v1/usage` without the generated `Codable` path, for the bodies ``UsageBatchScanner``
/// reads: decoding a batch of 1,000 events and encoding its 1,000 results through `Codable` cost
/// the server more CPU than deciding and committing them (`Docs/design/0004-metering.md`).
///
/// Every request it does not take goes on to the generated handler unchanged: another role (whose
/// 403 the generated middleware gives), an `Accept`, `Content-Type` or `Idempotency-Key` it does
/// not handle alike, and any body the scanner does not read. What it takes it answers as the
/// generated handler would, byte for byte (`UsageRouteTests`): the same checks in the same order
/// (``API/recordUsage(_:caller:)``), the same problems, the same JSON.
struct UsageRoute<Context: RequestContext>: RouterMiddleware {
    let api: API

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path == "/v1/usage", Self.isPlain(request.headers),
              let caller = try? Authorization.require(.reportUsage)
        else { return try await next(request, context) }
        var request = request
        // BodyLimitMiddleware collected and limited it already.
        let body = try await request.collectBody(upTo: .max)
        guard let events = body.withUnsafeReadableBytes({ UsageBatchScanner.events(in: $0) }) else {
            return try await next(request, context)
        }
        let decision = try await api.recordUsage(events, caller: caller)
        let answer = UsageResultWriter.json(ids: events.map(\.id), outcomes: decision.outcomes)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(answer.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: answer))
    }

    /// Headers the generated handler would accept and answer with JSON: `Content-Type` JSON, any
    /// `Accept` only `application/json` or `*/*`, no `Idempotency-Key` (the generated handler's
    /// `IdempotencyMiddleware` reserves and replays it).
    static func isPlain(_ headers: HTTPFields) -> Bool {
        let contentTypes = headers[values: .contentType]
        guard contentTypes.count == 1,
              contentTypes[0] == "application/json" || contentTypes[0] == "application/json; charset=utf-8"
        else { return false }
        let accepts = headers[values: .accept]
        guard accepts.count <= 1, accepts.allSatisfy({ $0 == "application/json" || $0 == "*/*" }) else { return false }
        return headers[IdempotencyMiddleware.header] == nil
    }
}

/// The `UsageBatchResult` JSON of a decided batch, written directly: the bytes `JSONEncoder` with
/// sorted keys writes for ``API/usageResult(ids:outcomes:)``.
enum UsageResultWriter {
    static func json(ids: [String], outcomes: [UsageOutcome]) -> ByteBuffer {
        var counts = (accepted: 0, duplicates: 0, rejected: 0)
        for outcome in outcomes {
            switch outcome {
            case .accepted: counts.accepted += 1
            case .duplicate: counts.duplicates += 1
            case .rejected: counts.rejected += 1
            }
        }
        var out = ByteBuffer()
        out.reserveCapacity(64 + ids.count * 48)
        out.writeStaticString("{\"accepted\":")
        out.writeString(String(counts.accepted))
        out.writeStaticString(",\"duplicates\":")
        out.writeString(String(counts.duplicates))
        out.writeStaticString(",\"rejected\":")
        out.writeString(String(counts.rejected))
        out.writeStaticString(",\"results\":[")
        for (offset, (id, outcome)) in zip(ids, outcomes).enumerated() {
            if offset > 0 { out.writeStaticString(",") }
            switch outcome {
            case .accepted:
                out.writeStaticString("{\"id\":")
                writeString(id, to: &out)
                out.writeStaticString(",\"status\":\"accepted\"}")
            case .duplicate:
                out.writeStaticString("{\"id\":")
                writeString(id, to: &out)
                out.writeStaticString(",\"status\":\"duplicate\"}")
            case .rejected(let why):
                out.writeStaticString("{\"code\":")
                writeString(why.rawValue, to: &out)
                out.writeStaticString(",\"id\":")
                writeString(id, to: &out)
                out.writeStaticString(",\"status\":\"rejected\"}")
            }
        }
        out.writeStaticString("]}")
        return out
    }

    /// A JSON string as `JSONEncoder` writes it without `.withoutEscapingSlashes`: `/` escaped,
    /// the two-character escapes where JSON has them, `\u00xx` for other control characters, and
    /// everything else as UTF-8.
    static func writeString(_ text: String, to out: inout ByteBuffer) {
        out.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var clean = 0
            for (index, byte) in utf8.enumerated() {
                let escape: StaticString? = switch byte {
                case UInt8(ascii: "\""): "\\\""
                case UInt8(ascii: "\\"): "\\\\"
                case UInt8(ascii: "/"): "\\/"
                case 0x08: "\\b"
                case 0x0C: "\\f"
                case UInt8(ascii: "\n"): "\\n"
                case UInt8(ascii: "\r"): "\\r"
                case UInt8(ascii: "\t"): "\\t"
                default: nil
                }
                guard escape != nil || byte < 0x20 else { continue }
                out.writeBytes(UnsafeBufferPointer(rebasing: utf8[clean..<index]))
                clean = index + 1
                if let escape {
                    out.writeStaticString(escape)
                } else {
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            out.writeBytes(UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        out.writeInteger(UInt8(ascii: "\""))
    }
}
