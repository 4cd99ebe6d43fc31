import ArgumentParser
import CRMProtocol
import Foundation

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment", abstract: tr("Saved segments: static lists of clients and dynamic filters, with their statistics."),
        discussion: tr(
            """
            A segment is named by its id or its name. A dynamic segment's filter is JSON, e.g. \
            '{"segment": "wholesale", "zone": ["green", "yellow"]}' (docs/protocol.md, "Segment filters"). \
            Not to be confused with a client's segment label (crmctl client update ID --segment wholesale), \
            which a filter may ask for. A manager sees only their own clients in any segment.
            """),
        subcommands: [Create.self, List.self, Show.self, Update.self, Delete.self, Members.self, Stats.self],
        defaultSubcommand: List.self)

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Save a segment: dynamic with --filter, or static with --static and the clients."),
            discussion: tr(
                """
                Examples: crmctl segment create "Wholesale, active" --filter '{"segment":"wholesale","has_open_deal":true}'
                          crmctl segment create "Exhibition 2026" --static --client 12 --client 40
                """))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The segment's name (unique).")) var name: String
        @Option(help: .tr("A dynamic segment's filter (JSON).")) var filter: String?
        @Flag(name: .customLong("static"), help: .tr("A static list of clients (given with --client).")) var isStatic = false
        @Option(name: .customLong("client"), help: .tr("A client id of a static segment (repeat for more).")) var clients: [Int] = []

        func validate() throws {
            if isStatic == (filter != nil) { throw ValidationError(tr("give either --filter (dynamic) or --static, not both")) }
            if !isStatic, !clients.isEmpty { throw ValidationError(tr("--client belongs to a static segment (--static)")) }
        }

        func run() throws {
            var p: JSONObject = ["name": .string(name), "kind": .string(isStatic ? "static" : "dynamic")]
            if let filter { p["filter"] = try filterJSON(filter) }
            if isStatic { p["client_ids"] = .array(clients.map { .int(Int64($0)) }) }
            try global.run("segment.create", p, render: printSegment)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Segments you may see (a manager: shared ones and their own)."))
        @OptionGroup var global: GlobalOptions
        @Option var limit: Int?
        @Option var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if let limit { p["limit"] = .int(Int64(limit)) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("segment.list", p) { r in
                var t = Table(["id", "name", "kind", "owner", "filter"])
                for s in r["items"]?.arrayValue ?? [] {
                    t.add([
                        str(s["id"]), str(s["name"]), Language.word("segment", str(s["kind"])),
                        s["owner_login"]?.stringValue ?? tr("shared"),
                        s["filter"].map { $0.isNull ? "" : JSONWriter.string($0) } ?? "",
                    ])
                }
                t.print()
                if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("A segment, its filter and how many clients it holds for you."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The segment's id or name.")) var segment: String

        func run() throws { try global.run("segment.get", segmentRef(segment), render: printSegment) }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Rename a segment, give it a new filter, or add and remove clients of a static one."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The segment's id or name.")) var segment: String
        @Option(help: .tr("A new name.")) var name: String?
        @Option(help: .tr("A new filter (JSON), for a dynamic segment.")) var filter: String?
        @Option(name: .customLong("add"), help: .tr("A client id to add to a static segment (repeat for more).")) var add: [Int] = []
        @Option(name: .customLong("remove"), help: .tr("A client id to remove (repeat for more).")) var remove: [Int] = []

        func run() throws {
            // `name` is the new name here: a segment named by its name is looked up first.
            var p: JSONObject = [:]
            if let id = Int64(segment) {
                p["id"] = .int(id)
            } else {
                p["id"] = try global.session { c in try c.call("segment.get", ["name": .string(segment)])["id"] ?? .null }
            }
            if let name { p["name"] = .string(name) }
            if let filter { p["filter"] = try filterJSON(filter) }
            if !add.isEmpty { p["add_client_ids"] = .array(add.map { .int(Int64($0)) }) }
            if !remove.isEmpty { p["remove_client_ids"] = .array(remove.map { .int(Int64($0)) }) }
            try global.run("segment.update", p, render: printSegment)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Delete a segment (its clients stay as they are)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The segment's id or name.")) var segment: String

        func run() throws {
            try global.run("segment.delete", segmentRef(segment)) { r in print(tr("segment #\(str(r["id"])) deleted")) }
        }
    }

    struct Members: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("A segment's clients, as client list shows them to you."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The segment's id or name.")) var segment: String
        @Option var limit: Int?
        @Option var cursor: String?

        func run() throws {
            var p = segmentRef(segment)
            if let limit { p["limit"] = .int(Int64(limit)) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("segment.members", p, render: printClientList)
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("A segment's clients, share by zone, average deal and its duration, win rate and revenue."),
            discussion:
                tr(
                    "Deals closed in the span count (default: the 365 days up to now). Example: crmctl segment stats Wholesale --period 2026-Q4"
                )
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @Argument(help: .tr("The segment's id or name.")) var segment: String
        @Option(help: .tr("A month (2026-12), ISO week (2026-W49) or quarter (2026-Q4).")) var period: String?
        @Option(help: .tr("Start of the span: 01.10.2026, 01.10 10:00, today, or RFC 3339.")) var from: String?
        @Option(help: .tr("End of the span: a day (31.12.2026, 31.12: included), an instant (exclusive), or RFC 3339.")) var to: String?

        func run() throws {
            var p = segmentRef(segment)
            if let period { p["period"] = .string(period) }
            if let from { p["from"] = .string(Display.periodBound(from, endOfDay: false)) }
            if let to { p["to"] = .string(Display.periodBound(to, endOfDay: true)) }
            try global.run("segment.stats", p, csv: csv, table: statsCSV, render: printStats)
        }
    }
}

/// `id` for a number, else `name`.
func segmentRef(_ s: String) -> JSONObject {
    if let id = Int64(s) { return ["id": .int(id)] }
    return ["name": .string(s)]
}

func filterJSON(_ text: String) throws -> JSON {
    do {
        return try JSONParser.parse(text)
    } catch {
        throw ValidationError(tr("--filter must be JSON, e.g. '{\"segment\": \"wholesale\"}': \(error)"))
    }
}

func printSegment(_ s: JSON) {
    let kind = Language.word("segment", str(s["kind"]))
    let whose = s["owner_login"]?.stringValue.map { tr("personal: \($0)") } ?? tr("shared")
    print(tr("segment #\(str(s["id"])) \(str(s["name"])) (\(kind), \(whose))"))
    let labels = [
        "filter": tr("filter"), "clients": tr("clients"), "members": tr("members"), "added": tr("added"), "removed": tr("removed"),
    ]
    let width = max(9, (labels.values.map(\.count).max() ?? 0) + 1)
    func line(_ key: String, _ value: String) { print((labels[key] ?? key).padding(toLength: width, withPad: " ", startingAt: 0) + value) }
    if let f = s["filter"], !f.isNull { line("filter", JSONWriter.string(f)) }
    for key in ["clients", "members", "added", "removed"] {
        if let n = s[key]?.intValue { line(key, String(n)) }
    }
}

/// A figure with one decimal (75.0, 66.7), or "-" for none.
func oneDecimal(_ v: JSON?) -> String {
    switch v {
    case .int(let i)?: return String(format: "%.1f", Double(i))
    case .double(let d)?: return String(format: "%.1f", d)
    default: return "-"
    }
}

let statsZones = ["green", "yellow", "red", "exchange", "unassigned"]

func printStats(_ r: JSON) {
    print(tr("segment #\(str(r["segment"]?["id"])) \(str(r["segment"]?["name"])), deals closed \(str(r["from"])) to \(str(r["to"]))"))
    let currency = str(r["currency"])
    let rows: [(String, String)] = [
        (tr("won / lost"), "\(str(r["won"])) / \(str(r["lost"]))  " + tr("win rate \(oneDecimal(r["win_rate"]))%")),
        (tr("average deal"), tr("\(r["avg_deal_amount_text"]?.stringValue ?? "-") \(currency), \(oneDecimal(r["avg_deal_days"])) days")),
        (tr("revenue"), "\(r["revenue_text"]?.stringValue ?? "-") \(currency)"),
    ]
    let zones = statsZones.map { Language.word("zone", $0) }
    let width = max(17, ([tr("clients")] + rows.map(\.0)).map(\.count).max()! + 1, (zones.map(\.count).max() ?? 0) + 3)
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print(pad(tr("clients"), width) + str(r["clients"]))
    for (z, name) in zip(statsZones, zones) {
        let o = r["zones"]?[z]
        print("  \(pad(name, width - 3)) \(str(o?["clients"])) (\(oneDecimal(o?["percent"]))%)")
    }
    for (label, value) in rows { print(pad(label, width) + value) }
    for o in r["other_currencies"]?.arrayValue ?? [] {
        print("  " + tr("also \(str(o["currency"])): \(str(o["won"])) won, revenue \(str(o["revenue"])) (minor units)"))
    }
}

func statsCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(
        ["segment", "clients"] + statsZones + ["won", "lost", "win_rate", "avg_deal_amount", "avg_deal_days", "revenue", "currency"])
    t.add(
        [str(r["segment"]?["name"]), str(r["clients"])] + statsZones.map { str(r["zones"]?[$0]?["clients"]) } + [
            str(r["won"]), str(r["lost"]), oneDecimal(r["win_rate"]), csvMoney(r["avg_deal_amount"]), oneDecimal(r["avg_deal_days"]),
            csvMoney(r["revenue"]), str(r["currency"]),
        ])
    return t
}
