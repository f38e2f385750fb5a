import Settlement
extension SettlementReport {
    init(csv bytes: [UInt8]) throws(SettlementError) {
        throw SettlementError(code: .invalidReport, detail: "CSV reports are not read yet")
    }
}
