import CRMCore
import Testing

@Suite("ИНН and КПП")
struct TaxIDTests {
    @Test(arguments: ["7707083893", "7736207543", "500100732259", "7830002293"])
    func validINNs(_ inn: String) {
        #expect(TaxID.innProblem(inn) == nil)
    }

    @Test(arguments: [
        ("7707083894", "check digit"),  // the last digit off by one
        ("500100732258", "check digits"),
        ("500100732269", "check digits"),
        ("770708389", "10 digits"),  // 9 digits
        ("77070838931", "10 digits"),  // 11 digits
        ("77070838a3", "10 digits"),
        ("", "10 digits"),
    ])
    func invalidINNs(_ inn: String, _ says: String) {
        #expect(TaxID.innProblem(inn)?.contains(says) == true, "\(inn)")
    }

    @Test func kpp() {
        #expect(TaxID.kppProblem("773601001") == nil)
        #expect(TaxID.kppProblem("7736AB001") == nil)
        #expect(TaxID.kppProblem("77360100") != nil)
        #expect(TaxID.kppProblem("7736ab001") != nil)
        #expect(TaxID.kppProblem("77360100X") != nil)
    }

    @Test func companyNamesFold() {
        #expect(CompanyName.key("ООО \"Ромашка\"") == CompanyName.key("Ромашка ООО"))
        #expect(CompanyName.key("«Василёк»") == "василек")
        #expect(CompanyName.key("ПАО «Ромашка»") == "ромашка")
    }
}
