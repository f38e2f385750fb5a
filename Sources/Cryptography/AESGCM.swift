internal import COpenSSL

/// AES-256-GCM through OpenSSL's EVP interface: authenticated encryption of small secrets at rest.
///
/// A sealed box is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`. Every seal draws a fresh random
/// nonce, so one key may seal many secrets; the associated data is authenticated but not stored, so
/// a box opens only with the same associated data (a dataset's secret only under its own id).
public struct AESGCMKey: Sendable {
    /// The key length, bytes.
    public static let keyLength = 32
    /// The nonce length, bytes: GCM's native 96 bits.
    public static let nonceLength = 12
    /// The tag length, bytes.
    public static let tagLength = 16

    private let key: [UInt8]

    /// A key of exactly ``keyLength`` bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.keyLength else { return nil }
        self.key = bytes
    }

    /// Seals `plaintext` under a nonce from `random`, authenticating `associatedData` with it.
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8], random: any RandomSource = SecureRandom()) throws -> [UInt8] {
        let nonce = try random.bytes(Self.nonceLength)
        guard nonce.count == Self.nonceLength else { throw OpenSSLError(operation: "AES-GCM nonce", queue: []) }
        return try Self.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
    }

    /// Opens a box ``seal(_:associatedData:random:)`` made; throws when it was made under another key
    /// or other associated data, or was changed.
    public func open(_ box: [UInt8], associatedData: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard box.count >= Self.nonceLength + Self.tagLength else {
            throw OpenSSLError(operation: "AES-GCM open: box too short", queue: [])
        }
        let nonce = Array(box[0..<Self.nonceLength])
        let ciphertext = Array(box[Self.nonceLength..<(box.count - Self.tagLength)])
        var tag = Array(box[(box.count - Self.tagLength)...])

        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSLError.drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try check(EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil), "EVP_DecryptInit_ex")
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil), "EVP_CTRL_GCM_SET_IVLEN")
        try check(EVP_DecryptInit_ex(context, nil, nil, key, nonce), "EVP_DecryptInit_ex")
        var length: Int32 = 0
        if !associatedData.isEmpty {
            try check(EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)), "EVP_DecryptUpdate (AAD)")
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            try check(EVP_DecryptUpdate(context, &plaintext, &written, ciphertext, Int32(ciphertext.count)), "EVP_DecryptUpdate")
        }
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), &tag), "EVP_CTRL_GCM_SET_TAG")
        var final: Int32 = 0
        let result = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context, buffer.baseAddress! + Int(written), &final)
        }
        guard result == 1 else {
            ERR_clear_error()
            throw OpenSSLError(operation: "AES-GCM open: authentication failed", queue: [])
        }
        return Array(plaintext.prefix(Int(written + final)))
    }

    /// Seals with a given nonce: for known-answer tests; real seals draw their nonce.
    static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSLError.drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try check(EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil), "EVP_EncryptInit_ex")
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil), "EVP_CTRL_GCM_SET_IVLEN")
        try check(EVP_EncryptInit_ex(context, nil, nil, key, nonce), "EVP_EncryptInit_ex")
        var length: Int32 = 0
        if !associatedData.isEmpty {
            try check(EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)), "EVP_EncryptUpdate (AAD)")
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            try check(EVP_EncryptUpdate(context, &ciphertext, &written, plaintext, Int32(plaintext.count)), "EVP_EncryptUpdate")
        }
        var final: Int32 = 0
        try ciphertext.withUnsafeMutableBufferPointer { buffer throws(OpenSSLError) in
            try check(EVP_EncryptFinal_ex(context, buffer.baseAddress! + Int(written), &final), "EVP_EncryptFinal_ex")
        }
        var tag = [UInt8](repeating: 0, count: tagLength)
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), &tag), "EVP_CTRL_GCM_GET_TAG")
        return nonce + ciphertext.prefix(Int(written + final)) + tag
    }

    /// Seals with a given nonce under `keyBytes`: the known-answer form, for tests.
    public static func seal(_ plaintext: [UInt8], keyBytes: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard keyBytes.count == keyLength, nonce.count == nonceLength else { throw OpenSSLError(operation: "AES-GCM key or nonce length", queue: []) }
        return try seal(plaintext, key: keyBytes, nonce: nonce, associatedData: associatedData)
    }
}
