import ArgumentParser
import AuditLog

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a command tells what it did: sentences for a person, or one JSON object on one line for a
/// script (`--format json`).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Prints `members` as one line of RFC 8785 canonical JSON, so a script reads it with any JSON
/// parser and the same result always prints the same bytes.
func printJSONLine(_ members: [String: JSONValue]) throws {
    print(try JSONValue.object(members).canonicalString())
}

/// The documented exit statuses of `pdx`, also in `pdx --help` and `Docs/operations.md`.
enum ExitStatuses {
    static let help = """
        Exit status: 0 when the command did what it says (also when a period was already closed); 1 when it \
        was refused or failed, with `Error: <why>` on standard error (a refusal names its code, e.g. \
        period_not_ended); 64 for usage errors (an unknown option, a missing or malformed value).
        """
}

/// "exported 12,345 of 70,000 entries (17%)" on one rewritten standard-error line, only when
/// standard error is a terminal: a script or a log file gets no progress to pick apart.
final class TerminalProgress: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    // Written only from the one task that reports progress; the lock-free state is never shared.
    private var shown = false
    private var last = ContinuousClock.now

    init(_ label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled, total > 0 else { return }
        let now = ContinuousClock.now
        guard !shown || done == total || now - last >= .milliseconds(100) else { return }
        last = now
        shown = true
        writeToStandardError("\r\(label) \(grouped(done)) of \(grouped(total)) entries (\(done * 100 / total)%)")
    }

    /// Clears the progress line, so that what follows starts on a clean line.
    func finish() {
        if shown { writeToStandardError("\r\u{1B}[K") }
    }

    private func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }
}

private func writeToStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}
