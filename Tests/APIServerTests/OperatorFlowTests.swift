import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

@Suite("HTTP: operator vetting")
struct OperatorFlowTests {
    /// Two authorities, two reviewers of Beijing, one of Tianjin, two operator principals.
    static func setUp(_ market: TestMarketplace, _ client: any TestClientProtocol) async throws -> Actors {
        var actors = Actors(admin: try market.adminToken)
        try await Actors.authority("bj", client, admin: actors.admin)
        try await Actors.authority("tj", client, admin: actors.admin)
        try await actors.principal("reviewer-a", role: .authorityReviewer, authority: "bj", email: "a@bj.gov.cn", client)
        try await actors.principal("reviewer-b", role: .authorityReviewer, authority: "tj", email: "b@tj.gov.cn", client)
        try await actors.principal("reviewer-officer", role: .authorityReviewer, authority: "bj", email: "security@example.com", client)
        try await actors.principal("acme", role: .operator, client)
        try await actors.principal("other", role: .operator, client)
        return actors
    }

    @Test(arguments: Backend.available)
    func enhancedNeedsTwoDistinctReviewersAndEveryStepIsLogged(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            let applied = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application(tier: "enhanced"))
            #expect(applied.status == .created, "\(applied.text)")
            let id = try #require(try applied.json()["id"] as? String)
            #expect(try applied.json()["status"] as? String == "submitted")

            let first = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors["reviewer-a"],
                                                 body: #"{"decision":"approve","reason":"documents complete"}"#)
            #expect(first.status == .ok, "\(first.text)")
            #expect(try first.json()["status"] as? String == "submitted", "one approval is not enough for enhanced")

            let twice = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors["reviewer-a"],
                                                 body: #"{"decision":"approve"}"#)
            #expect(twice.status == .conflict)
            #expect(try twice.problem()["code"] as? String == "duplicate_reviewer")

            let second = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors["reviewer-b"],
                                                  body: #"{"decision":"approve"}"#)
            #expect(second.status == .ok, "\(second.text)")
            let approved = try second.json()
            #expect(approved["status"] as? String == "approved")
            #expect(approved["active"] as? Bool == true)
            #expect(approved["approved_until"] != nil)
            #expect((approved["reviews"] as? [Any])?.count == 2)

            let actions = try await runtime.log.entries(start: 0, limit: 200)
                .map { try AuditEntry(decoding: $0.body).record.action }
            #expect(actions.filter { $0.hasPrefix("operator.") } ==
                    ["operator.applied", "operator.reviewed", "operator.reviewed", "operator.approved"])
        }
    }

    @Test(arguments: Backend.available)
    func refusalsAreExplainedAndWriteNothing(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let actors = try await Self.setUp(market, client)
            let size = try await runtime.log.head().size
            let badApplications: [(String, Int, String)] = [
                (application(uscc: "914403001922038217"), 422, "uscc_check_character"),
                (application(uscc: "91440300192203821"), 422, "uscc_length"),
                (application(uscc: "914403001922038216X"), 422, "uscc_length"),
                (application(uscc: "91440300708461136t"), 422, "uscc_lowercase"),
                (application(uscc: "9144030070846113IT"), 422, "uscc_forbidden_character"),
                (application(mlps: 7), 422, "mlps_level_out_of_range"),
                (application(officerEmail: "nobody"), 422, "security_officer_email_invalid"),
                (application().replacingOccurrences(of: "\"tier\"", with: "\"tier\":\"standard\",\"colour\""), 400, "invalid_request"),
                ("{\"legal_name\":", 400, "invalid_request"),
                ("[]", 400, "invalid_request"),
            ]
            for (body, status, code) in badApplications {
                let response = try await client.request(.post, "/v1/operators", key: actors["acme"], body: body)
                #expect(Int(response.status.code) == status, "\(body): \(response.text)")
                #expect(try response.problem()["code"] as? String == code, "\(body)")
            }
            // The enhanced tier needs MLPS level 3: the approval is refused with the criterion.
            let applied = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application(tier: "enhanced", mlps: 2))
            let id = try #require(try applied.json()["id"] as? String)
            let sizeAfterApply = try await runtime.log.head().size
            #expect(sizeAfterApply > size)
            let criteria = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors["reviewer-a"], body: #"{"decision":"approve"}"#)
            #expect(criteria.status == .unprocessableContent)
            #expect(try criteria.problem()["code"] as? String == "criteria_not_met")
            let rejectWithoutReason = try await client.request(.post, "/v1/operators/\(id)/reviews", key: actors["reviewer-a"], body: #"{"decision":"reject"}"#)
            #expect(try rejectWithoutReason.problem()["code"] as? String == "reason_required")
            let unknown = try await client.request(.post, "/v1/operators/op_missing/reviews", key: actors["reviewer-a"], body: #"{"decision":"approve"}"#)
            #expect(unknown.status == .notFound)
            let second = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application(uscc: "91330100716105852F"))
            #expect(second.status == .conflict)
            #expect(try second.problem()["code"] as? String == "application_exists")
            let sameCompany = try await client.request(.post, "/v1/operators", key: actors["other"], body: application(tier: "enhanced"))
            #expect(try sameCompany.problem()["code"] as? String == "application_exists")
            #expect(try await runtime.log.head().size == sizeAfterApply, "a refusal wrote to the log")
        }
    }

    @Test(arguments: Backend.available)
    func suspensionBlocksKeysRevocationKillsThemAndTenantsAreSeparate(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let actors = try await Self.setUp(market, client)
            let acme = try #require(try await client.request(.post, "/v1/operators", key: actors["acme"], body: application()).json()["id"] as? String)
            let other = try #require(try await client.request(.post, "/v1/operators", key: actors["other"],
                                                               body: application(uscc: "91440300708461136T")).json()["id"] as? String)
            #expect(try await client.request(.post, "/v1/operators/\(acme)/reviews", key: actors["reviewer-a"],
                                             body: #"{"decision":"approve"}"#).status == .ok)

            // Tenants: an operator reads only itself; another's record is absent.
            #expect(try await client.request(.get, "/v1/operators/\(other)", key: actors["acme"]).status == .notFound)
            #expect(try await client.request(.get, "/v1/operators/\(acme)", key: actors["acme"]).status == .ok)
            let listed = try await client.request(.get, "/v1/operators", key: actors["acme"]).json()
            #expect((listed["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [acme])
            let all = try await client.request(.get, "/v1/operators", key: actors["reviewer-a"]).json()
            #expect((all["items"] as? [Any])?.count == 2)

            let noReason = try await client.request(.post, "/v1/operators/\(acme)/suspend", key: actors["reviewer-a"], body: #"{"reason":""}"#)
            #expect(try noReason.problem()["code"] as? String == "reason_required")
            let suspended = try await client.request(.post, "/v1/operators/\(acme)/suspend", key: actors["reviewer-a"],
                                                     body: #"{"reason":"security incident under investigation"}"#)
            #expect(try suspended.json()["status"] as? String == "suspended")
            // The key still reads its own record, but may do nothing else.
            #expect(try await client.request(.get, "/v1/operators/\(acme)", key: actors["acme"]).status == .ok)
            let blocked = try await client.request(.post, "/v1/operators", key: actors["acme"], body: application())
            #expect(try blocked.problem()["code"] as? String == "operator_suspended")

            let reinstated = try await client.request(.post, "/v1/operators/\(acme)/reinstate", key: actors.admin, body: "{}")
            #expect(try reinstated.json()["status"] as? String == "approved")

            let revoked = try await client.request(.post, "/v1/operators/\(acme)/revoke", key: actors.admin,
                                                   body: #"{"reason":"licence withdrawn"}"#)
            #expect(try revoked.json()["status"] as? String == "revoked")
            #expect(try await client.request(.get, "/v1/operators/\(acme)", key: actors["acme"]).status == .unauthorized)
            let final = try await client.request(.post, "/v1/operators/\(acme)/reinstate", key: actors.admin, body: "{}")
            #expect(try final.problem()["code"] as? String == "invalid_transition")
        }
    }
}
