import Identity
@testable import APIServer
@testable import Marketplace
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Principals created through the API, as a test scenario needs them.
struct Actors: Sendable {
    var admin: String
    var keys: [String: String] = [:]
    var ids: [String: String] = [:]

    subscript(name: String) -> String { keys[name]! }

    /// Creates authority `id` (admin).
    static func authority(_ id: String, _ client: any TestClientProtocol, admin: String) async throws {
        let response = try await client.request(.post, "/v1/authorities", key: admin,
                                                body: #"{"id":"\#(id)","name":"\#(id) data bureau","region":"\#(id)"}"#)
        #expect(response.status == .created, "\(response.text)")
    }

    /// Creates a principal and remembers its key under `name`.
    mutating func principal(_ name: String, role: Role, authority: String? = nil, email: String? = nil,
                            _ client: any TestClientProtocol) async throws {
        var fields = [#""name":"\#(name)""#, #""role":"\#(role.rawValue)""#]
        if let authority { fields.append(#""authority_id":"\#(authority)""#) }
        if let email { fields.append(#""email":"\#(email)""#) }
        let response = try await client.request(.post, "/v1/principals", key: admin, body: "{" + fields.joined(separator: ",") + "}")
        #expect(response.status == .created, "\(response.text)")
        let body = try response.json()
        keys[name] = try #require(body["api_key"] as? String)
        ids[name] = try #require(body["id"] as? String)
    }
}

/// A valid operator application; `uscc` and `tier` vary per test.
func application(uscc: String = "914403001922038216", tier: String = "standard", mlps: Int = 3,
                 officerEmail: String = "security@example.com") -> String {
    """
    {"legal_name":"华为技术有限公司","uscc":"\(uscc)","mlps_level":\(mlps),"tier":"\(tier)",
     "security_officer":{"name":"Li Wei","email":"\(officerEmail)"},"certifications":["ISO27001"],
     "documents":[{"name":"business-licence.pdf","sha256":"\(String(repeating: "ab", count: 32))"}]}
    """
}
