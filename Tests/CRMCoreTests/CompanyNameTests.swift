import CRMCore
import Testing

@Suite("Company names: one key for every spelling of a company")
struct CompanyNameTests {
    @Test(arguments: [
        "ООО «Ромашка»", "ооо \"ромашка\"", "Ромашка", "  Ромашка, ООО ", "OOO Ромашка", "ООО 'Ромашка'", "РОМАШКА.",
    ])
    func spellingsOfOneCompanyShareAKey(_ name: String) {
        #expect(CompanyName.key(name) == "ромашка")
    }

    @Test func otherCompaniesDiffer() {
        #expect(CompanyName.key("Ромашка-2") == "ромашка-2")
        #expect(CompanyName.key("Ромашка Плюс") == "ромашка плюс")
        #expect(CompanyName.key("ИП Сидоров") == CompanyName.key("Сидоров ИП"))
        #expect(CompanyName.key("Ёлка") == CompanyName.key("елка"))
        #expect(CompanyName.key("ООО") == nil)
        #expect(CompanyName.key("«»") == nil)
    }
}
