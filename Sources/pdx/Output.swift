import ArgumentParser
import AuditLog


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
