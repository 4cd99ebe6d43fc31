import CRMCSV
import CRMProtocol
import Foundation
import Testing

/// How rows of contact, interaction and deal files become items.
@Suite("CSV mapping of contacts, interactions and deals")
struct RecordMappingTests {
    @Test("sums in roubles become kopecks; what is no sum is left for crmd to refuse")
    func money() {
        #expect(RecordMapping.money("1 500,50") == 150_050)
        #expect(RecordMapping.money("1500.5") == 150_050)
        #expect(RecordMapping.money("45\u{00A0}000 ₽") == 4_500_000)
        #expect(RecordMapping.money("100") == 10_000)
        #expect(RecordMapping.money("1,2,3") == nil)
        #expect(RecordMapping.money("-5") == nil)
        #expect(RecordMapping.money("10.555") == nil)
    }

    @Test("local dates and times become RFC 3339 in the given zone; RFC 3339 passes as it is")
    func instants() {
        let msk = TimeZone(identifier: "Europe/Moscow")!
        #expect(RecordMapping.instant("01.03.2025 14:30", zone: msk) == "2025-03-01T11:30:00Z")
        #expect(RecordMapping.instant("2025-03-01", zone: msk) == "2025-02-28T21:00:00Z")
        #expect(RecordMapping.instant("2025-03-01T14:30:00+03:00", zone: msk) == "2025-03-01T14:30:00+03:00")
        #expect(RecordMapping.instant("вчера", zone: msk) == nil)
    }

    @Test("Russian headers and words map to fields and values; --map overrides; a file without a client column is refused")
    func headers() throws {
        let m = try RecordMapping(
            kind: "interactions", header: ["ID клиента", "Тип", "Дата", "Автор", "Примечание", "Отдел"], overrides: ["Отдел=-"])
        let (item, origin) = m.item(["7", "Звонок", "2025-03-01T10:00:00Z", "ivanov", "Перезвонить", "Продажи"])
        #expect(item["client_id"] == 7)
        #expect(item["kind"] == "call")
        #expect(item["note"] == "Перезвонить")
        #expect(m.column(of: "occurred_at", origin) == "Дата")
        #expect(m.ignoredColumns == ["Отдел"])
        let deals = try RecordMapping(
            kind: "deals", header: ["Клиент", "Сумма", "Статус", "Сумма, руб."], overrides: ["Сумма, руб.=amount"])
        let (deal, _) = deals.item(["+7 900 111-11-11", "", "выиграна", "2 000"])
        #expect(deal["client"] == "+7 900 111-11-11" && deal["status"] == "won" && deal["amount"] == 200_000)
        #expect(throws: ImportFailure.self) { try RecordMapping(kind: "contacts", header: ["ФИО", "Телефон"], overrides: []) }
        #expect(throws: ImportFailure.self) { try RecordMapping(kind: "deals", header: ["Клиент"], overrides: ["Клиент=nonsense"]) }
    }
}
