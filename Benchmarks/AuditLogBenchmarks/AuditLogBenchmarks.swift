import AuditLog
import Benchmark
import BenchmarkSupport
import Cryptography
import Foundation

// Each figure comes with a baseline measured in the same run, named "… (baseline)", so that the ratio
// means something on a shared machine. Per-entry benchmarks work through 1,000 distinct entries per
// iteration (scaling factor kilo): the reported times are per entry.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )
    let perEntry = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2_000
    )

    let entries = SampleEntries.entries(1_000, from: 1_000_000)

    // MARK: Canonical form of an entry

    Benchmark("Canonical entry: CanonicalJSON.checkEntry", configuration: perEntry) { benchmark in
        for index in benchmark.scaledIterations {
            let seq = entries[index].withUnsafeBytes { bytes in
                try? CanonicalJSON.checkEntry(bytes, integerMember: "seq")
            }
            blackHole(seq)
        }
    }

    let schema: [StaticString] = ["seq", "time", "actor", "action", "subjects", "data"]
    Benchmark("Canonical entry: CanonicalJSON.checkEntry, six required members", configuration: perEntry) { benchmark in
        for index in benchmark.scaledIterations {
            let summary = entries[index].withUnsafeBytes { bytes in
                try? CanonicalJSON.checkEntry(bytes, integerMember: "seq", requiredMembers: schema)
            }
            blackHole(summary)
        }
    }

    Benchmark("Canonical entry: CanonicalJSON.validate (baseline)", configuration: perEntry) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(try? CanonicalJSON.validate(entries[index]))
        }
    }

    Benchmark("Canonical entry: parse and re-serialize (baseline)", configuration: perEntry) { benchmark in
        for index in benchmark.scaledIterations {
            let same = (try? JSONValue.parse(entries[index]).canonicalBytes()) == entries[index]
            blackHole(same)
        }
    }

    // What the log pays to encode each entry it appends.
    let values = entries.map { try! JSONValue.parse($0) }
    Benchmark("Canonical entry: JSONValue.canonicalBytes (encoding)", configuration: perEntry) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(try? values[index].canonicalBytes())
        }
    }

    // MARK: Merkle tree

    Benchmark("Merkle: SHA-256 of the entry (baseline)", configuration: perEntry) { benchmark in
        let hasher = SHA256()
        for index in benchmark.scaledIterations {
            hasher.update(entries[index])
            blackHole(hasher.finalize())
        }
    }

    Benchmark("Merkle: leaf hash (MerkleHash.leaf)", configuration: perEntry) { benchmark in
        let hasher = SHA256()
        for index in benchmark.scaledIterations {
            blackHole(MerkleHash.leaf(entries[index], using: hasher))
        }
    }

    Benchmark("Merkle: leaf hash + MerkleFrontier.append", configuration: perEntry) { benchmark in
        let hasher = SHA256()
        var frontier = MerkleFrontier()
        for index in benchmark.scaledIterations {
            let completed = frontier.append(leafHash: MerkleHash.leaf(entries[index], using: hasher), using: hasher)
            blackHole(completed)
        }
        blackHole(frontier.size)
    }

    // MARK: Checkpoints

    // A fixed seed: the figures must not depend on which key a run happens to draw.
    let key = try! Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32))
    let signer = try! NoteSigner(name: "pdx.example/log", key: key)
    let root = SHA256.hash(entries[0])

    Benchmark("Checkpoint: Checkpoint.sign, one Ed25519 key", configuration: .init(scalingFactor: .one)) { benchmark in
        for size in benchmark.scaledIterations {
            let checkpoint = Checkpoint(origin: signer.name, size: UInt64(1_000_000 + size), rootHash: root)
            blackHole(try! checkpoint.sign(with: [signer]))
        }
    }

    Benchmark("Checkpoint: raw Ed25519 signature of a checkpoint text (baseline)", configuration: .init(scalingFactor: .one)) { benchmark in
        let text = Array(Checkpoint(origin: signer.name, size: 1_000_000, rootHash: root).text.utf8)
        for _ in benchmark.scaledIterations {
            blackHole(try! key.signature(for: text))
        }
    }

    // MARK: Witness

    // A witness cosigning a 10,000,000-entry log that grows by 1,000 entries a step: each
    // add-checkpoint parses the body, verifies the log's signature and a consistency proof, cosigns,
    // and replaces its state file durably (write, fsync, rename, directory fsync) before answering.
    // The tree is one whose leaves are all equal, so any range's hash depends only on its length and
    // the proofs of a 10M tree cost nothing to prepare; the witness cannot tell.
    // Each iteration starts a fresh witness and walks it through 1,000 checkpoints (scaling factor
    // kilo): the time reported is per add-checkpoint.
    let steps = 1_000
    let chain = WitnessChain(signer: signer, startSize: 10_000_000 - UInt64(steps) * 1_000, step: 1_000, steps: steps)
    // The same on the machine's disk (temporary directory) and on /dev/shm (tmpfs: fsync is free),
    // which separates the durable write's cost from the checks and signatures.
    for (place, base) in [("temporary directory", FileManager.default.temporaryDirectory.path), ("/dev/shm", "/dev/shm")] {
        Benchmark("Witness: add-checkpoint with a consistency proof, 10,000,000-entry log, state synced in \(place)",
                  configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 1,
                                       scalingFactor: .kilo, maxDuration: .seconds(10), maxIterations: 20)) { benchmark in
            let directory = "\(base)/pdx-bench-witness-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let witness = try! LogWitness(
                signer: try! CosignatureSigner(name: "witness.bench.example", key: try! Ed25519PrivateKey(seed: [UInt8](repeating: 9, count: 32))),
                logKeys: [signer.verifier], state: try! WitnessStateFile(directory: directory))
            _ = await witness.addCheckpoint(body: chain.bodies[0])
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                let result = await witness.addCheckpoint(body: chain.bodies[index + 1])
                guard case .cosigned = result else { fatalError("not cosigned: \(result)") }
                blackHole(result)
            }
            benchmark.stopMeasurement()
        }
    }
}

/// Signed checkpoints of a growing log whose leaves are all equal, each with the add-checkpoint body
/// that proves it extends the one before.
struct WitnessChain {
    var bodies: [[UInt8]] = []

    init(signer: NoteSigner, startSize: UInt64, step: UInt64, steps: Int) {
        let leaf = SHA256.hash(Array("leaf".utf8))
        var perfect = [leaf]
        for _ in 0..<63 { perfect.append(MerkleHash.node(perfect.last!, perfect.last!)) }
        var memo: [UInt64: SHA256Digest] = [:]
        func root(_ size: UInt64) -> SHA256Digest {
            if size & (size - 1) == 0 { return perfect[size.trailingZeroBitCount] }
            if let known = memo[size] { return known }
            let split = UInt64(1) << (63 - (size - 1).leadingZeroBitCount)
            let hash = MerkleHash.node(perfect[split.trailingZeroBitCount], root(size - split))
            memo[size] = hash
            return hash
        }
        var previous: UInt64 = 0
        for index in 0...steps {
            let size = startSize + UInt64(index) * step
            let note = try! Checkpoint(origin: signer.name, size: size, rootHash: root(size)).sign(with: [signer])
            var proof: [SHA256Digest] = []
            if previous > 0 {
                let plan = try! MerkleProof.consistencyPlan(oldSize: previous, newSize: size)
                let fetched = Dictionary(plan.nodes.map { ($0, perfect[$0.level]) }, uniquingKeysWith: { first, _ in first })
                proof = try! plan.assemble(fetched)
            }
            bodies.append(Array(AddCheckpointRequest(oldSize: previous, proof: proof, note: note).body.utf8))
            previous = size
        }
    }
}
