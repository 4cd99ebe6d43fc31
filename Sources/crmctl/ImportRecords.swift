import ArgumentParser
import CRMCSV
import Foundation

/// The habits every record import shares, for `--help`.
private let habits = """
    The file: UTF-8 (with or without BOM) or Windows-1251, cells split by ';' or ',' (found by
    themselves, or --encoding, --delimiter), a header row naming the columns (Russian or English);
    other columns are skipped unless --map COLUMN=FIELD names them. The client of each row is named
    by «ID клиента» (client_id) or by «Клиент» holding one of its phones or e-mails (client).

    --dry-run checks every row against the base and writes nothing. A real run sends the file in
    batches (--batch rows); each batch is one transaction: its good rows are written together or
    not at all, its bad rows and duplicates are reported and skipped. Interrupted? Run the same
    command again: finished batches are skipped, and none is written twice.
    Exit status: 0 every row imported (or would be), 65 some rows were bad or duplicates.
    """

/// `crmctl import contacts FILE.csv`: contact persons onto clients already in crmd.
struct ImportContacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts", abstract: tr("Import contact persons onto existing clients from a CSV file."),
        discussion: tr(
            """
            Columns: «ID клиента» or «Клиент», «ФИО», «Должность», «Телефон», «Email», «ЛПР» (or client_id,
            client, name, position, phone, email, decision maker). A phone or e-mail that a client or
            contact in crmd (or an earlier row) already has makes the row a duplicate.

            """) + habits)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImportFileOptions

    func validate() throws { try options.check() }
    func run() throws { try options.run(global, list: "contacts") { try RecordMapping(kind: "contacts", header: $0, overrides: $1) } }
}

/// `crmctl import interactions FILE.csv`: the history of calls, meetings, letters and notes.
struct ImportInteractions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interactions", abstract: tr("Import past calls, meetings, e-mails and notes from a CSV file."),
        discussion: tr(
            """
            Columns: «ID клиента» or «Клиент», «Тип» (Звонок, Встреча, Письмо, Сообщение, Заметка or call,
            meeting, email, message, note), «Дата» (local time: 01.03.2026 14:30, 2026-03-01 14:30,
            2026-03-01, or RFC 3339), «Автор» (a login), «Тема», «Результат», «Комментарий»,
            «Направление» (входящий/исходящий). Each interaction moves the client's zone as if its
            author had logged it at that date. The same client, type, instant and author again is a
            duplicate.

            """) + habits)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImportFileOptions

    func validate() throws { try options.check() }
    func run() throws {
        try options.run(global, list: "interactions") { try RecordMapping(kind: "interactions", header: $0, overrides: $1) }
    }
}

/// `crmctl import deals FILE.csv`: open, won and lost deals.
struct ImportDeals: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deals", abstract: tr("Import open, won and lost deals from a CSV file."),
        discussion: tr(
            """
            Columns: «ID клиента» or «Клиент», «Название», «Сумма» (roubles: 1 500,50), «Валюта»,
            «Воронка», «Этап», «Статус» (открыта, выиграна, проиграна or open, won, lost), «Дата
            открытия», «Дата закрытия» (required when won or lost), «Причина отказа», «Менеджер»,
            «Источник», «Вероятность». The same client, title, amount and status again is a duplicate.

            """) + habits)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImportFileOptions

    func validate() throws { try options.check() }
    func run() throws { try options.run(global, list: "deals") { try RecordMapping(kind: "deals", header: $0, overrides: $1) } }
}
