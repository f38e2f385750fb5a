import AuditLog
import Foundation
import Logging
import Marketplace
import Testing

/// The operations toolkit's errors are coded errors whose text is what `pdx` always printed.
@Suite("Coded errors of the toolkit")
struct ErrorModelTests {
    @Test("opening a missing data directory: cannot_open, with the text pdx printed before")
    func runtimeError() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-missing-\(UUID().uuidString)").path
        var options = Runtime.Options()
        options.createIfMissing = false
        do {
            _ = try await Runtime.open(StoreLocation(dataDirectory: path), options: options, logger: Logger(label: "test"))
            Issue.record("a missing data directory was opened")
        } catch let error as RuntimeError {
            #expect(error.code == .cannotOpen)
            #expect(error.code.rawValue == "cannot_open")
            let text = "no PDX data directory at \(path) (start `pdx serve` there first, or pass --data-dir)"
            #expect(error.detail == text)
            #expect(error.description == text)
            #expect(error == RuntimeError("another detail"))
        }
    }

    @Test("a data directory that is a file: data_directory_unusable, with the text pdx printed before")
    func dataDirectoryError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-file-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try DataDirectory(path: path).create()
            Issue.record("a file was taken for a data directory")
        } catch let error as DataDirectoryError {
            #expect(error.code.rawValue == "data_directory_unusable")
            #expect(error.description == "\(path) exists and is not a directory")
            #expect(String(describing: error) == "\(path) exists and is not a directory")
        }
    }
}
