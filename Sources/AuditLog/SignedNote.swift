public import Cryptography

/// A failure to parse, sign or verify a note, checkpoint or verifier key.
public typealias NoteError = ModuleError<NoteErrorCode>

/// The stable codes of ``NoteError``: the raw value is what a problem+json `code` says.
public enum NoteErrorCode: String, Sendable, CaseIterable {
    case malformedNote = "malformed_note"
    case malformedVkey = "malformed_vkey"
    case invalidKeyName = "invalid_key_name"
    case signingFailed = "signing_failed"
    case noKnownSignature = "no_known_signature"
    case badSignature = "bad_signature"
    case ambiguousVerifier = "ambiguous_verifier"
    case malformedCheckpoint = "malformed_checkpoint"
    case originMismatch = "origin_mismatch"
}

extension NoteError {
    static func malformedNote(_ detail: String) -> Self { Self(code: .malformedNote, detail: detail) }
    static func malformedVerifierKey(_ detail: String) -> Self { Self(code: .malformedVkey, detail: detail) }
    static func malformedCheckpoint(_ detail: String) -> Self { Self(code: .malformedCheckpoint, detail: detail) }
}

/// The rules signed-note v1.0.0 shares between signers, verifiers and parsers.
enum NoteFormat {
    /// Signature type identifier byte of Ed25519 (signed-note §Signature types).
    static let ed25519Type: UInt8 = 0x01
    /// The spec asks verifiers to cap the number of signatures and to accept at least 16; 100 is the
    /// cap the Go reference uses, so notes it accepts are accepted here too.
    static let maximumSignatures = 100
    /// U+2014 EM DASH, then a space: the start of every signature line.
    static let signaturePrefix: [UInt8] = [0xE2, 0x80, 0x94, 0x20]

    /// Non-empty, no Unicode white space, no `+` (and no control characters, which no note may hold).
    static func isValidKeyName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { scalar in
            scalar != "+" && scalar.value >= 0x20 && !scalar.properties.isWhitespace
        }
    }

    /// Valid note text: ends in a newline and holds no control character other than newline.
    static func checkText(_ text: String) throws(NoteError) {
        guard text.utf8.last == 0x0A else { throw .malformedNote("the note text must end in a newline") }
        if let bad = text.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\n" }) {
            throw .malformedNote("the note text holds the control character U+\(hex4(bad.value))")
        }
    }

    /// `SHA-256(name || 0x0A || type || public key)[:4]` read as a big-endian integer; the type is
    /// 0x01 for a note signature, 0x04 for a tlog-cosignature.
    static func keyID(name: String, publicKey: [UInt8], type: UInt8 = ed25519Type) -> UInt32 {
        let hasher = SHA256()
        hasher.update(name)
        hasher.update(byte: 0x0A)
        hasher.update(byte: type)
        hasher.update(publicKey)
        return hasher.finalize().withUnsafeBytes { bigEndianUInt32($0) }
    }

    /// `<name>+<8 lower-case hex digits>+<base64(0x01 || public key)>`.
    static func verifierKey(name: String, keyID: UInt32, publicKey: [UInt8], type: UInt8 = ed25519Type) -> String {
        "\(name)+\(Hex.encode(bigEndianBytes(keyID)))+\(Base64.encode([type] + publicKey))"
    }

    static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    static func bigEndianUInt32(_ bytes: some Collection<UInt8>) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// C2SP signed-note v1.0.0 Ed25519 signer: key name plus private key.
public struct NoteSigner: Sendable {
    /// The key name; for a log's checkpoints, the log origin.
    public let name: String
    /// The Ed25519 private key.
    public let key: Ed25519PrivateKey
    /// The 4-byte key ID: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
    public let keyID: UInt32
    private let publicKey: [UInt8]

    /// Pairs a key with its name; throws `invalid_key_name` for an empty name or one holding white
    /// space or `+`.
    public init(name: String, key: Ed25519PrivateKey) throws(NoteError) {
        guard NoteFormat.isValidKeyName(name) else {
            throw NoteError(code: .invalidKeyName, detail: "a key name must be non-empty, without white space or '+'")
        }
        self.name = name
        self.key = key
        self.publicKey = key.publicKey.rawRepresentation
        self.keyID = NoteFormat.keyID(name: name, publicKey: publicKey)
    }

    /// The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    public var verifierKey: String {
        NoteFormat.verifierKey(name: name, keyID: keyID, publicKey: publicKey)
    }

    /// The matching verifier.
    public var verifier: NoteVerifier {
        // The name was validated and the key is a real Ed25519 key, so this cannot fail.
        try! NoteVerifier(name: name, publicKey: key.publicKey)
    }
}

/// C2SP signed-note v1.0.0 Ed25519 verifier, parsed from a verifier key string.
public struct NoteVerifier: Sendable, Equatable {
    /// The key name.
    public let name: String
    /// The 4-byte key ID computed from the name and public key.
    public let keyID: UInt32
    /// The Ed25519 public key.
    public let publicKey: Ed25519PublicKey

    /// Parses `<name>+<hex key ID>+<base64(0x01 || 32-byte key)>`; throws `malformed_vkey` unless every
    /// part is well formed, the key is Ed25519 and the key ID matches the name and key.
    public init(verifierKey: String) throws(NoteError) {
        // Base64 may itself hold '+', so only the first two split the string.
        let parts = verifierKey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformedVerifierKey("a verifier key is <name>+<key ID>+<key>")
        }
        let name = String(parts[0])
        guard NoteFormat.isValidKeyName(name) else {
            throw .malformedVerifierKey("the key name must be non-empty, without white space or '+'")
        }
        let idText = parts[1]
        guard idText.utf8.count == 8, idText.utf8.allSatisfy({ Self.isLowerHexDigit($0) }),
              let idBytes = Hex.decode(idText)
        else {
            throw .malformedVerifierKey("the key ID must be 8 lower-case hex digits")
        }
        guard let keyBytes = Base64.decode(parts[2]) else {
            throw .malformedVerifierKey("the key is not canonical base64")
        }
        guard keyBytes.first == NoteFormat.ed25519Type else {
            throw .malformedVerifierKey("only Ed25519 keys (type 0x01) are supported")
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
        let keyID = NoteFormat.keyID(name: name, publicKey: raw)
        guard keyID == NoteFormat.bigEndianUInt32(idBytes) else {
            throw .malformedVerifierKey("the key ID does not match the name and key")
        }
        self.name = name
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// A verifier for `publicKey` under `name`; throws `invalid_key_name` for a bad name.
    public init(name: String, publicKey: Ed25519PublicKey) throws(NoteError) {
        guard NoteFormat.isValidKeyName(name) else {
            throw NoteError(code: .invalidKeyName, detail: "a key name must be non-empty, without white space or '+'")
        }
        self.name = name
        self.publicKey = publicKey
        self.keyID = NoteFormat.keyID(name: name, publicKey: publicKey.rawRepresentation)
    }

    /// Parses one verifier key per line, ignoring blank lines and surrounding white space, as kept in
    /// a `vkey` file; throws `malformed_vkey` if a line is bad or there is no key at all.
    public static func list(from text: String) throws(NoteError) -> [NoteVerifier] {
        var verifiers: [NoteVerifier] = []
        // Split on scalars: as Characters, "\r\n" is one grapheme and would not split on "\n".
        for line in text.unicodeScalars.split(separator: "\n") {
            var trimmed = line[...]
            while let first = trimmed.first, first.properties.isWhitespace { trimmed = trimmed.dropFirst() }
            while let last = trimmed.last, last.properties.isWhitespace { trimmed = trimmed.dropLast() }
            if trimmed.isEmpty { continue }
            verifiers.append(try NoteVerifier(verifierKey: String(String.UnicodeScalarView(trimmed))))
        }
        guard !verifiers.isEmpty else { throw .malformedVerifierKey("no verifier key found") }
        return verifiers
    }

    /// The verifier key string.
    public var verifierKey: String {
        NoteFormat.verifierKey(name: name, keyID: keyID, publicKey: publicKey.rawRepresentation)
    }

    /// `<name>+<hex key ID>`, how a key is named in reports: enough to tell keys apart, not the key.
    public var keyDescription: String { "\(name)+\(Hex.encode(NoteFormat.bigEndianBytes(keyID)))" }

    /// Verifiers are equal when name and public key are (the key ID follows from them).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.publicKey == rhs.publicKey
    }

    private static func isLowerHexDigit(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
    }
}

/// A signed note: text (ending in a newline) and its signature lines.
public struct SignedNote: Sendable, Equatable {
    /// One signature line: the key it claims to be from and the signature bytes after the key ID.
    public struct Signature: Sendable, Equatable {
        /// The key name.
        public var name: String
        /// The key ID, the first 4 bytes of the base64 payload.
        public var keyID: UInt32
        /// The signature proper (64 bytes for Ed25519; other types may differ).
        public var signature: [UInt8]

        /// A signature line's content.
        public init(name: String, keyID: UInt32, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }

        /// `<name>+<hex key ID>`.
        public var keyDescription: String { "\(name)+\(Hex.encode(NoteFormat.bigEndianBytes(keyID)))" }
    }

    /// The signed text, ending in a newline.
    public var text: String
    /// The signature lines, in order.
    public var signatures: [Signature]

    /// A note from its parts, unchecked; `serialized` and `verify(with:)` are only meaningful when the
    /// text is valid note text.
    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Signs `text` with every signer (at least one, no key twice), in order.
    public static func sign(_ text: String, with signers: [NoteSigner]) throws(NoteError) -> SignedNote {
        try NoteFormat.checkText(text)
        guard !signers.isEmpty else { throw .malformedNote("a note needs at least one signature") }
        guard signers.count <= NoteFormat.maximumSignatures else {
            throw .malformedNote("a note carries at most \(NoteFormat.maximumSignatures) signatures")
        }
        var signatures: [Signature] = []
        for signer in signers {
            if signatures.contains(where: { $0.name == signer.name && $0.keyID == signer.keyID }) {
                throw .malformedNote("the key \(signer.name) signs twice")
            }
            let bytes: [UInt8]
            do {
                bytes = try signer.key.signature(for: text)
            } catch {
                throw NoteError(code: .signingFailed, detail: error.description)
            }
            signatures.append(Signature(name: signer.name, keyID: signer.keyID, signature: bytes))
        }
        return SignedNote(text: text, signatures: signatures)
    }

    /// Parses the serialized form; does not check signatures. Throws `malformed_note` for anything the
    /// format does not allow, including more than 100 signature lines.
    public static func parse(_ serialized: String) throws(NoteError) -> SignedNote {
        if let bad = serialized.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\n" }) {
            throw .malformedNote("the note holds the control character U+\(NoteFormat.hex4(bad.value))")
        }
        let bytes = Array(serialized.utf8)
        // The text ends at the last blank line: the text may hold blank lines, signatures may not.
        guard let split = lastBlankLine(in: bytes) else {
            throw .malformedNote("no blank line separates the text from the signatures")
        }
        let text = bytes[..<(split + 1)]
        var rest = bytes[(split + 2)...]
        guard !rest.isEmpty else { throw .malformedNote("the note has no signature line") }
        guard rest.last == 0x0A else { throw .malformedNote("the last signature line does not end in a newline") }

        var signatures: [Signature] = []
        while let newline = rest.firstIndex(of: 0x0A) {
            let line = rest[..<newline]
            rest = rest[(newline + 1)...]
            guard signatures.count < NoteFormat.maximumSignatures else {
                throw .malformedNote("more than \(NoteFormat.maximumSignatures) signature lines")
            }
            signatures.append(try parseSignatureLine(line, number: signatures.count + 1))
        }
        return SignedNote(text: String(decoding: text, as: UTF8.self), signatures: signatures)
    }

    /// Parses a note read from bytes: as `parse(_:)`, but first rejects bytes that are not UTF-8.
    public static func parse(bytes: some Collection<UInt8>) throws(NoteError) -> SignedNote {
        guard let serialized = String(validating: bytes, as: UTF8.self) else {
            throw .malformedNote("the note is not valid UTF-8")
        }
        return try parse(serialized)
    }

    /// The serialized form: text, a blank line, one `— name base64` line per signature.
    public var serialized: String {
        var out = text
        out += "\n"
        for signature in signatures {
            out += "\u{2014} \(signature.name) "
            out += Base64.encode(NoteFormat.bigEndianBytes(signature.keyID) + signature.signature)
            out += "\n"
        }
        return out
    }

    /// Checks the signatures by known verifiers; unknown keys are ignored. Throws unless at least one
    /// known key signed and every known key's signature is valid. Returns the verifiers that signed.
    ///
    /// A signature is from a known key only when both its name and key ID match a verifier; a match on
    /// one alone is a different key and is ignored, as the spec requires.
    public func verify(with verifiers: [NoteVerifier]) throws(NoteError) -> [NoteVerifier] {
        try NoteFormat.checkText(text)
        var signers: [NoteVerifier] = []
        for signature in signatures {
            var matches: [NoteVerifier] = []
            for verifier in verifiers where verifier.name == signature.name && verifier.keyID == signature.keyID {
                if !matches.contains(verifier) { matches.append(verifier) }
            }
            guard let verifier = matches.first else { continue }
            // Two different keys under one name and ID: the verifier list itself cannot be trusted.
            guard matches.count == 1 else {
                throw NoteError(code: .ambiguousVerifier,
                                detail: "more than one known key is \(signature.keyDescription)")
            }
            guard signature.signature.count == 64,
                  verifier.publicKey.isValidSignature(signature.signature, for: text)
            else {
                throw NoteError(code: .badSignature, detail: "the signature by \(signature.keyDescription) is not valid")
            }
            if !signers.contains(verifier) { signers.append(verifier) }
        }
        guard !signers.isEmpty else {
            let found = signatures.map(\.keyDescription).joined(separator: ", ")
            throw NoteError(code: .noKnownSignature,
                            detail: "no signature by a known key (signed by \(found.isEmpty ? "nobody" : found))")
        }
        return signers
    }

    private static func lastBlankLine(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var index = bytes.count - 2
        while index >= 0 {
            if bytes[index] == 0x0A && bytes[index + 1] == 0x0A { return index }
            index -= 1
        }
        return nil
    }

    private static func parseSignatureLine(_ line: ArraySlice<UInt8>, number: Int) throws(NoteError) -> Signature {
        guard line.starts(with: NoteFormat.signaturePrefix) else {
            throw .malformedNote("signature line \(number) does not start with an em dash and a space")
        }
        let body = line.dropFirst(NoteFormat.signaturePrefix.count)
        guard let space = body.firstIndex(of: 0x20) else {
            throw .malformedNote("signature line \(number) has no space between name and signature")
        }
        let name = String(decoding: body[..<space], as: UTF8.self)
        guard NoteFormat.isValidKeyName(name) else {
            throw .malformedNote("signature line \(number) has an invalid key name")
        }
        let encoded = String(decoding: body[(space + 1)...], as: UTF8.self)
        guard let payload = Base64.decode(encoded) else {
            throw .malformedNote("signature line \(number) is not canonical base64")
        }
        guard payload.count >= 5 else {
            throw .malformedNote("signature line \(number) is too short to hold a key ID and a signature")
        }
        return Signature(name: name, keyID: NoteFormat.bigEndianUInt32(payload), signature: Array(payload.dropFirst(4)))
    }
}

extension SignedNote {
    /// Verifies the note as a log checkpoint: signed by a known key, parsed as tlog-checkpoint text,
    /// and signed by a key named after the checkpoint's origin (`origin_mismatch` otherwise).
    public func verifiedCheckpoint(with verifiers: [NoteVerifier]) throws(NoteError) -> (checkpoint: Checkpoint, signers: [NoteVerifier]) {
        // The text is untrusted until a signature over it verifies, so verify before parsing.
        let signers = try verify(with: verifiers)
        let checkpoint = try Checkpoint.parse(text)
        guard signers.contains(where: { $0.name == checkpoint.origin }) else {
            throw NoteError(code: .originMismatch,
                            detail: "the checkpoint's origin \(checkpoint.origin) is not the name of the key that signed it (\(signers[0].name))")
        }
        return (checkpoint, signers)
    }
}

/// C2SP tlog-checkpoint v1.0.0 body: origin, tree size, root hash, optional extension lines.
public struct Checkpoint: Sendable, Equatable {
    /// The log's identity; also the name of the log's signing key.
    public var origin: String
    /// Number of leaves in the tree.
    public var size: UInt64
    /// RFC 9162 root hash of the tree.
    public var rootHash: SHA256Digest
    /// Opaque, non-empty extra lines.
    public var extensions: [String]

    /// A checkpoint from its parts.
    public init(origin: String, size: UInt64, rootHash: SHA256Digest, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The note text of the checkpoint.
    public var text: String {
        var out = "\(origin)\n\(size)\n\(Base64.encode(rootHash.bytes))\n"
        for line in extensions { out += line + "\n" }
        return out
    }

    /// Signs the checkpoint text; throws `malformed_checkpoint` if the parts do not make a valid checkpoint.
    public func sign(with signers: [NoteSigner]) throws(NoteError) -> SignedNote {
        let text = text
        _ = try Checkpoint.parse(text)
        return try SignedNote.sign(text, with: signers)
    }

    /// Parses note text into a checkpoint; throws `malformed_checkpoint` unless it is exactly an origin,
    /// a decimal size without leading zeros, a base64 32-byte root and non-empty extension lines.
    public static func parse(_ text: String) throws(NoteError) -> Checkpoint {
        guard text.utf8.last == 0x0A else { throw .malformedCheckpoint("the text must end in a newline") }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) {
            throw .malformedCheckpoint("the text holds a control character")
        }
        let lines = text.utf8.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count >= 3 else { throw .malformedCheckpoint("a checkpoint has at least three lines") }
        let origin = String(decoding: lines[0], as: UTF8.self)
        guard !origin.isEmpty else { throw .malformedCheckpoint("the origin is empty") }

        let sizeText = lines[1]
        guard !sizeText.isEmpty, sizeText.allSatisfy({ (0x30...0x39).contains($0) }),
              sizeText.first != 0x30 || sizeText.count == 1,
              let size = UInt64(String(decoding: sizeText, as: UTF8.self))
        else {
            throw .malformedCheckpoint("the tree size is not a decimal number without leading zeros")
        }
        guard let rootBytes = Base64.decode(String(decoding: lines[2], as: UTF8.self)),
              let rootHash = SHA256Digest(bytes: rootBytes)
        else {
            throw .malformedCheckpoint("the root hash is not the base64 of 32 bytes")
        }
        var extensions: [String] = []
        for line in lines.dropFirst(3) {
            guard !line.isEmpty else { throw .malformedCheckpoint("an extension line is empty") }
            extensions.append(String(decoding: line, as: UTF8.self))
        }
        return Checkpoint(origin: origin, size: size, rootHash: rootHash, extensions: extensions)
    }
}
