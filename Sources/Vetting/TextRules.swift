internal import Foundation

/// Rules for the free-text fields of an application, shared so that every field fails the same way.
package enum TextRules {
    /// What is wrong with a non-empty `text`, phrased to follow the field name, or nil when it is fine.
    ///
    /// Control characters and line separators are refused because names end up in CSV reports and
    /// log lines, where they could forge rows; outer white space because two names differing only by
    /// it would look the same to a reviewer.
    /// With `allowsLineBreaks`, line feeds are accepted (free-text descriptions and purposes); other
    /// control characters still are not.
    package static func problem(in text: String, maxLength: Int, allowsLineBreaks: Bool = false) -> String? {
        let length = text.count
        if length > maxLength {
            return "has \(length) characters, over \(maxLength)"
        }
        for scalar in text.unicodeScalars {
            if allowsLineBreaks && scalar == "\n" { continue }
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator:
                return "has a control character"
            default:
                continue
            }
        }
        if let first = text.first, first.isWhitespace {
            return "has leading white space"
        }
        if let last = text.last, last.isWhitespace {
            return "has trailing white space"
        }
        return nil
    }

    /// What is wrong with a reason, one rule a code across the modules: missing (`reason_required`),
    /// longer than `maxLength` characters (`reason_too_long`), or holding a control character
    /// (`invalid_reason`); nil when it is fine. `reason` is trimmed first (``trimmed(_:)``).
    package enum ReasonProblem: Sendable, Equatable {
        case missing
        case tooLong(String)
        case invalid(String)
    }

    package static func reasonProblem(_ reason: String?, maxLength: Int) -> ReasonProblem? {
        guard let reason = trimmed(reason) else { return .missing }
        if reason.count > maxLength { return .tooLong("has \(reason.count) characters, over \(maxLength)") }
        if let problem = problem(in: reason, maxLength: maxLength, allowsLineBreaks: true) { return .invalid(problem) }
        return nil
    }

    /// `reason` with outer white space removed, or nil when nothing is left.
    package static func trimmed(_ reason: String?) -> String? {
        guard let reason else { return nil }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}

/// The shape check for e-mail addresses: not a proof that the address exists, only that it is one
/// address a mail system would accept.
public enum EmailAddress {
    /// True for `local@domain` in ASCII, at most 254 characters, where `local` is 1–64 characters of
    /// RFC 5322 atext with single inner dots, and `domain` is two or more dot-separated labels of
    /// 1–63 letters, digits and inner hyphens, the last one alphabetic (or an IDNA `xn--` label).
    ///
    /// Quoted local parts, comments and address literals are refused: they are legal but no security
    /// officer needs one, and they make comparing addresses unreliable.
    public static func isWellFormed(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard bytes.count <= 254, bytes.allSatisfy({ $0 < 0x80 }) else { return false }
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return isLocalPart(parts[0]) && isDomain(parts[1])
    }

    private static let atextSymbols = Set("!#$%&'*+/=?^_`{|}~-".utf8)

    private static func isLocalPart(_ local: ArraySlice<UInt8>) -> Bool {
        guard (1...64).contains(local.count) else { return false }
        let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return atoms.allSatisfy { atom in
            !atom.isEmpty && atom.allSatisfy { isAlphanumeric($0) || atextSymbols.contains($0) }
        }
    }

    private static func isDomain(_ domain: ArraySlice<UInt8>) -> Bool {
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count),
                  label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
            else { return false }
        }
        let top = labels[labels.count - 1]
        let isIDNA = top.count > 4 && top.prefix(4).map { $0 | 0x20 } == Array("xn--".utf8)
        return isIDNA || (top.count >= 2 && top.allSatisfy(isLetter))
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || (0x30...0x39).contains(byte)
    }
}
