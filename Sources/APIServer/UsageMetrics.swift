import Metering
import Metrics

/// `pdx_usage_events_total{outcome, code}`: usage events answered, by outcome and rejection code.
struct UsageMetrics: Sendable {
    func record(_ decision: UsageDecision) {
        var counts: [String: (outcome: String, code: String, count: Int)] = [:]
        for outcome in decision.outcomes {
            let (name, code): (String, String) = switch outcome {
            case .accepted: ("accepted", "")
            case .duplicate: ("duplicate", "")
            case .rejected(let why): ("rejected", why.rawValue)
            }
            counts["\(name)/\(code)", default: (name, code, 0)].count += 1
        }
        for (_, entry) in counts {
            var dimensions = [("outcome", entry.outcome)]
            if !entry.code.isEmpty { dimensions.append(("code", entry.code)) }
            Counter(label: "pdx_usage_events_total", dimensions: dimensions).increment(by: entry.count)
        }
    }
}
