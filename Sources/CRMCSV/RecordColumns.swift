/// The columns each record import understands: the field, the header names that mean it
/// (lowercased, «ё» as «е», no trailing number), and the cell's form.
extension RecordMapping {
    static let client = [
        RecordColumn(
            field: "client_id", headers: ["id клиента", "код клиента", "номер клиента", "client_id", "client id"], form: .integer),
        RecordColumn(
            field: "client",
            headers: ["клиент", "компания", "организация", "телефон клиента", "email клиента", "e-mail клиента", "client", "company"],
            form: .text),
    ]
    static let owner = RecordColumn(
        field: "owner", headers: ["менеджер", "ответственный", "ответственный менеджер", "owner", "manager"], form: .text)

    static let kinds: [String: [RecordColumn]] = [
        "contacts": client + [
            RecordColumn(
                field: "name", headers: ["фио", "контактное лицо", "контакт", "имя", "name", "contact", "contact name"], form: .text),
            RecordColumn(field: "position", headers: ["должность", "position", "title"], form: .text),
            RecordColumn(
                field: "phones", headers: ["телефон", "телефоны", "тел.", "тел", "мобильный", "phone", "phones", "mobile"], form: .list),
            RecordColumn(
                field: "emails", headers: ["email", "e-mail", "эл. почта", "электронная почта", "почта", "emails", "mail"], form: .list),
            RecordColumn(field: "decision_maker", headers: ["лпр", "принимает решение", "decision maker", "decision_maker"], form: .flag),
        ],
        "interactions": client + [
            RecordColumn(
                field: "kind", headers: ["тип", "вид", "kind", "type"],
                form: .word([
                    "звонок": "call", "встреча": "meeting", "письмо": "email", "e-mail": "email", "сообщение": "message", "заметка": "note",
                    "примечание": "note",
                ])),
            RecordColumn(
                field: "occurred_at", headers: ["дата", "когда", "дата и время", "occurred_at", "date", "when"], form: .instant),
            RecordColumn(field: "author", headers: ["автор", "менеджер", "сотрудник", "author", "manager", "user"], form: .text),
            RecordColumn(field: "contact_id", headers: ["id контакта", "contact_id", "contact id"], form: .integer),
            RecordColumn(field: "topic", headers: ["тема", "topic", "subject"], form: .text),
            RecordColumn(field: "result", headers: ["результат", "итог", "result", "outcome"], form: .text),
            RecordColumn(field: "note", headers: ["комментарий", "заметка", "примечание", "note", "comment"], form: .text),
            RecordColumn(
                field: "direction", headers: ["направление", "direction"],
                form: .word(["входящий": "in", "входящее": "in", "исходящий": "out", "исходящее": "out"])),
        ],
        "deals": client + [
            owner,
            RecordColumn(field: "title", headers: ["название", "сделка", "название сделки", "title", "deal"], form: .text),
            RecordColumn(field: "amount", headers: ["сумма", "сумма сделки", "amount", "sum"], form: .money),
            RecordColumn(field: "currency", headers: ["валюта", "currency"], form: .text),
            RecordColumn(field: "pipeline", headers: ["воронка", "pipeline"], form: .text),
            RecordColumn(field: "stage", headers: ["этап", "стадия", "stage"], form: .text),
            RecordColumn(
                field: "status", headers: ["статус", "status"],
                form: .word([
                    "открыта": "open", "в работе": "open", "выиграна": "won", "успешно": "won", "успешна": "won", "проиграна": "lost",
                    "отказ": "lost", "провалена": "lost",
                ])),
            RecordColumn(
                field: "opened_at", headers: ["дата открытия", "дата создания", "открыта", "opened", "opened_at"], form: .instant),
            RecordColumn(field: "closed_at", headers: ["дата закрытия", "закрыта", "closed", "closed_at"], form: .instant),
            RecordColumn(
                field: "lost_reason", headers: ["причина отказа", "причина проигрыша", "lost reason", "lost_reason"], form: .text),
            RecordColumn(field: "source", headers: ["источник", "source"], form: .text),
            RecordColumn(field: "probability", headers: ["вероятность", "probability"], form: .integer),
        ],
    ]
}
