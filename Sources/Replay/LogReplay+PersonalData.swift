import AuditLog
import Cryptography

// Personal data: the log holds commitments, never values. The replay checks that each reference is
// committed to once and erased at most once, as logged; what the values were it cannot know, so
// the rules that read them (the form of an e-mail address, a name's length) are checked only when
// an auditor is given a disclosure (`pdx-verify --disclosure`).
extension LogReplay {
    /// Registers the security officer's commitments of an `operator.applied`; a malformed
    /// application is the operator replay's finding, not this one's.
    mutating func committedOfficer(of record: AuditRecord, operatorID: String, seq: UInt64) {
        guard let officer = record.data["application"]?.objectValue?["security_officer"]?.objectValue else { return }
        for field in ["name", "email"] {
            if let commitment = officer[field].flatMap(PersonalDataCommitment.init(json:)) {
                committed(commitment, subject: "operator:\(operatorID)", field: "security_officer.\(field)", seq: seq)
            }
        }
    }

    /// Registers one commitment; a reference logged before is a finding.
    mutating func committed(_ commitment: PersonalDataCommitment, subject: String, field: String, seq: UInt64) {
        if let earlier = state.personalData[commitment.id] {
            report(ReplayFinding(.personalDataInvalid, entry: seq,
                                 "personal data \(commitment.id) was already committed to at entry \(earlier.seq)"))
            return
        }
        state.personalData[commitment.id] = ReplayedPersonalDatum(
            commitment: commitment, subject: subject, field: field, seq: seq, erasedAt: nil)
    }

    /// A `personal_data.erased`: of a reference committed to before, as logged, once.
    mutating func erased(_ data: Fields, seq: UInt64) throws(MalformedRecord) {
        let id = try data.string("personal_data_id")
        let subject = try data.string("subject")
        let field = try data.string("field")
        let commitment = try data.string("commitment")
        guard let known = state.personalData[id] else {
            report(ReplayFinding(.personalDataInvalid, entry: seq, "erases \(id), which no earlier entry committed to"))
            return
        }
        if let erasedAt = known.erasedAt {
            report(ReplayFinding(.personalDataInvalid, entry: seq, "erases \(id) again; entry \(erasedAt) erased it"))
            return
        }
        guard known.commitment.commitment.hex == commitment, known.subject == subject, known.field == field else {
            report(ReplayFinding(.personalDataInvalid, entry: seq,
                                 "erases \(id) as \(subject) \(field) with another commitment, subject or field than entry \(known.seq) logged"))
            return
        }
        state.personalData[id]?.erasedAt = seq
    }
}
