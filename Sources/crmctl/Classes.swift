import ArgumentParser
import CRMProtocol
import Foundation

struct ABCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abc", abstract: tr("ABC/XYZ classes of clients: computed by crmd each month, or now."),
        discussion: tr(
            """
            crmd computes the classes on the 1st of each month (classes.run_day, classes.run_at) from the won deals of the \
            last 12 whole months (classes.window_months). A client's class and its history show on `crmctl client show`; \
            `crmctl client list --abc A` lists a class.
            """),
        subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Compute this month's classes now (admin, head, director); prints the counts and what changed."))
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try global.run("abc.compute", [:]) { r in
                print(
                    "classes of \(str(r["month"])) over won deals in \(str(r["currency"])) from \(str(r["window_from"])) to \(str(r["window_to"]))"
                )
                var t = Table(["class", "clients"])
                for k in ["A", "B", "C", "X", "Y", "Z"] { t.add([k, str(r["counts"]?[k])]) }
                t.print()
                print(
                    "\(str(r["clients"])) clients classed, \(str(r["changed"])) changed (\(str(r["declassed"])) lost their class), \(str(r["took_ms"])) ms"
                )
                if r["change_events"] == .bool(false) {
                    print(Style.dim("too many changes for an event per client: only the classes.computed summary was announced"))
                }
            }
        }
    }
}

/// A client's classes month by month (the card's `classes`).
func printClassHistory(_ history: [JSON]) {
    print("\n" + tr("classes by month"))
    var t = Table(["month", "abc", "xyz", "revenue", "cv %"])
    for h in history {
        t.add([str(h["month"]), str(h["abc"]), str(h["xyz"]), h["revenue"]?.intValue.map { moneyText($0) } ?? "-", str(h["cv_percent"])])
    }
    t.print()
}
