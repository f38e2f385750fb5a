public import AuditLog

/// Input the Vetting module refuses: a malformed code, name, address, document or authority, a paging
/// cursor no listing handed out, or a store that found its record changed underneath it.
///
/// Equality is by ``code``. ``detail`` names the field and the position or limit that failed, never the
/// submitted value: applications carry personal data (the security officer's name and e-mail) and
/// details end up in logs and problem+json bodies.
public typealias VettingError = ModuleError<VettingErrorCode>

/// The stable codes of ``VettingError``: the raw value is what a problem+json `code` says.
public enum VettingErrorCode: String, Sendable, CaseIterable {
    /// A unified social credit code that is not 18 characters long.
    case usccLength = "uscc_length"
    /// A unified social credit code with a lower-case letter; codes are upper case and are not
    /// silently converted.
    case usccLowercase = "uscc_lowercase"
    /// A unified social credit code with a character outside `0-9 A-H J-N P-R T U W-Y`.
    case usccForbiddenCharacter = "uscc_forbidden_character"
    /// Characters 3–8 (the registering authority's administrative division code) are not all digits.
    case usccRegionCode = "uscc_region_code"
    /// The 18th character is not the check character GB 32100-2015 computes from the first 17.
    case usccCheckCharacter = "uscc_check_character"

    /// The legal name is empty.
    case legalNameRequired = "legal_name_required"
    /// The legal name is longer than ``OperatorApplication/maxLegalNameLength`` characters.
    case legalNameTooLong = "legal_name_too_long"
    /// The legal name has a control character or leading or trailing white space.
    case legalNameInvalid = "legal_name_invalid"
    /// The MLPS (等保) level is not 1 to 5.
    case mlpsLevelOutOfRange = "mlps_level_out_of_range"
    /// The security officer's name is empty.
    case securityOfficerNameRequired = "security_officer_name_required"
    /// The security officer's name is too long or has control characters or outer white space.
    case securityOfficerNameInvalid = "security_officer_name_invalid"
    /// The security officer's e-mail address does not have the shape `local@domain.tld`.
    case securityOfficerEmailInvalid = "security_officer_email_invalid"
    /// A certification is empty, too long, or has control characters or outer white space.
    case certificationInvalid = "certification_invalid"
    /// The same certification is listed twice (compared without regard to case).
    case certificationDuplicate = "certification_duplicate"
    /// More certifications than ``OperatorApplication/maxCertifications``.
    case tooManyCertifications = "too_many_certifications"
    /// No supporting document was given.
    case documentsRequired = "documents_required"
    /// A document name is empty, too long, or has control characters or outer white space.
    case documentNameInvalid = "document_name_invalid"
    /// A document digest is not 64 lower-case hexadecimal characters.
    case documentDigestInvalid = "document_digest_invalid"
    /// Two documents have the same SHA-256 digest.
    case documentDuplicate = "document_duplicate"
    /// More documents than ``OperatorApplication/maxDocuments``.
    case tooManyDocuments = "too_many_documents"
    /// The applicant principal id is empty.
    case applicantRequired = "applicant_required"

    /// A stored operator's audit records cannot be replayed: an unknown action, a missing or
    /// mistyped member, or records out of order.
    case replayFailed = "replay_failed"
    /// A store refused an update because the stored operator is no longer at the revision the
    /// change was computed from; read it again and retry.
    case concurrentUpdate = "concurrent_update"
    /// A store found no operator with the requested id.
    case operatorNotFound = "operator_not_found"
    /// A store already holds an operator with this id.
    case operatorExists = "operator_exists"

    /// An authority id that is not 2–32 characters of `a-z 0-9 -` starting with a letter.
    case invalidAuthorityID = "invalid_authority_id"
    /// An authority name that is empty, too long, or has control characters or outer white space.
    case invalidName = "invalid_name"
    /// An authority region that is empty, too long, or has control characters or outer white space.
    case invalidRegion = "invalid_region"
    /// A store already holds an authority with this id.
    case authorityExists = "authority_exists"
    /// A paging cursor that no listing of this store handed out.
    case invalidCursor = "invalid_cursor"
}
