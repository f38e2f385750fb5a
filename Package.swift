// swift-tools-version:6.1
import PackageDescription

/// Shared by every target: Swift 6 mode, imports that say what they expose.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "pdx",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pdx", targets: ["pdx"]),
        .executable(name: "pdx-verify", targets: ["pdx-verify"]),
        .library(name: "Cryptography", targets: ["Cryptography"]),
        .library(name: "AuditLog", targets: ["AuditLog"]),
        .library(name: "Persistence", targets: ["Persistence"]),
        .library(name: "Vetting", targets: ["Vetting"]),
        .library(name: "Licensing", targets: ["Licensing"]),
        .library(name: "Metering", targets: ["Metering"]),
        .library(name: "Settlement", targets: ["Settlement"]),
        .library(name: "Replay", targets: ["Replay"]),
        .library(name: "SampleLog", targets: ["SampleLog"]),
        .library(name: "Delivery", targets: ["Delivery"]),
        // For the benchmark suite, which drives the server's own code paths.
        .library(name: "Identity", targets: ["Identity"]),
        .library(name: "Marketplace", targets: ["Marketplace"]),
        .library(name: "Console", targets: ["Console"]),
        .library(name: "APIServer", targets: ["APIServer"]),
        // For operators: the API's client, generated from `Contracts/openapi.yaml`.
        .library(name: "PDXClient", targets: ["PDXClient"]),
    ],
    traits: [
        // Off by default, so the default build stays lean (swift-otel and its exporter's dependencies
        // take minutes to build): `swift build --traits OTLP`.
        .trait(name: "OTLP", description: "pdx serve exports its spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set"),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Forwarding the calls of upstream datasets; already in the graph through HummingbirdTesting.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Spans around requests, transactions and commits; already in the graph through Hummingbird.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0",
                 traits: [.trait(name: "OTLPHTTP", condition: .when(traits: ["OTLP"]))]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "Cryptography", dependencies: ["COpenSSL"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(name: "AuditLog", dependencies: ["Cryptography"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(name: "Identity", dependencies: ["AuditLog", "Cryptography"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Vetting",
            dependencies: ["AuditLog"],
            exclude: ["README.md", "README-actions.md"],  // the action catalog, copied into Contracts/audit-log.md
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Licensing",
            dependencies: ["AuditLog", "Vetting"],
            exclude: ["README.md", "README-actions.md"],  // the action catalog, copied into Contracts/audit-log.md
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Metering",
            dependencies: ["AuditLog", "Cryptography", "Licensing"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // Dataset releases: the streaming reader and the stored row form.
        .target(
            name: "Delivery",
            dependencies: ["AuditLog", "Cryptography", "Licensing"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Settlement",
            dependencies: ["AuditLog", "Cryptography", "Licensing", "Metering"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Replay",
            dependencies: ["AuditLog", "Cryptography", "Vetting", "Licensing", "Metering", "Settlement"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // A year of a busy marketplace written straight to an export, for the replay's benchmark.
        .target(
            name: "SampleLog",
            dependencies: ["AuditLog", "Cryptography", "Licensing", "Metering", "Vetting"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "AuditLog", "Cryptography", "CSQLite", "Identity", "Licensing", "Metering", "Settlement", "Vetting",
                "Delivery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // The application layer: opening a marketplace, its services' transactions, the operations
        // commands. No HTTP.
        .target(
            name: "Marketplace",
            dependencies: [
                "AuditLog", "Cryptography", "Identity", "Licensing", "Metering", "Persistence", "Settlement", "Vetting",
                "Delivery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // The web console: server-rendered pages for reviewers, finance, auditors and operators.
        .target(
            name: "Console",
            dependencies: [
                "AuditLog", "Cryptography", "Identity", "Licensing", "Marketplace", "Metering", "Persistence", "Settlement", "Vetting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "APIServer",
            dependencies: [
                "AuditLog", "Cryptography", "Identity", "Licensing", "Marketplace", "Metering", "Persistence", "Settlement", "Vetting",
                "Delivery", "Console",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel", condition: .when(traits: ["OTLP"])),
                "BuildInfo",
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The operators' client: generated from the contract, with authentication, retries under
        // one Idempotency-Key and paging by hand. Imports nothing of the server.
        .target(
            name: "PDXClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The demo marketplace: its scenario, sent through the server's router in process.
        .target(
            name: "Demo",
            dependencies: [
                "APIServer", "AuditLog", "Cryptography", "Identity", "Licensing", "Marketplace", "Metering", "Persistence",
                "Settlement", "Vetting",
                // The scenario speaks through the operators' client, over the router in process.
                "PDXClient",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // A request context needs a channel.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // What both command-line tools write for a person at a terminal: progress, grouped digits.
        .target(name: "TerminalOutput", exclude: ["README.md"], swiftSettings: swiftSettings),
        // The version and the commit the build was stamped with (scripts/stamp-commit).
        .target(name: "CBuildInfo"),
        .target(name: "BuildInfo", dependencies: ["CBuildInfo"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "pdx",
            dependencies: [
                "APIServer", "AuditLog", "BuildInfo", "Cryptography", "Demo", "Licensing", "Marketplace", "Metering", "Settlement",
                "Delivery", "Persistence", "Replay", "SampleLog", "TerminalOutput", "Vetting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "pdx-verify",
            dependencies: [
                "AuditLog", "BuildInfo", "Cryptography", "Licensing", "Metering", "Replay", "Settlement", "TerminalOutput",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the test targets: the storage back ends, sample values, TCP proxies, and the
        // built executables run as child processes.
        .target(
            name: "PDXTesting",
            dependencies: ["AuditLog", "Cryptography", "Vetting"],
            path: "Tests/PDXTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APIServerTests",
            dependencies: [
                "APIServer", "Demo", "Identity", "Marketplace", "AuditLog", "Cryptography", "Licensing", "Metering", "PDXTesting", "Persistence",
                "Replay", "Settlement", "Vetting", "Delivery", "Console", "PDXClient", "BuildInfo",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PDXCommandTests",
            dependencies: [
                "pdx", "pdx-verify", "APIServer", "AuditLog", "Cryptography", "Marketplace", "PDXTesting", "Settlement",
                "Delivery", "Identity", "Licensing", "Persistence", "Vetting", "PDXClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersistenceTests",
            dependencies: ["Persistence", "AuditLog", "Cryptography", "Identity", "Licensing", "Metering", "PDXTesting", "Vetting", "Delivery", "Settlement",
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MarketplaceTests",
            dependencies: [
                "Marketplace", "AuditLog", "Cryptography", "Identity", "Licensing", "PDXTesting", "Persistence", "Vetting",
                "Delivery",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReplayTests",
            dependencies: [
                "Replay", "Demo", "Marketplace", "AuditLog", "Licensing", "Metering", "Settlement",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditLogTests",
            dependencies: ["AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VettingTests",
            dependencies: ["Vetting", "AuditLog", "Cryptography", "PDXTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LicensingTests",
            dependencies: ["Licensing", "Vetting", "AuditLog", "Cryptography", "PDXTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeteringTests",
            dependencies: ["Metering", "Licensing", "AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SettlementTests",
            dependencies: ["Settlement", "Licensing", "Metering", "AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PDXVerifyTests",
            dependencies: [
                "pdx-verify", "AuditLog", "Cryptography", "Licensing", "Metering", "PDXTesting", "Replay", "SampleLog", "Settlement",
                "Vetting",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["Delivery", "Licensing", "AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
    ]
)
