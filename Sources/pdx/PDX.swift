import ArgumentParser
import BuildInfo

@main
struct PDX: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdx",
        abstract: "PDX — Public Data Exchange: authorized operation of public data, on a verifiable audit log.",
        discussion: ExitStatuses.help,
        version: "pdx \(BuildInfo.versionLine)",
        subcommands: [Serve.self, Demo.self, GenerateLog.self, SettlementCommand.self, Audit.self, DatasetCommand.self,
                      DisclosureCommand.self, WitnessCommand.self]
    )
}
