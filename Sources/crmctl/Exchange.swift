import ArgumentParser
import CRMProtocol

// The colored-clients exchange from the command line: the exchange itself, claims and releases,
// and the release preview.

struct ExchangeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange", abstract: tr("List the clients on the exchange that a manager may claim."),
        discussion: tr(
            """
            Shows each client's id (for `crmctl claim ID`), when it was released, from whom and why. \
            Unassigned clients (never owned) are claimable too and are listed unless --released-only. \
            The CLAIM column says whether you may claim it now, or from when (your cooldown on a \
            client released from you). Without --all one page is shown; its last line tells the \
            --cursor for the next one. `crmctl exchange request ID` asks for a client inside its fair \
            claim window; `crmctl exchange simulate` replays proposed thresholds over a past period.
            """),
        subcommands: [ExchangeRequest.self, ExchangeSimulate.self])
    @OptionGroup var global: GlobalOptions
    @Flag(help: .tr("Fetch every page, not just the first.")) var all = false
    @Option(help: .tr("At most this many clients (1 to 1000; default 100).")) var limit: Int?
    @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?
    @Flag(help: .tr("Only clients released to the exchange, not unassigned ones.")) var releasedOnly = false

    func validate() throws {
        if all, limit != nil { throw ValidationError(tr("--all and --limit exclude each other")) }
    }

    func run() throws {
        var p: JSONObject = [:]
        if let limit { p["limit"] = .int(limit) }
        if let cursor { p["cursor"] = .string(cursor) }
        if releasedOnly { p["include_unassigned"] = false }
        guard all else {
            try global.run("exchange.list", p, render: printExchange)
            return
        }
        let items = try global.allPages("exchange.list", p)
        let result: JSON = ["items": .array(items), "next_cursor": .null]
        if global.json {
            print(JSONWriter.string(result))
        } else {
            printExchange(result)
        }
    }
}

/// Whether the caller may claim it: "yes", or not yet (their cooldown) and from when.
private func claimCell(_ c: JSON) -> String {
    if c["claimable"]?.boolValue == true { return tr("yes") }
    if c["claimable_from"] != nil, c["claimable_from"] != .null {
        return Style.zone("red", tr("from \(Display.relative(c["claimable_from"]))"))
    }
    return "-"
}

private func printExchange(_ r: JSON) {
    let items = r["items"]?.arrayValue ?? []
    if items.isEmpty {
        print(tr("The exchange is empty."))
        return
    }
    var t = Table(["id", "name", "status", "released", "from", "reason", "claim", "window until"])
    for c in items {
        let unassigned = c["status"]?.stringValue == "unassigned"
        t.add([
            str(c["id"]), str(c["name"]), Language.word("status", str(c["status"])), c["released_at"].map(str) ?? "-",
            login(c["released_from_login"]), c["release_reason"]?.stringValue ?? (unassigned ? tr("never had an owner") : "-"),
            claimCell(c),
            c["window_ends_at"].map { $0 == .null ? "-" : str($0) } ?? "-",
        ])
    }
    t.print()
    if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
}

struct Claim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Claim a client from the exchange: it becomes yours, green, with a handover summary."),
        discussion: tr(
            """
            Managers and heads claim. The manager a client was released from may not claim it back \
            during the cooldown; daily and per-manager limits may apply.
            """))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The client's id (see `crmctl exchange`).")) var id: Int

    func run() throws {
        try global.run("exchange.claim", ["id": .int(id)]) { c in
            print(tr("claimed #\(str(c["id"])) \(str(c["name"])): now led by \(login(c["owner_login"], "?")), \(zoneCell(c))"))
            let h = c["handover"] ?? .null
            if let from = h["released_from_login"]?.stringValue {
                print(tr("released from \(from)\(h["release_reason"]?.stringValue.map { ": \($0)" } ?? "")"))
            } else {
                print(tr("it had no owner before"))
            }
            let recent = h["last_interactions"]?.arrayValue ?? []
            print("\n" + (recent.isEmpty ? tr("no interactions logged yet") : tr("last interactions")))
            if !recent.isEmpty { printInteractions(recent) }
            let contacts = h["contacts"]?.arrayValue ?? []
            print("\n" + (contacts.isEmpty ? tr("no contacts") : tr("contacts")))
            if !contacts.isEmpty {
                printContacts(contacts)
            }
        }
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Release a client to the exchange, with a reason (its owner, a head or an admin)."),
        discussion: tr("The manager it leaves may not claim it back during the exchange cooldown."))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The client's id.")) var id: Int
    @Option(help: .tr("Why it goes to the exchange (kept in its history and shown to whoever claims it).")) var reason: String

    func run() throws {
        try global.run("client.release", ["id": .int(id), "reason": .string(reason)]) { c in
            print(tr("released #\(str(c["id"])) \(str(c["name"])) to the exchange: \(c["release_reason"]?.stringValue ?? reason)"))
        }
    }
}

struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Releases due in the next days per manager, optionally under proposed thresholds."),
        discussion: tr(
            """
            Without threshold options the current rules are used. Give any of --yellow-after, \
            --red-after, --release-after (ISO 8601 durations, e.g. P1M, P5M, P6M) to see what would \
            be released under those thresholds instead; the others keep their current values. \
            Managers see only their own clients.
            """))
    @OptionGroup var global: GlobalOptions
    @Option(help: .tr("How many days ahead (1 to 366; default 7).")) var days: Int?
    @Option(help: .tr("Proposed: green turns yellow after this (e.g. P1M).")) var yellowAfter: String?
    @Option(help: .tr("Proposed: yellow turns red after this (e.g. P5M).")) var redAfter: String?
    @Option(help: .tr("Proposed: the client is released after this (e.g. P6M).")) var releaseAfter: String?

    func run() throws {
        var p: JSONObject = [:]
        if let days { p["days"] = .int(days) }
        var t = JSONObject()
        if let yellowAfter { t["yellow_after"] = .string(yellowAfter) }
        if let redAfter { t["red_after"] = .string(redAfter) }
        if let releaseAfter { t["release_after"] = .string(releaseAfter) }
        if t.count > 0 { p["thresholds"] = .object(t) }
        try global.run("exchange.preview", p, render: printPreview)
    }
}

private func printPreview(_ r: JSON) {
    let which =
        r["thresholds"]?.stringValue == "proposed" ? tr("under the proposed thresholds") : tr("under the current thresholds")
    let total = r["total"]?.intValue ?? 0
    let managers = r["managers"]?.arrayValue ?? []
    guard total > 0 || !managers.isEmpty else {
        print(tr("No releases due by \(str(r["to"])) \(which)."))
        return
    }
    print(tr("\(total, "release", "releases") due by \(str(r["to"])) \(which)"))
    if let held = r["held"]?.intValue, held > 0 {
        print(tr("\(held, "client", "clients") held back by a lock, a freeze or a deal (not counted)"))
    }
    for m in managers {
        let clients = m["clients"]?.arrayValue ?? []
        let count = m["count"]?.intValue ?? Int64(clients.count)
        // crmd lists at most 100 clients per manager; a count equal to that may be a lower bound.
        let countText =
            clients.count >= 100 && count <= clients.count
            ? tr("\(clients.count) or more clients") : tr("\(count, "client", "clients")")
        print("\n\(login(m["owner_login"], tr("user #\(str(m["owner"]))"))): \(countText)")
        let named = clients.contains { $0["name"]?.stringValue != nil }
        var t = Table(named ? ["id", "name", "release at"] : ["id", "release at"])
        for c in clients {
            t.add(named ? [str(c["client_id"]), str(c["name"]), str(c["release_at"])] : [str(c["client_id"]), str(c["release_at"])])
        }
        t.print()
        if clients.count >= 100 { print(Style.dim(tr("(only the first 100 are listed)"))) }
    }
}

struct ExchangeRequest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: tr("Ask for a released client inside its fair claim window."),
        discussion: tr(
            """
            For a while after a release (exchange.claim_window_ends) a client is not claimed but \
            requested; when the window ends one requester gets it: the one leading the fewest \
            clients, then the earliest request, then a draw recorded in the audit. After the \
            window, `crmctl claim ID` is first come first served.
            """))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The client's id (see `crmctl exchange`).")) var id: Int

    func run() throws {
        try global.run("exchange.request", ["id": .int(id)]) { r in
            print(tr("requested #\(str(r["client_id"])): decided at \(str(r["window_ends_at"])) (asked \(str(r["requested_at"])))"))
        }
    }
}

struct ExchangeSimulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: tr("Replay proposed thresholds over a past period: what would have been released, when, from whom."),
        discussion: tr(
            """
            Give a past --period (e.g. 2026-03) or --from and --to, and any of --yellow-after, --red-after, \
            --release-after (ISO 8601 durations); the others keep their current values, and with none the \
            current thresholds are replayed (which gives what crmd did). Prints per manager the simulated \
            releases against those the scheduler made, then the first --limit releases. Heads, directors \
            and admins. Reads a snapshot; writes nothing.
            """))
    @OptionGroup var global: GlobalOptions
    @OptionGroup var span: ReportSpan
    @Option(help: .tr("Proposed green period (ISO 8601, e.g. P1M).")) var yellowAfter: String?
    @Option(help: .tr("Proposed end of yellow (e.g. P5M).")) var redAfter: String?
    @Option(help: .tr("Proposed release (e.g. P6M).")) var releaseAfter: String?
    @Option(help: .tr("Releases listed (0 to 1000; default 100); all are counted.")) var limit: Int?

    func run() throws {
        var p = span.params
        var t: JSONObject = [:]
        if let yellowAfter { t["yellow_after"] = .string(yellowAfter) }
        if let redAfter { t["red_after"] = .string(redAfter) }
        if let releaseAfter { t["release_after"] = .string(releaseAfter) }
        if yellowAfter != nil || redAfter != nil || releaseAfter != nil { p["thresholds"] = .object(t) }
        if let limit { p["limit"] = .int(limit) }
        try global.run("exchange.simulate", p) { r in
            let thresholds = "\(str(r["yellow_after"]))/\(str(r["red_after"]))/\(str(r["release_after"]))"
            let which = r["thresholds"]?.stringValue == "proposed" ? tr("proposed thresholds") : tr("current thresholds")
            let total = r["total"]?.intValue ?? 0
            print(
                tr(
                    "\(which) \(thresholds) from \(str(r["from"])) to \(str(r["to"])): \(total, "release", "releases") (crmd made \(num(r["actual_total"]))), \(num(r["took_ms"])) ms"
                ))
            var m = Table(["manager", "simulated", "actual"])
            for i in r["managers"]?.arrayValue ?? [] { m.add([login(i["owner_login"]), num(i["simulated"]), num(i["actual"])]) }
            m.print()
            let items = r["releases"]?.arrayValue ?? []
            guard !items.isEmpty else { return }
            print()
            var t = Table(["client", "from", "released at"])
            for i in items { t.add([num(i["client_id"]), login(i["owner_login"]), str(i["at"])]) }
            t.print()
            if r["truncated"] == true { print(Style.dim(tr("more releases than listed: --limit up to 1000"))) }
        }
    }
}
