package import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built executables, found beside the test bundle.
package enum Executables {
    /// The executable `name` of this build; nil when it was not built.
    package static func url(_ name: String) -> URL? {
        var directories = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }
            .map { $0.bundleURL.deletingLastPathComponent() }
        // On Linux the test bundle is itself the running executable, beside the products.
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        directories.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug"))
        return directories.map { $0.appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// How a program ended and what it printed.
    package struct Run: Sendable {
        package var status: Int32
        package var output: String
        package var error: String

        package init(status: Int32, output: String, error: String) {
            self.status = status
            self.output = output
            self.error = error
        }
    }

    /// Runs the built executable `name` to its end (see ``launchTool(_:_:in:)``).
    package static func launch(_ name: String, _ arguments: [String]) async throws -> Run {
        try await launchTool(try #require(url(name), "\(name) is not built").path, arguments)
    }

    /// Runs the program at `path` to its end, in `directory` if given, and collects what it printed.
    ///
    /// Neither the wait for its exit nor the reads of its output hold a thread of the cooperative
    /// pool, which every other test's tasks share: the exit arrives through the process's
    /// termination handler, and each pipe is drained to its end on a thread of its own, both at once
    /// (a child that fills one pipe while the other is being read would otherwise never exit).
    package static func launchTool(_ path: String, _ arguments: [String], in directory: URL? = nil) async throws -> Run {
        let child = ChildProcess()
        child.process.executableURL = URL(fileURLWithPath: path)
        child.process.arguments = arguments
        if let directory { child.process.currentDirectoryURL = directory }
        let output = Pipe()
        let error = Pipe()
        child.process.standardOutput = output
        child.process.standardError = error
        try child.run()
        async let out = drain(output)
        async let err = drain(error)
        let (printed, complained) = await (out, err)
        let status = await child.exit().status
        return Run(status: status, output: String(decoding: printed, as: UTF8.self),
                   error: String(decoding: complained, as: UTF8.self))
    }

    /// Everything written to `pipe` until its last writer closes it, read on a thread of its own.
    package static func drain(_ pipe: Pipe) async -> Data {
        let handle = pipe.fileHandleForReading
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }
}

/// A child process whose exit is awaited, not waited for: ``exit()`` suspends the calling task until
/// the termination handler reports, holding no thread meanwhile.
package final class ChildProcess: @unchecked Sendable {
    /// Configure before ``run()``; its termination handler belongs to this object.
    package let process = SpawnedProcess()
    private let ended = OneShot<Exit>()

    /// How a process ended.
    package struct Exit: Sendable, Equatable {
        package var status: Int32
        package var reason: SpawnedProcess.TerminationReason
    }

    package init() {}

    /// Starts the process.
    package func run() throws {
        let ended = self.ended
        process.terminationHandler = { process in
            ended.fulfil(Exit(status: process.terminationStatus, reason: process.terminationReason))
        }
        try process.run()
    }

    /// Waits for the process to end.
    package func exit() async -> Exit {
        await ended.value
    }

    /// Waits for the process to end, up to `timeout`; nil when it still runs then.
    package func exit(within timeout: Duration) async -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = ended.current { return exit }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return ended.current
    }

    /// Sends SIGTERM.
    package func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// Sends SIGKILL: no shutdown, no cleanup.
    package func kill() {
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        #else
        _ = Darwin.kill(process.processIdentifier, SIGKILL)
        #endif
    }
}

/// A value set once, awaited by any number of tasks before or after.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiting: [CheckedContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    /// The value, if set.
    var current: Value? { state.withLock { $0.value } }

    /// Sets the value (the first call only) and resumes every waiting task.
    func fulfil(_ value: Value) {
        let waiting = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume(returning: value) }
    }

    /// The value, once set.
    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let value = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiting.append(continuation)
                    return nil
                }
                if let value { continuation.resume(returning: value) }
            }
        }
    }
}

/// A `pdx serve` process, on a free port unless given one, its output in a log file.
package final class ServerProcess: @unchecked Sendable {
    private let child = ChildProcess()
    /// The process, for its state (`isRunning`); end it through this object.
    package var process: SpawnedProcess { child.process }
    package let port: Int
    /// Where the process writes its standard output and standard error.
    package let log: URL
    /// The arguments after `serve --port N`, for ``restarted()``.
    package let arguments: [String]

    package init(arguments: [String], port: Int? = nil) throws {
        self.port = try port ?? Self.freePort()
        self.arguments = arguments
        log = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-serve-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let executable = try #require(Executables.url("pdx"), "pdx is not built")
        child.process.executableURL = executable
        child.process.arguments = ["serve", "--port", String(self.port)] + arguments
        let handle = try FileHandle(forWritingTo: log)
        child.process.standardOutput = handle
        child.process.standardError = handle
        try child.run()
    }

    /// Waits until `path` (`/healthz`: the process answers; `/readyz`: its log passed the start-up
    /// check and the database answers) says 200, up to `timeout`.
    package func waitUntilReady(_ path: String = "/healthz", timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await get(path), status == 200 { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("pdx serve did not become ready: \(output)")
        throw CancellationError()
    }

    /// What the process wrote so far.
    package var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and returns the exit status of the graceful exit.
    package func stopped() async -> Int32 {
        child.terminate()
        return await child.exit().status
    }

    /// Sends SIGKILL — no shutdown, no final checkpoint, transactions cut wherever they are — and
    /// waits until the process is gone.
    package func kill() async {
        child.kill()
        _ = await child.exit()
    }

    /// A new process with the same arguments on the same port (this one must have exited).
    package func restarted() throws -> ServerProcess {
        try ServerProcess(arguments: arguments, port: port)
    }

    /// GETs `path`, with the bearer `key` if given: the status and the body.
    package func get(_ path: String, key: String? = nil) async throws -> (Int, String) {
        let (status, data) = try await HTTP.send("GET", port: port, path, key: key)
        return (status, String(decoding: data, as: UTF8.self))
    }

    deinit {
        child.terminate()
        try? FileManager.default.removeItem(at: log)
    }

    /// A port of 127.0.0.1 no socket is bound to just now.
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, RoundRobinProxy.streamType, 0)
        defer { close(fd) }
        var address = RoundRobinProxy.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
