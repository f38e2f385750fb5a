import AuditLog
import Benchmark
import BenchmarkSupport
import Cryptography

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
}
