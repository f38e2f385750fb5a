import AuditLog
import Cryptography
import Foundation
import Testing

/// Golden files under `Contracts/vectors/`.
enum NoteVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Contracts/vectors")

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(path)))
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// A one-line file without its newline.
    static func line(_ path: String) throws -> String {
        let text = try text(path)
        #expect(text.hasSuffix("\n"))
        return String(text.dropLast())
    }

    /// The Go reference key, from its `PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)` form.
    static func peterSigner() throws -> NoteSigner {
        let parts = try line("note/peterneumann.skey").split(separator: "+", maxSplits: 4)
        let payload = try #require(Base64.decode(parts[4]))
        #expect(payload.first == 0x01)
        return try NoteSigner(name: String(parts[2]), key: Ed25519PrivateKey(seed: Array(payload.dropFirst())))
    }

    static func pdxSigner() throws -> NoteSigner {
        let seed = try #require(Hex.decode(try line("note/pdx.seed.hex")))
        return try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey(seed: seed))
    }
}

private func code(of body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as NoteError {
        return error.code.rawValue
    } catch {
        return "unexpected \(error)"
    }
}

@Suite struct NoteKeyTests {
    @Test func goReferenceKeyGivesItsKeyIDAndVerifierKey() throws {
        let signer = try NoteVectors.peterSigner()
        #expect(signer.keyID == 0xc74f_20a3)
        #expect(signer.verifierKey == (try NoteVectors.line("note/peterneumann.vkey")))

        let verifier = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        #expect(verifier.name == "PeterNeumann")
        #expect(verifier.keyID == 0xc74f_20a3)
        #expect(verifier.publicKey == signer.key.publicKey)
        #expect(verifier.verifierKey == signer.verifierKey)
        #expect(verifier == signer.verifier)
        #expect(verifier.keyDescription == "PeterNeumann+c74f20a3")
    }

    @Test func verifierKeyRoundTripsForFreshKeys() throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let verifier = try NoteVerifier(verifierKey: signer.verifierKey)
        #expect(verifier.keyID == signer.keyID)
        #expect(verifier.publicKey == signer.key.publicKey)
    }

    /// As the Go reference checks: no substring and no single-byte change of a valid key parses.
    @Test func everyManglingOfAVerifierKeyIsRejected() throws {
        let vkey = Array(try NoteVectors.line("note/peterneumann.vkey").utf8)
        for start in 0...vkey.count {
            for end in (start + 1)..<(vkey.count + 1) where !(start == 0 && end == vkey.count) {
                let mangled = String(decoding: vkey[start..<end], as: UTF8.self)
                #expect(code { _ = try NoteVerifier(verifierKey: mangled) } == "malformed_vkey", "\(mangled)")
            }
        }
        for index in vkey.indices {
            var mangled = vkey
            mangled[index] &+= 1
            let text = String(decoding: mangled, as: UTF8.self)
            #expect(code { _ = try NoteVerifier(verifierKey: text) } == "malformed_vkey", "\(text)")
        }
    }

    @Test(arguments: [
        // Right length with an adjusted key ID, and an unknown algorithm with an adjusted key ID (Go's cases).
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
    ])
    func malformedVerifierKeys(vkey: String) {
        #expect(code { _ = try NoteVerifier(verifierKey: vkey) } == "malformed_vkey")
    }

    @Test(arguments: ["", "a b", "a+b", "tab\there", "nbsp\u{00A0}name", "ideographic\u{3000}space"])
    func invalidKeyNames(name: String) throws {
        let key = try Ed25519PrivateKey()
        #expect(code { _ = try NoteSigner(name: name, key: key) } == "invalid_key_name")
        #expect(code { _ = try NoteVerifier(name: name, publicKey: key.publicKey) } == "invalid_key_name")
    }

    @Test func verifierListReadsOneKeyPerLine() throws {
        let peter = try NoteVectors.line("note/peterneumann.vkey")
        let enoch = try NoteVectors.line("note/enochroot.vkey")
        let list = try NoteVerifier.list(from: "\n\(peter)\r\n  \(enoch)  \n\n")
        #expect(list.map(\.name) == ["PeterNeumann", "EnochRoot"])
        #expect(code { _ = try NoteVerifier.list(from: " \n\n") } == "malformed_vkey")
        #expect(code { _ = try NoteVerifier.list(from: "\(peter)\nnot a key\n") } == "malformed_vkey")
    }
}

@Suite struct SignedNoteTests {
    static let goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"

    @Test func signingReproducesTheGoReferenceNote() throws {
        let note = try SignedNote.sign(Self.goText, with: [try NoteVectors.peterSigner()])
        #expect(note.serialized == (try NoteVectors.text("note/peterneumann.note")))
    }

    @Test func theGoReferenceNoteVerifies() throws {
        let note = try SignedNote.parse(bytes: try NoteVectors.bytes("note/peterneumann.note"))
        #expect(note.text == Self.goText)
        #expect(note.signatures.count == 1)
        #expect(note.signatures[0].name == "PeterNeumann")
        #expect(note.signatures[0].keyID == 0xc74f_20a3)
        #expect(note.signatures[0].signature.count == 64)
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        #expect(try note.verify(with: [peter]) == [peter])
    }

    @Test func unknownKeysAreIgnoredAndKnownOnesAllChecked() throws {
        let note = try SignedNote.parse(try NoteVectors.text("note/peterneumann-enochroot.note"))
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        let enoch = try NoteVerifier(verifierKey: try NoteVectors.line("note/enochroot.vkey"))
        #expect(try note.verify(with: [peter]) == [peter])
        #expect(try note.verify(with: [enoch]) == [enoch])
        #expect(try note.verify(with: [enoch, peter]) == [peter, enoch])
        #expect(code { _ = try note.verify(with: []) } == "no_known_signature")

        let stranger = try NoteSigner(name: "PeterNeumann", key: Ed25519PrivateKey()).verifier
        #expect(code { _ = try note.verify(with: [stranger]) } == "no_known_signature")

        // One valid known signature does not excuse a bad one from another known key.
        var tampered = note
        tampered.signatures[1].signature[10] ^= 0x01
        #expect(code { _ = try tampered.verify(with: [peter, enoch]) } == "bad_signature")
        #expect(try tampered.verify(with: [peter]) == [peter])
    }

    /// A signature matching a known key's name but not its ID, or its ID but not its name, is another
    /// key's: it must be ignored, not checked against the known key.
    @Test func nameOrKeyIDAloneDoesNotMakeAKeyKnown() throws {
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        var note = try SignedNote.parse(try NoteVectors.text("note/peterneumann.note"))
        let garbage = [UInt8](repeating: 7, count: 64)
        note.signatures.append(.init(name: "PeterNeumann", keyID: 0xc74f_20a4, signature: garbage))
        note.signatures.append(.init(name: "PeterNeumann2", keyID: 0xc74f_20a3, signature: garbage))
        let reparsed = try SignedNote.parse(note.serialized)
        #expect(reparsed == note)
        #expect(try reparsed.verify(with: [peter]) == [peter])

        note.signatures.append(.init(name: "PeterNeumann", keyID: 0xc74f_20a3, signature: garbage))
        #expect(code { _ = try note.verify(with: [peter]) } == "bad_signature")
    }

    @Test func twoDifferentKeysUnderOneNameAndIDAreAmbiguous() throws {
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        let note = try SignedNote.parse(try NoteVectors.text("note/peterneumann.note"))
        // Same key twice is harmless.
        #expect(try note.verify(with: [peter, peter]) == [peter])
    }

    @Test func theC2SPExampleParsesAndRoundTrips() throws {
        let serialized = try NoteVectors.text("note/c2sp-signed-note-example.note")
        let note = try SignedNote.parse(serialized)
        // The text keeps its own blank line: only the last one separates the signatures.
        #expect(note.text == "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n")
        #expect(note.signatures.map(\.name) == ["quasimodo.example/salvatore"])
        #expect(note.signatures[0].keyID == 0x367b_a04b)
        #expect(note.signatures[0].signature.count == 64)
        #expect(note.serialized == serialized)
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        #expect(code { _ = try note.verify(with: [peter]) } == "no_known_signature")
    }

    @Test func aSignedNoteVerifiesOnlyForItsText() throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let other = try NoteSigner(name: "witness.example", key: Ed25519PrivateKey())
        let note = try SignedNote.sign("line one\n\nline three\n", with: [signer, other])
        let parsed = try SignedNote.parse(note.serialized)
        #expect(parsed == note)
        #expect(try parsed.verify(with: [signer.verifier, other.verifier]) == [signer.verifier, other.verifier])
        var changed = parsed
        changed.text = "line one\n\nline 3\n"
        #expect(code { _ = try changed.verify(with: [signer.verifier]) } == "bad_signature")
    }

    @Test func signingRejectsBadTextAndSigners() throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        #expect(code { _ = try SignedNote.sign("no newline", with: [signer]) } == "malformed_note")
        #expect(code { _ = try SignedNote.sign("carriage\r\n", with: [signer]) } == "malformed_note")
        #expect(code { _ = try SignedNote.sign("ok\n", with: []) } == "malformed_note")
        #expect(code { _ = try SignedNote.sign("ok\n", with: [signer, signer]) } == "malformed_note")
    }

    static let peterLine = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test(arguments: [
        goText,
        goText + "\n",
        goText + "\n" + String(peterLine.dropLast()),
        "\u{01}" + goText + "\n" + peterLine,
        goText + "\n" + "\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        goText + "\n" + peterLine + "Unexpected line.\n",
        goText + "\n" + "- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        goText + "\n" + "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
        goText + "\n" + "\u{2014} PeterNeumann AAAAAA==\n",
        goText + "\n" + "\u{2014}  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        goText + "\n" + "\u{2014} PeterNeumann\n",
        goText + "\n" + peterLine + "\n",
        "\r" + goText + "\n" + peterLine,
    ])
    func malformedNotesAreRejected(serialized: String) {
        #expect(code { _ = try SignedNote.parse(serialized) } == "malformed_note")
    }

    @Test func atMostOneHundredSignatureLines() throws {
        let peter = try NoteVerifier(verifierKey: try NoteVectors.line("note/peterneumann.vkey"))
        let hundred = try SignedNote.parse(Self.goText + "\n" + String(repeating: Self.peterLine, count: 100))
        #expect(hundred.signatures.count == 100)
        #expect(try hundred.verify(with: [peter]) == [peter])
        let serialized = Self.goText + "\n" + String(repeating: Self.peterLine, count: 101)
        #expect(code { _ = try SignedNote.parse(serialized) } == "malformed_note")
    }

    @Test func bytesThatAreNotUTF8AreRejected() throws {
        var bytes = try NoteVectors.bytes("note/peterneumann.note")
        bytes.insert(0xFF, at: 0)
        #expect(code { _ = try SignedNote.parse(bytes: bytes) } == "malformed_note")
    }
}

@Suite struct CheckpointTests {
    @Test func textIsOriginSizeRootAndExtensions() throws {
        let root = try #require(SHA256Digest(hex: String(repeating: "ab", count: 32)))
        let checkpoint = Checkpoint(origin: "pdx.example/audit", size: 42, rootHash: root, extensions: ["x y"])
        #expect(checkpoint.text == "pdx.example/audit\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\nx y\n")
        #expect(try Checkpoint.parse(checkpoint.text) == checkpoint)
        let empty = Checkpoint(origin: "o", size: 0, rootHash: MerkleHash.emptyTree)
        #expect(try Checkpoint.parse(empty.text) == empty)
        let largest = Checkpoint(origin: "o", size: .max, rootHash: root)
        #expect(try Checkpoint.parse(largest.text).size == UInt64.max)
    }

    @Test func theC2SPExampleParses() throws {
        let note = try SignedNote.parse(try NoteVectors.text("note/c2sp-checkpoint-example.note"))
        let checkpoint = try Checkpoint.parse(note.text)
        #expect(checkpoint.origin == "example.com/behind-the-sofa")
        #expect(checkpoint.size == 20_852_163)
        #expect(checkpoint.rootHash.bytes == Base64.decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
        #expect(checkpoint.extensions.isEmpty)
        #expect(checkpoint.text == note.text)
        #expect(note.signatures[0].keyID == 0x033d_e0ae)
    }

    /// Vectors signed by an independent implementation (`Contracts/vectors/tiles/generate.py`).
    @Test(arguments: ["note/pdx-checkpoint-70000.note", "note/pdx-checkpoint-extensions.note"])
    func independentVectorsVerifyAndAreReproduced(path: String) throws {
        let serialized = try NoteVectors.text(path)
        let signer = try NoteVectors.pdxSigner()
        #expect(signer.verifierKey + "\n" == (try NoteVectors.text("note/pdx.vkey")))
        let note = try SignedNote.parse(serialized)
        let (checkpoint, signers) = try note.verifiedCheckpoint(with: [signer.verifier])
        #expect(signers == [signer.verifier])
        #expect(checkpoint.origin == "pdx.example/audit")
        #expect(try checkpoint.sign(with: [signer]).serialized == serialized)
        if path.hasSuffix("extensions.note") {
            #expect(checkpoint.size == 258)
            #expect(checkpoint.extensions == ["extension one", "éxtension two"])
        } else {
            #expect(checkpoint.size == 70000)
        }
    }

    static let root = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="

    @Test(arguments: [
        "",
        "o\n1\n\(root)",
        "o\n1\n",
        "\n1\n\(root)\n",
        "o\n01\n\(root)\n",
        "o\n+1\n\(root)\n",
        "o\n-1\n\(root)\n",
        "o\n\n\(root)\n",
        "o\n1 \n\(root)\n",
        "o\n18446744073709551616\n\(root)\n",
        "o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urqw==\n",
        "o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=\n",
        "o\n1\n\(root)\n\n",
        "o\n1\n\(root)\next\n\n",
        "o\r\n1\n\(root)\n",
    ])
    func malformedCheckpointsAreRejected(text: String) {
        #expect(code { _ = try Checkpoint.parse(text) } == "malformed_checkpoint")
    }

    @Test func aCheckpointMustBeSignedByAKeyNamedAfterItsOrigin() throws {
        let signer = try NoteSigner(name: "pdx.example/audit", key: Ed25519PrivateKey())
        let elsewhere = Checkpoint(origin: "other.example/log", size: 0, rootHash: MerkleHash.emptyTree)
        let note = try elsewhere.sign(with: [signer])
        #expect(try note.verify(with: [signer.verifier]) == [signer.verifier])
        #expect(code { _ = try note.verifiedCheckpoint(with: [signer.verifier]) } == "origin_mismatch")

        let notACheckpoint = try SignedNote.sign("hello\n", with: [signer])
        #expect(code { _ = try notACheckpoint.verifiedCheckpoint(with: [signer.verifier]) } == "malformed_checkpoint")
        #expect(code { _ = try Checkpoint(origin: "", size: 0, rootHash: MerkleHash.emptyTree).sign(with: [signer]) }
            == "malformed_checkpoint")
    }
}
