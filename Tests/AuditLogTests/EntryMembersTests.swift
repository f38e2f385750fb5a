@testable import AuditLog
import Testing

@Suite struct EntryMembersTests {
    @Test(arguments: [
        (#"{"a":1,"b":{"c":[{"d":2}],"e":"{\"f\":3,"},"g":"x\\"}"#, ["a", "b", "g"] as [String]?),
        (#"{}"#, [] as [String]?),
        (#"{"q\"uote":[1,{"z":{}}]}"#, [#"q\"uote"#] as [String]?),
        (#"[{"a":1}]"#, nil),
        (#""{\"a\":1}""#, nil),
    ])
    func topLevelNamesOfCanonicalText(text: String, expected: [String]?) throws {
        let bytes = Array(text.utf8)
        // The scan relies on its input being canonical; make sure each case is.
        _ = try CanonicalJSON.validate(bytes)
        let names = bytes.withUnsafeBytes { ExportVerifier.topLevelMembers(ofCanonical: $0) }
        #expect(names == expected)
    }
}
