internal import COpenSSL

/// An Ed25519 private key held by OpenSSL.
public final class Ed25519PrivateKey: @unchecked Sendable {
    // EVP_PKEY is immutable once built and OpenSSL allows concurrent use for signing.
    fileprivate let key: OpaquePointer

    private init(owning key: OpaquePointer) { self.key = key }

    deinit { EVP_PKEY_free(key) }

    /// Generates a fresh key from OpenSSL's CSPRNG.
    public convenience init() throws(OpenSSLError) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "ED25519", nil) else {
            throw OpenSSLError.drain("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init")
        var key: OpaquePointer?
        try check(EVP_PKEY_generate(context, &key), "EVP_PKEY_generate")
        self.init(owning: key!)
    }

    /// Builds the key from its 32-byte seed (RFC 8032 private key).
    public convenience init(seed: [UInt8]) throws(OpenSSLError) {
        guard seed.count == 32 else {
            throw OpenSSLError(.invalidKey, operation: "Ed25519PrivateKey(seed:)", queue: ["seed must be 32 bytes, got \(seed.count)"])
        }
        guard let key = EVP_PKEY_new_raw_private_key(pdx_EVP_PKEY_ED25519(), nil, seed, seed.count) else {
            throw OpenSSLError.drain("EVP_PKEY_new_raw_private_key")
        }
        self.init(owning: key)
    }

    /// Reads a PKCS #8 PEM private key (`-----BEGIN PRIVATE KEY-----`) holding an Ed25519 key.
    public convenience init(pem: String) throws(OpenSSLError) {
        let bio = try MemoryBIO(contents: Array(pem.utf8))
        guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, nil, nil) else {
            throw OpenSSLError.drain("PEM_read_bio_PrivateKey", .invalidKey)
        }
        guard EVP_PKEY_get_id(key) == pdx_EVP_PKEY_ED25519() else {
            EVP_PKEY_free(key)
            throw OpenSSLError(.invalidKey, operation: "Ed25519PrivateKey(pem:)", queue: ["the PEM key is not an Ed25519 key"])
        }
        self.init(owning: key)
    }

    /// The key as PKCS #8 PEM, unencrypted: protect the file it goes to (mode 0600).
    public func pem() throws(OpenSSLError) -> String {
        let bio = try MemoryBIO()
        try check(PEM_write_bio_PrivateKey(bio.pointer, key, nil, nil, 0, nil, nil), "PEM_write_bio_PrivateKey")
        return bio.string()
    }

    /// The matching public key.
    public var publicKey: Ed25519PublicKey {
        var raw = [UInt8](repeating: 0, count: 32)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == 32 else {
            fatalError("EVP_PKEY_get_raw_public_key: \(OpenSSLError.drain("EVP_PKEY_get_raw_public_key"))")
        }
        // A 32-byte raw key always imports.
        return try! Ed25519PublicKey(rawRepresentation: raw)
    }

    /// Signs `message` (pure Ed25519, RFC 8032): a 64-byte signature.
    public func signature(for message: some ContiguousBytesCollection) throws(OpenSSLError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.drain("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        try check(EVP_DigestSignInit(context, nil, nil, nil, key), "EVP_DigestSignInit")
        var signature = [UInt8](repeating: 0, count: 64)
        var length = signature.count
        let result = message.withContiguousBytes { buffer in
            EVP_DigestSign(
                context, &signature, &length,
                buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count
            )
        }
        try check(result, "EVP_DigestSign")
        return signature
    }
}

/// An Ed25519 public key.
public final class Ed25519PublicKey: @unchecked Sendable, Equatable {
    fileprivate let key: OpaquePointer
    /// The 32 raw bytes (RFC 8032 encoding).
    public let rawRepresentation: [UInt8]

    /// Imports 32 raw bytes.
    public init(rawRepresentation: [UInt8]) throws(OpenSSLError) {
        guard rawRepresentation.count == 32 else {
            throw OpenSSLError(
                .invalidKey, operation: "Ed25519PublicKey(rawRepresentation:)",
                queue: ["a public key is 32 bytes, got \(rawRepresentation.count)"])
        }
        guard let key = EVP_PKEY_new_raw_public_key(pdx_EVP_PKEY_ED25519(), nil, rawRepresentation, 32) else {
            throw OpenSSLError.drain("EVP_PKEY_new_raw_public_key")
        }
        self.key = key
        self.rawRepresentation = rawRepresentation
    }

    deinit { EVP_PKEY_free(key) }

    public static func == (lhs: Ed25519PublicKey, rhs: Ed25519PublicKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    /// The key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    public func pem() throws(OpenSSLError) -> String {
        let bio = try MemoryBIO()
        try check(PEM_write_bio_PUBKEY(bio.pointer, key), "PEM_write_bio_PUBKEY")
        return bio.string()
    }

    /// True only when `signature` is a valid Ed25519 signature of `message` by this key.
    public func isValidSignature(_ signature: some ContiguousBytesCollection, for message: some ContiguousBytesCollection) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return signature.withContiguousBytes { sig in
            message.withContiguousBytes { msg in
                EVP_DigestVerify(
                    context,
                    sig.baseAddress?.assumingMemoryBound(to: UInt8.self), sig.count,
                    msg.baseAddress?.assumingMemoryBound(to: UInt8.self), msg.count
                ) == 1
            }
        }
    }
}

/// A memory BIO, for PEM in and out of OpenSSL.
private final class MemoryBIO {
    let pointer: OpaquePointer

    init() throws(OpenSSLError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.drain("BIO_new") }
        pointer = bio
    }

    convenience init(contents: [UInt8]) throws(OpenSSLError) {
        try self.init()
        let written = contents.withUnsafeBytes { BIO_write(pointer, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(contents.count) else { throw OpenSSLError.drain("BIO_write") }
    }

    deinit { BIO_free(pointer) }

    func string() -> String {
        var data: UnsafeMutablePointer<CChar>?
        let length = pdx_BIO_get_mem_data(pointer, &data)
        guard length > 0, let data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
