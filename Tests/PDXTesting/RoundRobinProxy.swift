import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP proxy on one local port in front of several `pdx serve` processes, as a load balancer
/// would stand: each new client connection goes to the next backend in turn, and to the one after
/// it when a backend refuses the connection (a killed instance). Bytes are copied both ways by two
/// blocking threads per connection; when either side closes or fails, both are shut down, so a
/// client whose backend died sees its connection end and retries.
package final class RoundRobinProxy: Sendable {
    /// The port clients connect to.
    package let port: Int
    private let listener: Int32
    private let backends: [Int]
    private let next = Mutex(0)
    /// Connections handed to each backend, by port.
    private let handed = Mutex<[Int: Int]>([:])
    /// Every connection made, for ``cut()``.
    private let pairs = Mutex<[SocketPair]>([])
    /// Set by the first ``stop()``: the listener is closed once, never again. A second `close` of
    /// its number would close whatever descriptor the process opened under that number since — a
    /// server's socket in another test, which then fails with EBADF.
    private let stopped = Mutex(false)

    package init(backends: [Int]) throws {
        // A write to a socket whose peer is gone must fail with EPIPE, not end the test process.
        signal(SIGPIPE, SIG_IGN)
        self.backends = backends
        let fd = socket(AF_INET, Self.streamType, 0)
        guard fd >= 0 else { throw ProxyError("socket: \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw ProxyError("bind/listen: \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting; connections already made run until either side closes.
    package func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Stops accepting and ends every connection at once, as a backend that went away would.
    package func cut() {
        stop()
        for pair in pairs.withLock({ $0 }) { pair.sever() }
    }

    /// How many connections each backend port was given so far.
    package var connectionsPerBackend: [Int: Int] { handed.withLock { $0 } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // stopped
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        guard let upstream = connectToNextBackend() else {
            close(client)
            return
        }
        let pair = SocketPair(client, upstream)
        pairs.withLock { $0.append(pair) }
        Thread.detachNewThread { Self.pump(from: client, to: upstream, pair: pair) }
        Self.pump(from: upstream, to: client, pair: pair)
    }

    /// The next backend in turn that accepts a connection; nil when none does.
    private func connectToNextBackend() -> Int32? {
        let start = next.withLock { value in
            defer { value = (value + 1) % backends.count }
            return value
        }
        for offset in 0..<backends.count {
            let port = backends[(start + offset) % backends.count]
            let fd = socket(AF_INET, Self.streamType, 0)
            guard fd >= 0 else { return nil }
            var address = Self.loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            if connected {
                handed.withLock { $0[port, default: 0] += 1 }
                return fd
            }
            close(fd)
        }
        return nil
    }

    private static func pump(from source: Int32, to destination: Int32, pair: SocketPair) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                let n = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, count - sent) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break copying }
                sent += n
            }
        }
        pair.finish()
    }

    static var streamType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_STREAM.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}

/// The two sockets of one proxied connection: the first pump to end shuts both down (which ends
/// the other pump's read), the second closes them.
private final class SocketPair: Sendable {
    private let sockets: (Int32, Int32)
    private let ended = Mutex(0)

    init(_ a: Int32, _ b: Int32) {
        sockets = (a, b)
    }

    /// Shuts both sockets down unless they are already closed; each pump then ends as usual.
    func sever() {
        ended.withLock { value in
            if value < 2 {
                shutdown(sockets.0, Int32(SHUT_RDWR))
                shutdown(sockets.1, Int32(SHUT_RDWR))
            }
        }
    }

    func finish() {
        let count = ended.withLock { value in
            value += 1
            return value
        }
        if count == 1 {
            shutdown(sockets.0, Int32(SHUT_RDWR))
            shutdown(sockets.1, Int32(SHUT_RDWR))
        } else {
            close(sockets.0)
            close(sockets.1)
        }
    }
}

/// Why a proxy or a request through one failed.
package struct ProxyError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
