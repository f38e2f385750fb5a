import AuditLog
import Identity
import Foundation
public import Marketplace
import OpenAPIRuntime

/// The OpenAPI layer's dates: RFC 3339 with or without fractional seconds and with any offset on the
/// way in, so that a client may send back any time the API wrote; UTC with milliseconds on the way
/// out, the precision of the audit log.
struct RFC3339Transcoder: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        RFC3339.format(date)
    }

    func decode(_ text: String) throws -> Date {
        guard let date = RFC3339.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Expected an RFC 3339 date-time."))
        }
        return date
    }
}
