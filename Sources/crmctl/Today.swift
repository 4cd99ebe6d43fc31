import ArgumentParser
import CRMClient
import CRMProtocol

struct TodayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "today",
        abstract: tr("Your day in one list: overdue and today's tasks, deals to contact, clients near release, unread alerts."),
        discussion: tr("Heads, directors and admins may look at someone else's day: crmctl today --user ivanov"))
    @OptionGroup var global: GlobalOptions
    @Option(help: .tr("Whose day (login or id; default yours).")) var user: String?

    func run() throws {
        var p: JSONObject = [:]
        if let user { p["user"] = userParam(user) }
        try global.run("today", p, render: printToday)
    }
}

func printToday(_ r: JSON) {
    print(tr("\(str(r["user"]))'s day, \(LocalTime.formatDay(wire: str(r["date"]))) (now \(str(r["now"])))"))

    section(tr("Overdue tasks"), r["tasks_overdue"]) { printTaskTable($0, showAssignee: false) }
    section(tr("Tasks due later today"), r["tasks_today"]) { printTaskTable($0, showAssignee: false) }
    section(tr("Deals past their contact cadence"), r["deals_overdue"]) { printDayDeals($0, due: "overdue since") }
    section(tr("Deals to contact today"), r["deals_due_today"]) { printDayDeals($0, due: "contact by") }
    section(tr("Clients near release"), r["clients_near_release"]) { clients in
        var t = Table(["id", "name", "zone", "release at"])
        for c in clients { t.add([str(c["id"]), str(c["name"]), zoneCell(c), str(c["release_at"])]) }
        t.print()
    }

    let alerts = r["alerts_unacked"]?.intValue ?? 0
    print()
    print(alerts == 0 ? tr("Unacknowledged alerts: none.") : tr("Unacknowledged alerts: \(alerts) (see them: crmctl alerts --unacked)"))
}

/// A titled section: its items through `body`, or a line saying there are none.
private func section(_ title: String, _ items: JSON?, _ body: ([JSON]) -> Void) {
    let list = items?.arrayValue ?? []
    print()
    if list.isEmpty {
        print(tr("\(title): none."))
        return
    }
    print("\(title) (\(list.count))")
    body(list)
}

private func printDayDeals(_ deals: [JSON], due: String) {
    var t = Table(["id", "title", "client", "stage", "amount", due])
    for d in deals {
        let when = str(d["next_contact_due"])
        t.add([
            str(d["id"]), clip(str(d["title"]), 40), "#\(str(d["client_id"]))", str(d["stage"]), dealAmount(d),
            d["overdue"]?.boolValue == true ? Style.zone("red", when) : when,
        ])
    }
    t.print()
}
