import AuditLog
import Cryptography
import Foundation
import Testing

/// A random source that repeats one seeded sequence, so sealed values are known in advance.
private struct SeededRandom: RandomSource {
    let seed: UInt64
    func bytes(_ count: Int) throws -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }
}

@Suite("Personal data: commitments in the log, values beside it")
struct PersonalDataTests {
    @Test("the commitments of Contracts/vectors/personal-data are HMAC-SHA256 of the value under the salt")
    func vectors() throws {
        let root = try #require(try JSONValue.parse(Vectors.bytes("personal-data/commitments.json")).objectValue)
        let cases = try #require(root["cases"]?.arrayValue)
        #expect(cases.count == 5)
        for item in cases {
            let members = try #require(item.objectValue)
            let value = try #require(members["value"]?.stringValue)
            let salt = try #require(members["salt"]?.stringValue.flatMap { Hex.decode($0) })
            let expected = try #require(members["commitment"]?.stringValue)
            #expect(try PersonalDataCommitment.commitment(to: value, salt: salt).hex == expected, "\(value)")
            let commitment = PersonalDataCommitment(id: "pd_" + String(repeating: "a", count: 32),
                                                    commitment: try #require(SHA256Digest(hex: expected)))
            #expect(commitment.opens(value: value, salt: salt))
            #expect(!commitment.opens(value: value + " ", salt: salt))
            var otherSalt = salt
            otherSalt[0] ^= 1
            #expect(!commitment.opens(value: value, salt: otherSalt))
        }
    }

    @Test("a sealed value gets its own reference and salt, and its logged form reads back")
    func sealing() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000.1234)
        let one = try PersonalDatum.seal("王芳", subject: "operator:op_1", field: "security_officer.name", at: now,
                                         random: SecureRandom())
        let two = try PersonalDatum.seal("王芳", subject: "operator:op_1", field: "security_officer.name", at: now,
                                         random: SecureRandom())
        #expect(one.id != two.id && one.salt != two.salt && one.commitment != two.commitment,
                "the same value sealed twice must not be linkable")
        #expect(PersonalDataCommitment.isValidID(one.id))
        #expect(one.salt?.count == 32)
        #expect(one.createdAt == Timestamp.normalized(now))
        #expect(one.reference.opens(value: "王芳", salt: try #require(one.salt)))
        let logged = try one.reference.json.canonicalString()
        #expect(!logged.contains("王芳"))
        #expect(PersonalDataCommitment(json: one.reference.json) == one.reference)
        let seeded = try PersonalDatum.seal("x", subject: "principal:p", field: "name", at: now, random: SeededRandom(seed: 7))
        #expect(seeded.commitment == (try PersonalDataCommitment.commitment(to: "x", salt: try #require(seeded.salt))))
    }

    /// A logged commitment's object with the given members.
    static func object(id: String?, commitment: String?) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if let id { members["personal_data_id"] = .string(id) }
        if let commitment { members["commitment"] = .string(commitment) }
        return .object(members)
    }

    static let zeros = String(repeating: "0", count: 32)
    static let malformedCommitments: [JSONValue] = [
        .string("王芳"),
        .null,
        object(id: "pd_" + String(zeros.dropLast()), commitment: zeros + zeros),
        object(id: "pd_" + zeros, commitment: String(repeating: "A", count: 64)),
        object(id: "px_" + zeros, commitment: zeros + zeros),
        object(id: "pd_" + zeros, commitment: nil),
        object(id: nil, commitment: zeros + zeros),
    ]

    @Test("a commitment of the wrong form is refused", arguments: malformedCommitments)
    func malformed(_ json: JSONValue) {
        #expect(PersonalDataCommitment(json: json) == nil)
        #expect(PersonalDataCommitment(json: Self.object(id: "pd_" + Self.zeros, commitment: Self.zeros + Self.zeros)) != nil)
    }

    @Test("a disclosure renders values with salts, names erased values, and reads back")
    func disclosureRoundTrip() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let name = try PersonalDatum.seal("王芳", subject: "operator:op_1", field: "security_officer.name", at: now, random: SecureRandom())
        var email = try PersonalDatum.seal("w@x.example", subject: "operator:op_1", field: "security_officer.email", at: now, random: SecureRandom())
        email.value = nil
        email.salt = nil
        email.erasure = .init(at: now, by: "pr_admin", reason: "case 2026-17")
        let disclosure = PersonalDataDisclosure(subject: "operator:op_1", data: [name, email])
        let bytes = try disclosure.rendered()
        #expect(!String(decoding: bytes, as: UTF8.self).contains("w@x.example"))
        let read = try PersonalDataDisclosure(parsing: bytes)
        #expect(read == disclosure)
        #expect(read.values.map(\.value) == ["王芳"])
        #expect(read.erased.map(\.id) == [email.id])
        #expect(throws: DisclosureFormatError.self) { try PersonalDataDisclosure(parsing: Array("{}".utf8)) }
        #expect(throws: DisclosureFormatError.self) { try PersonalDataDisclosure(parsing: Array("[".utf8)) }
    }
}
