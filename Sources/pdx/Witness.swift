import APIServer
import ArgumentParser
import AuditLog
import Foundation
import Logging
import Marketplace

/// `pdx witness`: a C2SP tlog-witness for one or more PDX logs, run by a regional authority.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a witness that cosigns a log's checkpoints only when they extend what it cosigned before.",
        discussion: """
            The state directory is created on first start, owner-only, with the witness's Ed25519 key \
            (signing-key.pem, mode 0600) and the checkpoint last cosigned per log (witness-state.json, \
            replaced atomically and synced before each answer). Give its verifier key (--print-vkey) to \
            the platform (pdx serve --witness URL,VKEY) and to auditors (pdx-verify --witness VKEY).
            """
    )

    @Option(help: "The witness's state directory.")
    var state: String

    @Option(help: "The witness's name, e.g. witness.bj.example/pdx: the key name on its cosignatures.")
    var name: String

    @Option(name: .customLong("log"), help: "The verifier key of a log to witness (pdx audit vkey prints it). Repeatable.")
    var logs: [String] = []

    @Option(help: "Address to listen on. Default: 127.0.0.1")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on. Default: 8090")
    var port = 8090

    @Flag(name: .customLong("print-vkey"), help: "Print the witness's verifier key (creating its key if new) and exit.")
    var printVKey = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard printVKey || !logs.isEmpty else { throw ValidationError("name at least one --log to witness") }
    }

    func run() async throws {
        let witness = try openWitness(directory: state, name: name, logKeys: logs)
        if printVKey {
            print(witness.signer.verifierKey)
            return
        }
        LoggingSystem.bootstrap(LogFormat.json.handlerFactory(level: .info))
        let logger = Logger(label: "pdx.witness")
        logger.notice("witnessing", metadata: [
            "address": "http://\(host):\(port)", "vkey": "\(witness.signer.verifierKey)",
            "logs": "\(witness.logs.keys.sorted())",
        ])
        try await runWitnessServer(witness: witness, host: host, port: port, logger: logger)
    }
}
