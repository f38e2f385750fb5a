import AuditLog
import Dispatch
import Foundation
import Licensing
import Marketplace
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves an upstream host name with the system's resolver (`getaddrinfo`), on a dispatch
/// thread rather than the cooperative pool it would block. A cancelled resolution answers at once;
/// the thread finishes the lookup and its answer is dropped.
enum UpstreamResolver {
    /// Every address `host` resolves to (an IP literal is its own), without duplicates, in the
    /// resolver's order. Throws `upstream_failed` when the name does not resolve.
    static func resolve(_ host: String) async throws -> [UpstreamAddress] {
        if let literal = UpstreamAddress.literal(host) { return [literal] }
        let once = Once()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UpstreamAddress], any Error>) in
                once.set(continuation)
                DispatchQueue.global().async {
                    once.resume(with: lookUp(host))
                }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }

    /// A continuation resumed once, by the lookup or by cancellation, whichever comes first.
    private final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<[UpstreamAddress], any Error>?
        private var early: Result<[UpstreamAddress], any Error>?

        func set(_ continuation: CheckedContinuation<[UpstreamAddress], any Error>) {
            lock.lock()
            if let early {
                lock.unlock()
                continuation.resume(with: early)
                return
            }
            self.continuation = continuation
            lock.unlock()
        }

        func resume(with result: Result<[UpstreamAddress], any Error>) {
            lock.lock()
            guard let continuation else {
                if early == nil { early = result }
                lock.unlock()
                return
            }
            self.continuation = nil
            early = result
            lock.unlock()
            continuation.resume(with: result)
        }
    }

    private static func lookUp(_ host: String) -> Result<[UpstreamAddress], any Error> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
            return .failure(DataAccessError(.upstreamFailed, "The authority's interface could not be reached: its host name does not resolve."))
        }
        defer { freeaddrinfo(first) }
        var addresses: [UpstreamAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            guard let socket = entry.pointee.ai_addr else { continue }
            // The address as text, read back as a literal: no field of sockaddr_in or sockaddr_in6
            // is touched, whose C module differs between builds.
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(socket, entry.pointee.ai_addrlen, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // A scoped IPv6 address (`fe80::1%eth0`) is read without its zone.
            let address = UpstreamAddress.literal(String(text.prefix { $0 != "%" }))
            if let address, !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else {
            return .failure(DataAccessError(.upstreamFailed, "The authority's interface could not be reached: its host name does not resolve."))
        }
        return .success(addresses)
    }
}
