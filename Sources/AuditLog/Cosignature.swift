public import Cryptography

/// C2SP tlog-cosignature v1 with Ed25519 (signed-note signature type 0x04): what a witness adds to a
/// checkpoint it has checked.
///
/// The witness signs `cosignature/v1\ntime <T>\n` followed by the checkpoint's note text, `T` being
/// the POSIX time in seconds; the signature line carries `key ID || uint64 T (big-endian) ||
/// signature`. The key name is not signed, so a witness key serves one witness name only.
enum CosignatureFormat {
    /// Signature type identifier of an Ed25519 cosignature/v1.
    static let type: UInt8 = 0x04
    /// Bytes after the key ID: timestamp and Ed25519 signature.
    static let payloadSize = 8 + 64

    static func message(text: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8)
    }
}

/// A witness's Ed25519 cosigning key and name.
public struct CosignatureSigner: Sendable {
    /// The witness name, e.g. `witness.bj.example/pdx`.
    public let name: String
    /// The Ed25519 private key.
    public let key: Ed25519PrivateKey
    /// `SHA-256(name || 0x0A || 0x04 || public key)[:4]`.
    public let keyID: UInt32
    private let publicKey: [UInt8]

    /// Pairs a key with its name; throws `invalid_key_name` for a name no note may carry.
    public init(name: String, key: Ed25519PrivateKey) throws(NoteError) {
        guard NoteFormat.isValidKeyName(name) else {
            throw NoteError(code: .invalidKeyName, detail: "a key name must be non-empty, without white space or '+'")
        }
        self.name = name
        self.key = key
        self.publicKey = key.publicKey.rawRepresentation
        self.keyID = NoteFormat.keyID(name: name, publicKey: publicKey, type: CosignatureFormat.type)
    }

    /// The verifier key `<name>+<hex key ID>+<base64(0x04 || public key)>` that clients pin.
    public var verifierKey: String {
        NoteFormat.verifierKey(name: name, keyID: keyID, publicKey: publicKey, type: CosignatureFormat.type)
    }

    /// The matching verifier.
    public var verifier: CosignatureVerifier {
        CosignatureVerifier(name: name, keyID: keyID, publicKey: key.publicKey)
    }

    /// Cosigns the note text `text` (a checkpoint body) at `time` (POSIX seconds, not zero).
    public func cosign(_ text: String, time: UInt64) throws(NoteError) -> SignedNote.Signature {
        let signature: [UInt8]
        do {
            signature = try key.signature(for: CosignatureFormat.message(text: text, time: time))
        } catch {
            throw NoteError(code: .signingFailed, detail: error.description)
        }
        return SignedNote.Signature(name: name, keyID: keyID, signature: Self.bigEndian(time) + signature)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}

/// Checks tlog-cosignature v1 Ed25519 cosignatures by one witness key.
public struct CosignatureVerifier: Sendable, Equatable {
    /// The witness name.
    public let name: String
    /// The key ID computed from the name and key with type 0x04.
    public let keyID: UInt32
    /// The Ed25519 public key.
    public let publicKey: Ed25519PublicKey

    init(name: String, keyID: UInt32, publicKey: Ed25519PublicKey) {
        self.name = name
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// Parses `<name>+<hex key ID>+<base64(0x04 || 32-byte key)>`; throws `malformed_vkey` unless it
    /// is a cosignature key whose ID matches its name and key. A log's own key (type 0x01) is refused,
    /// so a log key can never be mistaken for a witness.
    public init(verifierKey: String) throws(NoteError) {
        let parts = verifierKey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedVerifierKey("a witness key is <name>+<key ID>+<key>") }
        let name = String(parts[0])
        guard NoteFormat.isValidKeyName(name) else {
            throw .malformedVerifierKey("the witness name must be non-empty, without white space or '+'")
        }
        guard parts[1].utf8.count == 8, let idBytes = Hex.decode(parts[1]), Hex.encode(idBytes) == parts[1] else {
            throw .malformedVerifierKey("the key ID must be 8 lower-case hex digits")
        }
        guard let keyBytes = Base64.decode(parts[2]) else { throw .malformedVerifierKey("the key is not canonical base64") }
        guard keyBytes.first == CosignatureFormat.type else {
            throw .malformedVerifierKey("a witness key is an Ed25519 cosignature key (type 0x04)")
        }
        guard keyBytes.count == 33 else {
            throw .malformedVerifierKey("an Ed25519 key is 32 bytes, got \(keyBytes.count - 1)")
        }
        let raw = Array(keyBytes.dropFirst())
        let publicKey: Ed25519PublicKey
        do {
            publicKey = try Ed25519PublicKey(rawRepresentation: raw)
        } catch {
            throw .malformedVerifierKey("the key is not a usable Ed25519 public key")
        }
        let keyID = NoteFormat.keyID(name: name, publicKey: raw, type: CosignatureFormat.type)
        guard keyID == NoteFormat.bigEndianUInt32(idBytes) else {
            throw .malformedVerifierKey("the key ID does not match the name and key")
        }
        self.init(name: name, keyID: keyID, publicKey: publicKey)
    }

    /// The verifier key string.
    public var verifierKey: String {
        NoteFormat.verifierKey(name: name, keyID: keyID, publicKey: publicKey.rawRepresentation, type: CosignatureFormat.type)
    }

    /// `<name>+<hex key ID>`.
    public var keyDescription: String { "\(name)+\(Hex.encode(NoteFormat.bigEndianBytes(keyID)))" }

    /// True when `signature` is from this key (name and key ID).
    public func matches(_ signature: SignedNote.Signature) -> Bool {
        signature.name == name && signature.keyID == keyID
    }

    /// The cosignature's time (POSIX seconds) when `signature` is this key's valid cosignature of
    /// `text`; nil otherwise, a zero time included.
    public func verify(_ signature: SignedNote.Signature, text: String) -> UInt64? {
        guard matches(signature), signature.signature.count == CosignatureFormat.payloadSize else { return nil }
        let time = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time > 0 else { return nil }
        let message = CosignatureFormat.message(text: text, time: time)
        return publicKey.isValidSignature(Array(signature.signature.dropFirst(8)), for: message) ? time : nil
    }

    /// Equal when name and public key are.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.publicKey == rhs.publicKey
    }

    /// Parses one witness key per line, ignoring blank lines and surrounding white space.
    public static func list(from text: String) throws(NoteError) -> [CosignatureVerifier] {
        var verifiers: [CosignatureVerifier] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingWhiteSpace()
            if trimmed.isEmpty { continue }
            verifiers.append(try CosignatureVerifier(verifierKey: String(trimmed)))
        }
        guard !verifiers.isEmpty else { throw .malformedVerifierKey("no witness key found") }
        return verifiers
    }
}

/// One valid cosignature found on a note.
public struct VerifiedCosignature: Sendable, Equatable {
    /// The witness key that cosigned.
    public var witness: CosignatureVerifier
    /// When it cosigned (POSIX seconds).
    public var time: UInt64
}

extension SignedNote {
    /// The valid cosignatures on this note by `witnesses`, one per witness key (the latest when a
    /// witness cosigned twice). Lines by other keys are ignored; a line by a known key that does not
    /// verify is ignored too, and named in `invalid`, so a caller can report it.
    public func cosignatures(by witnesses: [CosignatureVerifier]) -> (valid: [VerifiedCosignature], invalid: [String]) {
        var valid: [VerifiedCosignature] = []
        var invalid: [String] = []
        for signature in signatures {
            guard let witness = witnesses.first(where: { $0.matches(signature) }) else { continue }
            guard let time = witness.verify(signature, text: text) else {
                invalid.append(witness.keyDescription)
                continue
            }
            if let index = valid.firstIndex(where: { $0.witness == witness }) {
                valid[index].time = max(valid[index].time, time)
            } else {
                valid.append(VerifiedCosignature(witness: witness, time: time))
            }
        }
        return (valid, invalid)
    }

    /// This note with `extra` signature lines added after its own, leaving out lines it already
    /// carries and lines by a key it already has a line from, and stopping at the signed-note limit.
    public func adding(_ extra: [Signature]) -> SignedNote {
        var note = self
        for signature in extra where note.signatures.count < NoteFormat.maximumSignatures {
            if note.signatures.contains(where: { $0.name == signature.name && $0.keyID == signature.keyID }) { continue }
            note.signatures.append(signature)
        }
        return note
    }
}

extension Substring {
    func trimmingWhiteSpace() -> Substring {
        var trimmed = self
        while let first = trimmed.unicodeScalars.first, first.properties.isWhitespace { trimmed = trimmed.dropFirst() }
        while let last = trimmed.unicodeScalars.last, last.properties.isWhitespace { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
