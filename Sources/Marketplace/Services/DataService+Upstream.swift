public import AuditLog
import Cryptography
public import Foundation
public import Identity
public import Licensing
public import Metering
import Persistence

/// A credential opened for one forwarded call. Its text never appears in a description, so
/// interpolating it into a log line or an error by mistake prints a placeholder.
public struct UpstreamSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The field value to send.
    public let value: String

    init(_ value: String) { self.value = value }

    public var description: String { "<upstream secret>" }
    public var debugDescription: String { description }
}

/// An upstream call checked (grant, fields, quota) and ready to forward; nothing is metered yet.
public struct PreparedUpstream: Sendable {
    public let datasetID: String
    public let grantID: String
    /// The dataset's endpoint.
    public let endpoint: UpstreamEndpoint
    /// The opened credential, sent in ``UpstreamEndpoint/credentialHeader``.
    public let secret: UpstreamSecret
    /// The fields kept from each record, in the order served.
    public let fields: [String]
    let units: [MeteringUnit]
    let left: [MeteringUnit: Int64]
    let at: Date
}

/// What the authority's interface answered, cut to the granted fields and the quota: what will be
/// served once its usage is committed.
public struct UpstreamAnswer: Sendable {
    public let datasetID: String
    public let grantID: String
    /// The JSON array of the records, `[{"field":value,…},…]`, granted fields only.
    public let records: [UInt8]
    public let recordCount: Int
    /// Records the answer held beyond what the grant's record quota still allowed: not served.
    public let withheld: Int
    /// What the call is metered, per unit.
    public let units: [MeteringUnit: Int64]
    let at: Date
}

extension DataService {
    /// The query parameters PDX reads itself and never forwards.
    public static let upstreamReserved: Set<String> = ["grant_id", "fields"]

    /// Every check of an upstream call before it is forwarded: the dataset is `upstream`, the
    /// grant is the caller's, in force, covers it and has quota left for a call and a record; the
    /// fields asked for (default: every granted one) are granted. Opens the credential.
    public func prepareUpstream(datasetID: String, grantID: String?, fields: [String]?, by caller: Principal) async throws -> PreparedUpstream {
        let query = DataQuery(datasetID: datasetID, grantID: grantID, fields: fields, limit: 1, cursor: nil, release: nil, filters: [])
        let call = try await authorize(query, by: caller, delivery: .upstream)
        if let calls = call.left[.call], calls < 1 { throw DataAccessError(UsageRejection.quotaExceeded) }
        if let records = call.left[.record], records < 1 { throw DataAccessError(UsageRejection.quotaExceeded) }
        guard let endpoint = call.dataset.upstream, let sealed = call.sealedCredential, let upstreamKey else {
            throw DataAccessError(.upstreamCredentialUnavailable, "The dataset's upstream credential is not available on this server.")
        }
        let opened: [UInt8]
        do {
            opened = try upstreamKey.open(sealed, associatedData: Array(call.dataset.id.utf8))
        } catch {
            throw DataAccessError(.upstreamCredentialUnavailable,
                                  "The dataset's upstream credential cannot be opened with this server's upstream-key.")
        }
        return PreparedUpstream(datasetID: call.dataset.id, grantID: call.grantID, endpoint: endpoint,
                                secret: UpstreamSecret(String(decoding: opened, as: UTF8.self)),
                                fields: call.columns.map(\.name), units: call.units, left: call.left, at: call.now)
    }

    /// The URL to forward to: the base URL, `path` (as received, percent-encoded) and the query
    /// parameters (raw `name=value` text) other than PDX's own. Throws `invalid_upstream_path` for a
    /// path that could leave the base path or change the host, `invalid_upstream_query` for a
    /// parameter that is not valid query text.
    public static func upstreamURL(base: String, path: String, query: [String]) throws(DataAccessError) -> String {
        func invalidPath(_ why: String) -> DataAccessError { DataAccessError(.invalidUpstreamPath, "The upstream path \(why).") }
        guard path.utf8.count <= 2048 else { throw invalidPath("is longer than 2048 bytes") }
        var url = base
        if !path.isEmpty {
            for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
                guard !segment.isEmpty else { throw invalidPath("has an empty segment (// or a trailing /)") }
                guard segment != ".", segment != ".." else { throw invalidPath("has a dot segment") }
                guard segment.utf8.allSatisfy({ isPathByte($0) || $0 == UInt8(ascii: "%") }) else {
                    throw invalidPath("holds a character a path may not hold unencoded (a backslash, a space, …)")
                }
                guard let decoded = percentDecoded(segment) else { throw invalidPath("has a malformed %-escape") }
                guard !decoded.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 == 0x7F }),
                      decoded != Array(".".utf8), decoded != Array("..".utf8), !segment.lowercased().contains("%2e")
                else { throw invalidPath("has an encoded slash, backslash, dot or control character") }
            }
            url += "/" + path
        }
        var forwarded: [String] = []
        for parameter in query where !parameter.isEmpty {
            guard parameter.utf8.allSatisfy({ isPathByte($0) || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }),
                  percentDecoded(Substring(parameter)) != nil
            else {
                throw DataAccessError(.invalidUpstreamQuery, "A query parameter holds a character a query may not hold unencoded, or a malformed %-escape.")
            }
            forwarded.append(parameter)
        }
        if !forwarded.isEmpty { url += "?" + forwarded.joined(separator: "&") }
        return url
    }

    /// Unreserved and sub-delimiter characters, `:` and `@` (RFC 3986 pchar without `%`).
    static func isPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("-._~!$&'()*+,;=:@".utf8).contains(byte)
        }
    }

    /// The bytes of `text` with its %-escapes decoded; nil for a malformed escape.
    static func percentDecoded(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard let high = bytes.next(), let low = bytes.next(), let value = Hex.decode(String(decoding: [high, low], as: UTF8.self))?.first
            else { return nil }
            out.append(value)
        }
        return out
    }

    /// The records of an upstream answer's `body`, each cut to the granted fields, and the page cut
    /// to the records the quota still allows; throws `upstream_malformed` for anything but JSON
    /// records. Values are written in RFC 8785 form (numbers as IEEE doubles); a field a record
    /// lacks is left out of it.
    public func answer(_ prepared: PreparedUpstream, body: [UInt8]) throws(DataAccessError) -> UpstreamAnswer {
        let malformed = DataAccessError(.upstreamMalformed, "The authority's interface did not answer with JSON records ({\"records\":[{…}]} or [{…}]).")
        let root: JSONValue
        do { root = try JSONValue.parse(body) } catch { throw malformed }
        let list: [JSONValue]
        if let array = root.arrayValue {
            list = array
        } else if let object = root.objectValue, let array = object["records"]?.arrayValue {
            list = array
        } else {
            throw malformed
        }
        var records: [[String: JSONValue]] = []
        records.reserveCapacity(list.count)
        for element in list {
            guard let object = element.objectValue else { throw malformed }
            records.append(object)
        }
        var served = records.count
        if let left = prepared.left[.record] { served = Int(min(Int64(served), max(0, left))) }
        var out: [UInt8] = [UInt8(ascii: "[")]
        let keys = prepared.fields.map { (name: $0, key: (try? JSONValue.string($0).canonicalBytes()) ?? []) }
        for (offset, record) in records.prefix(served).enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            var first = true
            for (name, key) in keys {
                guard let value = record[name] else { continue }
                guard let bytes = try? value.canonicalBytes() else { throw malformed }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: key)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: bytes)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        var metered: [MeteringUnit: Int64] = [:]
        for unit in prepared.units {
            switch unit {
            case .call: metered[.call] = 1
            case .record: metered[.record] = Int64(served)
            case .byte: metered[.byte] = Int64(out.count)
            }
        }
        return UpstreamAnswer(datasetID: prepared.datasetID, grantID: prepared.grantID, records: out, recordCount: served,
                              withheld: records.count - served, units: metered.filter { $0.value > 0 }, at: prepared.at)
    }
}
