internal import AuditLog
internal import Cryptography
internal import Vetting

/// The position after the last row of a page, as an opaque token: base64url of a canonical JSON
/// array holding the listing's name and the last row's sort key.
///
/// Clients get no promise about the form, so it may change; naming the listing makes a cursor from
/// one listing useless in another instead of silently skipping rows there.
struct PageCursor: Equatable {
    /// Which listing handed it out.
    var listing: String
    /// The last row's sort key, column by column.
    var key: [String]

    /// The token.
    var token: String {
        let value = JSONValue.array(([listing] + key).map(JSONValue.string))
        // Strings only: canonical serialization cannot fail.
        let bytes = (try? value.canonicalBytes()) ?? []
        var text = Base64.encode(bytes)
        while text.last == "=" { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    init(listing: String, key: [String]) {
        self.listing = listing
        self.key = key
    }

    /// Reads `token`, which must come from `listing` and carry `keyCount` key columns; throws
    /// ``VettingError`` `invalid_cursor` otherwise.
    init(token: String, listing: String, keyCount: Int) throws(VettingError) {
        let invalid = VettingError(code: .invalidCursor, detail: "the cursor was not handed out by this listing")
        // A cursor is small; a long one is not ours, and is refused before any decoding work.
        guard token.utf8.count <= 1024, !token.contains("+"), !token.contains("/"), !token.contains("=") else {
            throw invalid
        }
        var text = String(token.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text.append("=") }
        guard let bytes = Base64.decode(text),
              let value = try? CanonicalJSON.validate(bytes),
              let parts = value.arrayValue?.compactMap(\.stringValue),
              parts.count == keyCount + 1, value.arrayValue?.count == keyCount + 1,
              parts[0] == listing
        else { throw invalid }
        self.listing = listing
        self.key = Array(parts.dropFirst())
    }
}
