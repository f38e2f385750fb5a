import ArgumentParser
import AuditLog
import BuildInfo
import Cryptography
import Foundation
import Licensing
import Metering
import Replay
import Settlement
import TerminalOutput

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `pdx-verify DIR [--vkey FILE] [--previous DIR]`: checks an audit-log export end to end, and that it
/// extends an earlier one.
struct PDXVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdx-verify",
        abstract: "Verify an audit-log export (a C2SP tlog-tiles directory) against its signed checkpoint.",
        discussion: """
            Checks the checkpoint's Ed25519 signature and that its origin is the key's name, that the \
            directory holds nothing the checkpoint does not cover, that every entry is RFC 8785 canonical \
            JSON whose "seq" is its index, that every hash tile matches the tree recomputed from the \
            entries, and that the recomputed root is the signed one.

            Then it replays every entry under the marketplace's rules — operators through the vetting \
            lifecycle, grants through the grant rules and their approvals, every usage event through \
            the grant check and the quotas, every closed period through the settlement rules — and \
            checks that each entry follows from the ones before it. Each --settlement report is \
            compared with the settlement recomputed from the log. Discrepancies between declared and \
            provider-reported usage that finance acknowledged before the close (or in periods still \
            open) are listed as `pdx-verify: NOTICE <code> at <where>: <why>` and do not change the \
            exit status; an unacknowledged one in a closed period is a finding.

            Exit status: 0 when everything verifies against a key pinned with --vkey; 1 when something \
            does not, with a line `pdx-verify: FAIL <code> at <where>: <why>` for the first problem (and \
            for each further finding of the replay); 2 for usage errors; 3 when everything verifies but \
            only against the export's own vkey (no --vkey): the export agrees with itself, but whoever \
            wrote it could have signed it, so a script must not take 3 for authentic.

            With --format json the result is one JSON document on standard output instead of the lines: \
            result (verified, verified_unpinned or failed), exit_code, the log (origin, size, root_hash), \
            findings and notices (each with its code, location, entry_index when it is an entry, and reason), \
            the reports and disclosures confirmed. Usage errors (2) stay text on standard error.

            Values quoted from the export (ids, reasons, actions) are printed with control characters \
            and bidirectional-text controls escaped as \\u{…}, so a line reads as it is stored.
            """,
        version: "pdx-verify \(BuildInfo.versionLine)")

    @Argument(help: "The export directory (holding checkpoint, vkey and tile/).")
    var directory: String

    @Option(
        name: .customLong("vkey"),
        help: ArgumentHelp(
            "File with the log's verifier key(s), one per line, obtained out of band.",
            discussion: "Without it the export's own vkey file is used, which only shows the export is consistent with itself; success then exits 3, not 0.",
            valueName: "file"))
    var vkey: String?

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp(
            "A witness's cosignature verifier key (C2SP tlog-cosignature, Ed25519), obtained from its authority, or a file of them, one per line; repeatable.",
            discussion: "The export's checkpoint must carry a valid cosignature by at least --min-witnesses of them (all of them by default): each witness cosigns only checkpoints consistent with every one it cosigned before, so K of them vouch that nobody was shown another history.",
            valueName: "vkey-or-file"))
    var witnesses: [String] = []

    @Option(
        name: .customLong("min-witnesses"),
        help: ArgumentHelp("How many of the --witness keys must have cosigned the checkpoint. Default: all of them.", valueName: "K"))
    var minWitnesses: Int?

    @Option(
        name: .customLong("settlement"),
        help: ArgumentHelp(
            "A settlement report (JSON, CSV or XLSX, the whole report or one party's statement) to check against the log; repeatable.",
            valueName: "report"))
    var settlements: [String] = []

    @Option(
        name: .customLong("disclosure"),
        help: ArgumentHelp(
            "A personal-data disclosure (`pdx audit disclose`) whose values to check against the log's commitments; repeatable.",
            valueName: "file"))
    var disclosures: [String] = []

    @Option(
        name: .customLong("disclosure-report"),
        help: ArgumentHelp(
            "An annual public announcement (`pdx disclosure --out DIR`) to re-derive from the log, file by file, byte for byte.",
            discussion: "It is derived from the log's first entries, as many as its disclosure.json names: the export must hold at least as many.",
            valueName: "directory"))
    var disclosureReport: String?

    @Option(
        name: .customLong("format"),
        help: ArgumentHelp("text (lines for a person) or json (one JSON document for a script).", valueName: "format"))
    var format: VerifyOutputFormat = .text

    @Flag(
        name: .customLong("integrity-only"),
        help: "Check only that the export is the signed log; do not replay its entries.")
    var integrityOnly = false

    @Option(
        name: .customLong("temp-dir"),
        help: ArgumentHelp(
            "Directory for the replay's temporary file (default: $TMPDIR, else /tmp).",
            discussion: "A log whose usage event ids outgrow a fixed buffer (about 48 MB) has them sorted into runs in one temporary file, to find an id counted twice in memory that does not grow with the log. The file is removed as soon as it is created, so nothing is left behind on any exit.",
            valueName: "directory"))
    var temporaryDirectory: String?

    /// How many usage event ids the replay buffers before it spills a sorted run; for tests that
    /// need many runs from a small log.
    @Option(name: .customLong("event-id-run-records"), help: .private)
    var eventIDRunRecords: Int?

    @Option(
        name: .customLong("previous"),
        help: ArgumentHelp(
            "An earlier export of the same log, e.g. the one kept from the last audit.",
            discussion: "Verifies it too, with the same keys, and checks with an RFC 9162 consistency proof that this export extends it: that nobody rewrote history between the two checkpoints.",
            valueName: "directory"))
    var previous: String?

    func validate() throws {
        var status = stat()
        guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw ValidationError("\(directory) is not a directory")
        }
        if let previous {
            guard stat(previous, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw ValidationError("\(previous) is not a directory")
            }
        }
        if let temporaryDirectory {
            guard stat(temporaryDirectory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw ValidationError("--temp-dir \(temporaryDirectory) is not a directory")
            }
        }
        // The key file is read once, in execute(): it may be a pipe (`--vkey <(pdx audit vkey)`).
        let witnessKeys = try Self.witnessKeys(witnesses)
        if let minWitnesses {
            guard !witnessKeys.isEmpty else { throw ValidationError("--min-witnesses needs --witness keys to count") }
            guard (1...witnessKeys.count).contains(minWitnesses) else {
                throw ValidationError("--min-witnesses must be 1 through the number of --witness keys (\(witnessKeys.count))")
            }
        }
        if integrityOnly && !settlements.isEmpty {
            throw ValidationError("--settlement needs the replay; leave out --integrity-only")
        }
        if integrityOnly && !disclosures.isEmpty {
            throw ValidationError("--disclosure needs the replay; leave out --integrity-only")
        }
        if integrityOnly && disclosureReport != nil {
            throw ValidationError("--disclosure-report needs the replay; leave out --integrity-only")
        }
    }

    /// The exit statuses, part of the interface: a script may read nothing else.
    enum ExitStatus {
        /// Everything verifies, against a key pinned with `--vkey`.
        static let verified: Int32 = 0
        /// A finding.
        static let failed: Int32 = 1
        /// A usage error: no such directory, an unreadable key file or report.
        static let usage: Int32 = 2
        /// Everything verifies, but only against the export's own `vkey`, which whoever wrote the
        /// export controls: consistent with itself, not shown authentic.
        static let unpinned: Int32 = 3
    }

    /// Parses `arguments`, verifies, prints the report and returns the exit status; `output` takes
    /// each line for standard output, `errorOutput` text for standard error.
    static func runProcess(arguments: [String], output: (String) -> Void = { print($0) },
                           errorOutput: (String) -> Void = writeToStandardError) -> Int32 {
        // Asked before the arguments are checked: `pdx-verify --version` names no directory.
        if arguments.prefix(while: { $0 != "--" }).contains("--version") {
            output(configuration.version)
            return ExitStatus.verified
        }
        let command: PDXVerify
        do {
            command = try parse(arguments)
        } catch {
            if exitCode(for: error).isSuccess {
                output(escaped(fullMessage(for: error), keepingNewlines: true))
                return ExitStatus.verified
            }
            errorOutput(escaped(fullMessage(for: error), keepingNewlines: true) + "\n")
            return ExitStatus.usage
        }
        return command.execute(output: output, errorOutput: errorOutput)
    }

    /// Runs the verification and returns the exit status (``ExitStatus``).
    func execute(output: (String) -> Void = { print($0) }, errorOutput: (String) -> Void = writeToStandardError) -> Int32 {
        guard format == .json else { return verify(output: output, errorOutput: errorOutput, document: nil) }
        let document = VerifyDocument(directory: directory)
        let status = verify(output: { _ in }, errorOutput: errorOutput, document: document)
        guard status != ExitStatus.usage else { return status }
        output(document.rendered(exitCode: status))
        return status
    }

    /// The verification; `document`, when given, collects what the JSON output says.
    private func verify(output: (String) -> Void, errorOutput: (String) -> Void, document: VerifyDocument?) -> Int32 {
        let keys: ExportVerifier.Keys
        if let vkey {
            do {
                keys = .pinned(try Self.pinnedKeys(from: vkey))
            } catch {
                errorOutput(Self.escaped("pdx-verify: \(error)", keepingNewlines: true) + "\nUsage: \(Self.usageString())\n")
                return ExitStatus.usage
            }
        } else {
            keys = .exportVerifierKey
        }
        var reports: [(path: String, bytes: [UInt8])] = []
        for path in settlements {
            guard let bytes = Self.readFile(path, limit: 1 << 30) else {
                errorOutput(Self.singleLine("pdx-verify: cannot read the report \(path)") + "\nUsage: \(Self.usageString())\n")
                return ExitStatus.usage
            }
            reports.append((path, bytes))
        }
        var disclosed: [(path: String, bytes: [UInt8])] = []
        for path in disclosures {
            guard let bytes = Self.readFile(path, limit: 1 << 26) else {
                errorOutput(Self.singleLine("pdx-verify: cannot read the disclosure \(path)") + "\nUsage: \(Self.usageString())\n")
                return ExitStatus.usage
            }
            disclosed.append((path, bytes))
        }
        var announcement: (directory: String, files: [String: [UInt8]], year: Int, logSize: UInt64)?
        if let disclosureReport {
            var files: [String: [UInt8]] = [:]
            // Only the announcement's own files are read (each at most 256 MiB); any other name is
            // noted as there, unread.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: disclosureReport)) ?? [] {
                files[name] = AnnualDisclosure.fileNames.contains(name)
                    ? Self.readFile((disclosureReport as NSString).appendingPathComponent(name), limit: 1 << 28) : []
            }
            guard let json = files["disclosure.json"], let header = AnnualDisclosure.header(of: json) else {
                errorOutput(Self.singleLine("pdx-verify: \(disclosureReport) holds no disclosure.json of a `pdx disclosure`")
                            + "\nUsage: \(Self.usageString())\n")
                return ExitStatus.usage
            }
            announcement = (disclosureReport, files, header.year, header.logSize)
        }
        let success = if case .pinned = keys { ExitStatus.verified } else { ExitStatus.unpinned }
        let display = TerminalProgress("pdx-verify: verified")
        var limits = EventIDLedger.Limits.standard
        if let eventIDRunRecords { limits.records = max(1, eventIDRunRecords) }
        var replay = LogReplay(temporaryDirectory: temporaryDirectory, eventIDLimits: limits)
        // The announcement is derived from the log's first entries: a replay of those alone.
        var announcementReplay = announcement.map { _ in LogReplay(temporaryDirectory: temporaryDirectory, eventIDLimits: limits) }
        let announcementSize = announcement?.logSize ?? 0
        let replaying = !integrityOnly
        var announced = KeyAnnouncements()
        let collecting = previous != nil
        var verdict = ExportVerifier(directory: directory, keys: keys).verify(progress: display.update) { seq, bytes in
            if replaying { replay.apply(bytes: bytes, seq: seq) }
            if seq < announcementSize { announcementReplay?.apply(bytes: bytes, seq: seq) }
            if collecting { announced.scan(bytes, seq: seq) }
        }
        var extends = ""
        if let previous, case .verified(let summary) = verdict {
            // The previous checkpoint may be signed by a key this log announced and later retired:
            // it is trusted through the current export, which the pinned key vouches for and which
            // the consistency proof shows extends it.
            var previousKeys = keys
            if case .pinned(let pinned) = keys {
                previousKeys = .pinned(pinned + announced.keys.filter { !pinned.contains($0) })
            }
            switch ExportConsistency(previous: previous, current: directory, keys: previousKeys)
                .verify(current: summary, progress: display.update) {
            case .verified(let both):
                extends = " " + Self.extensionReport(both, previous: previous, pinned: keys)
            case .failed(let finding): verdict = .failed(finding)
            }
        }
        if case .failed(var finding) = verdict, finding.code == "checkpoint_key_unknown", case .pinned = keys {
            finding.reason += Self.rotationHint(directory: directory)
            verdict = .failed(finding)
        }
        display.finish()
        let summary: ExportSummary
        switch verdict {
        case .verified(let verified):
            summary = verified
        case .failed(let finding):
            document?.findings.append(.init(code: finding.code, location: finding.location, reason: finding.reason))
            output(Self.singleLine("pdx-verify: FAIL \(finding.code) at \(finding.location): \(finding.reason)"))
            return ExitStatus.failed
        }
        if !witnesses.isEmpty {
            switch checkCosignatures() {
            case .success(let report):
                extends += " " + report
            case .failure(let finding):
                document?.findings.append(.init(code: finding.code, location: finding.location, reason: finding.reason))
                output(Self.singleLine("pdx-verify: FAIL \(finding.code) at \(finding.location): \(finding.reason)"))
                return ExitStatus.failed
            }
        }
        document?.summary = summary
        document?.previousDirectory = previous
        guard replaying else {
            output(Self.report(summary, directory: directory) + extends)
            return success
        }
        document?.replayed = true
        replay.finish()
        if let problem = replay.temporarySpaceProblem {
            errorOutput(Self.singleLine("pdx-verify: warning: \(problem); the usage event ids were kept in memory instead") + "\n")
        }
        var findings = replay.findings
        var confirmations: [(path: String, confirmation: ReportConfirmation)] = []
        for report in reports {
            switch replay.checkReport(report.bytes, name: report.path) {
            case .success(let confirmation): confirmations.append((report.path, confirmation))
            case .failure(let finding): findings.append(finding)
            }
        }
        var confirmedAnnouncement: (directory: String, year: Int, logSize: UInt64)?
        if let announcement, var derivation = announcementReplay {
            if announcement.logSize > summary.checkpoint.size {
                findings.append(ReplayFinding(.disclosureReportDiffers, at: announcement.directory,
                                              "it was derived from \(announcement.logSize) entries; the export holds \(summary.checkpoint.size)"))
            } else {
                derivation.finish()
                let derived = AnnualDisclosure(year: announcement.year, replay: &derivation, logSize: announcement.logSize)
                let differences = derived.differences(from: announcement.files, directory: announcement.directory)
                findings += differences
                if differences.isEmpty { confirmedAnnouncement = (announcement.directory, announcement.year, announcement.logSize) }
            }
        }
        var opened: [(path: String, confirmation: DisclosureConfirmation)] = []
        for disclosure in disclosed {
            switch replay.checkDisclosure(disclosure.bytes, name: disclosure.path) {
            case .confirmed(let confirmation): opened.append((disclosure.path, confirmation))
            case .mismatched(let found): findings += found
            }
        }
        // Notices are lawful but an auditor should see them: discrepancies between declared and
        // provider-reported usage that finance acknowledged, or in periods not closed yet.
        let notices = replay.notices.prefix(Self.findingsShown).map {
            Self.singleLine("pdx-verify: NOTICE \($0.code.rawValue) at \($0.location): \($0.reason)")
        }
        document?.notices = replay.notices.prefix(Self.findingsShown).map { .init(code: $0.code.rawValue, location: $0.location, reason: $0.reason) }
        document?.findings = findings.prefix(Self.findingsShown).map { .init(code: $0.code.rawValue, location: $0.location, reason: $0.reason) }
        document?.findingsNotShown = replay.findingCount + (findings.count - replay.findings.count) - min(findings.count, Self.findingsShown)
        document?.reports = confirmations
        document?.disclosures = opened
        guard findings.isEmpty else {
            for finding in findings.prefix(Self.findingsShown) {
                output(Self.singleLine("pdx-verify: FAIL \(finding.code.rawValue) at \(finding.location): \(finding.reason)"))
            }
            let more = replay.findingCount + (findings.count - replay.findings.count) - min(findings.count, Self.findingsShown)
            if more > 0 { output("pdx-verify: \(more) more \(more == 1 ? "finding" : "findings") not shown") }
            notices.forEach(output)
            return ExitStatus.failed
        }
        output(Self.report(summary, directory: directory) + extends)
        output(Self.singleLine(Self.replayReport(replay.state)))
        notices.forEach(output)
        for (path, confirmation) in confirmations {
            output(Self.singleLine(Self.settlementReport(confirmation, path: path)))
        }
        for (path, confirmation) in opened {
            output(Self.singleLine(Self.disclosureReport(confirmation, path: path)))
        }
        if let confirmed = confirmedAnnouncement {
            output(Self.singleLine("pdx-verify: OK. \(confirmed.directory) is the \(confirmed.year) disclosure the log's first "
                                   + "\(grouped(confirmed.logSize)) entries derive, every file byte for byte."))
        }
        return success
    }

    /// Replay findings printed; the rest are counted.
    static let findingsShown = 50

    /// What the replay rebuilt, in one line.
    static func replayReport(_ state: ReplayState) -> String {
        let grants = state.grants.values.map(\.grant)
        let inForce = grants.filter { $0.status == .active }.count
        let closed = state.settlements.keys.sorted().map(\.description)
        let closedText = closed.isEmpty ? "no closed period" : "closed \(closed.joined(separator: ", ")), each recomputed to the same totals and report digests as its settlement.closed entry"
        return """
            pdx-verify: OK. Replayed \(state.entryCount == 1 ? "the 1 entry" : "all \(grouped(state.entryCount)) entries") \
            under the marketplace's rules and found nothing unlawful: \(counted(state.authorities.count, "authority", "authorities")), \
            \(counted(state.principals.count, "principal")), \
            \(counted(state.operatorRecords.count, "operator")) (each step re-run through the vetting lifecycle), \
            \(counted(grants.count, "grant")) (\(inForce) in force; every decision by an eligible reviewer, every activation with its \
            approvals and within its ceilings), \(counted(max(0, state.eventCount), "usage event")) in \
            \(counted(state.counters.count, "counter")) (each under a grant in force, within quota, counted once), \(closedText).
            """
    }

    /// One report file confirmed.
    static func settlementReport(_ confirmation: ReportConfirmation, path: String) -> String {
        let whose = confirmation.party.map { "\($0)'s statement" } ?? "the whole report"
        let logged = confirmation.digestLogged
            ? "its SHA-256 \(confirmation.sha256) is the one entry \(confirmation.closeSeq) records"
            : "byte for byte the statement rendered from the recomputed settlement (closed at entry \(confirmation.closeSeq))"
        return """
            pdx-verify: OK. \(path) is \(whose) of \(confirmation.period) (\(confirmation.format.rawValue), \
            \(counted(confirmation.lineCount, "line")), gross \(confirmation.totals.grossMinor) minor units) exactly as recomputed from \
            the log; \(logged).
            """
    }

    /// One disclosure confirmed.
    static func disclosureReport(_ confirmation: DisclosureConfirmation, path: String) -> String {
        var text = "pdx-verify: OK. \(path) discloses \(confirmation.subject): \(confirmation.opened) "
            + "\(confirmation.opened == 1 ? "value opens its commitment" : "values open their commitments") in the log"
        if confirmation.unlogged > 0 {
            text += "; \(confirmation.unlogged) never logged, so not checked"
        }
        if confirmation.erased > 0 {
            text += "; \(confirmation.erased) erased, as the log records"
        }
        return text + "."
    }

    /// A whole file, or nil when it cannot be read or is larger than `limit`.
    static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[0..<count]
            if bytes.count > limit { return nil }
            if count < chunk.count { return ferror(file) == 0 ? bytes : nil }
        }
    }

    /// The success paragraph: what was checked, the log, its size and root, and which key vouches for it.
    /// The export's checkpoint counted against `--witness` and `--min-witnesses`: a sentence naming
    /// the witnesses that cosigned, or the finding `cosignature_invalid` (a witness's line that does
    /// not verify) or `too_few_cosignatures`.
    func checkCosignatures() -> Result<String, ExportFinding> {
        let location = "\(directory)/checkpoint"
        let verifiers = (try? Self.witnessKeys(witnesses)) ?? []
        guard let bytes = Self.readFile(location, limit: 1 << 20), let note = try? SignedNote.parse(bytes: bytes) else {
            return .failure(ExportFinding(code: "checkpoint_malformed", location: location, reason: "the checkpoint cannot be read as a signed note"))
        }
        let (valid, invalid) = note.cosignatures(by: verifiers)
        if let bad = invalid.first {
            return .failure(ExportFinding(code: "cosignature_invalid", location: location,
                                          reason: "the cosignature by \(bad) does not verify over this checkpoint"))
        }
        let needed = minWitnesses ?? verifiers.count
        let names = valid.map { "\($0.witness.name) (at \(Timestamp.format(Int64(min($0.time, 253_402_300_799)) * 1000)))" }
        guard valid.count >= needed else {
            let missing = verifiers.filter { key in !valid.contains { $0.witness == key } }.map(\.keyDescription)
            return .failure(ExportFinding(
                code: "too_few_cosignatures", location: location,
                reason: "\(valid.count) of the \(verifiers.count) witnesses named cosigned the checkpoint, \(needed) needed; missing: \(missing.joined(separator: ", "))"))
        }
        return .success("Cosigned by \(valid.count) of \(verifiers.count) witnesses (\(needed) needed): \(names.joined(separator: ", ")).")
    }

    static func report(_ summary: ExportSummary, directory: String) -> String {
        let checkpoint = summary.checkpoint
        let keys = summary.signers.map(\.keyDescription).joined(separator: " and ")
        let trust = summary.keyIsPinned
            ? "signed by \(keys), pinned with --vkey."
            : "signed by \(keys), using the export's own vkey (not pinned): this shows the export is "
                + "consistent with itself, not who made it, so the exit status is 3, not 0; pass --vkey with a key "
                + "obtained out of band to check that."
        return singleLine("""
            pdx-verify: OK. The export in \(directory) verifies: log "\(checkpoint.origin)", \
            \(grouped(checkpoint.size)) \(checkpoint.size == 1 ? "entry" : "entries"), \
            root hash \(Base64.encode(checkpoint.rootHash.bytes)) (hex \(checkpoint.rootHash.hex)). \
            Every entry is canonical JSON with its index as "seq", every hash tile matches the tree \
            recomputed from the entries, nothing lies beyond the checkpoint, and the recomputed root is \
            the one in the checkpoint, \(trust)
            """)
    }

    /// After `checkpoint_key_unknown` with pinned keys: if the export verifies with its own keys and
    /// its log announced the key that signed it (`log.key_added`), says so, for the log's key was
    /// rotated. Empty otherwise.
    static func rotationHint(directory: String) -> String {
        var announced = KeyAnnouncements()
        guard case .verified(let summary) = ExportVerifier(directory: directory, keys: .exportVerifierKey)
            .verify(entry: { seq, bytes in announced.scan(bytes, seq: seq) })
        else { return "" }
        for signer in summary.signers {
            guard let seq = announced.added.first(where: { $0.key == signer })?.seq else { continue }
            return """
                . The checkpoint is signed by \(signer.keyDescription), which entry \(seq) of this export's log announces \
                as the log's next key (log.key_added): the signing key was rotated. Verify an export made during the \
                rollover with the key you have (its checkpoints carry both signatures and cover the announcement), \
                then add the new key to your --vkey file and pass the older export with --previous
                """
        }
        return ""
    }

    /// The sentence `--previous` adds: which earlier export this one extends, and how that was shown.
    static func extensionReport(_ both: ExportConsistencySummary, previous: String, pinned: ExportVerifier.Keys) -> String {
        let old = both.previous.checkpoint
        let new = both.current.checkpoint
        let keys = both.previous.signers.map(\.keyDescription).joined(separator: " and ")
        var trust = both.previous.keyIsPinned ? "pinned with --vkey" : "using that export's own vkey (not pinned)"
        if case .pinned(let pinnedKeys) = pinned, !both.previous.signers.contains(where: pinnedKeys.contains) {
            trust = "a key this log announced (log.initialized or log.key_added), trusted through the consistency proof from the export the pinned key vouches for"
        }
        let how = if old.size == new.size {
            "it is the same tree"
        } else if old.size == 0 {
            "an empty log is a prefix of every log"
        } else {
            "consistency proof from \(grouped(old.size)) to \(grouped(new.size)) entries verified"
        }
        return singleLine("""
            It extends the previous export in \(previous) of \(grouped(old.size)) \(old.size == 1 ? "entry" : "entries"), \
            root hash \(Base64.encode(old.rootHash.bytes)), signed by \(keys), \(trust) (\(how)).
            """)
    }

    /// Reads a key file given on the command line; a usage error if it is unreadable or holds no valid key.
    /// The witness keys named by `--witness`: each argument a verifier key, or a file of them, one
    /// per line (read in `validate()` already: a witness key file is small and not a pipe).
    static func witnessKeys(_ arguments: [String]) throws -> [CosignatureVerifier] {
        var keys: [CosignatureVerifier] = []
        for argument in arguments {
            if let key = try? CosignatureVerifier(verifierKey: argument) {
                keys.append(key)
                continue
            }
            guard let bytes = readFile(argument, limit: 1 << 16), let text = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError("--witness \(argument) is neither a witness's verifier key nor a readable file of them")
            }
            do {
                keys += try CosignatureVerifier.list(from: text)
            } catch {
                throw ValidationError("--witness \(argument): \(error.detail)")
            }
        }
        var distinct: [CosignatureVerifier] = []
        for key in keys where !distinct.contains(key) { distinct.append(key) }
        return distinct
    }

    static func pinnedKeys(from path: String) throws -> [NoteVerifier] {
        guard let bytes = readFile(path, limit: 1 << 16) else {
            throw ValidationError("cannot read the key file \(path), or it is larger than 64 KiB")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ValidationError("\(path) is not a text file of verifier keys")
        }
        do {
            return try NoteVerifier.list(from: text)
        } catch {
            throw ValidationError("\(path): \(error.detail)")
        }
    }

    /// Keeps a report on one line whatever file names or texts it quotes.
    static func singleLine(_ text: String) -> String {
        escaped(text, keepingNewlines: false)
    }

    /// `text` with every control character and every bidirectional-text control written as
    /// `\u{hex}`: values quoted from a hostile export must not move the cursor, recolour the
    /// terminal or reorder what a line appears to say (Trojan Source, CVE-2021-42574).
    static func escaped(_ text: String, keepingNewlines: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if keepingNewlines && scalar == "\n" || !isEscaped(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates.
    static func isEscaped(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `value` grouped, then the noun in the number it takes: "1 grant", "0 grants", "1,204 entries".
    static func counted(_ value: some BinaryInteger, _ singular: String, _ plural: String? = nil) -> String {
        "\(grouped(UInt64(clamping: value))) \(value == 1 ? singular : plural ?? singular + "s")"
    }
}

/// The verifier keys a log announces (`log.initialized`, `log.key_added`), read from entries that
/// were already checked to be canonical; only entries whose bytes name a `log.` action are decoded.
struct KeyAnnouncements {
    /// Every key announced, in log order.
    private(set) var keys: [NoteVerifier] = []
    /// The keys announced by `log.key_added`, with the entry that did.
    private(set) var added: [(key: NoteVerifier, seq: UInt64)] = []
    /// The verifier keys of `keys`: a log may announce many, and a scan per entry would be quadratic.
    private var seen: Set<String> = []

    private static let marker = Array(#""action":"log."#.utf8)

    mutating func scan(_ bytes: ArraySlice<UInt8>, seq: UInt64) {
        guard bytes.firstRange(of: Self.marker) != nil, let entry = try? AuditEntry(decoding: bytes) else { return }
        let data = entry.record.data
        var vkeys: [String] = []
        switch entry.record.action {
        case LogKeys.initializedAction: vkeys = data["vkeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        case LogKeys.addedAction: vkeys = data["vkey"]?.stringValue.map { [$0] } ?? []
        default: return
        }
        for vkey in vkeys {
            guard let verifier = try? NoteVerifier(verifierKey: vkey), seen.insert(verifier.verifierKey).inserted else { continue }
            keys.append(verifier)
            if entry.record.action == LogKeys.addedAction { added.append((verifier, seq)) }
        }
    }
}

/// `--format`: lines for a person, or one JSON document for a script.
enum VerifyOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// What `pdx-verify --format json` prints: the verdict, the exit code, the log, and every finding
/// with its code and, when it is about an entry, the entry's index.
final class VerifyDocument {
    struct Finding {
        let code: String
        let location: String
        let reason: String

        /// The index of the entry the finding is about (`entry 12`), or nil for a file, a report line
        /// or the export as a whole.
        var entryIndex: UInt64? {
            guard location.hasPrefix("entry ") else { return nil }
            return UInt64(location.dropFirst("entry ".count))
        }

        var json: JSONValue {
            .object([
                "code": JSONValue(code), "location": JSONValue(location), "reason": JSONValue(reason),
                "entry_index": entryIndex.map { JSONValue($0) } ?? .null,
            ])
        }
    }

    let directory: String
    var summary: ExportSummary?
    var previousDirectory: String?
    var replayed = false
    var findings: [Finding] = []
    var findingsNotShown = 0
    var notices: [Finding] = []
    var reports: [(path: String, confirmation: ReportConfirmation)] = []
    var disclosures: [(path: String, confirmation: DisclosureConfirmation)] = []

    init(directory: String) { self.directory = directory }

    /// The document as one line of RFC 8785 canonical JSON.
    func rendered(exitCode: Int32) -> String {
        let result = switch exitCode {
        case PDXVerify.ExitStatus.verified: "verified"
        case PDXVerify.ExitStatus.unpinned: "verified_unpinned"
        default: "failed"
        }
        let log: JSONValue = summary.map { summary in
            .object([
                "origin": JSONValue(summary.checkpoint.origin), "size": JSONValue(summary.checkpoint.size),
                "root_hash": JSONValue(Base64.encode(summary.checkpoint.rootHash.bytes)),
                "key_pinned": JSONValue(summary.keyIsPinned),
                "signers": .array(summary.signers.map { JSONValue($0.keyDescription) }),
            ])
        } ?? .null
        let document: JSONValue = .object([
            "result": JSONValue(result), "exit_code": JSONValue(Int(exitCode)), "directory": JSONValue(directory),
            "log": log, "replayed": JSONValue(replayed), "previous": previousDirectory.map { JSONValue($0) } ?? .null,
            "findings": .array(findings.map(\.json)), "findings_not_shown": JSONValue(findingsNotShown),
            "notices": .array(notices.map(\.json)),
            "reports": .array(reports.map { path, confirmation in
                .object([
                    "path": JSONValue(path), "period": JSONValue(confirmation.period.description),
                    "format": JSONValue(confirmation.format.rawValue),
                    "party": confirmation.party.map { JSONValue($0.description) } ?? .null,
                    "line_count": JSONValue(confirmation.lineCount), "gross_minor": JSONValue(confirmation.totals.grossMinor),
                    "sha256": JSONValue(confirmation.sha256), "digest_logged": JSONValue(confirmation.digestLogged),
                    "close_index": JSONValue(confirmation.closeSeq),
                ])
            }),
            "disclosures": .array(disclosures.map { path, confirmation in
                .object([
                    "path": JSONValue(path), "subject": JSONValue(confirmation.subject), "opened": JSONValue(confirmation.opened),
                    "unlogged": JSONValue(confirmation.unlogged), "erased": JSONValue(confirmation.erased),
                ])
            }),
        ])
        // Every value is a string, an integer below 2^53 or a structure of them: canonical form cannot fail.
        return (try? document.canonicalString()) ?? #"{"exit_code":1,"result":"failed"}"#
    }
}
