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
        .executable(name: "pdx-verify", targets: ["pdx-verify"]),
        .library(name: "AuditLog", targets: ["AuditLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "Cryptography", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        .target(name: "AuditLog", dependencies: ["Cryptography"], swiftSettings: swiftSettings),
        .target(
            name: "Vetting",
            dependencies: ["AuditLog"],
            exclude: ["README-actions.md"],  // the action catalog, copied into Contracts/audit-log.md
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "pdx-verify",
            dependencies: [
                "AuditLog", "Cryptography",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditLogTests",
            dependencies: ["AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VettingTests", dependencies: ["Vetting", "AuditLog"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PDXVerifyTests",
            dependencies: ["pdx-verify", "AuditLog", "Cryptography"],
            swiftSettings: swiftSettings
        ),
    ]
)
