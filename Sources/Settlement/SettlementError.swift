public import AuditLog

/// Why a settlement step was refused.
public typealias SettlementError = ModuleError<SettlementErrorCode>

/// The codes of ``SettlementError``.
public enum SettlementErrorCode: String, Sendable, CaseIterable {
    /// The period has not ended yet, or is still within its grace.
    case periodNotEnded = "period_not_ended"
    /// An earlier period with usage is still open; periods close in order.
    case earlierPeriodOpen = "earlier_period_open"
    /// The period is closed: it never changes.
    case periodClosed = "period_closed"
    /// The period has not been closed, so it has no report.
    case periodNotClosed = "period_not_closed"
    /// Not a month, `YYYY-MM`.
    case invalidPeriod = "invalid_period"
    /// The corrected line does not exist in a closed period before the adjustment's.
    case lineNotFound = "line_not_found"
    /// An adjustment of zero, or one that would take a party's part of the line below zero.
    case invalidAdjustment = "invalid_adjustment"
    /// A revenue cap that is negative or of a year out of range.
    case invalidRevenueCap = "invalid_revenue_cap"
    /// A reason is required and was missing or malformed.
    case reasonRequired = "reason_required"
    /// A reason longer than 2000 characters or holding control characters.
    case invalidReason = "invalid_reason"
    /// A reason is longer than 2000 characters.
    case reasonTooLong = "reason_too_long"
    /// An amount that does not fit 64 bits of minor units.
    case amountOverflow = "amount_overflow"
    /// Discrepancies above tolerance are not acknowledged: the period does not close
    /// (``UnresolvedDiscrepancies`` lists them).
    case unresolvedDiscrepancies = "unresolved_discrepancies"
    /// The reconciliation line is not a discrepancy above tolerance: nothing to acknowledge.
    case noDiscrepancy = "no_discrepancy"
    /// A report (JSON or CSV) that is malformed, misses a member or column, or whose amounts do not reconcile.
    case invalidReport = "invalid_report"
    /// A platform fee outside 0–10000 basis points.
    case invalidPlatformFee = "invalid_platform_fee"
}
