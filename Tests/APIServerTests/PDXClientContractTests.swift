@testable import APIServer
import Foundation
import PDXClient
import Testing

@Suite("PDXClient: the contract it is generated from")
struct PDXClientContractTests {
    @Test("the client's idempotent operations are exactly the contract's operations that take an Idempotency-Key")
    func keyedOperationsMatchTheContract() throws {
        let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Contracts/openapi.yaml")
        let text = try String(contentsOf: contract, encoding: .utf8)
        // Each operation's block runs from its `operationId:` to the next one's.
        let blocks = text.components(separatedBy: "operationId: ").dropFirst()
        var keyed: Set<String> = []
        for block in blocks {
            let id = String(block.prefix { !$0.isWhitespace })
            let body = block.components(separatedBy: "\n    get:")[0].components(separatedBy: "\n    post:")[0]
                .components(separatedBy: "\n    put:")[0].components(separatedBy: "\n    patch:")[0]
                .components(separatedBy: "\n    delete:")[0].components(separatedBy: "\n  /")[0]
            if body.contains("#/components/parameters/IdempotencyKey") { keyed.insert(id) }
        }
        #expect(!keyed.isEmpty)
        #expect(PDXClient.idempotentOperations == keyed, "the client retries under a key exactly where the contract takes one")
        #expect(IdempotencyMiddleware.operations == keyed, "the server takes a key on the same operations")
    }
}
