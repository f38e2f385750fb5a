public import Foundation

/// One step in the history of something with a lifecycle: what happened, the status before and
/// after, when, who and why. Operators and grants keep theirs (``StatusChange``,
/// `GrantStatusChange`); a step may keep the status, as an operator's renewal does.
public struct HistoryStep<Action, Status>: Sendable, Hashable
where Action: Sendable & Hashable, Status: Sendable & Hashable {
    /// What happened.
    public let action: Action
    /// The status before; nil for the first step (the application, the request).
    public let from: Status?
    /// The status after.
    public let to: Status
    /// When, to the millisecond.
    public let at: Date
    /// The principal id that caused it, or `system`.
    public let actor: String
    /// Why, with outer white space removed; nil where a reason is optional and none was given.
    public let reason: String?

    /// Creates a history entry; for stores restoring a record.
    public init(action: Action, from: Status?, to: Status, at: Date, actor: String, reason: String?) {
        self.action = action
        self.from = from
        self.to = to
        self.at = at
        self.actor = actor
        self.reason = reason
    }
}
