import AsyncHTTPClient
import Foundation
import Marketplace
import NIOCore
import NIOHTTP1

/// Forwards a call to an upstream dataset's interface: one GET, the credential in its header, no
/// redirect followed, the whole exchange (connection, head and body) within ``timeout``, the body
/// read up to ``maxBytes``. Every failure is a `DataAccessError` whose detail names the status or
/// the kind of failure, never the credential.
struct UpstreamClient: Sendable {
    let timeout: Duration
    let maxBytes: Int
    let client: HTTPClient
    /// Host names connected to at another `host:port` (the Host header keeps the name): how the
    /// demo reaches its in-process interface under a name that does not change from run to run.
    let hosts: [String: String]

    init(timeout: Duration, maxBytes: Int, hosts: [String: String] = [:], client: HTTPClient = UpstreamClient.processWide) {
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.hosts = hosts
        self.client = client
    }

    /// One client per process, like `HTTPClient.shared` (whose configuration follows redirects):
    /// its connection pool is shared by every router the process builds and lives as long as it.
    static let processWide: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(60)),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The body of a 2xx answer to `GET url`.
    func get(_ url: String, credentialHeader: String, secret: UpstreamSecret) async throws -> [UInt8] {
        var target = url
        var hostHeader: String?
        for (name, address) in hosts {
            for scheme in ["http://", "https://"] where url.hasPrefix(scheme + name + "/") || url == scheme + name {
                target = scheme + address + url.dropFirst(scheme.count + name.count)
                hostHeader = name
            }
        }
        var outgoing = HTTPClientRequest(url: target)
        outgoing.method = .GET
        if let hostHeader { outgoing.headers.add(name: "Host", value: hostHeader) }
        outgoing.headers.add(name: "Accept", value: "application/json")
        outgoing.headers.add(name: "User-Agent", value: "pdx")
        outgoing.headers.add(name: credentialHeader, value: secret.value)
        let (client, maxBytes, timeout, request) = (client, maxBytes, timeout, outgoing)
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
            + timeout.components.attoseconds / 1_000_000_000)
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                let response: HTTPClientResponse
                do {
                    response = try await client.execute(request, deadline: deadline)
                } catch {
                    throw Self.failure(error)
                }
                switch response.status.code {
                case 200..<300: break
                case 300..<400:
                    throw DataAccessError(.upstreamRedirect, "The authority's interface answered \(response.status.code) (a redirect); PDX follows none.")
                default:
                    throw DataAccessError(.upstreamFailed, "The authority's interface answered \(response.status.code).")
                }
                if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
                    throw DataAccessError(.upstreamTooLarge, "The authority's answer is larger than \(maxBytes) bytes.")
                }
                do {
                    let buffer = try await response.body.collect(upTo: maxBytes)
                    return Array(buffer.readableBytesView)
                } catch is NIOTooManyBytesError {
                    throw DataAccessError(.upstreamTooLarge, "The authority's answer is larger than \(maxBytes) bytes.")
                } catch {
                    throw Self.failure(error)
                }
            }
            // A safety net behind the client's own deadline, which answers first: when the
            // interface refused every connection until then, it reports that (a failure, not a
            // time-out).
            group.addTask {
                try await Task.sleep(for: timeout + .milliseconds(250))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw DataAccessError(.upstreamTimeout, "The authority's interface did not answer within \(timeout).")
            }
            return body
        }
    }

    /// The data API's error for a failure of the client: time-outs apart, everything is a failure
    /// to reach the interface. The client's own text is left out: it may quote the URL.
    static func failure(_ error: any Error) -> DataAccessError {
        if let error = error as? DataAccessError { return error }
        if let error = error as? HTTPClientError,
           [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            return DataAccessError(.upstreamTimeout, "The authority's interface did not answer in time.")
        }
        if error is CancellationError {
            return DataAccessError(.upstreamTimeout, "The authority's interface did not answer in time.")
        }
        return DataAccessError(.upstreamFailed, "The authority's interface could not be reached.")
    }
}
