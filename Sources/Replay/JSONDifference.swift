import AuditLog

/// Where two JSON values first differ, for findings: `totals.authority_minor: 100 in the log, 99
/// recomputed`.
enum JSONDifference {
    /// The first difference between `found` (what the log or report says) and `expected` (what
    /// the replay computes), members in sorted order; nil when they are equal.
    static func first(_ found: JSONValue, _ expected: JSONValue, path: String = "", foundName: String, expectedName: String) -> String? {
        switch (found, expected) {
        case (.object(let a), .object(let b)):
            for key in Set(a.keys).union(b.keys).sorted() {
                let member = path.isEmpty ? key : "\(path).\(key)"
                guard let left = a[key] else { return "\(member) is missing in \(foundName)" }
                guard let right = b[key] else { return "\(member) is in \(foundName) but not \(expectedName)" }
                if let difference = first(left, right, path: member, foundName: foundName, expectedName: expectedName) {
                    return difference
                }
            }
            return nil
        case (.array(let a), .array(let b)):
            for index in 0..<min(a.count, b.count) {
                if let difference = first(a[index], b[index], path: "\(path)[\(index)]", foundName: foundName, expectedName: expectedName) {
                    return difference
                }
            }
            if a.count != b.count { return "\(path) has \(a.count) elements in \(foundName), \(b.count) \(expectedName)" }
            return nil
        default:
            guard found != expected else { return nil }
            return "\(path.isEmpty ? "the value" : path) is \(text(found)) in \(foundName), \(text(expected)) \(expectedName)"
        }
    }

    static func text(_ value: JSONValue) -> String {
        let bytes = (try? value.canonicalBytes()) ?? []
        let rendered = String(decoding: bytes, as: UTF8.self)
        return rendered.count > 120 ? String(rendered.prefix(117)) + "…" : rendered
    }
}
