import AuditLog
import Metering
import Testing

@Suite("A usage rejection as a coded error")
struct UsageRejectionErrorTests {
    @Test("its code is the rejection, the problem code the batch answers with", arguments: UsageRejection.allCases)
    func code(rejection: UsageRejection) {
        let error = UsageRejectionError(rejection)
        #expect(error.code == rejection)
        #expect(error.description == "\(rejection.rawValue): the usage event is rejected")
        #expect(error == UsageRejectionError(rejection))
        #expect(Set(UsageRejection.allCases.map(UsageRejectionError.init)).count == UsageRejection.allCases.count)
    }
}
