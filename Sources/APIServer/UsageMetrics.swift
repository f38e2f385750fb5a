import Metering
import Metrics

/// `pdx_usage_events_total{outcome, code}`: usage events answered, by outcome and rejection code.
struct UsageMetrics: Sendable {
    func record(_ decision: UsageDecision) {
        // Counted by outcome first: labels are made once per distinct outcome, not per event.
        var counts: [UsageOutcome: Int] = [:]
        for outcome in decision.outcomes { counts[outcome, default: 0] += 1 }
        for (outcome, count) in counts {
            let dimensions = switch outcome {
            case .accepted: [("outcome", "accepted")]
            case .duplicate: [("outcome", "duplicate")]
            case .rejected(let why): [("outcome", "rejected"), ("code", why.rawValue)]
            }
            Counter(label: "pdx_usage_events_total", dimensions: dimensions).increment(by: count)
        }
    }
}
