public import AuditLog
public import Cryptography
public import Foundation

// The personal-data store: the only place names and contact details of natural persons are kept.
// Principals and operators hold references into it, the log commitments (PersonalDataCommitment).

extension DatabaseReader {
    static let selectPersonalData = """
        SELECT id, subject, field, value, salt, commitment, created_at, erased_at, erased_by, erase_reason \
        FROM personal_data
        """

    /// The stored values with the given ids that exist, erased ones included, by id.
    public func personalData(ids: [String]) async throws -> [String: PersonalDatum] {
        let distinct = Array(Set(ids)).sorted()
        var found: [String: PersonalDatum] = [:]
        // In slices, so that a long page of operators stays within every engine's bind limit.
        for start in stride(from: 0, to: distinct.count, by: 500) {
            let slice = Array(distinct[start..<min(start + 500, distinct.count)])
            let placeholders = slice.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
            let rows = try await context.query(
                Self.selectPersonalData + " WHERE id IN (\(placeholders))", slice.map(SQLValue.text))
            for row in rows {
                let datum = try Self.personalDatum(row)
                found[datum.id] = datum
            }
        }
        return found
    }

    /// The stored value with `id`, or nil.
    public func personalDatum(id: String) async throws -> PersonalDatum? {
        try await context.query(Self.selectPersonalData + " WHERE id = $1", [.text(id)]).first.map(Self.personalDatum)
    }

    /// Every value recorded about `subject` (`principal:…`, `operator:…`), oldest first.
    public func personalData(subject: String) async throws -> [PersonalDatum] {
        try await context.query(
            Self.selectPersonalData + " WHERE subject = $1 ORDER BY created_at, id", [.text(subject)]
        ).map(Self.personalDatum)
    }

    static func personalDatum(_ row: SQLRow) throws -> PersonalDatum {
        let erasure: PersonalDatum.Erasure? = try row.optionalInteger(7).map { at in
            PersonalDatum.Erasure(
                at: Timestamp.date(milliseconds: at),
                by: try row.optionalText(8) ?? "",
                reason: try row.optionalText(9) ?? "")
        }
        let salt: [UInt8]? = row.values[4] == .null ? nil : try row.blob(4)
        return PersonalDatum(
            id: try row.text(0),
            subject: try row.text(1),
            field: try row.text(2),
            value: try row.optionalText(3),
            salt: salt,
            commitment: try digest(row.blob(5)),
            createdAt: Timestamp.date(milliseconds: try row.integer(6)),
            erasure: erasure)
    }
}

extension DatabaseTransaction {
    /// Stores newly sealed values.
    public func insertPersonalData(_ data: [PersonalDatum]) async throws {
        try await context.insert(into: "personal_data", columns: Self.personalDataColumns, rows: data.map(Self.row))
    }

    static func insertPersonalData(_ data: [PersonalDatum], into connection: any SQLConnection) async throws {
        guard !data.isEmpty else { return }
        try await connection.insert(into: "personal_data", columns: personalDataColumns, rows: data.map(row), conflict: "")
    }

    static let personalDataColumns = ["id", "subject", "field", "value", "salt", "commitment", "created_at"]

    static func row(_ datum: PersonalDatum) -> [SQLValue] {
        [.text(datum.id), .text(datum.subject), .text(datum.field),
         datum.value.map(SQLValue.text) ?? .null, datum.salt.map(SQLValue.blob) ?? .null,
         .blob(datum.commitment.bytes), .integer(Timestamp.milliseconds(datum.createdAt))]
    }

    /// Deletes the value and salt of `id` and records who erased it, when and why; returns false
    /// when there is no such value or it was already erased.
    public func erasePersonalDatum(id: String, by principal: String, reason: String, at time: Date) async throws -> Bool {
        !(try await context.query(
            """
            UPDATE personal_data SET value = NULL, salt = NULL, erased_at = $1, erased_by = $2, erase_reason = $3 \
            WHERE id = $4 AND erased_at IS NULL RETURNING id
            """,
            [.integer(Timestamp.milliseconds(time)), .text(principal), .text(reason), .text(id)]
        ).isEmpty)
    }
}

/// Migration 7's rewrite: the values principals and operator documents held move into
/// `personal_data`, each sealed under a fresh salt, and the rows keep references.
///
/// Entries already in the log keep what they logged: the log is never rewritten.
enum PersonalDataMigration {
    static func moveValues(on connection: any SQLConnection) async throws {
        let random = SecureRandom()
        for row in try await connection.query("SELECT id, name, email, created_at FROM principals ORDER BY id", []) {
            let id = try row.text(0)
            let at = Timestamp.date(milliseconds: try row.integer(3))
            let name = try PersonalDatum.seal(try row.text(1), subject: "principal:\(id)", field: "name", at: at, random: random)
            let email = try row.optionalText(2).map {
                try PersonalDatum.seal($0, subject: "principal:\(id)", field: "email", at: at, random: random)
            }
            try await DatabaseTransaction.insertPersonalData([name] + (email.map { [$0] } ?? []), into: connection)
            try await connection.execute(
                "UPDATE principals SET name_ref = $1, email_ref = $2 WHERE id = $3",
                [.text(name.id), email.map { .text($0.id) } ?? .null, .text(id)])
        }
        for row in try await connection.query("SELECT id, submitted_at, document FROM operators ORDER BY id", []) {
            let id = try row.text(0)
            let at = Timestamp.date(milliseconds: try row.integer(1))
            guard var document = try JSONValue.parse(Array(try row.text(2).utf8)).objectValue,
                  var application = document["application"]?.objectValue,
                  let officer = application["security_officer"]?.objectValue,
                  let name = officer["name"]?.stringValue, let email = officer["email"]?.stringValue
            else {
                throw StorageError.unexpected("operator \(id)'s document has no security officer to move")
            }
            let subject = "operator:\(id)"
            let sealed = [
                try PersonalDatum.seal(name, subject: subject, field: "security_officer.name", at: at, random: random),
                try PersonalDatum.seal(email, subject: subject, field: "security_officer.email", at: at, random: random),
            ]
            try await DatabaseTransaction.insertPersonalData(sealed, into: connection)
            application["security_officer"] = .object(["name": sealed[0].reference.json, "email": sealed[1].reference.json])
            document["application"] = .object(application)
            document["version"] = JSONValue(OperatorDocument.version)
            try await connection.execute(
                "UPDATE operators SET document = $1 WHERE id = $2",
                [.text(try JSONValue.object(document).canonicalString()), .text(id)])
        }
    }
}
