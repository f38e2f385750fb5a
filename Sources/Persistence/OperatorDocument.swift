internal import AuditLog
internal import Foundation
internal import Vetting

/// The stored form of an ``Operator``: one JSON object in RFC 8785 canonical form, in the
/// `operators.document` column.
///
/// A document rather than tables of reviews and history: an operator is read and written whole, a
/// lifecycle step changes several of its parts at once, and the conditional update on `revision`
/// then guards all of them with one row. Members are snake_case like the API; times are RFC 3339
/// UTC with milliseconds (the audit log's form); absent optional values are `null`, so every
/// document of one version has the same members.
///
/// Decoding is strict: a missing, mistyped or unknown member fails with `unexpected_data`. An
/// unknown member would be dropped by the next read-modify-write, so it is refused rather than
/// ignored.
enum OperatorDocument {
    /// The version written into each document; a reader refuses others.
    static let version = 2

    /// The canonical JSON text of `value`.
    static func encode(_ value: Operator) -> String {
        let application = value.application
        var members: [String: JSONValue] = [
            "version": JSONValue(version),
            "id": .string(value.id),
            "application": application.json,
            "submitted_at": time(value.submittedAt),
            "status": .string(value.status.rawValue),
            "reviews": .array(value.reviews.map { review in
                .object([
                    "reviewer": .string(review.reviewer),
                    "authority": .string(review.authority),
                    "decision": .string(review.decision.rawValue),
                    "reason": optional(review.reason),
                    "at": time(review.at),
                    "round": JSONValue(review.round),
                ])
            }),
            "approved_at": value.approvedAt.map(time) ?? .null,
            "approved_until": value.approvedUntil.map(time) ?? .null,
            "history": .array(value.history.map { change in
                .object([
                    "action": .string(change.action.rawValue),
                    "from": optional(change.from?.rawValue),
                    "to": .string(change.to.rawValue),
                    "at": time(change.at),
                    "actor": .string(change.actor),
                    "reason": optional(change.reason),
                ])
            }),
            "round": JSONValue(value.round),
            "revision": JSONValue(value.revision),
        ]
        // Written only when set, so documents of operators never suspended or proposed for
        // revocation read as they always did.
        if let by = value.suspendedBy { members["suspended_by"] = .string(by.description) }
        if let proposal = value.revocationProposal {
            members["revocation_proposal"] = .object([
                "reviewer": .string(proposal.reviewer),
                "authority": .string(proposal.authority),
                "reason": .string(proposal.reason),
                "at": time(proposal.at),
            ])
        }
        let document: JSONValue = .object(members)
        // Strings, integers well inside ±2^53 and finite numbers only: serialization cannot fail.
        return (try? document.canonicalString()) ?? ""
    }

    /// The operator `text` holds; throws `unexpected_data` naming the first member that is wrong.
    static func decode(_ text: String) throws(StorageError) -> Operator {
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(text.utf8))
        } catch {
            throw StorageError.unexpected("an operator document is not JSON: \(error.code.rawValue)")
        }
        var root = try JSONMembers(value, at: "operator document")
        let version = try root.integer("version")
        guard version == Self.version else {
            throw StorageError.unexpected("operator document version \(version); this program reads \(Self.version)")
        }
        let id = try root.string("id")
        var applicationMembers = try root.object("application")
        var officerMembers = try applicationMembers.object("security_officer")
        let officerName = try officerMembers.commitment("name")
        let officerEmail = try officerMembers.commitment("email")
        try officerMembers.finish()
        var documents: [(name: String, sha256: String)] = []
        for (index, element) in try applicationMembers.array("documents").enumerated() {
            var members = try JSONMembers(element, at: "application.documents[\(index)]")
            documents.append((name: try members.string("name"), sha256: try members.string("sha256")))
            try members.finish()
        }
        var certifications: [String] = []
        for (index, element) in try applicationMembers.array("certifications").enumerated() {
            guard let text = element.stringValue else {
                throw StorageError.unexpected("application.certifications[\(index)] is not a string")
            }
            certifications.append(text)
        }
        let legalName = try applicationMembers.string("legal_name")
        let uscc = try applicationMembers.string("uscc")
        let mlpsLevel = try applicationMembers.integer("mlps_level")
        let tier = try applicationMembers.enumeration("tier", OperatorTier.self)
        let applicant = try applicationMembers.string("applicant")
        try applicationMembers.finish()
        let application: OperatorApplication
        do {
            // The application's own checks run again: a stored application that fails them was not
            // written by this program and is not trusted.
            application = try OperatorApplication(
                legalName: legalName,
                uscc: uscc,
                mlpsLevel: mlpsLevel,
                tier: tier,
                securityOfficer: SecurityOfficer(name: officerName, email: officerEmail),
                certifications: certifications,
                documents: documents,
                applicant: applicant
            )
        } catch {
            throw StorageError.unexpected("a stored application fails validation: \(error.code.rawValue)")
        }

        var reviews: [Review] = []
        for (index, element) in try root.array("reviews").enumerated() {
            var members = try JSONMembers(element, at: "reviews[\(index)]")
            reviews.append(Review(
                reviewer: try members.string("reviewer"),
                authority: try members.string("authority"),
                decision: try members.enumeration("decision", ReviewDecision.self),
                reason: try members.optionalString("reason"),
                at: try members.time("at"),
                round: try members.integer("round")
            ))
            try members.finish()
        }
        var history: [StatusChange] = []
        for (index, element) in try root.array("history").enumerated() {
            var members = try JSONMembers(element, at: "history[\(index)]")
            history.append(StatusChange(
                action: try members.enumeration("action", LifecycleAction.self),
                from: try members.optionalEnumeration("from", OperatorStatus.self),
                to: try members.enumeration("to", OperatorStatus.self),
                at: try members.time("at"),
                actor: try members.string("actor"),
                reason: try members.optionalString("reason")
            ))
            try members.finish()
        }
        var suspendedBy: ActingParty?
        if let text = root.takeIfPresent("suspended_by") {
            guard let party = text.stringValue.flatMap(ActingParty.init(text:)) else {
                throw StorageError.unexpected("operator document suspended_by is not admin or authority:<id>")
            }
            suspendedBy = party
        }
        var proposal: RevocationProposal?
        if let value = root.takeIfPresent("revocation_proposal") {
            var members = try JSONMembers(value, at: "revocation_proposal")
            proposal = RevocationProposal(reviewer: try members.string("reviewer"), authority: try members.string("authority"),
                                          reason: try members.string("reason"), at: try members.time("at"))
            try members.finish()
        }
        let result = Operator(
            id: id,
            application: application,
            submittedAt: try root.time("submitted_at"),
            status: try root.enumeration("status", OperatorStatus.self),
            reviews: reviews,
            approvedAt: try root.optionalTime("approved_at"),
            approvedUntil: try root.optionalTime("approved_until"),
            history: history,
            round: try root.integer("round"),
            revision: try root.integer("revision"),
            suspendedBy: suspendedBy,
            revocationProposal: proposal
        )
        try root.finish()
        return result
    }

    private static func time(_ date: Date) -> JSONValue {
        .string(Timestamp.format(Timestamp.milliseconds(date)))
    }

    private static func optional(_ text: String?) -> JSONValue {
        text.map(JSONValue.string) ?? .null
    }
}
