internal import AuditLog
internal import Foundation

/// The members of one JSON object of a stored document, taken one by one so that ``finish()`` can
/// refuse any left over. Every failure is `unexpected_data` naming the member's path.
///
/// Shared by the document codecs (``OperatorDocument``, ``DatasetDocument``, ``GrantDocument``),
/// which all decode strictly: a missing, mistyped or unknown member is refused, since an unknown
/// one would be dropped by the next read-modify-write.
struct JSONMembers {
    private var members: [String: JSONValue]
    private let path: String

    init(_ value: JSONValue, at path: String) throws(StorageError) {
        guard let members = value.objectValue else { throw StorageError.unexpected("\(path) is not an object") }
        self.members = members
        self.path = path
    }

    /// Throws if a member was not taken.
    func finish() throws(StorageError) {
        if let name = members.keys.sorted().first {
            throw StorageError.unexpected("\(path) has an unknown member \(name)")
        }
    }

    mutating func take(_ name: String) throws(StorageError) -> JSONValue {
        guard let value = members.removeValue(forKey: name) else {
            throw StorageError.unexpected("\(path) lacks \(name)")
        }
        return value
    }

    /// The member if present: for members added after documents were first written.
    mutating func takeIfPresent(_ name: String) -> JSONValue? {
        members.removeValue(forKey: name)
    }

    func mistyped(_ name: String, _ expected: String) -> StorageError {
        StorageError.unexpected("\(path).\(name) is not \(expected)")
    }

    mutating func string(_ name: String) throws(StorageError) -> String {
        guard let text = try take(name).stringValue else { throw mistyped(name, "a string") }
        return text
    }

    mutating func optionalString(_ name: String) throws(StorageError) -> String? {
        let value = try take(name)
        if value.isNull { return nil }
        guard let text = value.stringValue else { throw mistyped(name, "a string or null") }
        return text
    }

    /// A personal value's commitment (`{"commitment", "personal_data_id"}`).
    mutating func commitment(_ name: String) throws(StorageError) -> PersonalDataCommitment {
        guard let commitment = PersonalDataCommitment(json: try take(name)) else {
            throw mistyped(name, "a personal-data commitment")
        }
        return commitment
    }

    mutating func bool(_ name: String) throws(StorageError) -> Bool {
        guard let flag = try take(name).boolValue else { throw mistyped(name, "true or false") }
        return flag
    }

    mutating func integer(_ name: String) throws(StorageError) -> Int {
        guard let number = try take(name).integerValue else { throw mistyped(name, "an integer") }
        return number
    }

    mutating func object(_ name: String) throws(StorageError) -> JSONMembers {
        try JSONMembers(try take(name), at: "\(path).\(name)")
    }

    /// An object's members as they are, for maps keyed by data (unit → price) rather than by name.
    mutating func dictionary(_ name: String) throws(StorageError) -> [String: JSONValue] {
        guard let members = try take(name).objectValue else { throw mistyped(name, "an object") }
        return members
    }

    mutating func array(_ name: String) throws(StorageError) -> [JSONValue] {
        guard let elements = try take(name).arrayValue else { throw mistyped(name, "an array") }
        return elements
    }

    mutating func strings(_ name: String) throws(StorageError) -> [String] {
        var texts: [String] = []
        for (index, element) in try array(name).enumerated() {
            guard let text = element.stringValue else { throw mistyped("\(name)[\(index)]", "a string") }
            texts.append(text)
        }
        return texts
    }

    mutating func enumeration<T: RawRepresentable<String>>(_ name: String, _ type: T.Type) throws(StorageError) -> T {
        guard let value = T(rawValue: try string(name)) else { throw mistyped(name, "a known \(type)") }
        return value
    }

    mutating func optionalEnumeration<T: RawRepresentable<String>>(_ name: String, _ type: T.Type) throws(StorageError) -> T? {
        guard let text = try optionalString(name) else { return nil }
        guard let value = T(rawValue: text) else { throw mistyped(name, "a known \(type)") }
        return value
    }

    /// An RFC 3339 UTC time with milliseconds, the audit log's form.
    mutating func time(_ name: String) throws(StorageError) -> Date {
        guard let milliseconds = Timestamp.parse(try string(name)) else {
            throw mistyped(name, "an RFC 3339 UTC time with milliseconds")
        }
        return Timestamp.date(milliseconds: milliseconds)
    }

    mutating func optionalTime(_ name: String) throws(StorageError) -> Date? {
        guard let text = try optionalString(name) else { return nil }
        guard let milliseconds = Timestamp.parse(text) else {
            throw mistyped(name, "an RFC 3339 UTC time with milliseconds or null")
        }
        return Timestamp.date(milliseconds: milliseconds)
    }

    /// A time as integer milliseconds since 1970 UTC.
    mutating func milliseconds(_ name: String) throws(StorageError) -> Date {
        guard let milliseconds = try take(name).integerValue else { throw mistyped(name, "integer milliseconds") }
        return Timestamp.date(milliseconds: Int64(milliseconds))
    }

    mutating func optionalMilliseconds(_ name: String) throws(StorageError) -> Date? {
        let value = try take(name)
        if value.isNull { return nil }
        guard let milliseconds = value.integerValue else { throw mistyped(name, "integer milliseconds or null") }
        return Timestamp.date(milliseconds: Int64(milliseconds))
    }
}
