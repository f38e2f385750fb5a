import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore

/// Beijing's own signal-timing interface, as the demo runs it in process on a free port of
/// 127.0.0.1: `GET /v1/junctions?district=…` answers `{"records":[…]}` when the request carries
/// the credential. Its records hold a field the dataset does not publish (`maintenance_contact`)
/// and a sensitive one the demo's grant leaves out (`camera_operator`): what PDX removes.
struct DemoUpstream: Sendable {
    /// The name the dataset's base URL uses; the demo's router connects it to the real port, so
    /// the log does not depend on which port was free.
    static let host = "signals.bj.demo.pdx.local"
    static let baseURL = "http://\(host)/v1"
    static let credentialHeader = "X-Api-Key"
    /// The demo's credential: printed nowhere, logged nowhere; sealed in the data directory.
    static let secret = "demo-bj-signals-credential"
    static let districts = ["dongcheng", "xicheng", "chaoyang", "haidian"]

    let address: String
    private let task: Task<Void, any Error>

    /// Starts the interface; returns once it listens.
    static func start() async throws -> DemoUpstream {
        let router = Router()
        router.get("v1/junctions") { request, _ -> Response in
            guard request.headers[HTTPField.Name(credentialHeader)!] == secret else { return Response(status: .unauthorized) }
            let district = request.uri.queryParameters.get("district") ?? districts[0]
            let index = districts.firstIndex(of: district) ?? 0
            let records = (1...6).map { n in
                #"{"junction_id":"J\#(index + 1)0\#(n)","district":"\#(district)","cycle_seconds":\#(90 + 15 * ((n + index) % 5)),"#
                    + #""camera_operator":"Officer \#(n)","maintenance_contact":"ops-\#(n)@signals.example"}"#
            }
            let body = #"{"records":[\#(records.joined(separator: ","))],"source":"bj-signals"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        // Stopped by cancellation, which its server reports as errors: nothing for the demo's reader.
        var logger = Logger(label: "pdx.demo.upstream")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0); continuation.finish() },
                              logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw DemoError("the demo's upstream interface did not start")
        }
        return DemoUpstream(address: "127.0.0.1:\(port)", task: task)
    }

    private init(address: String, task: Task<Void, any Error>) {
        self.address = address
        self.task = task
    }

    /// Stops the interface.
    func stop() async {
        task.cancel()
        _ = await task.result
    }
}
