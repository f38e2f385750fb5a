internal import Cryptography

/// The log's verifier keys as its entries announce them: `log.initialized` names the first,
/// `log.key_added` starts a rollover by adding a second, `log.key_retired` ends it by retiring the
/// older one. The server, its start-up check and the auditor's replay all apply the same rules here.
///
/// At most two keys are in force at once: the current one and, during a rollover, the next one.
public struct LogKeys: Sendable, Equatable {
    /// The entry that announces the origin and the first key(s).
    public static let initializedAction = "log.initialized"
    /// The entry that announces the next key and starts a rollover.
    public static let addedAction = "log.key_added"
    /// The entry that retires the current key and ends a rollover.
    public static let retiredAction = "log.key_retired"

    /// The log origin: the name every key must carry.
    public let origin: String
    /// The keys in force, oldest first, as C2SP verifier keys: one, or two during a rollover.
    public private(set) var active: [NoteVerifier]
    /// Every key the log ever announced, in order; retired keys stay here.
    public private(set) var announced: [NoteVerifier]
    /// The verifier keys of `announced`, to refuse a key announced before without a scan.
    private var announcedKeys: Set<String> = []

    /// True while two keys are in force.
    public var isRollingOver: Bool { active.count > 1 }

    /// The keys of `log.initialized`; throws `key_invalid` for a key that does not parse or is not
    /// named after `origin`.
    public init(origin: String, initial vkeys: [String]) throws(LogKeyError) {
        self.origin = origin
        self.active = []
        self.announced = []
        guard !vkeys.isEmpty else { throw LogKeyError(code: .keyInvalid, detail: "log.initialized announces no key") }
        for vkey in vkeys {
            let verifier = try Self.parse(vkey, origin: origin)
            active.append(verifier)
            announced.append(verifier)
            announcedKeys.insert(verifier.verifierKey)
        }
    }

    /// The keys from the verifiers in force, e.g. as stored beside the log.
    public init(origin: String, active: [NoteVerifier]) {
        self.origin = origin
        self.active = active
        self.announced = active
        self.announcedKeys = Set(active.map(\.verifierKey))
    }

    /// Applies `log.key_added`: refused with `key_rotation_invalid` while a rollover is under way,
    /// with `key_invalid` for a bad key, one of another name or one announced before.
    public mutating func add(_ vkey: String) throws(LogKeyError) {
        let verifier = try Self.parse(vkey, origin: origin)
        guard !isRollingOver else {
            throw LogKeyError(code: .keyRotationInvalid,
                              detail: "a key is added while the rollover to \(active[1].keyDescription) is under way")
        }
        guard !announcedKeys.contains(verifier.verifierKey) else {
            throw LogKeyError(code: .keyInvalid, detail: "\(verifier.keyDescription) was announced before")
        }
        active.append(verifier)
        announced.append(verifier)
        announcedKeys.insert(verifier.verifierKey)
    }

    /// Applies `log.key_retired`: only during a rollover, and only of the current (older) key.
    public mutating func retire(_ vkey: String) throws(LogKeyError) {
        let verifier = try Self.parse(vkey, origin: origin)
        guard isRollingOver else {
            throw LogKeyError(code: .keyRotationInvalid, detail: "\(verifier.keyDescription) is retired but no rollover is under way")
        }
        guard verifier == active[0] else {
            throw LogKeyError(code: .keyRotationInvalid,
                              detail: "\(verifier.keyDescription) is retired, but the current key is \(active[0].keyDescription)")
        }
        active.removeFirst()
    }

    /// The entry data of `log.key_added` / `log.key_retired` for `verifier`.
    public static func data(for verifier: NoteVerifier) -> [String: JSONValue] {
        ["vkey": .string(verifier.verifierKey), "key_id": .string(verifier.keyIDHex)]
    }

    /// Parses a verifier key and checks it is named after `origin`.
    static func parse(_ vkey: String, origin: String) throws(LogKeyError) -> NoteVerifier {
        let verifier: NoteVerifier
        do {
            verifier = try NoteVerifier(verifierKey: vkey)
        } catch {
            throw LogKeyError(code: .keyInvalid, detail: "not a verifier key: \(error.detail)")
        }
        guard verifier.name == origin else {
            throw LogKeyError(code: .keyInvalid, detail: "\(verifier.keyDescription) is not named after the origin \(origin)")
        }
        return verifier
    }
}

/// A key announcement that breaks the rotation rules.
public typealias LogKeyError = ModuleError<LogKeyErrorCode>

/// The stable codes of ``LogKeyError``: the raw value is what a problem+json `code` says.
public enum LogKeyErrorCode: String, Sendable, CaseIterable {
    /// The key does not parse, is not named after the origin, or was announced before.
    case keyInvalid = "key_invalid"
    /// A key added during a rollover, or retired outside one or out of turn.
    case keyRotationInvalid = "key_rotation_invalid"
}

extension NoteVerifier {
    /// The key ID as 8 lower-case hex digits, as in the verifier key.
    public var keyIDHex: String { Hex.encode(NoteFormat.bigEndianBytes(keyID)) }
}
