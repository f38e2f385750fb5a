import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Foundation
import HTTPTypes
import HummingbirdTesting
import Metering
import PDXTesting
import Settlement
import Testing

@Suite("HTTP: finance reads back adjustments and revenue caps")
struct SettlementReadBackTests {
    @Test("the adjustments of a period, oldest first, as their bookings answered", arguments: Backend.available)
    func adjustments(backend: Backend) async throws {
        let market = try TestMarketplace(backend, testClock: true)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let s = try await SettlementMarket.setUp(market, client)
            let calendar = MarketCalendar()
            let period = calendar.period(of: s.start)
            let next = calendar.period(of: calendar.end(of: period))
            #expect(try await s.use("acme", grant: s.acmeGrant, [("a-1", 3, s.start)], client) == ["accepted"])
            #expect(try await s.use("big", grant: s.bigGrant, [("b-1", 20, s.start)], client) == ["accepted"])
            try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600), client)
            #expect(try await s.close(period, client).status == .ok)

            let path = "/v1/settlements/\(next)/adjustments"
            let none = try await client.request(.get, path, key: s.m.actors["fin"])
            #expect(none.status == .ok, "\(none.text)")
            #expect(try none.json()["items"] as? [Any] != nil && (try none.json()["items"] as? [Any])?.isEmpty == true)

            let report = lines(try await s.report(period, client).json())
            var booked: [[String: Any]] = []
            for (n, line) in report.enumerated() {
                let body = #"{"corrects":"\#(line["line_id"] as? String ?? "")","amount_minor":\#(-1 - n),"reason":"Correction \#(n)"}"#
                let response = try await client.request(.post, path, key: s.m.actors["fin"], body: body)
                #expect(response.status == .created, "\(response.text)")
                booked.append(try response.json())
                try await s.advance(to: calendar.end(of: period).addingTimeInterval(25 * 3600 + Double(n + 1) * 60), client)
            }
            #expect(booked.count == 2)
            for role in ["fin", "aud"] {
                let listed = try await client.request(.get, path, key: s.m.actors[role])
                #expect(listed.status == .ok, "\(listed.text)")
                let json = try listed.json()
                #expect(json["period"] as? String == next.description)
                let items = try #require(json["items"] as? [[String: Any]])
                #expect(items.count == booked.count)
                for (item, answer) in zip(items, booked) {
                    #expect(NSDictionary(dictionary: item).isEqual(to: answer), "\(item) vs \(answer)")
                }
            }
            let admin = try await client.request(.get, path, key: s.m.actors.admin)
            #expect(admin.status == .ok)
            for role in ["acme", "bj-a"] {
                #expect(try await client.request(.get, path, key: s.m.actors[role]).status == .forbidden)
            }
            // The period the corrected lines are in has none booked into it.
            #expect((try await client.request(.get, "/v1/settlements/\(period)/adjustments", key: s.m.actors["fin"]).json()["items"] as? [Any])?.count == 0)
            for bad in ["2026-13", "26-01", "2026-1", "abcd-ef"] {
                let response = try await client.request(.get, "/v1/settlements/\(bad)/adjustments", key: s.m.actors["fin"])
                #expect(response.status == .unprocessableContent, "\(bad): \(response.text)")
                #expect(try response.problem()["code"] as? String == "invalid_period")
            }
        }
    }

    @Test("an operator's cap for a year, every cap of a year, and no cap", arguments: Backend.available)
    func revenueCaps(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            var m = try await LicensingMarket.setUp(market, client)
            try await m.actors.principal("fin", role: .finance, client)
            try await m.actors.principal("aud", role: .auditor, client)
            let acme = try #require(m.operators["acme"])
            let big = try #require(m.operators["big"])
            func set(_ id: String, year: Int, _ amount: Int) async throws {
                let response = try await client.request(.put, "/v1/operators/\(id)/revenue-cap", key: m.actors["fin"],
                                                        body: #"{"year":\#(year),"amount_minor":\#(amount),"reason":"Set by the pricing authority"}"#)
                #expect(response.status == .ok, "\(response.text)")
            }
            try await set(big, year: 2027, 500)
            try await set(acme, year: 2027, 100)
            try await set(acme, year: 2027, 300)
            try await set(acme, year: 2028, 7)

            for role in ["fin", "aud"] {
                let cap = try await client.request(.get, "/v1/operators/\(acme)/revenue-cap?year=2027", key: m.actors[role])
                #expect(cap.status == .ok, "\(cap.text)")
                let json = try cap.json()
                #expect(json["operator_id"] as? String == acme)
                #expect(json["year"] as? Int == 2027)
                #expect(json["amount_minor"] as? Int == 300, "the cap last set is in force")
                #expect(json["currency"] as? String == "CNY")
            }
            #expect(try await client.request(.get, "/v1/operators/\(acme)/revenue-cap?year=2028", key: m.actors.admin).json()["amount_minor"] as? Int == 7)
            let unset = try await client.request(.get, "/v1/operators/\(big)/revenue-cap?year=2028", key: m.actors["fin"])
            #expect(unset.status == .notFound)
            #expect(try unset.problem()["code"] as? String == "not_found")
            #expect(try await client.request(.get, "/v1/operators/op_nobody/revenue-cap?year=2027", key: m.actors["fin"]).status == .notFound)

            // An operator reads its own cap; another's is as if there were none.
            #expect(try await client.request(.get, "/v1/operators/\(acme)/revenue-cap?year=2027", key: m.actors["acme"]).json()["amount_minor"] as? Int == 300)
            let other = try await client.request(.get, "/v1/operators/\(big)/revenue-cap?year=2027", key: m.actors["acme"])
            #expect(other.status == .notFound)
            #expect(try await client.request(.get, "/v1/operators/\(acme)/revenue-cap?year=2027", key: m.actors["bj-a"]).status == .forbidden)

            let list = try await client.request(.get, "/v1/revenue-caps?year=2027", key: m.actors["aud"])
            #expect(list.status == .ok, "\(list.text)")
            let json = try list.json()
            #expect(json["year"] as? Int == 2027)
            let items = try #require(json["items"] as? [[String: Any]])
            let expected = [(acme, 300), (big, 500)].sorted { $0.0 < $1.0 }
            #expect(items.compactMap { $0["operator_id"] as? String } == expected.map(\.0))
            #expect(items.compactMap { $0["amount_minor"] as? Int } == expected.map(\.1))
            #expect((try await client.request(.get, "/v1/revenue-caps?year=2030", key: m.actors["fin"]).json()["items"] as? [Any])?.isEmpty == true)
            #expect(try await client.request(.get, "/v1/revenue-caps?year=2027", key: m.actors["acme"]).status == .forbidden)

            for bad in ["1999", "10000", "0", "-5"] {
                for path in ["/v1/revenue-caps?year=\(bad)", "/v1/operators/\(acme)/revenue-cap?year=\(bad)"] {
                    let response = try await client.request(.get, path, key: m.actors["fin"])
                    #expect(response.status == .unprocessableContent, "\(path): \(response.text)")
                    #expect(try response.problem()["code"] as? String == "invalid_revenue_cap")
                }
            }
            for path in ["/v1/revenue-caps", "/v1/revenue-caps?year=twenty", "/v1/operators/\(acme)/revenue-cap"] {
                let response = try await client.request(.get, path, key: m.actors["fin"])
                #expect(response.status == .badRequest, "\(path): \(response.text)")
                #expect(try response.problem()["code"] as? String == "invalid_request")
            }
        }
    }
}
