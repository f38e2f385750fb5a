import AuditLog
import Cryptography
import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Marketplace
import NIOCore

/// The auditor's export download: the log up to its latest checkpoint, written by the code that
/// writes `pdx audit export`, as one tar file, with the `pdx-verify` command to run on it.
extension ConsoleRoutes {
    static var exportPath: String { "/console/audit/export" }

    /// The audit page's section: the link, and what to run on the file.
    func exportSection(_ language: ConsoleLanguage) async throws -> String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        var body = "<h2>\(t(.exportTitle))</h2>"
        guard let note = try await dependencies.log.latestCheckpoint(), let checkpoint = try? Checkpoint.parse(note.text) else {
            return body + "<p>\(t(.noCheckpoint))</p>"
        }
        let name = Self.exportName(checkpoint.size)
        let keys = try await dependencies.log.verifierKeysInForce()
        body += """
            <p>\(t(.exportIntro))</p>
            <p><a id="export-download" href="\(Self.exportPath)" download>\(t(.exportDownload)) (\(name).tar)</a></p>
            <p>\(t(.exportVerifyIntro))</p>
            <pre id="export-vkey">\(escape(keys.joined(separator: "\n")))</pre>
            <pre id="export-command">tar -xf \(name).tar
            pdx-verify \(name) --vkey pdx.vkey</pre>
            """
        return body
    }

    /// The directory the tar file holds, named by the checkpoint's size.
    static func exportName(_ size: UInt64) -> String { "pdx-audit-\(size)" }

    func export(_ session: ConsoleSession, _ language: ConsoleLanguage) async throws -> Response {
        guard EntryBrowser.roles.contains(session.principal.role) else {
            return errorPage(.forbidden, .forbiddenTitle, .forbiddenText, language, session: session)
        }
        guard let note = try await dependencies.log.latestCheckpoint(), let checkpoint = try? Checkpoint.parse(note.text) else {
            return errorPage(.conflict, .exportTitle, .noCheckpoint, language, session: session)
        }
        let name = Self.exportName(checkpoint.size)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pdx-console-export-\(Hex.encode(try dependencies.random.bytes(16)))").path
        let members: [(path: String, size: Int)]
        do {
            _ = try await dependencies.log.export(checkpoint: note, to: directory)
            members = try TarFile.files(under: directory).map { path in
                let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + path)
                return (path, (attributes[.size] as? NSNumber)?.intValue ?? 0)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/x-tar"
        headers[.contentDisposition] = "attachment; filename=\"\(name).tar\""
        // The tar is written into the response as it is read from the export's files, a piece at a
        // time, so the server's memory does not grow with the log; the directory goes once it is sent
        // (or the client goes away).
        let length = members.reduce(TarFile.endLength) { $0 + TarFile.memberLength($1.size) }
        let body = ResponseBody(contentLength: length) { writer in
            defer { try? FileManager.default.removeItem(atPath: directory) }
            for member in members {
                try await writer.write(ByteBuffer(bytes: try TarFile.header(name + "/" + member.path, size: member.size)))
                guard let file = FileHandle(forReadingAtPath: directory + "/" + member.path) else { throw TarFile.FileChanged() }
                defer { try? file.close() }
                var written = 0
                while written < member.size {
                    guard let piece = try file.read(upToCount: min(TarFile.pieceSize, member.size - written)), !piece.isEmpty else {
                        throw TarFile.FileChanged()
                    }
                    try await writer.write(ByteBuffer(bytes: piece))
                    written += piece.count
                }
                try await writer.write(ByteBuffer(repeating: 0, count: TarFile.padding(member.size)))
            }
            try await writer.write(ByteBuffer(repeating: 0, count: TarFile.endLength))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// A POSIX ustar archive of regular files: written piece by piece into a response, or built in memory
/// (`append`, `finished`). Every member has mode 0644, owner 0 and
/// time 0, so the same export gives the same bytes.
struct TarFile {
    private(set) var bytes: [UInt8] = []

    /// A member too long for a ustar name.
    struct NameTooLong: Error {}

    /// A member's file changed size or vanished while it was being sent.
    struct FileChanged: Error {}

    /// How much of a file is read and sent at a time.
    static let pieceSize = 64 * 1024
    /// The archive's end: two zero blocks.
    static let endLength = 1024

    /// The bytes a member of `size` bytes takes: its header, its contents and their padding.
    static func memberLength(_ size: Int) -> Int { 512 + size + padding(size) }

    /// The zeros that fill a member's contents up to a whole block.
    static func padding(_ size: Int) -> Int { (512 - size % 512) % 512 }

    mutating func append(_ path: String, contents: [UInt8]) throws {
        bytes += try Self.header(path, size: contents.count)
        bytes += contents
        bytes += [UInt8](repeating: 0, count: Self.padding(contents.count))
    }

    /// The ustar header of a regular file `path` of `size` bytes.
    static func header(_ path: String, size: Int) throws -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        let name = Array(path.utf8)
        if name.count <= 100 {
            header.replaceSubrange(0..<name.count, with: name)
        } else {
            // Longer names split at a slash: up to 155 bytes of prefix, up to 100 of name.
            guard let slash = name.indices.last(where: { name[$0] == UInt8(ascii: "/") && $0 <= 155 && name.count - $0 - 1 <= 100 }),
                  slash > 0 else { throw NameTooLong() }
            header.replaceSubrange(0..<(name.count - slash - 1), with: name[(slash + 1)...])
            header.replaceSubrange(345..<(345 + slash), with: name[..<slash])
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = Array(String(value, radix: 8).utf8)
            let padded = [UInt8](repeating: UInt8(ascii: "0"), count: width - 1 - digits.count) + digits
            header.replaceSubrange(offset..<(offset + width - 1), with: padded)
        }
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        header[156] = UInt8(ascii: "0")
        header.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        header.replaceSubrange(148..<156, with: [UInt8](repeating: UInt8(ascii: " "), count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        return header
    }

    /// The regular files under `directory`, as paths relative to it, sorted: the tar's order does not
    /// depend on the file system's.
    static func files(under directory: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var paths: [String] = []
        while let path = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            paths.append(path)
        }
        return paths.sorted()
    }

    /// The archive with its end: two zero blocks.
    func finished() -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: Self.endLength)
    }
}
