import Identity
import Licensing
import Settlement
import Vetting

// The contract's enumerations and the domain's, mapped both ways by exhaustive switches: a value
// added on either side does not compile until it is mapped here, rather than falling back to a
// default in silence.

extension OperatorTier {
    init(_ tier: Components.Schemas.OperatorTier) {
        switch tier {
        case .standard: self = .standard
        case .enhanced: self = .enhanced
        }
    }

    var schema: Components.Schemas.OperatorTier {
        switch self {
        case .standard: .standard
        case .enhanced: .enhanced
        }
    }
}

extension OperatorStatus {
    init(_ status: Components.Schemas.OperatorStatus) {
        switch status {
        case .submitted: self = .submitted
        case .approved: self = .approved
        case .rejected: self = .rejected
        case .suspended: self = .suspended
        case .revoked: self = .revoked
        }
    }

    var schema: Components.Schemas.OperatorStatus {
        switch self {
        case .submitted: .submitted
        case .approved: .approved
        case .rejected: .rejected
        case .suspended: .suspended
        case .revoked: .revoked
        }
    }
}

extension ReviewDecision {
    init(_ decision: Components.Schemas.ReviewInput.DecisionPayload) {
        switch decision {
        case .approve: self = .approve
        case .reject: self = .reject
        }
    }
}

extension DeliveryMode {
    init(_ delivery: Components.Schemas.DeliveryMode) {
        switch delivery {
        case .gateway: self = .gateway
        case .declared: self = .declared
        case .upstream: self = .upstream
        }
    }

    var schema: Components.Schemas.DeliveryMode {
        switch self {
        case .gateway: .gateway
        case .declared: .declared
        case .upstream: .upstream
        }
    }
}

extension Openness {
    init(_ openness: Components.Schemas.Openness) {
        switch openness {
        case .open: self = .open
        case .conditional: self = .conditional
        case .closed: self = .closed
        }
    }

    var schema: Components.Schemas.Openness {
        switch self {
        case .open: .open
        case .conditional: .conditional
        case .closed: .closed
        }
    }
}

extension Grade {
    init(_ grade: Components.Schemas.Grade) {
        switch grade {
        case .general: self = .general
        case .important: self = .important
        case .core: self = .core
        }
    }

    var schema: Components.Schemas.Grade {
        switch self {
        case .general: .general
        case .important: .important
        case .core: .core
        }
    }
}

extension Scenario {
    init(_ scenario: Components.Schemas.Scenario) {
        switch scenario {
        case .publicInterest: self = .publicInterest
        case .industry: self = .industry
        }
    }

    var schema: Components.Schemas.Scenario {
        switch self {
        case .publicInterest: .publicInterest
        case .industry: .industry
        }
    }
}

extension GrantStatus {
    init(_ status: Components.Schemas.GrantStatus) {
        switch status {
        case .pending: self = .pending
        case .active: self = .active
        case .denied: self = .denied
        case .suspended: self = .suspended
        case .revoked: self = .revoked
        case .expired: self = .expired
        }
    }

    var schema: Components.Schemas.GrantStatus {
        switch self {
        case .pending: .pending
        case .active: .active
        case .denied: .denied
        case .suspended: .suspended
        case .revoked: .revoked
        case .expired: .expired
        }
    }
}

extension GrantDecision {
    init(_ decision: Components.Schemas.GrantDecisionInput.DecisionPayload) {
        switch decision {
        case .approve: self = .approve
        case .reject: self = .reject
        }
    }
}

extension Role {
    init(_ role: Components.Schemas.Role) {
        switch role {
        case .admin: self = .admin
        case .authorityReviewer: self = .authorityReviewer
        case ._operator: self = .operator
        case .auditor: self = .auditor
        case .finance: self = .finance
        }
    }

    var schema: Components.Schemas.Role {
        switch self {
        case .admin: .admin
        case .authorityReviewer: .authorityReviewer
        case .operator: ._operator
        case .auditor: .auditor
        case .finance: .finance
        }
    }
}

extension ReportFormat {
    /// The rendering a requested format is made from: `csv-excel` is the strict CSV's.
    init(_ format: Operations.GetSettlementReport.Input.Query.FormatPayload) {
        switch format {
        case .json: self = .json
        case .csv, .csvExcel: self = .csv
        case .xlsx: self = .xlsx
        }
    }
}

extension GrantDecision {
    var approvalSchema: Components.Schemas.GrantApproval.DecisionPayload {
        switch self {
        case .approve: .approve
        case .reject: .reject
        }
    }
}

extension SuspensionCause {
    var schema: Components.Schemas.Grant.SuspensionCausePayload {
        switch self {
        case .authority: .authority
        case .operator: ._operator
        case .dataset: .dataset
        }
    }
}

extension ReviewDecision {
    var schema: Components.Schemas.OperatorReview.DecisionPayload {
        switch self {
        case .approve: .approve
        case .reject: .reject
        }
    }
}
