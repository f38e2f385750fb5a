@testable import AuditLog
import Cryptography
import Foundation
import Testing

/// Errors that predate their codes: each is a ``CodedError`` now, its text unchanged.
@Suite("Coded errors of the log and its cryptography")
struct CodedErrorTests {
    /// The code's raw value, through the protocol alone.
    private func code(of error: some CodedError) -> String { error.code.rawValue }

    @Test("a disclosure that is not one: invalid_disclosure, with the text the verifier quotes")
    func disclosure() {
        do {
            _ = try PersonalDataDisclosure(parsing: Array("{}".utf8))
            Issue.record("an empty object was read as a disclosure")
        } catch {
            #expect(code(of: error) == "invalid_disclosure")
            #expect(error.description == "its format is not pdx-personal-data-disclosure/1")
        }
    }

    @Test("key material that is not an Ed25519 key: invalid_key, with OpenSSL's text as before")
    func openSSL() {
        do {
            _ = try Ed25519PrivateKey(seed: [1, 2, 3])
            Issue.record("a 3-byte seed was accepted")
        } catch {
            #expect(code(of: error) == "invalid_key")
            #expect(error.description == "Ed25519PrivateKey(seed:) failed: seed must be 32 bytes, got 3")
            #expect(error == OpenSSLError(.invalidKey, operation: "another", queue: []))
            #expect(error != OpenSSLError(operation: "Ed25519PrivateKey(seed:)", queue: []))
        }
        #expect(code(of: OpenSSLError(operation: "EVP_DigestSign", queue: [])) == "openssl_failed")
        #expect(OpenSSLError(operation: "EVP_DigestSign", queue: []).description == "EVP_DigestSign failed")
    }

    @Test("a failed file-system call: io_failed, with the system's reason as before")
    func fileSystem() {
        let error = FileSystemError("open", "/no/such/file", errorNumber: ENOENT)
        #expect(code(of: error) == "io_failed")
        #expect(error.description == "open /no/such/file: No such file or directory")
        #expect(ExportError.io(error).description == "io_failed: open /no/such/file: No such file or directory")
    }
}
