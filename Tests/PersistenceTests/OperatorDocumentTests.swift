import Identity
import AuditLog
import Foundation
@testable import Persistence
import Testing
import Vetting

@Suite("Operator documents")
struct OperatorDocumentTests {
    @Test("a fully populated operator round-trips exactly through canonical JSON")
    func roundTrip() throws {
        let full = try Samples.fullyPopulated()
        let text = OperatorDocument.encode(full)
        // Canonical: validating is stricter than parsing and accepts only RFC 8785 form.
        let value = try CanonicalJSON.validate(Array(text.utf8))
        #expect(try OperatorDocument.decode(text) == full)
        #expect(OperatorDocument.encode(try OperatorDocument.decode(text)) == text)

        #expect(value["version"] == 2)
        #expect(value["id"] == "op-full")
        #expect(value["status"] == "suspended")
        #expect(value["submitted_at"] == "2026-10-01T02:00:00.000Z")
        #expect(value["approved_at"] == "2026-10-01T04:00:00.123Z")
        #expect(value["approved_until"]?.stringValue == Timestamp.format(Timestamp.milliseconds(try #require(full.approvedUntil))))
        #expect(value["round"] == 2)
        #expect(value["revision"] == 4)
        #expect(value["application"]?["tier"] == "enhanced")
        #expect(value["application"]?["uscc"] == .string(Samples.uscc(42)))
        // The officer as commitments: the values live in the personal-data store.
        #expect(value["application"]?["security_officer"]?["email"] == full.application.securityOfficer.email.json)
        #expect(!text.contains("Security.Officer@example-op.cn") && !text.contains("王芳"))
        #expect(value["application"]?["documents"]?[1]?["name"] == "等保测评报告.pdf")
        #expect(value["reviews"]?[0] == [
            "reviewer": "principal-alice", "authority": "bj", "decision": "approve", "reason": "criteria met",
            "at": "2026-10-01T03:00:00.000Z", "round": 0,
        ])
        #expect(value["reviews"]?[1]?["reason"] == .null)
        #expect(value["history"]?[0] == [
            "action": "applied", "from": nil, "to": "submitted", "at": "2026-10-01T02:00:00.000Z",
            "actor": "principal-applicant", "reason": nil,
        ])
        #expect(value["history"]?[2]?["from"] == "approved")
        #expect(value["history"]?[2]?["reason"] == "audit pending")
    }

    @Test("a just-submitted operator keeps its empty and absent parts")
    func minimal() throws {
        let submitted = try Samples.submitted("op-1")
        let text = OperatorDocument.encode(submitted)
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["reviews"] == [])
        #expect(value["approved_at"] == .null)
        #expect(value["approved_until"] == .null)
        #expect(try OperatorDocument.decode(text) == submitted)
    }

    /// The document of the fully populated operator with one change applied.
    static func altered(_ change: (inout [String: JSONValue]) -> Void) throws -> String {
        var members = try #require(try JSONValue.parse(Array(OperatorDocument.encode(try Samples.fullyPopulated()).utf8)).objectValue)
        change(&members)
        return try JSONValue.object(members).canonicalString()
    }

    static func replacing(_ path: [String], with value: JSONValue?) -> (inout [String: JSONValue]) -> Void {
        { members in
            func set(_ object: inout [String: JSONValue], _ path: ArraySlice<String>) {
                guard let key = path.first else { return }
                if path.count == 1 {
                    object[key] = value
                } else if var inner = object[key]?.objectValue {
                    set(&inner, path.dropFirst())
                    object[key] = .object(inner)
                }
            }
            set(&members, path[...])
        }
    }

    @Test("a document that is not exactly what the codec writes is unexpected_data", arguments: [
        (["version"], JSONValue(1)),
        (["id"], nil),
        (["extra"], "member"),
        (["status"], "pending"),
        (["revision"], 1.5),
        (["submitted_at"], "2026-10-01T02:00:00Z"),
        (["approved_until"], 17),
        (["reviews"], [["reviewer": "x"]]),
        (["history"], "none"),
        (["application", "uscc"], "91110108000000001X"),
        (["application", "mlps_level"], 9),
        (["application", "tier"], "premium"),
        (["application", "documents"], []),
        (["application", "security_officer", "email"], "Security.Officer@example-op.cn"),
        (["application", "security_officer", "name", "commitment"], "not hex"),
        (["application", "security_officer", "phone"], "110"),
        (["application", "certifications"], [1]),
    ] as [([String], JSONValue?)])
    func strict(path: [String], value: JSONValue?) throws {
        let text = try Self.altered(Self.replacing(path, with: value))
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) {
            try OperatorDocument.decode(text)
        }
    }

    @Test("text that is not a JSON object is unexpected_data", arguments: ["", "[]", "{\"version\":1", "null"])
    func notAnObject(text: String) {
        #expect(throws: StorageError(code: .unexpectedData, detail: "")) {
            try OperatorDocument.decode(text)
        }
    }
}
