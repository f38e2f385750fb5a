import Foundation

/// Golden vectors under `Contracts/vectors/`, found from this file's location so tests run from any directory.
enum Vectors {
    /// `Contracts/vectors` of the repository holding this file.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // AuditLogTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Contracts/vectors")

    /// The bytes of `Contracts/vectors/<path>`.
    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// The text of `Contracts/vectors/<path>`, as UTF-8.
    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// File names in `Contracts/vectors/<directory>` ending in `suffix`, sorted.
    static func files(in directory: String, endingWith suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(directory).path)
            .filter { $0.hasSuffix(suffix) }
            .sorted()
    }
}
