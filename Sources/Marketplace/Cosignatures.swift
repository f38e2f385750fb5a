public import AuditLog
package import Logging
package import ServiceLifecycle
public import Foundation

/// What a witness answered an `add-checkpoint`.
public enum WitnessAnswer: Sendable, Equatable {
    /// 200: the signature lines it returned, unchecked.
    case cosignatures([SignedNote.Signature])
    /// 409 `text/x.tlog.size`: the size it last cosigned, which the next request must name.
    case staleOldSize(latest: UInt64)
    /// Any other answer: its status and what it said.
    case refused(status: Int, detail: String)
}

/// One witness as the log's side sees it: where requests go and the key its cosignatures are
/// checked against. Over HTTP for `pdx serve --witness`, in process for the demo and tests.
public protocol WitnessConnection: Sendable {
    /// The witness's pinned cosignature key.
    var verifier: CosignatureVerifier { get }
    /// Sends one `add-checkpoint`; throws when the witness cannot be reached.
    func addCheckpoint(_ request: AddCheckpointRequest) async throws -> WitnessAnswer
}

/// A witness running in this process: the demo's three regional witnesses.
public struct InProcessWitness: WitnessConnection {
    public let witness: LogWitness

    public init(_ witness: LogWitness) { self.witness = witness }

    public var verifier: CosignatureVerifier { witness.signer.verifier }

    public func addCheckpoint(_ request: AddCheckpointRequest) async throws -> WitnessAnswer {
        switch await witness.addCheckpoint(request) {
        case .cosigned(let signature, _):
            return .cosignatures([signature])
        case .refused(let error, let latest?) where error.code == .staleOldSize:
            return .staleOldSize(latest: latest)
        case .refused(let error, _):
            return .refused(status: error.code.status, detail: error.description)
        }
    }
}

/// Collects witness cosignatures of the log's latest checkpoint and keeps them with the log
/// (``TransparencyLog/keepCosignatures(_:of:)``).
///
/// Remembers per witness the size it last cosigned, starting from 0: a witness that answers 409
/// names its size and is asked again with a proof from there, so a witness that was down, or is
/// new, catches up with one consistency proof however far the log moved.
public actor CosignatureCollector {
    /// The witnesses, in the order given.
    public nonisolated let witnesses: [any WitnessConnection]
    private let log: TransparencyLog
    private var witnessedSize: [UInt64?]
    private var lastText: String?
    private var lastCount = 0

    public init(log: TransparencyLog, witnesses: [any WitnessConnection]) {
        self.log = log
        self.witnesses = witnesses
        self.witnessedSize = Array(repeating: nil, count: witnesses.count)
    }

    /// One round: asks every witness that has not cosigned the latest checkpoint to cosign it, and
    /// keeps the valid cosignatures. Returns how many witnesses have cosigned that checkpoint and
    /// what went wrong with the others (empty when all cosigned).
    @discardableResult
    public func collect() async throws -> (cosigned: Int, failures: [String]) {
        guard let note = try await log.latestCheckpoint() else { return (0, []) }
        let checkpoint = try Checkpoint.parse(note.text)
        let kept = try await log.cosignedCheckpoint()
        let have = kept.flatMap { $0.text == note.text ? $0 : nil }?.cosignatures(by: witnesses.map(\.verifier)).valid ?? []
        var collected: [(index: Int, signature: SignedNote.Signature)] = []
        var failures: [String] = []
        var count = have.count
        await withTaskGroup(of: (Int, Result<SignedNote.Signature?, any Error>, UInt64?).self) { group in
            for (index, witness) in witnesses.enumerated() where !have.contains(where: { $0.witness == witness.verifier }) {
                let known = witnessedSize[index]
                group.addTask { [log] in
                    do {
                        let (signature, size) = try await Self.cosign(note: note, checkpoint: checkpoint, known: known,
                                                                      witness: witness, log: log)
                        return (index, .success(signature), size)
                    } catch {
                        return (index, .failure(error), nil)
                    }
                }
            }
            for await (index, result, size) in group {
                if let size { witnessedSize[index] = size }
                switch result {
                case .success(let signature?):
                    collected.append((index, signature))
                    count += 1
                case .success(nil):
                    failures.append("\(witnesses[index].verifier.keyDescription): has cosigned a larger checkpoint already")
                case .failure(let error):
                    failures.append("\(witnesses[index].verifier.keyDescription): \(error)")
                }
            }
        }
        // In the witnesses' order, not the order they answered in: the same round gives the same note.
        if !collected.isEmpty { try await log.keepCosignatures(collected.sorted { $0.index < $1.index }.map(\.signature), of: note) }
        return (count, failures)
    }

    /// Asks one witness, starting from the size it is believed to hold and following one 409.
    /// Returns its valid cosignature (nil when it already holds a larger checkpoint) and the size it
    /// now holds, if known.
    private static func cosign(note: SignedNote, checkpoint: Checkpoint, known: UInt64?, witness: any WitnessConnection,
                               log: TransparencyLog) async throws -> (SignedNote.Signature?, UInt64?) {
        var oldSize = known ?? 0
        for _ in 0..<3 {
            guard oldSize <= checkpoint.size else { return (nil, oldSize) }
            let proof = oldSize == 0 || oldSize == checkpoint.size
                ? [] : try await log.consistencyProof(oldSize: oldSize, newSize: checkpoint.size)
            switch try await witness.addCheckpoint(AddCheckpointRequest(oldSize: oldSize, proof: proof, note: note)) {
            case .cosignatures(let lines):
                guard let valid = lines.first(where: { witness.verifier.verify($0, text: note.text) != nil }) else {
                    throw CollectionError("answered without a valid cosignature by its key")
                }
                return (valid, checkpoint.size)
            case .staleOldSize(let latest):
                guard latest != oldSize else { throw CollectionError("answered 409 for the size it names itself") }
                oldSize = latest
            case .refused(let status, let detail):
                throw CollectionError("refused with \(status): \(detail)")
            }
        }
        throw CollectionError("kept answering 409")
    }
}

struct CollectionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `pdx serve --witness`: collects cosignatures in the background after each checkpoint, never in a
/// request's path. A round runs every `interval` while a witness has not cosigned the latest
/// checkpoint; failures are logged and retried on the next round, so a witness that was down
/// catches up once it is back.
package struct CosignatureService: Service {
    package let collector: CosignatureCollector
    package let interval: Duration
    package let logger: Logger

    package init(collector: CosignatureCollector, interval: Duration, logger: Logger) {
        self.collector = collector
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    let (_, failures) = try await collector.collect()
                    if !failures.isEmpty, !failing {
                        logger.warning("a witness did not cosign the latest checkpoint; retrying", metadata: ["failures": "\(failures)"])
                    } else if failures.isEmpty, failing {
                        logger.notice("every witness cosigned the latest checkpoint")
                    }
                    failing = !failures.isEmpty
                } catch {
                    logger.warning("cosignature collection failed", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    break
                }
            }
        }
    }
}

/// Opens the witness of `pdx witness` in `directory`: created owner-only on first use with a new
/// cosigning key (`signing-key.pem`, mode 0600) beside the state (`witness-state.json`), locked
/// against a second process. `logKeys` are the verifier keys of the logs it witnesses; a key's name
/// is its log's origin.
public func openWitness(directory: String, name: String, logKeys: [String],
                        clock: @escaping @Sendable () -> Date = { Date() }) throws -> LogWitness {
    let folder = DataDirectory(path: directory)
    try folder.create()
    let signer = try CosignatureSigner(name: name, key: try folder.loadOrCreateSigningKey())
    var verifiers: [NoteVerifier] = []
    for key in logKeys {
        do {
            verifiers.append(try NoteVerifier(verifierKey: key))
        } catch {
            throw RuntimeError("--log \(key): \(error)")
        }
    }
    return try LogWitness(signer: signer, logKeys: verifiers, state: try WitnessStateFile(directory: directory), clock: clock)
}
