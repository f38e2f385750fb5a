public import AuditLog
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
public import Logging

/// `pdx witness`: the C2SP tlog-witness HTTP interface of a ``LogWitness``.
///
/// `POST /add-checkpoint` answers 200 with the cosignature line; a refusal answers the protocol's
/// status (400, 403, 404, 409, 422) with `<code>: <detail>` as plain text, except the 409 for a
/// stale old size, whose `text/x.tlog.size` body is the size last cosigned and a newline, as the
/// protocol requires. `GET /healthz` answers 200 for probes.
public func buildWitnessRouter(witness: LogWitness, logger: Logger) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.post("add-checkpoint") { request, _ -> Response in
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: AddCheckpointRequest.maximumBytes)
        } catch {
            return WitnessAnswers.text(.contentTooLarge, "malformed_request: the body is over \(AddCheckpointRequest.maximumBytes) bytes\n")
        }
        let result = await witness.addCheckpoint(body: body.readableBytesView)
        switch result {
        case .cosigned(_, let line):
            return WitnessAnswers.text(.ok, line)
        case .refused(let error, let latest):
            logger.info("refused a checkpoint", metadata: ["code": "\(error.code.rawValue)", "detail": "\(error.detail)"])
            if error.code == .staleOldSize, let latest {
                return WitnessAnswers.text(.conflict, "\(latest)\n", contentType: "text/x.tlog.size")
            }
            return WitnessAnswers.text(HTTPResponse.Status(code: error.code.status), "\(error.code.rawValue): \(error.detail)\n")
        }
    }
    router.get("healthz") { _, _ in WitnessAnswers.text(.ok, "ok\n") }
    return router
}

/// Serves `witness` on `host:port` until SIGINT/SIGTERM.
public func runWitnessServer(witness: LogWitness, host: String, port: Int, logger: Logger) async throws {
    let app = Application(router: buildWitnessRouter(witness: witness, logger: logger),
                          configuration: .init(address: .hostname(host, port: port), serverName: "pdx-witness"),
                          logger: logger)
    try await app.runService()
}

enum WitnessAnswers {
    static func text(_ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        let bytes = Array(text.utf8)
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
