internal import CBuildInfo

/// Which PDX this is: the release version, and the commit it was built from when the build was
/// stamped (`scripts/stamp-commit`); `pdx --version` and `pdx-verify --version` print it.
public enum BuildInfo {
    /// The release version (semantic versioning); raised with each release.
    public static let version = "0.1.0"

    /// The commit the build was stamped with, as `git describe --always --dirty` gave it; nil for
    /// an unstamped build (a clean clone built without the script, or without git).
    public static let commit: String? = {
        let text = String(cString: pdx_build_commit())
        return text.isEmpty ? nil : text
    }()

    /// `0.1.0 (commit 5b8bf2c)`, or `0.1.0 (commit unknown: build not stamped)`.
    public static var versionLine: String {
        "\(version) (commit \(commit ?? "unknown: build not stamped"))"
    }
}
