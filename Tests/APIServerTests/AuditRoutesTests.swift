import Identity
@testable import APIServer
@testable import Marketplace
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Persistence
import Testing

@Suite("HTTP: the audit log routes")
struct AuditRoutesTests {
    /// Appends `count` records through the log, as a module would.
    static func append(_ count: Int, to runtime: Runtime) async throws {
        try await runtime.database.transaction { tx in
            let records = (0..<count).map {
                AuditRecord(actor: "system", action: "test.appended", subjects: ["test:\($0)"], data: ["n": .number(Double($0))])
            }
            _ = try await runtime.log.append(records, in: tx)
        }
    }

    static func digest(_ value: Any?) -> SHA256Digest? {
        (value as? String).flatMap { Base64.decode($0) }.flatMap { SHA256Digest(bytes: $0) }
    }

    @Test(arguments: Backend.available)
    func checkpointIsASignedNoteOfTheLogKey(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            try await Self.append(5, to: runtime)
            _ = try await runtime.log.signCheckpoint()
            let response = try await client.request(.get, "/v1/audit/checkpoint", key: try market.adminToken)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let note = try SignedNote.parse(response.text)
            let signers = try note.verify(with: runtime.log.verifiers)
            #expect(signers.map(\.name) == [runtime.log.origin])
            let checkpoint = try Checkpoint.parse(note.text)
            #expect(checkpoint.origin == runtime.log.origin)
            #expect(checkpoint.size == 7)
            #expect(checkpoint.rootHash == (try await runtime.log.rootHash(treeSize: 7)))
        }
    }

    @Test(arguments: Backend.available)
    func entriesAreExactCanonicalTextHashingToTheirLeaves(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            try await Self.append(10, to: runtime)
            let key = try market.adminToken
            var seen: [Int] = []
            var start = 0
            while true {
                let page = try await client.request(.get, "/v1/audit/entries?start=\(start)&limit=4", key: key)
                #expect(page.status == .ok)
                let body = try page.json()
                #expect(body["tree_size"] as? Int == 12)
                for entry in try #require(body["entries"] as? [[String: Any]]) {
                    let text = try #require(entry["entry"] as? String)
                    let value = try CanonicalJSON.validate(Array(text.utf8))
                    #expect(value["seq"]?.integerValue == entry["seq"] as? Int)
                    let leaf = MerkleHash.leaf(Array(text.utf8))
                    #expect(entry["leaf_hash"] as? String == Base64.encode(leaf.bytes))
                    seen.append(try #require(entry["seq"] as? Int))
                }
                guard let next = body["next"] as? Int else { break }
                start = next
            }
            #expect(seen == Array(0..<12))
        }
    }

    @Test(arguments: Backend.available)
    func inclusionAndConsistencyProofsVerifyAgainstCheckpoints(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { runtime, client in
            let key = try market.adminToken
            try await Self.append(3, to: runtime)
            let old = try Checkpoint.parse(try await runtime.log.signCheckpoint().text)
            try await Self.append(17, to: runtime)
            let new = try Checkpoint.parse(try await runtime.log.signCheckpoint().text)
            #expect(old.size == 5 && new.size == 22)

            for index in [0, 4, 13, 21] {
                let response = try await client.request(.get, "/v1/audit/proofs/inclusion?index=\(index)", key: key)
                #expect(response.status == .ok)
                let body = try response.json()
                #expect(body["tree_size"] as? Int == 22)
                let leaf = try #require(Self.digest(body["leaf_hash"]))
                let path = try #require((body["hashes"] as? [String])?.compactMap { Self.digest($0) })
                #expect(MerkleProof.verifyInclusion(leafHash: leaf, leafIndex: UInt64(index), treeSize: new.size, proof: path, root: new.rootHash))
                #expect(!MerkleProof.verifyInclusion(leafHash: leaf, leafIndex: UInt64(index), treeSize: new.size, proof: path, root: old.rootHash))
            }

            let response = try await client.request(.get, "/v1/audit/proofs/consistency?old_size=5&new_size=22", key: key)
            #expect(response.status == .ok)
            let path = try #require((try response.json()["hashes"] as? [String])?.compactMap { Self.digest($0) })
            #expect(MerkleProof.verifyConsistency(oldSize: 5, newSize: 22, oldRoot: old.rootHash, newRoot: new.rootHash, proof: path))
        }
    }

    @Test(arguments: Backend.available)
    func badProofAndPageParametersAreProblems(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        try await market.withServer { _, client in
            let key = try market.adminToken
            let cases: [(String, Int, String)] = [
                ("/v1/audit/proofs/inclusion?index=99", 422, "index_out_of_range"),
                ("/v1/audit/proofs/inclusion?index=1&tree_size=99", 422, "size_out_of_range"),
                ("/v1/audit/proofs/inclusion", 400, "invalid_request"),
                ("/v1/audit/proofs/inclusion?index=abc", 400, "invalid_request"),
                ("/v1/audit/proofs/inclusion?index=-1", 400, "invalid_request"),
                ("/v1/audit/proofs/consistency?old_size=0", 400, "invalid_request"),
                ("/v1/audit/proofs/consistency?old_size=2&new_size=1", 422, "size_out_of_range"),
                ("/v1/audit/entries?limit=0", 400, "invalid_request"),
                ("/v1/audit/entries?limit=5000", 400, "invalid_request"),
                ("/v1/audit/entries?start=-3", 400, "invalid_request"),
            ]
            for (uri, status, code) in cases {
                let response = try await client.request(.get, uri, key: key)
                #expect(Int(response.status.code) == status, "\(uri): \(response.text)")
                #expect(try response.problem()["code"] as? String == code, "\(uri)")
            }
        }
    }
}
