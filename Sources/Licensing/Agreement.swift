/// A data-use agreement template of `Contracts/agreements/`, identified by id and version and
/// bound by the SHA-256 digest of its file.
public struct AgreementTemplate: Sendable, Hashable {
    /// The template id, e.g. `standard-data-use`.
    public let id: String
    /// Its version, e.g. `1`; a released version's file never changes.
    public let version: String
    /// The title, Chinese first.
    public let title: String
    /// The file under `Contracts/agreements/`.
    public let file: String
    /// SHA-256 of the file's bytes, lower-case hexadecimal.
    public let sha256: String
    /// The scenarios it may govern, as its header's scope row and `Contracts/agreements/README.md`
    /// state them: a grant request for another scenario may not bind it.
    public let scenarios: [Scenario]

    /// Creates a template.
    public init(id: String, version: String, title: String, file: String, sha256: String, scenarios: [Scenario]) {
        self.id = id
        self.version = version
        self.title = title
        self.file = file
        self.sha256 = sha256
        self.scenarios = scenarios
    }

    /// True when a grant of `scenario` may bind this template.
    public func governs(_ scenario: Scenario) -> Bool { scenarios.contains(scenario) }
}

/// The agreement templates a grant may bind.
public struct AgreementCatalog: Sendable {
    /// The templates, by id then version.
    public let templates: [AgreementTemplate]

    /// Creates a catalog of `templates`.
    public init(templates: [AgreementTemplate]) {
        self.templates = templates.sorted { ($0.id, $0.version) < ($1.id, $1.version) }
    }

    /// The template with `id` and `version`, or nil.
    public func template(id: String, version: String) -> AgreementTemplate? {
        templates.first { $0.id == id && $0.version == version }
    }

    /// The templates released with this build; a test checks each digest against its file in
    /// `Contracts/agreements/`.
    public static let builtIn = AgreementCatalog(templates: [
        AgreementTemplate(
            id: "standard-data-use", version: "1",
            title: "公共数据授权运营数据使用协议（标准版） / Public Data Authorized Operation — Data-Use Agreement (Standard)",
            file: "standard-data-use-v1.md",
            sha256: "22794182c0941ff7376d97d05bd94eb764f54924da293cde34e1cc8c789a22a6",
            scenarios: [.industry]),
        AgreementTemplate(
            id: "public-interest-data-use", version: "1",
            title: "公共数据授权运营数据使用协议（公益版） / Public Data Authorized Operation — Data-Use Agreement (Public Interest)",
            file: "public-interest-data-use-v1.md",
            sha256: "4a1a67db628cb5d570f01181c3f0dbf3409ececc8ad1ea2321fa1c4c9f97e476",
            scenarios: [.publicInterest]),
    ])
}
