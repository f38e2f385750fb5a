import Cryptography
import Testing

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownAnswers(input: String, expected: String) {
        #expect(SHA256.hash(Array(input.utf8)).hex == expected)
    }

    @Test func incrementalEqualsOneShotAndHasherResets() {
        let hasher = SHA256()
        hasher.update(Array("ab".utf8))
        hasher.update(byte: UInt8(ascii: "c"))
        #expect(hasher.finalize() == SHA256.hash(Array("abc".utf8)))
        // After finalize the hasher starts over.
        #expect(hasher.finalize() == SHA256.hash([UInt8]()))
    }

    @Test func digestParsesHexAndRejectsBadLengths() throws {
        let digest = try #require(SHA256Digest(hex: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        #expect(digest == SHA256.hash(Array("abc".utf8)))
        #expect(SHA256Digest(hex: "ba78") == nil)
        #expect(SHA256Digest(bytes: [UInt8](repeating: 1, count: 31)) == nil)
    }
}

@Suite struct Ed25519Tests {
    // RFC 8032 §7.1, TEST 1 and TEST 2.
    @Test(arguments: [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
         "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ])
    func rfc8032Vectors(seed: String, publicKey: String, message: String, signature: String) throws {
        let key = try Ed25519PrivateKey(seed: try #require(Hex.decode(seed)))
        #expect(Hex.encode(key.publicKey.rawRepresentation) == publicKey)
        let message = try #require(Hex.decode(message))
        let produced = try key.signature(for: message)
        #expect(Hex.encode(produced) == signature)
        #expect(key.publicKey.isValidSignature(produced, for: message))
    }

    @Test func verificationFailsForOtherMessageOrKey() throws {
        let key = try Ed25519PrivateKey()
        let other = try Ed25519PrivateKey()
        let message = Array("checkpoint".utf8)
        var signature = try key.signature(for: message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Array("checkpoinT".utf8)))
        #expect(!other.publicKey.isValidSignature(signature, for: message))
        signature[0] ^= 1
        #expect(!key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(Array(signature.prefix(10)), for: message))
    }

    @Test func pemRoundTripKeepsTheKey() throws {
        let key = try Ed25519PrivateKey()
        let pem = try key.pem()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try Ed25519PrivateKey(pem: pem)
        #expect(reloaded.publicKey == key.publicKey)
        #expect(try key.publicKey.pem().hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }

    @Test func malformedPEMCarriesOpenSSLErrorText() {
        do {
            _ = try Ed25519PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            Issue.record("a malformed key was accepted")
        } catch {
            #expect(error.operation == "PEM_read_bio_PrivateKey")
            #expect(!error.queue.isEmpty)
        }
    }

    @Test func publicKeyRejectsWrongLength() {
        #expect(throws: OpenSSLError.self) { try Ed25519PublicKey(rawRepresentation: [1, 2, 3]) }
    }
}

@Suite struct PrimitiveTests {
    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals(Array("secret".utf8), Array("secret".utf8)))
        #expect(!ConstantTime.equals(Array("secret".utf8), Array("secreT".utf8)))
        #expect(!ConstantTime.equals(Array("secret".utf8), Array("secrets".utf8)))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }

    @Test func randomBytesHaveTheLengthAskedAndDiffer() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }

    @Test func aRandomSourceMakesItsSigningKeyFromItsOwnBytes() throws {
        /// Replays fixed bytes: RFC 8032 §7.1 TEST 1's seed.
        struct Replay: RandomSource {
            func bytes(_ count: Int) throws -> [UInt8] {
                Array(Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!.prefix(count))
            }
        }
        #expect(Hex.encode(try Replay().signingKey().publicKey.rawRepresentation)
                == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        // The system source generates: two keys differ.
        let source: any RandomSource = .secure
        #expect(try source.signingKey().publicKey != source.signingKey().publicKey)
        #expect(try source.bytes(16).count == 16)
    }

    @Test func hexAndBase64RoundTripAndRejectGarbage() {
        #expect(Hex.decode("00ff10") == [0, 255, 16])
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("abc") == nil)
        #expect(Base64.encode([1, 2, 3, 4]) == "AQIDBA==")
        #expect(Base64.decode("AQIDBA==") == [1, 2, 3, 4])
        #expect(Base64.decode("AQIDBA") == nil)
        #expect(Base64.decode("AQID!A==") == nil)
    }
}

@Suite("AES-256-GCM") struct AESGCMTests {
    /// The GCM specification's test cases 13 and 14 (a zero key and nonce).
    @Test(arguments: [
        ("", "530f8afbc74536b9a963b4f1c4cb738b"),
        ("00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"),
    ])
    func knownAnswers(plaintext: String, sealed: String) throws {
        let box = try AESGCMKey.seal(Hex.decode(plaintext)!, keyBytes: [UInt8](repeating: 0, count: 32),
                                     nonce: [UInt8](repeating: 0, count: 12), associatedData: [])
        #expect(Hex.encode(box) == String(repeating: "00", count: 12) + sealed)
        #expect(try AESGCMKey(bytes: [UInt8](repeating: 0, count: 32))!.open(box, associatedData: []) == Hex.decode(plaintext)!)
    }

    @Test func sealsUnderAFreshNonceAndOpensOnlyWithItsKeyAndAssociatedData() throws {
        let key = try #require(AESGCMKey(bytes: try SecureRandom.bytes(32)))
        let secret = Array("token-123".utf8)
        let first = try key.seal(secret, associatedData: Array("bj-live".utf8))
        let second = try key.seal(secret, associatedData: Array("bj-live".utf8))
        #expect(first != second, "a random nonce per seal")
        #expect(first.count == 12 + secret.count + 16)
        #expect(try key.open(first, associatedData: Array("bj-live".utf8)) == secret)
        #expect(throws: OpenSSLError.self) { try key.open(first, associatedData: Array("bj-roads".utf8)) }
        let other = try #require(AESGCMKey(bytes: try SecureRandom.bytes(32)))
        #expect(throws: OpenSSLError.self) { try other.open(first, associatedData: Array("bj-live".utf8)) }
        var tampered = first
        tampered[14] ^= 1
        #expect(throws: OpenSSLError.self) { try key.open(tampered, associatedData: Array("bj-live".utf8)) }
        #expect(throws: OpenSSLError.self) { try key.open([1, 2, 3], associatedData: []) }
        #expect(AESGCMKey(bytes: [1, 2, 3]) == nil)
    }
}
