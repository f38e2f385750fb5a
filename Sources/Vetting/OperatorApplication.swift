public import AuditLog

/// The vetting tier an operator applies for.
///
/// `standard` operators may use `general` datasets; `enhanced` ones also `important` datasets, and need
/// MLPS (等保) level 3 or above and two distinct reviewers.
public enum OperatorTier: String, Sendable, Hashable, CaseIterable {
    /// May use `general` datasets.
    case standard
    /// May use `general` and `important` datasets.
    case enhanced
}

/// The person an operator names as responsible for data security, as commitments: the name and
/// e-mail are personal data, kept in the personal-data store and never in an operator's record or
/// the log.
public struct SecurityOfficer: Sendable, Hashable {
    /// The commitment to the officer's full name.
    public let name: PersonalDataCommitment
    /// The commitment to the officer's e-mail address.
    public let email: PersonalDataCommitment

    /// Creates an officer from the commitments to its values.
    public init(name: PersonalDataCommitment, email: PersonalDataCommitment) {
        self.name = name
        self.email = email
    }

    /// Checks the values as submitted, before they are sealed.
    ///
    /// Throws `security_officer_name_required`, `security_officer_name_invalid` (over
    /// ``OperatorApplication/maxNameLength`` characters, control characters, outer white space) or
    /// `security_officer_email_invalid` (see ``EmailAddress/isWellFormed(_:)``).
    public static func validate(name: String, email: String) throws(VettingError) {
        guard !name.isEmpty else {
            throw VettingError(code: .securityOfficerNameRequired, detail: "security_officer.name is empty")
        }
        if let problem = TextRules.problem(in: name, maxLength: OperatorApplication.maxNameLength) {
            throw VettingError(code: .securityOfficerNameInvalid, detail: "security_officer.name \(problem)")
        }
        guard EmailAddress.isWellFormed(email) else {
            throw VettingError(
                code: .securityOfficerEmailInvalid,
                detail: "security_officer.email is not an address of the form local@domain.tld"
            )
        }
    }
}

/// A supporting document, given by name and SHA-256 digest; the platform never holds the file.
public struct SupportingDocument: Sendable, Hashable {
    /// What the document is, e.g. `等保测评报告.pdf`.
    public let name: String
    /// SHA-256 of the file, 64 lower-case hexadecimal characters.
    public let sha256: String

    /// Validates and creates a document reference.
    ///
    /// Throws `document_name_invalid` (empty, over ``OperatorApplication/maxNameLength`` characters,
    /// control characters, outer white space) or `document_digest_invalid` (not 64 lower-case hex
    /// characters; upper case is refused so that each digest has one spelling).
    public init(name: String, sha256: String) throws(VettingError) {
        if name.isEmpty {
            throw VettingError(code: .documentNameInvalid, detail: "a document name is empty")
        }
        if let problem = TextRules.problem(in: name, maxLength: OperatorApplication.maxNameLength) {
            throw VettingError(code: .documentNameInvalid, detail: "a document name \(problem)")
        }
        let digits = sha256.utf8
        guard digits.count == 64,
              digits.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw VettingError(
                code: .documentDigestInvalid,
                detail: "a document sha256 must be 64 lower-case hexadecimal characters"
            )
        }
        self.name = name
        self.sha256 = sha256
    }
}

/// What an operator submits to be vetted (`POST /v1/operators`), validated on creation.
public struct OperatorApplication: Sendable, Hashable {
    /// The longest legal name accepted, in characters.
    public static let maxLegalNameLength = 200
    /// The longest security officer name, document name or certification accepted, in characters.
    public static let maxNameLength = 200
    /// The most certifications one application may list.
    public static let maxCertifications = 50
    /// The most documents one application may list.
    public static let maxDocuments = 50

    /// The company's registered legal name.
    public let legalName: String
    /// Its unified social credit code.
    public let uscc: USCC
    /// The MLPS (等保, GB/T 22239) level of its systems, 1 to 5.
    public let mlpsLevel: Int
    /// The tier applied for.
    public let tier: OperatorTier
    /// The person responsible for data security.
    public let securityOfficer: SecurityOfficer
    /// Certifications held, e.g. `ISO27001`, in the order given; may be empty.
    public let certifications: [String]
    /// Supporting documents, at least one, in the order given.
    public let documents: [SupportingDocument]
    /// The principal id of the operator account that applied; it is party to the application.
    public let applicant: String

    /// Validates and creates an application; throws the first problem in field order.
    ///
    /// Legal name: `legal_name_required`, `legal_name_too_long` (over ``maxLegalNameLength``
    /// characters), `legal_name_invalid` (control characters, outer white space). MLPS level:
    /// `mlps_level_out_of_range`. Certifications: `too_many_certifications`, `certification_invalid`,
    /// `certification_duplicate` (same text ignoring case). Documents: `documents_required`,
    /// `too_many_documents`, `document_duplicate` (same digest). Applicant: `applicant_required`.
    /// The USCC, officer and each document are validated by their own types.
    public init(
        legalName: String,
        uscc: USCC,
        mlpsLevel: Int,
        tier: OperatorTier,
        securityOfficer: SecurityOfficer,
        certifications: [String],
        documents: [SupportingDocument],
        applicant: String
    ) throws(VettingError) {
        try Self.checkLegalName(legalName)
        try Self.checkMLPSLevel(mlpsLevel)
        try Self.checkCertifications(certifications)
        try Self.checkDocumentCount(documents.count)
        try Self.checkDistinct(documents)
        try Self.checkApplicant(applicant)
        self.legalName = legalName
        self.uscc = uscc
        self.mlpsLevel = mlpsLevel
        self.tier = tier
        self.securityOfficer = securityOfficer
        self.certifications = certifications
        self.documents = documents
        self.applicant = applicant
    }

    /// Validates an application from the raw request fields, as `POST /v1/operators` carries them.
    ///
    /// Checks in the order of the request body — legal name, USCC, MLPS level, security officer,
    /// certifications, documents, applicant — and throws the first problem, with the codes of
    /// ``USCC/init(validating:)``, ``SecurityOfficer/validate(name:email:)``,
    /// ``SupportingDocument/init(name:sha256:)`` and the designated initializer.
    public init(
        legalName: String,
        uscc: String,
        mlpsLevel: Int,
        tier: OperatorTier,
        securityOfficer officer: SecurityOfficer,
        officerValues: (name: String, email: String)? = nil,
        certifications: [String],
        documents: [(name: String, sha256: String)],
        applicant: String
    ) throws(VettingError) {
        try Self.checkLegalName(legalName)
        let code = try USCC(validating: uscc)
        try Self.checkMLPSLevel(mlpsLevel)
        // The values, when given, are checked here so that problems keep the body's order; only
        // their commitments are kept. A replay or a store has the commitments alone.
        if let officerValues {
            try SecurityOfficer.validate(name: officerValues.name, email: officerValues.email)
        }
        try Self.checkCertifications(certifications)
        // The count is checked before each document so a huge list costs nothing to refuse.
        try Self.checkDocumentCount(documents.count)
        var checked: [SupportingDocument] = []
        checked.reserveCapacity(documents.count)
        for document in documents {
            checked.append(try SupportingDocument(name: document.name, sha256: document.sha256))
        }
        try self.init(
            legalName: legalName,
            uscc: code,
            mlpsLevel: mlpsLevel,
            tier: tier,
            securityOfficer: officer,
            certifications: certifications,
            documents: checked,
            applicant: applicant
        )
    }

    private static func checkLegalName(_ legalName: String) throws(VettingError) {
        guard !legalName.isEmpty else {
            throw VettingError(code: .legalNameRequired, detail: "legal_name is empty")
        }
        guard legalName.count <= maxLegalNameLength else {
            throw VettingError(
                code: .legalNameTooLong,
                detail: "legal_name has \(legalName.count) characters, over \(maxLegalNameLength)"
            )
        }
        if let problem = TextRules.problem(in: legalName, maxLength: maxLegalNameLength) {
            throw VettingError(code: .legalNameInvalid, detail: "legal_name \(problem)")
        }
    }

    private static func checkMLPSLevel(_ level: Int) throws(VettingError) {
        guard (1...5).contains(level) else {
            throw VettingError(code: .mlpsLevelOutOfRange, detail: "mlps_level must be 1 to 5, not \(level)")
        }
    }

    private static func checkCertifications(_ certifications: [String]) throws(VettingError) {
        guard certifications.count <= maxCertifications else {
            throw VettingError(
                code: .tooManyCertifications,
                detail: "\(certifications.count) certifications, over \(maxCertifications)"
            )
        }
        var seen: Set<String> = []
        for (index, certification) in certifications.enumerated() {
            if certification.isEmpty {
                throw VettingError(code: .certificationInvalid, detail: "certifications[\(index)] is empty")
            }
            if let problem = TextRules.problem(in: certification, maxLength: maxNameLength) {
                throw VettingError(code: .certificationInvalid, detail: "certifications[\(index)] \(problem)")
            }
            guard seen.insert(certification.lowercased()).inserted else {
                throw VettingError(
                    code: .certificationDuplicate,
                    detail: "certifications[\(index)] repeats an earlier certification"
                )
            }
        }
    }

    private static func checkDocumentCount(_ count: Int) throws(VettingError) {
        guard count > 0 else {
            throw VettingError(code: .documentsRequired, detail: "at least one supporting document is required")
        }
        guard count <= maxDocuments else {
            throw VettingError(code: .tooManyDocuments, detail: "\(count) documents, over \(maxDocuments)")
        }
    }

    private static func checkDistinct(_ documents: [SupportingDocument]) throws(VettingError) {
        var seen: Set<String> = []
        for (index, document) in documents.enumerated() where !seen.insert(document.sha256).inserted {
            throw VettingError(
                code: .documentDuplicate,
                detail: "documents[\(index)] has the digest of an earlier document"
            )
        }
    }

    private static func checkApplicant(_ applicant: String) throws(VettingError) {
        guard !applicant.isEmpty else {
            throw VettingError(code: .applicantRequired, detail: "the applicant principal id is empty")
        }
    }
}

extension OperatorApplication {
    /// The application as a JSON object with the request's field names: what `operator.applied` logs
    /// and what a store keeps, so the two cannot drift apart.
    public var json: JSONValue {
        .object([
            "legal_name": .string(legalName),
            "uscc": .string(uscc.value),
            "mlps_level": JSONValue(mlpsLevel),
            "tier": .string(tier.rawValue),
            "security_officer": .object([
                "name": securityOfficer.name.json,
                "email": securityOfficer.email.json,
            ]),
            "certifications": .array(certifications.map(JSONValue.string)),
            "documents": .array(documents.map { document in
                .object(["name": .string(document.name), "sha256": .string(document.sha256)])
            }),
            "applicant": .string(applicant),
        ])
    }
}
