// Placeholder renderings, replaced by the report writers.
extension SettlementReport {
    func jsonBytes() -> [UInt8] { Array("{}".utf8) }
    func csvBytes() -> [UInt8] { Array("line_id\r\n".utf8) }
    func xlsxBytes() -> [UInt8] { [] }
}
extension SettlementReport {
    public init(json: some Collection<UInt8>) throws(SettlementError) {
        throw SettlementError(code: .invalidPeriod, detail: "placeholder")
    }
    public func partiesCSV() -> [UInt8] { [] }
}
