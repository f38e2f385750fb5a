@testable import APIServer
@testable import Marketplace
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

/// The contract's examples, checked by `Tests/Contract/check_examples.py` (Python: PyYAML, jsonschema, which
/// `.ci/run` installs). Without them the test is skipped here, unless `PDX_CONTRACT_TESTS=required`.
@Suite("Contract: examples")
struct ContractCheckTests {
    static var required: Bool { ProcessInfo.processInfo.environment["PDX_CONTRACT_TESTS"] == "required" }

    static var available: Bool {
        get async throws { try await Executables.launchTool("/usr/bin/env", ["st", "--version"]).status == 0 }
    }

    @Test("every request body and response content has an example, and each validates against its schema")
    func examples() async throws {
        let probe = try await Executables.launchTool("/usr/bin/env", ["python3", "-c", "import yaml, jsonschema"])
        guard probe.status == 0 else {
            #expect(!Self.required, "PDX_CONTRACT_TESTS=required, but Python's yaml or jsonschema is missing")
            return
        }
        let run = try await Executables.launchTool("/usr/bin/env", [
            "python3", ProblemCatalogTests.root.appendingPathComponent("Tests/Contract/check_examples.py").path,
            ProblemCatalogTests.root.appendingPathComponent("Contracts/openapi.yaml").path,
        ])
        #expect(run.status == 0, "\(run.output)\n\(run.error)")
        #expect(run.output.contains(" examples checked, 0 faults"))
    }
}
