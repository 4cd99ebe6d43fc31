import CRMProtocol
import Foundation

/// One column of an export: its header and how a list item gives its cell.
struct ExportColumn: Sendable {
    var header: String
    var value: @Sendable (JSON) -> String

    /// A column of one key of the item: text as is, numbers in digits, lists joined by ", ",
    /// true/false as «да»/«нет», null empty.
    init(_ header: String, _ key: String) {
        self.header = header
        value = { exportCell($0[key]) }
    }

    init(_ header: String, value: @escaping @Sendable (JSON) -> String) {
        self.header = header
        self.value = value
    }
}

func exportCell(_ v: JSON?) -> String {
    switch v {
    case .string(let s)?: return s
    case .int(let i)?: return String(i)
    case .bool(let b)?: return b ? "да" : "нет"
    case .array(let a)?: return a.map { exportCell($0) }.joined(separator: ", ")
    case .double(let d)?: return String(d)
    default: return ""
    }
}

/// The columns of each export. Clients' headers are those `crmctl import clients` maps by
/// itself, so an export reads back in (custom fields as one JSON column, not re-imported).
enum ExportColumns {
    static let clients: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("Название", "name"),
        ExportColumn("Тип") { exportCell($0["kind"]) == "person" ? "физлицо" : ($0["kind"] == nil ? "" : "компания") },
        ExportColumn("Телефон", "phones"), ExportColumn("Email", "emails"), ExportColumn("Менеджер", "owner_login"),
        ExportColumn("Сегмент", "segment"), ExportColumn("Источник", "source"), ExportColumn("ABC", "abc"),
        ExportColumn("Статус", "status"), ExportColumn("Зона", "zone"), ExportColumn("Последний контакт", "last_interaction_at"),
        ExportColumn("Создан", "created_at"), ExportColumn("ИНН", "inn"), ExportColumn("КПП", "kpp"),
        ExportColumn("Поля") { $0["fields"].map { JSONWriter.string($0) }.flatMap { $0 == "{}" ? nil : $0 } ?? "" },
    ]

    static let contacts: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("ID клиента", "client_id"), ExportColumn("Контактное лицо", "name"),
        ExportColumn("Должность", "position"), ExportColumn("Телефон контакта", "phones"), ExportColumn("Email контакта", "emails"),
        ExportColumn("ЛПР", "decision_maker"), ExportColumn("Создан", "created_at"),
    ]

    static let interactions: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("ID клиента", "client_id"), ExportColumn("ID контакта", "contact_id"),
        ExportColumn("Вид", "kind"), ExportColumn("Направление", "direction"), ExportColumn("Когда", "occurred_at"),
        ExportColumn("Автор", "author_login"), ExportColumn("Тема", "topic"), ExportColumn("Результат", "result"),
        ExportColumn("Заметка", "note"),
    ]

    static let deals: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("ID клиента", "client_id"), ExportColumn("Название", "title"),
        ExportColumn("Сумма", "amount_text"), ExportColumn("Валюта", "currency"), ExportColumn("Вероятность", "probability"),
        ExportColumn("Менеджер", "owner_login"), ExportColumn("Источник", "source"), ExportColumn("Воронка", "pipeline"),
        ExportColumn("Этап", "stage"), ExportColumn("Статус", "status"), ExportColumn("Причина проигрыша", "lost_reason"),
        ExportColumn("Ожидаемое закрытие", "expected_close"), ExportColumn("Открыта", "opened_at"), ExportColumn("Закрыта", "closed_at"),
    ]

    static let tasks: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("Задача", "title"), ExportColumn("Вид", "kind"),
        ExportColumn("Исполнитель", "assignee_login"),
        ExportColumn("Поставил", "creator_login"), ExportColumn("ID клиента", "client_id"), ExportColumn("ID сделки", "deal_id"),
        ExportColumn("Срок", "due_at"), ExportColumn("Выполнена", "done"), ExportColumn("Когда выполнена", "done_at"),
        ExportColumn("Заметка", "note"),
    ]

    static let invoices: [ExportColumn] = [
        ExportColumn("ID", "id"), ExportColumn("Номер", "number"), ExportColumn("ID сделки", "deal_id"),
        ExportColumn("ID клиента", "client_id"), ExportColumn("Менеджер", "owner_login"), ExportColumn("Сумма", "amount_text"),
        ExportColumn("Оплачено", "paid_text"), ExportColumn("Остаток", "remaining_text"), ExportColumn("Валюта", "currency"),
        ExportColumn("Статус", "status"), ExportColumn("Срок оплаты", "due_date"), ExportColumn("Просрочен", "overdue"),
    ]
}
