package import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, with the part of `Foundation.Process`'s interface the
/// tests use. Foundation's `Process.run()` on Linux reads past the end of a directory entry while it
/// scans `/proc/self/fd`, and crashes the test process when many descriptors are open (fixed in
/// swift-corelibs-foundation after Swift 6.3.1); this spawns without that scan, closing every
/// descriptor above 2 in the child instead.
package final class SpawnedProcess: @unchecked Sendable {
    package enum TerminationReason: Sendable, Equatable { case exit, uncaughtSignal }

    package var executableURL: URL?
    package var arguments: [String] = []
    package var currentDirectoryURL: URL?
    /// A `Pipe` (its writing end becomes the child's) or a `FileHandle`; nil: `/dev/null`.
    package var standardOutput: Any?
    package var standardError: Any?
    /// Called once, on a thread of its own, when the process has ended.
    package var terminationHandler: (@Sendable (SpawnedProcess) -> Void)?

    private struct State {
        var pid: pid_t = 0
        var ended: (status: Int32, reason: TerminationReason)?
    }
    private let state = Mutex(State())

    package init() {}

    package var processIdentifier: Int32 { state.withLock { $0.pid } }
    package var isRunning: Bool { state.withLock { $0.pid != 0 && $0.ended == nil } }
    package var terminationStatus: Int32 { state.withLock { $0.ended?.status ?? 0 } }
    package var terminationReason: TerminationReason { state.withLock { $0.ended?.reason ?? .exit } }

    /// Sends SIGTERM while it runs.
    package func terminate() {
        let pid = state.withLock { $0.ended == nil ? $0.pid : 0 }
        if pid > 0 { _ = kill(pid, SIGTERM) }
    }

    package func run() throws {
        guard let path = executableURL?.path else { throw SpawnError(detail: "no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let outputFD = Self.descriptor(standardOutput)
        let errorFD = Self.descriptor(standardError)
        if let outputFD { posix_spawn_file_actions_adddup2(&actions, outputFD, 1) } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if let errorFD { posix_spawn_file_actions_adddup2(&actions, errorFD, 2) } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        guard let closeFrom = Self.closeFrom else { throw SpawnError(detail: "posix_spawn_file_actions_addclosefrom_np is missing (glibc < 2.34)") }
        _ = closeFrom(&actions, 3)
        if let directory = currentDirectoryURL?.path {
            guard let changeDirectory = Self.changeDirectory else { throw SpawnError(detail: "posix_spawn_file_actions_addchdir_np is missing") }
            _ = changeDirectory(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as Foundation's Process does: a signal to the tests' group is not its.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard status == 0 else { throw SpawnError(detail: "posix_spawn \(path): \(String(cString: strerror(status)))") }
        let spawned = pid
        state.withLock { $0.pid = spawned }
        // The child holds the pipes' writing ends now: the reader sees their end when it exits.
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe, standardError as AnyObject !== standardOutput as AnyObject {
            try? pipe.fileHandleForWriting.close()
        }
        let handler = terminationHandler
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(spawned, &raw, 0) == -1 && errno == EINTR {}
            let signalled = (raw & 0x7F) != 0
            let ended = signalled ? (raw & 0x7F, TerminationReason.uncaughtSignal) : ((raw >> 8) & 0xFF, TerminationReason.exit)
            state.withLock { $0.ended = ended }
            handler?(self)
        }
    }

    // glibc's `_np` spawn actions are declared only under _GNU_SOURCE, which Swift's Glibc module
    // does not define: looked up by name instead.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    private static let changeDirectory: ChangeDirectory? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChangeDirectory.self) }

    private static func descriptor(_ channel: Any?) -> Int32? {
        if let pipe = channel as? Pipe { return pipe.fileHandleForWriting.fileDescriptor }
        if let handle = channel as? FileHandle { return handle.fileDescriptor }
        return nil
    }

    package struct SpawnError: Error, CustomStringConvertible {
        package let detail: String
        package var description: String { detail }
    }
}
