/// Why a lifecycle step was refused: an expected "no", returned as a value rather than thrown.
///
/// A refusal lists every reason that applies, so a reviewer sees all of them at once; callers branch
/// on ``code``, never on ``detail``.
public struct VettingReason: Sendable, Hashable, CustomStringConvertible {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Rejecting, suspending and revoking need a non-blank reason.
        case reasonRequired = "reason_required"
        /// A reason is longer than ``VettingPolicy/maxReasonLength`` characters.
        case reasonTooLong = "reason_too_long"
        /// The reviewer is party to the application: the principal that applied.
        case selfReview = "self_review"
        /// The reviewer has already approved in this round; a second approval must come from someone
        /// else.
        case duplicateReviewer = "duplicate_reviewer"
        /// An approval while a criterion fails; ``VettingReason/criterion`` says which.
        case criteriaNotMet = "criteria_not_met"
        /// The step is not allowed from the operator's status, e.g. reviewing a revoked operator.
        case invalidTransition = "invalid_transition"
        /// Only principals acting for an authority may review; platform admins may suspend,
        /// reinstate and revoke but not review.
        case reviewerWithoutAuthority = "reviewer_without_authority"
        /// The applicant, or the company by its unified social credit code, already has an
        /// application that is not rejected.
        case applicationExists = "application_exists"
        /// Only the authority that suspended the operator (or grant), or a platform admin, may
        /// reinstate it; only an admin lifts an admin's suspension.
        case suspendedByOther = "suspended_by_other"
        /// The revocation was proposed by this reviewer's authority; another authority or an admin
        /// completes it.
        case secondAuthorityRequired = "second_authority_required"
    }

    /// The stable code.
    public var code: Code
    /// For `criteria_not_met`, the criterion that failed; nil otherwise.
    public var criterion: Criterion?
    /// What is wrong, for people; never personal data.
    public var detail: String

    /// Creates a reason.
    public init(code: Code, criterion: Criterion? = nil, detail: String) {
        self.code = code
        self.criterion = criterion
        self.detail = detail
    }

    /// `code: detail`, or `criteria_not_met(criterion): detail`.
    public var description: String {
        if let criterion {
            return "\(code.rawValue)(\(criterion.rawValue)): \(detail)"
        }
        return "\(code.rawValue): \(detail)"
    }
}

/// A criterion an application must meet to be approved.
public enum Criterion: String, Sendable, Hashable, CaseIterable {
    /// At least ``ApprovalCriteria/minimumDocuments`` supporting documents.
    case documents
    /// An MLPS level at least the tier's minimum: 3 for `enhanced` (a product rule that no policy can
    /// lower), ``ApprovalCriteria/standardMinimumMLPSLevel`` for `standard`.
    case mlpsLevel = "mlps_level"
    /// For `enhanced`, at least ``ApprovalCriteria/enhancedMinimumCertifications`` certifications.
    case certifications
}

/// The approval criteria, evaluated against an application each time a reviewer approves it (first
/// approval and renewals alike, so a policy change applies at the next renewal).
///
/// Defaults: at least one supporting document; `enhanced` needs MLPS level 3 or above and at least
/// one certification (evidence of a security management system behind the MLPS filing); `standard`
/// needs MLPS level 1 or above, that is any valid level. Certifications are taken as declared, their
/// evidence being among the documents; a reviewer who cannot match them rejects with a reason.
public struct ApprovalCriteria: Sendable, Hashable {
    /// The fewest supporting documents an approvable application has.
    public var minimumDocuments: Int
    /// The lowest MLPS level a `standard` operator may have.
    public var standardMinimumMLPSLevel: Int
    /// The lowest MLPS level an `enhanced` operator may have; values below 3 are treated as 3.
    public var enhancedMinimumMLPSLevel: Int
    /// The fewest certifications an `enhanced` operator may hold.
    public var enhancedMinimumCertifications: Int

    /// Creates criteria; the defaults are the product's rules.
    public init(
        minimumDocuments: Int = 1,
        standardMinimumMLPSLevel: Int = 1,
        enhancedMinimumMLPSLevel: Int = 3,
        enhancedMinimumCertifications: Int = 1
    ) {
        self.minimumDocuments = minimumDocuments
        self.standardMinimumMLPSLevel = standardMinimumMLPSLevel
        self.enhancedMinimumMLPSLevel = enhancedMinimumMLPSLevel
        self.enhancedMinimumCertifications = enhancedMinimumCertifications
    }

    /// One `criteria_not_met` reason per failing criterion, in ``Criterion`` order; empty when the
    /// application may be approved.
    public func evaluate(_ application: OperatorApplication) -> [VettingReason] {
        var reasons: [VettingReason] = []
        let documentMinimum = max(1, minimumDocuments)
        if application.documents.count < documentMinimum {
            reasons.append(VettingReason(
                code: .criteriaNotMet,
                criterion: .documents,
                detail: "\(application.documents.count) supporting documents, at least \(documentMinimum) needed"
            ))
        }
        let mlpsMinimum = switch application.tier {
        case .standard: standardMinimumMLPSLevel
        case .enhanced: max(3, enhancedMinimumMLPSLevel)
        }
        if application.mlpsLevel < mlpsMinimum {
            reasons.append(VettingReason(
                code: .criteriaNotMet,
                criterion: .mlpsLevel,
                detail: "tier \(application.tier.rawValue) needs MLPS level \(mlpsMinimum) or above, not \(application.mlpsLevel)"
            ))
        }
        if application.tier == .enhanced, application.certifications.count < enhancedMinimumCertifications {
            reasons.append(VettingReason(
                code: .criteriaNotMet,
                criterion: .certifications,
                detail: "tier enhanced needs at least \(enhancedMinimumCertifications) certification(s), not \(application.certifications.count)"
            ))
        }
        return reasons
    }
}
