// The contract's reconciliation rules for lines read back from a rendering, shared by the JSON and the
// CSV readers so that both refuse exactly the same reports.

extension SettlementReport {
    /// The first way `lines` break the contract's reconciliation rules, as the index of the line, the
    /// member (or CSV column) at fault and why; nil when they hold.
    ///
    /// Each line: the split's basis points fit 10000, the three parts sum to the amount, and a
    /// graduated line has no single price and steps that sum to its amount and quantity. Across lines:
    /// ids are unique, and every total and party sum stays within 2^53 − 1, so that the totals the
    /// report derives are exact numbers too (and cannot overflow).
    static func reconciliationFailure(of lines: [SettlementLine]) -> (line: Int, field: String, problem: String)? {
        var ids: Set<String> = []
        var totals = SettlementTotals()
        var parties: [Party: Int64] = [:]
        let limit = MinorUnits.maximum
        func add(_ value: Int64, to sum: inout Int64) -> Bool {
            // Every value read is within ±(2^53 − 1), so this cannot overflow 64 bits.
            sum += value
            return sum.magnitude <= limit.magnitude
        }
        for (index, line) in lines.enumerated() {
            if let (field, problem) = line.reconciliationFailure { return (index, field, problem) }
            guard ids.insert(line.id).inserted else { return (index, "line_id", "repeats an earlier line") }
            guard add(line.amountMinor, to: &totals.grossMinor), add(line.authorityMinor, to: &totals.authorityMinor),
                  add(line.platformMinor, to: &totals.platformMinor), add(line.operatorMinor, to: &totals.operatorMinor),
                  add(line.eventCount, to: &totals.eventCount)
            else { return (index, "amount_minor", "takes one of the report's totals beyond \(limit)") }
            for (party, part) in line.parts {
                guard add(part, to: &parties[party, default: 0]) else {
                    return (index, "amount_minor", "takes the total of \(party) beyond \(limit)")
                }
            }
        }
        return nil
    }
}

extension SettlementLine {
    /// The first way the line's source disagrees with its kind and quantities, as (member or column,
    /// problem); nil when it agrees: a usage line's source follows from how much of its quantity was
    /// metered at the source, other lines have none.
    var sourceFailure: (field: String, problem: String)? {
        guard kind == .usage else {
            if source != nil { return ("source", "only a usage line has a source") }
            if gatewayQuantity != 0 { return ("gateway_quantity", "only a usage line has a quantity") }
            if upstreamQuantity != 0 { return ("upstream_quantity", "only a usage line has a quantity") }
            if providerQuantity != nil { return ("provider_quantity", "only a declared usage line has a provider's figure") }
            return nil
        }
        if gatewayQuantity < 0 || gatewayQuantity > quantity { return ("gateway_quantity", "is not within the line's quantity") }
        if upstreamQuantity < 0 || upstreamQuantity > quantity - gatewayQuantity {
            return ("upstream_quantity", "with gateway_quantity is not within the line's quantity")
        }
        let expected = LineSource(quantity: quantity, gatewayQuantity: gatewayQuantity, upstreamQuantity: upstreamQuantity)
        if source != expected { return ("source", "is not \(expected.rawValue), as its quantities say") }
        if providerQuantity != nil, expected != .declared {
            return ("provider_quantity", "only a declared usage line has a provider's figure")
        }
        return nil
    }

    /// The first way this line does not add up, as (member or column, problem); nil when it does.
    var reconciliationFailure: (field: String, problem: String)? {
        if let failure = sourceFailure { return failure }
        if authorityBPS + platformBPS > 10_000 { return ("platform_bps", "with authority_bps exceeds 10000") }
        if Int128(authorityMinor) + Int128(platformMinor) + Int128(operatorMinor) != Int128(amountMinor) {
            return ("amount_minor", "is not the sum of the authority, platform and operator parts")
        }
        if !tiers.isEmpty {
            if unitPrice != nil { return ("unit_price", "a line with tiers has no single price") }
            if tiers.reduce(Int128(0), { $0 + Int128($1.amountMinor) }) != Int128(amountMinor) {
                return ("tiers", "do not sum to the line's amount")
            }
            if tiers.reduce(Int128(0), { $0 + Int128($1.quantity) }) != Int128(quantity) {
                return ("tiers", "do not sum to the line's quantity")
            }
        }
        return nil
    }
}
