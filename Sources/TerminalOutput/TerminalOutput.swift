#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// "exported 12,345 of 70,000 entries (17%)" on one rewritten standard-error line, only when
/// standard error is a terminal: a script or a log file gets no progress to pick apart.
public final class TerminalProgress: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    // Written only from the one task that reports progress; the lock-free state is never shared.
    private var shown = false
    private var last = ContinuousClock.now

    /// A progress line that starts with `label` (e.g. `pdx-verify: verified`), shown when `enabled`
    /// (by default: when standard error is a terminal).
    public init(_ label: String, enabled: Bool? = nil) {
        self.label = label
        self.enabled = enabled ?? (isatty(STDERR_FILENO) == 1)
    }

    /// Redraws the line, at most every 100 ms and always for the last: redrawing for every bundle
    /// would cost more than the hashing on a fast disk.
    public func update(_ done: UInt64, _ total: UInt64) {
        guard enabled, total > 0 else { return }
        let now = ContinuousClock.now
        guard !shown || done == total || now - last >= .milliseconds(100) else { return }
        last = now
        shown = true
        writeToStandardError("\r\(label) \(grouped(done)) of \(grouped(total)) entries (\(done * 100 / total)%)")
    }

    /// Clears the progress line, so that what follows starts on a clean line.
    public func finish() {
        if shown { writeToStandardError("\r\u{1B}[K") }
    }
}

/// 70000 → "70,000".
public func grouped(_ value: UInt64) -> String {
    let digits = Array(String(value))
    var out = ""
    for (offset, digit) in digits.enumerated() {
        if offset > 0 && (digits.count - offset) % 3 == 0 { out += "," }
        out.append(digit)
    }
    return out
}

/// Writes `text` to standard error whole, unbuffered (a short write is continued; a failed one
/// drops the rest: there is nowhere left to say so).
public func writeToStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}
