import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP forwarder from a port on 127.0.0.1 to a database server, which a test can cut to make the
/// database unreachable without touching the server itself (which other tests share).
///
/// ``cut()`` shuts down every open connection at once, as a failed network or a restarted server
/// would, and closes every new one on accept until ``restore()``. ``cut(whenClientSends:)`` does the
/// same at an exact point of the conversation: when the client sends a statement containing some
/// text, so a test can lose the connection in the middle of a transaction, not just around it.
/// Blocking sockets on threads: the traffic of one test is small.
package final class TCPForwarder: Sendable {
    /// The port to connect to instead of the server's.
    package let port: Int

    private struct State {
        var isCut = false
        var isStopped = false
        /// Cut once client chunks contained each of these texts in turn: before forwarding the one
        /// containing the last (or just after, when `after`).
        var trigger: (texts: [[UInt8]], after: Bool)?
        var sockets: Set<Int32> = []
    }

    private let listener: Int32
    private let target: sockaddr_in
    private let state = Mutex(State())

    package init(toPort targetPort: Int, host: String = "127.0.0.1") throws {
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_addr.s_addr = inet_addr(host)
        target.sin_port = in_port_t(UInt16(targetPort).bigEndian)
        self.target = target

        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ForwarderError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 64) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw ForwarderError("bind: \(String(cString: strerror(errno)))")
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Shuts down every open connection and refuses new ones until ``restore()``.
    package func cut() {
        let sockets = state.withLock { state in
            state.isCut = true
            state.trigger = nil
            return state.sockets
        }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// Cuts (see ``cut()``) once clients have sent each of `texts` in turn (each in a later chunk than
    /// the one before): before forwarding the chunk with the last, or just after it when
    /// `afterForwarding` (the server then has it, the client never hears back).
    package func cut(whenClientSends texts: String..., afterForwarding: Bool = false) {
        state.withLock { $0.trigger = (texts.map { Array($0.utf8) }, afterForwarding) }
    }

    /// True once a cut happened (by ``cut()`` or its trigger) and before ``restore()``.
    package var isCut: Bool { state.withLock { $0.isCut } }

    /// Accepts and forwards connections again.
    package func restore() {
        state.withLock { $0.isCut = false }
    }

    /// Stops listening and cuts every connection.
    package func stop() {
        // Once only: a second `close` of the listener's number would close whatever descriptor the
        // process opened under that number since.
        let first = state.withLock { state in
            defer { state.isStopped = true }
            return !state.isStopped
        }
        guard first else { return }
        cut()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// True when `chunk` holds the trigger's last text; a match of an earlier one arms the next.
    private func advanceTrigger(_ chunk: [UInt8]) -> Bool {
        state.withLock { state in
            guard let trigger = state.trigger, let next = trigger.texts.first, chunk.contains(next) else { return false }
            if trigger.texts.count == 1 { return true }
            state.trigger = (Array(trigger.texts.dropFirst()), trigger.after)
            return false
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if state.withLock({ $0.isCut || $0.isStopped }) {
                close(client)
                continue
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = target
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(server)
                close(client)
                continue
            }
            state.withLock { state in
                state.sockets.insert(client)
                state.sockets.insert(server)
            }
            let pair = Pair(client: client, server: server)
            Thread.detachNewThread { [self] in pump(from: client, to: server, fromClient: true, pair: pair) }
            Thread.detachNewThread { [self] in pump(from: server, to: client, fromClient: false, pair: pair) }
        }
    }

    /// Copies bytes one way until either side ends, then ends both; the second pump to finish closes.
    private func pump(from source: Int32, to destination: Int32, fromClient: Bool, pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        loop: while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            let chunk = Array(buffer[0..<count])
            var cutAfter = false
            if fromClient, advanceTrigger(chunk) {
                if state.withLock({ $0.trigger?.after ?? false }) {
                    // Cut before the server can answer this chunk: from here on nothing it sends
                    // reaches a client, so the client never learns how the statement ended.
                    state.withLock { $0.isCut = true }
                    cutAfter = true
                } else {
                    cut()
                    break loop
                }
            }
            if !fromClient, state.withLock({ $0.isCut }) { break loop }
            var sent = 0
            while sent < count {
                let n = chunk[sent...].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break loop }
                sent += n
            }
            if cutAfter {
                cut()
                break
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
        if pair.finishOne() {
            state.withLock { state in
                state.sockets.remove(pair.client)
                state.sockets.remove(pair.server)
            }
            close(pair.client)
            close(pair.server)
        }
    }

    private final class Pair: Sendable {
        let client: Int32
        let server: Int32
        private let finished = Mutex(0)

        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }

        /// True for the second of the two pumps.
        func finishOne() -> Bool {
            finished.withLock { count in
                count += 1
                return count == 2
            }
        }
    }
}

/// Why a forwarder could not start.
package struct ForwarderError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
