// INTERFACE STUB — owned by the notes/checkpoint work; replace the bodies, keep the signatures.
public import Cryptography

/// A failure to parse, sign or verify a note, checkpoint or verifier key.
public struct NoteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code, e.g. `malformed_note`, `malformed_vkey`, `no_known_signature`, `bad_signature`,
    /// `malformed_checkpoint`, `origin_mismatch`.
    public var code: String
    public var detail: String
    public init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public var description: String { "\(code): \(detail)" }
}

/// C2SP signed-note v1.0.0 Ed25519 signer: key name plus private key.
public struct NoteSigner: Sendable {
    public let name: String
    public let key: Ed25519PrivateKey
    public init(name: String, key: Ed25519PrivateKey) throws(NoteError) { fatalError("stub") }
    /// The 4-byte key ID: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
    public var keyID: UInt32 { fatalError("stub") }
    /// The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    public var verifierKey: String { fatalError("stub") }
}

/// C2SP signed-note v1.0.0 Ed25519 verifier, parsed from a verifier key string.
public struct NoteVerifier: Sendable {
    public let name: String
    public let keyID: UInt32
    public let publicKey: Ed25519PublicKey
    public init(verifierKey: String) throws(NoteError) { fatalError("stub") }
    public init(name: String, publicKey: Ed25519PublicKey) throws(NoteError) { fatalError("stub") }
    /// The verifier key string.
    public var verifierKey: String { fatalError("stub") }
}

/// A signed note: text (ending in a newline) and its signature lines.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var keyID: UInt32
        public var signature: [UInt8]
    }
    public var text: String
    public var signatures: [Signature]

    /// Signs `text` with every signer (at least one), in order.
    public static func sign(_ text: String, with signers: [NoteSigner]) throws(NoteError) -> SignedNote { fatalError("stub") }
    /// Parses the serialized form; does not check signatures.
    public static func parse(_ serialized: String) throws(NoteError) -> SignedNote { fatalError("stub") }
    /// The serialized form: text, a blank line, one `— name base64` line per signature.
    public var serialized: String { fatalError("stub") }
    /// Checks the signatures by known verifiers; unknown keys are ignored. Throws unless at least one
    /// known key signed and every known key's signature is valid. Returns the verifiers that signed.
    public func verify(with verifiers: [NoteVerifier]) throws(NoteError) -> [NoteVerifier] { fatalError("stub") }
}

/// C2SP tlog-checkpoint v1.0.0 body: origin, tree size, root hash, optional extension lines.
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: UInt64
    public var rootHash: SHA256Digest
    public var extensions: [String]
    public init(origin: String, size: UInt64, rootHash: SHA256Digest, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }
    /// The note text of the checkpoint.
    public var text: String { fatalError("stub") }
    /// Parses note text into a checkpoint.
    public static func parse(_ text: String) throws(NoteError) -> Checkpoint { fatalError("stub") }
}
