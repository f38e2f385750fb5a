import AuditLog
import AsyncHTTPClient
import Foundation
import Licensing
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
    /// True when the interface may be at a loopback, private or other non-public address
    /// (`--upstream-allow-private`).
    let allowPrivate: Bool

    init(timeout: Duration, maxBytes: Int, hosts: [String: String] = [:], allowPrivate: Bool = false,
         client: HTTPClient = UpstreamClient.processWide) {
        self.allowPrivate = allowPrivate
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

    /// The body of a 2xx answer to `GET url`. The host is resolved first, within the deadline; an
    /// address in a non-public range refuses the call (`upstream_address_not_allowed`) unless
    /// ``allowPrivate``. An `http` call then connects to the address checked (the first IPv4
    /// one, else the first), the Host header keeping the URL's, so that no second resolution can
    /// lead elsewhere; an `https` call connects by name, and the certificate check of that name
    /// stands for the address.
    func get(_ url: String, credentialHeader: String, secret: UpstreamSecret) async throws -> [UInt8] {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
            + timeout.components.attoseconds / 1_000_000_000)
        let (allowPrivate, hosts, client, maxBytes, timeout) = (allowPrivate, hosts, client, maxBytes, timeout)
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                let target = try await Self.target(url, hosts: hosts, allowPrivate: allowPrivate)
                var outgoing = HTTPClientRequest(url: target.url)
                outgoing.method = .GET
                if let host = target.host { outgoing.headers.add(name: "Host", value: host) }
                outgoing.headers.add(name: "Accept", value: "application/json")
                outgoing.headers.add(name: "User-Agent", value: "pdx")
                outgoing.headers.add(name: credentialHeader, value: secret.value)
                return try await Self.execute(outgoing, client: client, maxBytes: maxBytes, deadline: deadline)
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

    /// Where a call to `url` goes once its host is resolved and checked: the URL to connect to, and
    /// the Host header to send when that URL does not name the host itself.
    static func target(_ url: String, hosts: [String: String], allowPrivate: Bool) async throws -> (url: String, host: String?) {
        guard let authority = UpstreamEndpoint.authority(of: url) else {
            throw DataAccessError(.upstreamFailed, "The authority's interface could not be reached: its URL has no host.")
        }
        var connectHost = authority.host
        var connectPort = authority.port
        var hostHeader = authority.written
        var pin = authority.scheme == "http"
        if let mapped = hosts[authority.written] ?? hosts[authority.host],
           let target = UpstreamEndpoint.authority(of: "http://" + mapped) {
            // The demo's fixed name: connected to its in-process interface, the Host header the name.
            connectHost = target.host
            connectPort = target.port
            hostHeader = authority.host
            pin = true
        }
        let addresses: [UpstreamAddress]
        do {
            addresses = try await UpstreamResolver.resolve(connectHost)
        } catch {
            throw failure(error)
        }
        if !allowPrivate {
            for address in addresses {
                if let range = UpstreamAddress.forbiddenRange(address) {
                    throw DataAccessError(.upstreamAddressNotAllowed,
                                          "The authority's interface resolves to a \(range) address; this server forwards only to public addresses.")
                }
            }
        }
        var target = url
        if pin, let address = addresses.first(where: \.isIPv4) ?? addresses.first {
            let literal = address.isIPv4 ? address.description : "[\(address.description)]"
            target = authority.scheme + "://" + literal + ":" + String(connectPort) + authority.rest
        }
        return (target, target == url ? nil : hostHeader)
    }

    /// The body of a 2xx answer to `request`, read up to `maxBytes`.
    static func execute(_ request: HTTPClientRequest, client: HTTPClient, maxBytes: Int, deadline: NIODeadline) async throws -> [UInt8] {
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
