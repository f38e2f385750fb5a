public import AuditLog

/// What the application layer refuses on its own account, beside the domain modules' errors: a
/// missing record, a caller who is not a party, a step taken twice, a clock asked to run backwards.
public typealias MarketplaceError = ModuleError<MarketplaceErrorCode>

/// The stable codes of ``MarketplaceError``: the raw value is what a problem+json `code` says.
public enum MarketplaceErrorCode: String, Sendable, CaseIterable {
    /// The record named does not exist, or is not the caller's to see.
    case notFound = "not_found"
    /// The authority named does not exist.
    case authorityNotFound = "authority_not_found"
    /// A reviewer acts on what another authority provides.
    case authorityNotParty = "authority_not_party"
    /// The key acts for no operator.
    case operatorRequired = "operator_required"
    /// The principal's key is revoked already.
    case alreadyRevoked = "already_revoked"
    /// An admin would revoke its own key.
    case selfRevocation = "self_revocation"
    /// The personal datum was erased already.
    case alreadyErased = "already_erased"
    /// A usage batch holds no event.
    case eventsRequired = "events_required"
    /// A usage batch holds more events than the metering policy allows.
    case batchTooLarge = "batch_too_large"
    /// The test clock only moves forward.
    case clockBackwards = "clock_backwards"
    /// The data directory holds no `upstream-key`: no upstream credential can be sealed.
    case upstreamKeyMissing = "upstream_key_missing"
    /// `--actor` names no principal.
    case actorNotFound = "actor_not_found"
    /// `--actor` names a principal whose key is revoked or expired.
    case actorInactive = "actor_inactive"
    /// `--actor` names a principal without the finance role.
    case actorNotFinance = "actor_not_finance"
}
