import Identity
@testable import APIServer
@testable import Marketplace
import Foundation
import HTTPTypes
import HummingbirdTesting
import PDXTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a start does with what an earlier start, a crash or an operator left behind.
@Suite("Start: the bootstrap key, the data directory, the test clock")
struct StartupHardeningTests {
    @Test("a crash between the admin's commit and the key file's rename loses no key", arguments: Backend.available)
    func bootstrapKeySurvivesACrash(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let first = try await market.open()
        await first.close()
        let directory = DataDirectory(path: market.location.dataDirectory)
        let key = try #require(try directory.adminToken())
        // As the crash left it: the principal committed, the key still under its pending name.
        #expect(rename(directory.adminTokenPath, directory.pendingAdminTokenPath) == 0)

        let second = try await market.open()
        await second.close()
        #expect(try directory.adminToken() == key)
        #expect(!FileManager.default.fileExists(atPath: directory.pendingAdminTokenPath))
        let status = try await market.withServer { _, client in
            try await client.request(.get, "/v1/authorities", key: key).status
        }
        #expect(status == .ok)
    }

    @Test("a pending key whose principal never committed is replaced, not trusted", arguments: Backend.available)
    func stalePendingKeyIsReplaced(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let directory = DataDirectory(path: market.location.dataDirectory)
        try directory.create()
        let stale = APIKey(keyID: "0000000000000000", secret: String(repeating: "A", count: 43)).presented
        try directory.writePendingAdminToken(stale)
        let runtime = try await market.open()
        await runtime.close()
        let key = try #require(try directory.adminToken())
        #expect(key != stale)
        #expect(try Self.mode(directory.adminTokenPath) == 0o600)
    }

    @Test("a data directory open to group or others is made owner-only at start")
    func dataDirectoryIsTightened() async throws {
        let market = try TestMarketplace(.sqlite)
        defer { market.removeFiles() }
        let path = market.location.dataDirectory
        #expect(mkdir(path, 0o755) == 0)
        #expect(chmod(path, 0o755) == 0)
        let runtime = try await market.open()
        await runtime.close()
        #expect(try Self.mode(path) == 0o700)
    }

    /// The permission bits of `path`.
    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777
    }

    @Test("--test-clock is refused on a marketplace that has run on real time", arguments: Backend.available)
    func testClockOnlyOnAFreshDatabase(backend: Backend) async throws {
        let market = try TestMarketplace(backend)
        defer { market.removeFiles() }
        let real = try await market.open()
        await real.close()
        var moved = market
        moved.configuration.testClock = true
        await #expect {
            _ = try await moved.open()
        } throws: { error in
            "\(error)".contains("created without --test-clock")
        }
        // A marketplace that started on a test clock keeps it.
        let test = try TestMarketplace(backend, testClock: true)
        defer { test.removeFiles() }
        await (try await test.open()).close()
        let again = try await test.open()
        #expect(again.clock.isTestClock)
        await again.close()
    }
}
