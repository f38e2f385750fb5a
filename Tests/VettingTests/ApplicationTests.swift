import AuditLog
import PDXTesting
import Testing
import Vetting

@Suite("Operator applications")
struct ApplicationTests {
    @Test("a complete application keeps every field as submitted")
    func valid() throws {
        let application = try Sample.application(tier: .enhanced)
        #expect(application.legalName == "深圳市腾讯计算机系统有限公司")
        #expect(application.uscc.value == "91440300708461136T")
        #expect(application.mlpsLevel == 3)
        #expect(application.tier == .enhanced)
        // The officer's values were checked; only their commitments are kept.
        #expect(application.securityOfficer == .sample())
        #expect(application.certifications == ["ISO27001"])
        #expect(application.documents.map(\.name) == ["营业执照.pdf", "等保测评报告.pdf"])
        #expect(application.applicant == "principal-applicant")
    }

    @Test("limits are inclusive")
    func limits() throws {
        _ = try Sample.application(legalName: String(repeating: "数", count: 200))
        _ = try Sample.application(mlpsLevel: 1)
        _ = try Sample.application(mlpsLevel: 5)
        _ = try Sample.application(certifications: [])
        _ = try Sample.application(certifications: (1...50).map { "CERT-\($0)" })
        _ = try Sample.application(documents: (1...50).map { ("doc-\($0).pdf", digest($0)) })
        // Grapheme clusters count as one character each.
        _ = try Sample.application(legalName: String(repeating: "👨‍👩‍👧", count: 200))
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let code: VettingError.Code
        let make: @Sendable () throws -> OperatorApplication
        var testDescription: String { "\(name) → \(code.rawValue)" }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "empty legal name", code: .legalNameRequired) { try Sample.application(legalName: "") },
        BadInput(name: "201-character legal name", code: .legalNameTooLong) {
            try Sample.application(legalName: String(repeating: "数", count: 201))
        },
        BadInput(name: "legal name with a newline", code: .legalNameInvalid) {
            try Sample.application(legalName: "某某公司\n伪造行")
        },
        BadInput(name: "legal name with a line separator", code: .legalNameInvalid) {
            try Sample.application(legalName: "某某公司\u{2028}")
        },
        BadInput(name: "legal name with a leading space", code: .legalNameInvalid) {
            try Sample.application(legalName: " 某某公司")
        },
        BadInput(name: "legal name with a trailing ideographic space", code: .legalNameInvalid) {
            try Sample.application(legalName: "某某公司\u{3000}")
        },
        BadInput(name: "wrong check character", code: .usccCheckCharacter) {
            try Sample.application(uscc: "91440300708461136U")
        },
        BadInput(name: "USCC of 17 characters", code: .usccLength) { try Sample.application(uscc: "91440300708461136") },
        BadInput(name: "lower-case USCC", code: .usccLowercase) { try Sample.application(uscc: "91440300708461136t") },
        BadInput(name: "USCC with O", code: .usccForbiddenCharacter) { try Sample.application(uscc: "914403001922O38216") },
        BadInput(name: "MLPS level 0", code: .mlpsLevelOutOfRange) { try Sample.application(mlpsLevel: 0) },
        BadInput(name: "MLPS level 6", code: .mlpsLevelOutOfRange) { try Sample.application(mlpsLevel: 6) },
        BadInput(name: "MLPS level -3", code: .mlpsLevelOutOfRange) { try Sample.application(mlpsLevel: -3) },
        BadInput(name: "empty officer name", code: .securityOfficerNameRequired) {
            try Sample.application(officer: ("", "a@example.cn"))
        },
        BadInput(name: "officer name with a tab", code: .securityOfficerNameInvalid) {
            try Sample.application(officer: ("王\t芳", "a@example.cn"))
        },
        BadInput(name: "officer name of 201 characters", code: .securityOfficerNameInvalid) {
            try Sample.application(officer: (String(repeating: "王", count: 201), "a@example.cn"))
        },
        BadInput(name: "empty e-mail", code: .securityOfficerEmailInvalid) { try Sample.application(officer: ("王芳", "")) },
        BadInput(name: "e-mail without @", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang.example.cn"))
        },
        BadInput(name: "e-mail with two @", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang@fang@example.cn"))
        },
        BadInput(name: "e-mail without a dot in the domain", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang@localhost"))
        },
        BadInput(name: "e-mail with a numeric top-level domain", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang@10.0.0.1"))
        },
        BadInput(name: "e-mail with a double dot", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang..fang@example.cn"))
        },
        BadInput(name: "e-mail with a leading dot", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", ".wang@example.cn"))
        },
        BadInput(name: "e-mail with a space", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang fang@example.cn"))
        },
        BadInput(name: "e-mail with a hyphen-led label", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "wang@-example.cn"))
        },
        BadInput(name: "e-mail with non-ASCII", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", "王芳@example.cn"))
        },
        BadInput(name: "e-mail with a 65-character local part", code: .securityOfficerEmailInvalid) {
            try Sample.application(officer: ("王芳", String(repeating: "w", count: 65) + "@example.cn"))
        },
        BadInput(name: "empty certification", code: .certificationInvalid) { try Sample.application(certifications: [""]) },
        BadInput(name: "certification with outer space", code: .certificationInvalid) {
            try Sample.application(certifications: ["ISO27001 "])
        },
        BadInput(name: "certification twice, differing in case", code: .certificationDuplicate) {
            try Sample.application(certifications: ["ISO27001", "iso27001"])
        },
        BadInput(name: "51 certifications", code: .tooManyCertifications) {
            try Sample.application(certifications: (1...51).map { "CERT-\($0)" })
        },
        BadInput(name: "no documents", code: .documentsRequired) { try Sample.application(documents: []) },
        BadInput(name: "51 documents", code: .tooManyDocuments) {
            try Sample.application(documents: (1...51).map { ("doc-\($0).pdf", digest($0)) })
        },
        BadInput(name: "empty document name", code: .documentNameInvalid) {
            try Sample.application(documents: [("", digest(1))])
        },
        BadInput(name: "document name with a control character", code: .documentNameInvalid) {
            try Sample.application(documents: [("a\u{7}.pdf", digest(1))])
        },
        BadInput(name: "upper-case digest", code: .documentDigestInvalid) {
            try Sample.application(documents: [("a.pdf", String(repeating: "AB", count: 32))])
        },
        BadInput(name: "63-character digest", code: .documentDigestInvalid) {
            try Sample.application(documents: [("a.pdf", String(digest(1).dropLast()))])
        },
        BadInput(name: "digest with a non-hex letter", code: .documentDigestInvalid) {
            try Sample.application(documents: [("a.pdf", String(digest(1).dropLast()) + "g")])
        },
        BadInput(name: "base64 digest", code: .documentDigestInvalid) {
            try Sample.application(documents: [("a.pdf", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")])
        },
        BadInput(name: "same digest twice", code: .documentDuplicate) {
            try Sample.application(documents: [("a.pdf", digest(1)), ("b.pdf", digest(1))])
        },
        BadInput(name: "no applicant", code: .applicantRequired) { try Sample.application(applicant: "") },
    ]

    @Test("bad input is refused with a precise code", arguments: badInputs)
    func badInput(_ input: BadInput) {
        #expect(throws: VettingError(code: input.code, detail: "")) {
            try input.make()
        }
    }

    @Test("the first problem in request order is reported")
    func fieldOrder() {
        #expect(throws: VettingError(code: .legalNameRequired, detail: "")) {
            try Sample.application(legalName: "", uscc: "bad", mlpsLevel: 9)
        }
        #expect(throws: VettingError(code: .usccLength, detail: "")) {
            try Sample.application(uscc: "bad", mlpsLevel: 9)
        }
        #expect(throws: VettingError(code: .mlpsLevelOutOfRange, detail: "")) {
            try Sample.application(mlpsLevel: 9, officer: ("", ""))
        }
        #expect(throws: VettingError(code: .tooManyDocuments, detail: "")) {
            // The count is refused before any of the (bad) documents is looked at.
            try Sample.application(documents: Array(repeating: ("", "x"), count: 51))
        }
    }

    @Test("details never carry the submitted personal data")
    func detailsHaveNoPersonalData() throws {
        let email = try #require(throws: VettingError.self) {
            try Sample.application(officer: ("王芳", "wang@fang@example.cn"))
        }
        #expect(!email.detail.contains("wang"))
        let name = try #require(throws: VettingError.self) {
            try Sample.application(officer: ("王\t芳", "a@example.cn"))
        }
        #expect(!name.detail.contains("王"))
    }

    @Test("well-formed e-mail addresses", arguments: [
        "a@b.cn", "security.officer@example-op.com.cn", "x+tag@mail.example.org", "o'brien@example.ie",
        "UPPER@EXAMPLE.CN", "user@example.xn--fiqs8s",
    ])
    func wellFormedEmail(_ address: String) {
        #expect(EmailAddress.isWellFormed(address))
    }

    @Test("errors are equal by code only")
    func errorEquality() {
        #expect(VettingError(code: .usccLength, detail: "a") == VettingError(code: .usccLength, detail: "b"))
        #expect(VettingError(code: .usccLength, detail: "a") != VettingError(code: .usccLowercase, detail: "a"))
        #expect(VettingError(code: .usccLength, detail: "has 3").description == "uscc_length: has 3")
    }
}

/// A distinct valid digest per number.
func digest(_ number: Int) -> String {
    let hex = String(number, radix: 16)
    return String(repeating: "0", count: 64 - hex.count) + hex
}
