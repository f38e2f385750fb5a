import AuditLog
import Demo
import Foundation
import Testing

@Suite("The demo's refusal as a coded error")
struct DemoErrorTests {
    @Test("an --out that is a file: demo_failed, with the text pdx demo printed before")
    func fileAsOut() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-demo-file-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await DemoMarketplace.run(out: path, events: 100)
            Issue.record("a file was taken for the demo's folder")
        } catch let error as DemoError {
            #expect(error.code.rawValue == "demo_failed")
            #expect(error.description == "\(path) exists and is not a directory")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }
}
