/// A period counter as a store keeps it: one grant, dataset and unit in one period.
public struct UsageCounter: Sendable, Hashable {
    public let key: CounterKey
    /// The grant's operator and the dataset's authority, so that a summary can be cut by party
    /// without joining.
    public let operatorID: String
    public let authorityID: String
    /// The sum of the accepted events' quantities.
    public var quantity: Int64
    /// How many events were accepted.
    public var events: Int64
    /// The first and last log index of the `usage.recorded` entries that added to it.
    public var firstLogIndex: UInt64
    public var lastLogIndex: UInt64
    /// How much of ``quantity``, and how many of ``events``, PDX metered itself as it served the data
    /// (``UsageSource/gateway``).
    public var gatewayQuantity: Int64
    public var gatewayEvents: Int64
    /// How much of ``quantity``, and how many of ``events``, PDX metered itself as it forwarded calls
    /// to the authority's own interface (``UsageSource/upstream``). The rest of the quantity was
    /// declared by the operator. Quotas count all parts together.
    public var upstreamQuantity: Int64
    public var upstreamEvents: Int64

    public init(key: CounterKey, operatorID: String, authorityID: String, quantity: Int64, events: Int64,
                firstLogIndex: UInt64, lastLogIndex: UInt64, gatewayQuantity: Int64 = 0, gatewayEvents: Int64 = 0,
                upstreamQuantity: Int64 = 0, upstreamEvents: Int64 = 0) {
        self.key = key
        self.operatorID = operatorID
        self.authorityID = authorityID
        self.quantity = quantity
        self.events = events
        self.firstLogIndex = firstLogIndex
        self.lastLogIndex = lastLogIndex
        self.gatewayQuantity = gatewayQuantity
        self.gatewayEvents = gatewayEvents
        self.upstreamQuantity = upstreamQuantity
        self.upstreamEvents = upstreamEvents
    }

    /// The part of ``quantity`` the operator declared.
    public var declaredQuantity: Int64 { quantity - gatewayQuantity - upstreamQuantity }
}

/// A day counter as a store keeps it.
public struct DailyUsage: Sendable, Hashable {
    public let key: DayKey
    public var quantity: Int64
    public var events: Int64

    public init(key: DayKey, quantity: Int64, events: Int64) {
        self.key = key
        self.quantity = quantity
        self.events = events
    }
}

/// Which counters a usage summary returns; nil members do not filter.
public struct UsageFilter: Sendable, Hashable {
    public var operatorID: String?
    public var authorityID: String?
    public var grantID: String?

    public init(operatorID: String? = nil, authorityID: String? = nil, grantID: String? = nil) {
        self.operatorID = operatorID
        self.authorityID = authorityID
        self.grantID = grantID
    }
}
