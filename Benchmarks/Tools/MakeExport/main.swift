import AuditLog
import BenchmarkSupport
import Cryptography
import Foundation

// make-export DIRECTORY COUNT: writes a C2SP tlog-tiles export of COUNT sample entries, signed by
// the fixed benchmark key, for timing pdx-verify (see verify-1m.sh). The key is public knowledge:
// these exports prove nothing about anyone.

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = UInt64(arguments[2]) else {
    print("usage: make-export DIRECTORY COUNT")
    exit(2)
}
let directory = arguments[1]

do {
    let signer = try NoteSigner(name: "bench.pdx.example/log", key: try Ed25519PrivateKey(seed: [UInt8](repeating: 7, count: 32)))
    let writer = try TlogTilesWriter(directory: directory)
    var frontier = MerkleFrontier()
    let hasher = SHA256()
    for seq in 0..<count {
        let entry = SampleEntries.entry(seq: seq)
        try writer.append(entry: entry)
        frontier.append(leafHash: MerkleHash.leaf(entry, using: hasher), using: hasher)
    }
    let checkpoint = Checkpoint(origin: signer.name, size: count, rootHash: frontier.root(using: hasher))
    try writer.finish(checkpoint: try checkpoint.sign(with: [signer]), verifierKey: signer.verifierKey)
    print("wrote \(count) entries to \(directory)")
} catch {
    print("make-export: \(error)")
    exit(1)
}
