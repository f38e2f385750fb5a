internal import COpenSSL

/// HMAC-SHA256 (RFC 2104 with SHA-256), through OpenSSL's one-shot `HMAC`.
public enum HMACSHA256 {
    /// The authentication code of `message` under `key`; throws only when OpenSSL fails (out of memory).
    public static func authenticationCode(
        for message: some ContiguousBytesCollection,
        key: some ContiguousBytesCollection
    ) throws(OpenSSLError) -> SHA256Digest {
        var output = [UInt8](repeating: 0, count: SHA256Digest.byteCount)
        var length: UInt32 = 0
        // One byte stands in for an empty buffer, which may have no address; its length stays 0.
        var placeholder: UInt8 = 0
        let succeeded = key.withContiguousBytes { keyBytes in
            message.withContiguousBytes { messageBytes in
                output.withUnsafeMutableBufferPointer { out in
                    withUnsafeMutablePointer(to: &placeholder) { empty in
                        let keyPointer = keyBytes.baseAddress ?? UnsafeRawPointer(empty)
                        let messagePointer = messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                            ?? UnsafePointer(empty)
                        return HMAC(EVP_sha256(), keyPointer, Int32(keyBytes.count),
                                    messagePointer, messageBytes.count, out.baseAddress, &length) != nil
                    }
                }
            }
        }
        guard succeeded, length == UInt32(SHA256Digest.byteCount), let code = SHA256Digest(bytes: output) else {
            throw OpenSSLError.drain("HMAC")
        }
        return code
    }
}
