// swift-tools-version:6.1
import PackageDescription

// The benchmark suite lives in its own package so that the product's build and tests never compile
// the benchmark harness. Run from this directory: `swift package benchmark` (see Docs/benchmarks.md).

/// As in the root package: Swift 6 mode, imports that say what they expose.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "pdx-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency is otherwise known by its folder name, which differs per checkout.
        .package(name: "pdx", path: ".."),
        // Only the malloc counters: the default traits add an ARC runtime interposer whose package is
        // not among the mirrored ones.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // A plain HTTP/1.1 client for the load generator of the usage benchmark.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The server's metrics registry, for the data API benchmark's in-process server.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "AuditLog", package: "pdx")],
            path: "BenchmarkSupport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "AuditLogBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AuditLog", package: "pdx"),
            ],
            path: "AuditLogBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .systemLibrary(
            name: "CSQLiteBaseline",
            path: "CSQLiteBaseline",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .executableTarget(
            name: "StorageBenchmarks",
            dependencies: [
                "BenchmarkSupport", "CSQLiteBaseline",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AuditLog", package: "pdx"),
                .product(name: "Cryptography", package: "pdx"),
                .product(name: "Licensing", package: "pdx"),
                .product(name: "Metering", package: "pdx"),
                .product(name: "Persistence", package: "pdx"),
                .product(name: "Delivery", package: "pdx"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "StorageBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SettlementBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Marketplace", package: "pdx"),
                .product(name: "AuditLog", package: "pdx"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Licensing", package: "pdx"),
                .product(name: "Metering", package: "pdx"),
                .product(name: "Persistence", package: "pdx"),
                .product(name: "Settlement", package: "pdx"),
                .product(name: "Vetting", package: "pdx"),
            ],
            path: "SettlementBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LicensingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Cryptography", package: "pdx"),
                .product(name: "Licensing", package: "pdx"),
                .product(name: "Vetting", package: "pdx"),
            ],
            path: "LicensingBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "data-api-server",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "APIServer", package: "pdx"),
                .product(name: "Marketplace", package: "pdx"),
                .product(name: "Identity", package: "pdx"),
                .product(name: "Licensing", package: "pdx"),
                .product(name: "Cryptography", package: "pdx"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Not directly under Benchmarks/: the benchmark plugin runs every executable target there.
            path: "Tools/DataAPIServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "request-cost-server",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "APIServer", package: "pdx"),
                .product(name: "Identity", package: "pdx"),
                .product(name: "Marketplace", package: "pdx"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Not directly under Benchmarks/: the benchmark plugin runs every executable target there.
            path: "Tools/RequestCostServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "make-export",
            dependencies: ["BenchmarkSupport", .product(name: "AuditLog", package: "pdx")],
            // Not directly under Benchmarks/: the benchmark plugin runs every executable target there.
            path: "Tools/MakeExport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "make-year-log",
            dependencies: [.product(name: "SampleLog", package: "pdx")],
            // `pdx generate-log`'s writer alone: a release build of it skips the server.
            path: "Tools/MakeYearLog",
            swiftSettings: swiftSettings
        ),
    ]
)
