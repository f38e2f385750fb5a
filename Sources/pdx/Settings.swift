import ArgumentParser
import Configuration
import Foundation
import SystemPackage

/// Where `pdx` reads its settings, first match wins: a flag on the command line, then the
/// environment (`PDX_` and the key in capitals, `-` as `_`), then the JSON file named by
/// `--config` (or `PDX_CONFIG`), then the default. A key is the flag's long name: `port`,
/// `data-dir`, `database-url`, `platform-fee-bps`, … so a config file reads like the flags:
///
/// ```json
/// {"data-dir": "/var/lib/pdx", "database-url": "postgres://pdx@db/pdx", "host": "0.0.0.0", "port": 8443}
/// ```
///
/// `pdx serve` and `pdx settlement …` read the same keys through this one reader, so the
/// settlement settings a server runs with are those the closing command sees.
struct Settings: Sendable {
    private let reader: ConfigReader

    /// Reads `flags` (the values given on the command line, by key), the environment and the
    /// config file, if one is named.
    static func load(file: String?, flags: [String: String?]) async throws -> Settings {
        var given: [AbsoluteConfigKey: ConfigValue] = [:]
        for case let (key, value?) in flags {
            given[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: false)
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: given),
            EnvironmentVariablesProvider().prefixKeys(with: "pdx"),
        ]
        let path = file ?? ProcessInfo.processInfo.environment["PDX_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let path {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ValidationError("--config: cannot read \(path)")
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ValidationError("--config: \(path) is not a JSON object of settings (\(error))")
            }
        }
        return Settings(reader: ConfigReader(providers: providers))
    }

    /// The value of `key` as text, from wherever it is set first; a number or boolean in the
    /// config file reads as its JSON text. Each command parses and checks it, so a bad value gets
    /// the same message from every source.
    func text(_ key: String) -> String? {
        let configKey = ConfigKey(key)
        if let text = reader.string(forKey: configKey) { return text.isEmpty ? nil : text }
        if let number = reader.int(forKey: configKey) { return String(number) }
        if let number = reader.double(forKey: configKey) { return String(number) }
        if let flag = reader.bool(forKey: configKey) { return String(flag) }
        return nil
    }

    /// The value of `key` parsed by `parse`, or `default` when it is not set anywhere; throws
    /// naming the key, its variable and the text when it is set but does not parse.
    func value<T>(_ key: String, default value: T, _ what: String, _ parse: (String) -> T?) throws -> T {
        guard let text = text(key) else { return value }
        guard let parsed = parse(text) else {
            throw ValidationError("--\(key) / \(Self.variable(key)) must be \(what), got '\(text)'")
        }
        return parsed
    }

    /// The environment variable of `key`.
    static func variable(_ key: String) -> String {
        "PDX_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}
