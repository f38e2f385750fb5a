import AuditLog
import Cryptography
import Foundation
@testable import pdx_verify
import Replay
import Testing
import Vetting

@Suite("pdx-verify --disclosure: disclosed personal data against the log's commitments")
struct DisclosureTests {
    /// A log whose last principal's name and e-mail are committed to under known salts, exported.
    private static func export() throws -> (SignedExport, name: PersonalDatum, email: PersonalDatum) {
        var log = try LogFixture()
        let at = LogFixture.octoberStart
        let name = try PersonalDatum.seal("赵六", subject: "principal:pr_auditor", field: "name", at: at, random: SecureRandom())
        let email = try PersonalDatum.seal("zhao.liu@audit.example", subject: "principal:pr_auditor", field: "email", at: at,
                                           random: SecureRandom())
        log.append("principal.created", actor: log.admin.principalID, at: at,
                   ["id": "pr_auditor", "name": name.reference.json, "email": email.reference.json, "role": "auditor",
                    "authority_id": .null, "expires_at": .null, "key_id": "key_pr_auditor"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdx-disclose-\(UUID().uuidString.prefix(8))").path
        let export = try #require(try SignedExport.write(try log.encoded(), to: directory))
        return (export, name, email)
    }

    private static func verify(_ export: SignedExport, disclosure: PersonalDataDisclosure) throws -> (Int32, [String]) {
        let file = export.directory + ".disclosure.json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(try disclosure.rendered()).write(to: URL(fileURLWithPath: file))
        var lines: [String] = []
        let status = PDXVerify.runProcess(arguments: [export.directory, "--vkey", export.keyFile, "--disclosure", file],
                                          output: { lines.append($0) }, errorOutput: { lines.append($0) })
        return (status, lines)
    }

    @Test("the values that were recorded open their commitments: exit 0 and a line that says so")
    func opens() throws {
        let (export, name, email) = try Self.export()
        defer { export.remove() }
        let (status, lines) = try Self.verify(export, disclosure: PersonalDataDisclosure(subject: "principal:pr_auditor", data: [name, email]))
        #expect(status == 0, "\(lines)")
        #expect(lines.last?.contains("discloses principal:pr_auditor: 2 values open their commitments in the log") == true, "\(lines)")
        #expect(!lines.joined().contains("赵六"), "the report does not repeat the values")
    }

    @Test("another value, another salt or another subject: exit 1, disclosure_mismatch naming the reference")
    func mismatches() throws {
        let (export, name, email) = try Self.export()
        defer { export.remove() }
        var otherValue = PersonalDataDisclosure(subject: "principal:pr_auditor", data: [name, email])
        otherValue.values[0].value = "赵七"
        var otherSalt = PersonalDataDisclosure(subject: "principal:pr_auditor", data: [name, email])
        otherSalt.values[1].salt = [UInt8](repeating: 9, count: 32)
        var otherSubject = PersonalDataDisclosure(subject: "principal:pr_auditor", data: [name])
        otherSubject.subject = "principal:pr_admin"
        for (disclosure, reference) in [(otherValue, name.id), (otherSalt, email.id), (otherSubject, name.id)] {
            let (status, lines) = try Self.verify(export, disclosure: disclosure)
            #expect(status == 1, "\(lines)")
            #expect(lines.first?.hasPrefix("pdx-verify: FAIL disclosure_mismatch at ") == true, "\(lines)")
            #expect(lines.first?.contains(reference) == true, "\(lines)")
        }
    }

    @Test("--disclosure needs the replay; an unreadable disclosure is a usage error")
    func usage() throws {
        let (export, _, _) = try Self.export()
        defer { export.remove() }
        var lines: [String] = []
        #expect(PDXVerify.runProcess(arguments: [export.directory, "--integrity-only", "--disclosure", "x.json"],
                                     output: { lines.append($0) }, errorOutput: { lines.append($0) }) == 2)
        #expect(PDXVerify.runProcess(arguments: [export.directory, "--disclosure", "/nonexistent/d.json"],
                                     output: { lines.append($0) }, errorOutput: { lines.append($0) }) == 2)
    }
}
