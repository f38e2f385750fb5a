public import AuditLog

/// Audit log entries shaped like the server's: the six members of the entry schema, about 300 bytes
/// of canonical JSON, varied by sequence number so that no two are alike.
public enum SampleEntries {
    private static let actions = [
        "grant.requested", "grant.approved", "usage.metered", "dataset.published", "operator.vetted",
        "settlement.closed", "key.rotated", "grant.revoked",
    ]
    private static let datasets = ["ds_rail_punctuality", "ds_air_quality", "ds_parcels", "ds_hospital_beds"]

    /// The record the server would log as entry `seq`.
    public static func record(seq: UInt64) -> AuditRecord {
        let grant = "gr_" + String(seq &* 2_654_435_761 % 0xFFFF_FFFF, radix: 16)
        let dataset = datasets[Int(seq % UInt64(datasets.count))]
        return AuditRecord(
            actor: "operator:op_\(seq % 977)",
            action: actions[Int(seq % UInt64(actions.count))],
            subjects: ["grant:" + grant, "dataset:" + dataset],
            data: [
                "dataset": .string(dataset),
                "grant": .string(grant),
                "period": ["end": "2026-12-31", "start": "2026-01-01"],
                "purpose": "Punctuality study",
                "quota": .number(Double(250_000 + seq % 1000)),
            ]
        )
    }

    /// The canonical encoding of entry `seq`: its record, sequence number and a millisecond time.
    public static func entry(seq: UInt64) -> [UInt8] {
        let record = record(seq: seq)
        let value: JSONValue = [
            "action": .string(record.action),
            "actor": .string(record.actor),
            "data": .object(record.data),
            "seq": .number(Double(seq)),
            "subjects": .array(record.subjects.map(JSONValue.string)),
            "time": .string("2026-11-20T19:\(10 + seq % 50):\(10 + seq % 50).\(100 + seq % 900)Z"),
        ]
        // Cannot fail: every number above is finite.
        return try! value.canonicalBytes()
    }

    /// `count` consecutive entries starting at `first`.
    public static func entries(_ count: Int, from first: UInt64 = 0) -> [[UInt8]] {
        (0..<UInt64(count)).map { entry(seq: first + $0) }
    }
}
