public import AuditLog
import AsyncHTTPClient
import Foundation
public import Marketplace
import NIOCore
import NIOHTTP1

/// A witness reached over HTTP at `<url>/add-checkpoint`: what `pdx serve --witness URL,VKEY` asks.
public struct HTTPWitness: WitnessConnection {
    /// The submission prefix, without a trailing slash.
    public let url: String
    public let verifier: CosignatureVerifier
    let timeout: Duration

    /// Parses `URL,VKEY` as given to `--witness`: an http or https URL, a comma, the witness's
    /// cosignature verifier key.
    public init(argument: String, timeout: Duration = .seconds(10)) throws {
        guard let comma = argument.firstIndex(of: ",") else {
            throw RuntimeError("--witness takes URL,VKEY: the witness's URL, a comma, its verifier key")
        }
        var url = String(argument[..<comma])
        while url.hasSuffix("/") { url.removeLast() }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw RuntimeError("--witness: \(url) is not an http or https URL")
        }
        do {
            verifier = try CosignatureVerifier(verifierKey: String(argument[argument.index(after: comma)...]))
        } catch {
            throw RuntimeError("--witness: \(error)")
        }
        self.url = url
        self.timeout = timeout
    }

    public func addCheckpoint(_ request: AddCheckpointRequest) async throws -> WitnessAnswer {
        var outgoing = HTTPClientRequest(url: url + "/add-checkpoint")
        outgoing.method = .POST
        outgoing.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        outgoing.body = .bytes(ByteBuffer(string: request.body))
        let response = try await HTTPClient.shared.execute(outgoing, timeout: .seconds(Int64(timeout.components.seconds)))
        let body = try await response.body.collect(upTo: 1 << 16)
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        switch response.status.code {
        case 200:
            // The answer is signature lines: parsed as the signatures of the checkpoint's note.
            guard let lines = try? SignedNote.parse(request.note.text + "\n" + text) else {
                return .refused(status: 200, detail: "the answer is not signature lines")
            }
            return .cosignatures(lines.signatures)
        case 409 where response.headers.first(name: "Content-Type") == "text/x.tlog.size":
            guard text.hasSuffix("\n"), let size = UInt64(text.dropLast()) else {
                return .refused(status: 409, detail: "the size answer is malformed")
            }
            return .staleOldSize(latest: size)
        default:
            return .refused(status: Int(response.status.code), detail: String(text.prefix(200)).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
