public import Cryptography
public import Foundation

/// What the log holds in place of a personal value: the value's reference in the `personal_data`
/// store and an HMAC-SHA256 commitment to it under a random per-value salt.
///
/// The commitment proves, once the value and salt are disclosed, that they are what was recorded;
/// without the salt it reveals nothing, and erasing value and salt leaves the log as it was.
/// In a record it is the object `{"commitment": "<64 hex>", "personal_data_id": "pd_<32 hex>"}`.
public struct PersonalDataCommitment: Sendable, Hashable {
    /// The reference into the personal-data store: `pd_` and 32 lower-case hex digits.
    public let id: String
    /// HMAC-SHA256 of the value's UTF-8 bytes, keyed by the value's salt.
    public let commitment: SHA256Digest

    /// Creates a commitment; `id` is not checked (see ``isValidID(_:)``).
    public init(id: String, commitment: SHA256Digest) {
        self.id = id
        self.commitment = commitment
    }

    /// Reads the logged form; nil when `json` is not an object whose `personal_data_id` is a
    /// valid reference and whose `commitment` is 64 lower-case hex digits.
    public init?(json: JSONValue) {
        guard let members = json.objectValue,
              let id = members["personal_data_id"]?.stringValue, Self.isValidID(id),
              let hex = members["commitment"]?.stringValue, Self.isLowerHex(hex, count: 64),
              let digest = SHA256Digest(hex: hex)
        else { return nil }
        self.init(id: id, commitment: digest)
    }

    /// The logged form.
    public var json: JSONValue {
        .object(["personal_data_id": .string(id), "commitment": .string(commitment.hex)])
    }

    /// True when `value` under `salt` is what this commits to (compared in constant time).
    public func opens(value: String, salt: [UInt8]) -> Bool {
        guard let recomputed = try? Self.commitment(to: value, salt: salt) else { return false }
        return ConstantTime.equals(recomputed.bytes, commitment.bytes)
    }

    /// HMAC-SHA256 of the value's UTF-8 bytes, exactly as stored, under `salt`.
    public static func commitment(to value: String, salt: [UInt8]) throws(OpenSSLError) -> SHA256Digest {
        try HMACSHA256.authenticationCode(for: Array(value.utf8), key: salt)
    }

    /// The bytes of a salt.
    public static let saltByteCount = 32

    /// True for `pd_` followed by 32 lower-case hex digits.
    public static func isValidID(_ id: String) -> Bool {
        id.hasPrefix("pd_") && isLowerHex(id.dropFirst(3), count: 32)
    }

    private static func isLowerHex(_ text: some StringProtocol, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// One personal value as the `personal_data` store keeps it: the value and its salt until erased,
/// the commitment and the facts about it forever.
public struct PersonalDatum: Sendable, Equatable {
    /// True for `principal:<id>` or `operator:<id>`, the subjects personal data is kept for.
    public static func isSubject(_ subject: String) -> Bool {
        for kind in ["principal:", "operator:"] where subject.hasPrefix(kind) {
            let id = subject.dropFirst(kind.count)
            return !id.isEmpty && id.count <= 128 && id.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
        }
        return false
    }

    /// Why and by whom a value was erased.
    public struct Erasure: Sendable, Equatable {
        /// When it was erased.
        public var at: Date
        /// The principal that erased it.
        public var by: String
        /// The reason given.
        public var reason: String

        /// Creates an erasure.
        public init(at: Date, by: String, reason: String) {
            self.at = at
            self.by = by
            self.reason = reason
        }
    }

    /// The action logged when a value is erased.
    public static let erasedAction = "personal_data.erased"

    /// The reference, `pd_…`.
    public let id: String
    /// Whose data it is, as `kind:id` (`principal:pr_…`, `operator:op_…`).
    public let subject: String
    /// Which member of the subject it is, e.g. `name`, `security_officer.email`.
    public let field: String
    /// The value; nil once erased.
    public var value: String?
    /// The 32-byte salt; nil once erased.
    public var salt: [UInt8]?
    /// The commitment the log holds.
    public let commitment: SHA256Digest
    /// When it was recorded (millisecond precision).
    public let createdAt: Date
    /// Set once erased.
    public var erasure: Erasure?

    /// Creates a stored value as read back.
    public init(id: String, subject: String, field: String, value: String?, salt: [UInt8]?,
                commitment: SHA256Digest, createdAt: Date, erasure: Erasure? = nil) {
        self.id = id
        self.subject = subject
        self.field = field
        self.value = value
        self.salt = salt
        self.commitment = commitment
        self.createdAt = createdAt
        self.erasure = erasure
    }

    /// Seals `value` for `subject`'s `field`: a new reference and a fresh salt from `random`.
    public static func seal(_ value: String, subject: String, field: String, at now: Date,
                            random: any RandomSource) throws -> PersonalDatum {
        let id = "pd_" + Hex.encode(try random.bytes(16))
        let salt = try random.bytes(PersonalDataCommitment.saltByteCount)
        return PersonalDatum(
            id: id, subject: subject, field: field, value: value, salt: salt,
            commitment: try PersonalDataCommitment.commitment(to: value, salt: salt),
            createdAt: Timestamp.normalized(now))
    }

    /// What the log holds for this value.
    public var reference: PersonalDataCommitment { PersonalDataCommitment(id: id, commitment: commitment) }

    /// True once the value and salt are gone.
    public var isErased: Bool { erasure != nil }
}

/// What `pdx audit disclose` writes for an auditor: one subject's values with their salts, so
/// that each can be checked against the log's commitment (`pdx-verify --disclosure`).
///
/// One JSON object in RFC 8785 canonical form: `format` (`pdx-personal-data-disclosure/1`),
/// `subject`, `values` [{`personal_data_id`, `field`, `value`, `salt` (64 hex), `commitment`}] and
/// `erased` [{`personal_data_id`, `field`, `commitment`, `erased_at`}], each oldest first.
public struct PersonalDataDisclosure: Sendable, Equatable {
    /// One disclosed value.
    public struct Value: Sendable, Equatable {
        public var id: String
        public var field: String
        public var value: String
        public var salt: [UInt8]
        public var commitment: String

        /// Creates a disclosed value.
        public init(id: String, field: String, value: String, salt: [UInt8], commitment: String) {
            self.id = id
            self.field = field
            self.value = value
            self.salt = salt
            self.commitment = commitment
        }
    }

    /// One value erased before the disclosure: named, not disclosed.
    public struct Erased: Sendable, Equatable {
        public var id: String
        public var field: String
        public var commitment: String
        public var erasedAt: String

        /// Creates an erased value's entry.
        public init(id: String, field: String, commitment: String, erasedAt: String) {
            self.id = id
            self.field = field
            self.commitment = commitment
            self.erasedAt = erasedAt
        }
    }

    /// The format's name and version.
    public static let format = "pdx-personal-data-disclosure/1"

    public var subject: String
    public var values: [Value]
    public var erased: [Erased]

    /// The disclosure of `data`, what the store holds about `subject`.
    public init(subject: String, data: [PersonalDatum]) {
        self.subject = subject
        values = data.compactMap { datum in
            guard let value = datum.value, let salt = datum.salt else { return nil }
            return Value(id: datum.id, field: datum.field, value: value, salt: salt, commitment: datum.commitment.hex)
        }
        erased = data.compactMap { datum in
            guard let erasure = datum.erasure else { return nil }
            return Erased(id: datum.id, field: datum.field, commitment: datum.commitment.hex,
                          erasedAt: Timestamp.format(Timestamp.milliseconds(erasure.at)))
        }
    }

    /// The file's bytes: canonical JSON and a final newline.
    public func rendered() throws -> [UInt8] {
        let object: JSONValue = .object([
            "format": .string(Self.format),
            "subject": .string(subject),
            "values": .array(values.map { value in
                .object(["personal_data_id": .string(value.id), "field": .string(value.field), "value": .string(value.value),
                         "salt": .string(Hex.encode(value.salt)), "commitment": .string(value.commitment)])
            }),
            "erased": .array(erased.map { erased in
                .object(["personal_data_id": .string(erased.id), "field": .string(erased.field),
                         "commitment": .string(erased.commitment), "erased_at": .string(erased.erasedAt)])
            }),
        ])
        return try object.canonicalBytes() + [0x0A]
    }

    /// Reads a disclosure file; throws a reason when it is not one.
    public init(parsing bytes: [UInt8]) throws(DisclosureFormatError) {
        guard let root = (try? JSONValue.parse(bytes))?.objectValue else {
            throw DisclosureFormatError("it is not a JSON object")
        }
        guard root["format"]?.stringValue == Self.format else {
            throw DisclosureFormatError("its format is not \(Self.format)")
        }
        guard let subject = root["subject"]?.stringValue else { throw DisclosureFormatError("subject is missing") }
        guard let values = root["values"]?.arrayValue, let erased = root["erased"]?.arrayValue else {
            throw DisclosureFormatError("values or erased is missing or not an array")
        }
        self.subject = subject
        self.values = []
        for (index, element) in values.enumerated() {
            guard let members = element.objectValue,
                  let id = members["personal_data_id"]?.stringValue,
                  let field = members["field"]?.stringValue,
                  let value = members["value"]?.stringValue,
                  let saltHex = members["salt"]?.stringValue, let salt = Hex.decode(saltHex),
                  salt.count == PersonalDataCommitment.saltByteCount,
                  let commitment = members["commitment"]?.stringValue
            else {
                throw DisclosureFormatError("values[\(index)] lacks personal_data_id, field, value, a 64-digit hex salt or commitment")
            }
            self.values.append(Value(id: id, field: field, value: value, salt: salt, commitment: commitment))
        }
        self.erased = []
        for (index, element) in erased.enumerated() {
            guard let members = element.objectValue,
                  let id = members["personal_data_id"]?.stringValue,
                  let field = members["field"]?.stringValue,
                  let commitment = members["commitment"]?.stringValue,
                  let erasedAt = members["erased_at"]?.stringValue
            else {
                throw DisclosureFormatError("erased[\(index)] lacks personal_data_id, field, commitment or erased_at")
            }
            self.erased.append(Erased(id: id, field: field, commitment: commitment, erasedAt: erasedAt))
        }
    }
}

/// Why a file is not a disclosure.
public typealias DisclosureFormatError = PlainCodedError<DisclosureFormatErrorCode>

/// The code of ``DisclosureFormatError``.
public enum DisclosureFormatErrorCode: String, Sendable, CaseIterable {
    /// Not a JSON object of the disclosure format, or a member missing or of the wrong type.
    case invalidDisclosure = "invalid_disclosure"
}

extension DisclosureFormatError {
    /// An error with `detail`, quoted as it is.
    init(_ detail: String) { self.init(.invalidDisclosure, detail) }
}
