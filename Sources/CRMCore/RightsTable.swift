/// The role × method rights table: one source for the table in docs/protocol.md ("Rights") and for
/// the integration test that calls every method as every role (Tests/IntegrationTests/RightsTests).
/// A test fails if a method has no row, if the docs' table differs from `RightsTable.markdown`, or
/// if crmd answers a call differently from its cell.
public enum RightsTable {
    /// What a role may do with a method, as the test checks it.
    public enum Right: Sendable, Equatable {
        /// Allowed (perhaps with a narrower result, e.g. "own row" or "restricted": never `1002`).
        case allowed
        /// `1002` forbidden.
        case denied
        /// Allowed on the caller's own client (or owner), `1002` on another manager's.
        case own
    }

    public struct Cell: Sendable {
        /// What the docs show.
        public var text: String
        public var right: Right
    }

    public struct Row: Sendable {
        /// The methods this row is about (wire names).
        public var methods: [String]
        /// Words after the methods in the docs ("pd fields", "(only with `--clock manual`)").
        public var qualifier: String
        /// A key the test uses to pick its params ("pd", "business"), or "" for the method itself.
        public var variant: String
        /// One cell per role, in `roles` order.
        public var cells: [Cell]

        public func right(for role: Role) -> Right { cells[RightsTable.roles.firstIndex(of: role)!].right }
    }

    /// The column order of the table.
    public static let roles: [Role] = [.admin, .director, .head, .manager, .operator, .accountant]

    static let yes = Cell(text: "✓", right: .allowed)
    static let no = Cell(text: "–", right: .denied)
    static let own = Cell(text: "own", right: .own)
    static func allowed(_ t: String) -> Cell { Cell(text: t, right: .allowed) }
    static func row(_ methods: [String], _ cells: Cell...) -> Row {
        Row(methods: methods, qualifier: "", variant: "", cells: cells)
    }
    static func row(_ methods: [String], qualifier: String, variant: String = "", _ cells: Cell...) -> Row {
        Row(methods: methods, qualifier: qualifier, variant: variant, cells: cells)
    }

    /// Every row; `admin, director, head, manager, operator, accountant`.
    public static let rows: [Row] = [
        row(["server.ping", "server.status", "whoami"], yes, yes, yes, yes, yes, yes),
        row(["session.act_as"], allowed("✓ (real identity must be admin)"), no, no, no, no, no),
        row(["server.backup", "server.backup_read"], yes, no, no, no, no, no),
        row(["user.add", "user.update", "user.deactivate"], yes, no, no, no, no, no),
        row(
            ["user.list"], allowed("✓ detailed"), allowed("✓ detailed"), allowed("✓ detailed"), allowed("✓ basic"), allowed("✓ basic"),
            allowed("✓ basic")),
        row(["client.create"], yes, no, yes, Cell(text: "✓ owner = self or none", right: .own), yes, no),
        row(
            ["client.get", "client.list", "client.find_by_phone"], allowed("full"), allowed("full"), allowed("full"),
            allowed("full if own, else restricted"), allowed("full"), allowed("full")),
        row(["client.update"], qualifier: "pd fields", variant: "pd", yes, no, yes, own, yes, no),
        row(["client.update"], qualifier: "segment/source/fields", variant: "business", yes, no, yes, own, no, no),
        row(["client.assign"], yes, no, yes, no, no, no),
        row(["client.import"], yes, no, yes, no, allowed("✓ without owners"), no),
        row(["contact.import"], yes, no, yes, no, allowed("✓ onto clients without owners"), no),
        row(["interaction.import", "deal.import"], yes, no, yes, no, no, no),
        row(["client.history"], yes, yes, yes, own, yes, yes),
        row(["interaction.log"], yes, no, yes, own, no, no),
        row(["interaction.list"], yes, yes, yes, own, yes, yes),
        row(["contact.create", "contact.update"], yes, no, yes, own, yes, no),
        row(["contact.move"], yes, no, yes, Cell(text: "own (both clients)", right: .own), yes, no),
        row(["contact.get", "contact.list"], yes, yes, yes, own, yes, yes),
        row(["client.release"], yes, no, yes, own, no, no),
        row(["client.explain"], yes, yes, yes, own, yes, yes),
        row(["exchange.list"], yes, yes, yes, yes, yes, yes),
        row(["exchange.claim"], Cell(text: "– (an admin is no manager)", right: .denied), no, yes, yes, no, no),
        row(["exchange.preview"], yes, yes, yes, allowed("own clients"), no, no),
        row(["report.zones"], yes, yes, yes, allowed("own row"), no, no),
        row(
            ["alert.list", "alert.ack"], allowed("own alerts"), allowed("own alerts"), allowed("own alerts"), allowed("own alerts"),
            allowed("own alerts"), allowed("own alerts")),
        row(["subscribe", "unsubscribe"], yes, yes, yes, yes, yes, yes),
        row(["pipeline.list"], yes, yes, yes, yes, yes, yes),
        row(["pipeline.board"], yes, yes, yes, Cell(text: "own deals", right: .own), yes, yes),
        row(["deal.create"], yes, no, yes, Cell(text: "own clients", right: .own), allowed("✓ owner = lead manager"), no),
        row(["deal.get", "deal.attachment_read"], yes, yes, yes, own, yes, yes),
        row(["deal.list"], yes, yes, yes, Cell(text: "own deals", right: .own), yes, yes),
        row(["deal.update", "deal.move", "deal.close", "deal.attach", "deal.attach_write"], yes, no, yes, own, no, no),
        row(["deal.reopen"], yes, no, yes, no, no, no),
        row(
            ["task.create"], allowed("✓ for anyone"), Cell(text: "✓ for self", right: .own), allowed("✓ for anyone"),
            Cell(text: "✓ for self", right: .own), allowed("✓ for anyone"), Cell(text: "✓ for self", right: .own)),
        row(
            ["task.list"], allowed("✓ any"), allowed("✓ any"), allowed("✓ any"), Cell(text: "own tasks", right: .own),
            Cell(text: "own tasks", right: .own), Cell(text: "own tasks", right: .own)),
        row(
            ["task.update", "task.done"], allowed("✓ any"), Cell(text: "own tasks", right: .own), allowed("✓ any"),
            Cell(text: "own tasks", right: .own), Cell(text: "own tasks", right: .own), Cell(text: "own tasks", right: .own)),
        row(
            ["today"], allowed("✓ anyone's"), allowed("✓ anyone's"), allowed("✓ anyone's"), Cell(text: "own", right: .own),
            Cell(text: "own", right: .own), Cell(text: "own", right: .own)),
        row(["plan.set"], yes, no, yes, no, no, no),
        row(
            ["plan.get", "plan.list", "plan.progress"], yes, yes, yes, Cell(text: "own plans", right: .own), no, no),
        row(["invoice.create"], yes, no, yes, Cell(text: "own deals", right: .own), no, yes),
        row(["invoice.pay"], yes, no, no, no, no, yes),
        row(["invoice.list"], yes, yes, yes, Cell(text: "own deals", right: .own), no, yes),
        row(["report.commission"], yes, yes, yes, allowed("own row"), no, yes),
        row(["report.sales"], yes, yes, yes, allowed("own row"), no, yes),
        row(
            ["report.funnel", "report.activity", "report.completeness", "report.plan"], yes, yes, yes, allowed("own row"), no,
            no),
        row(["channel.create", "channel.update", "channel.spend"], yes, no, yes, no, no, no),
        row(["channel.list"], yes, yes, yes, yes, yes, yes),
        row(["call.incoming", "call.ended", "call.import"], yes, no, yes, no, allowed("✓ (the PBX hook's account)"), no),
        row(["mail.ingest"], yes, no, no, no, allowed("✓ (the mail server's account)"), no),
        row(["report.channels"], yes, yes, yes, allowed("own clients, no profit/ROI"), no, yes),
        row(["abc.compute"], yes, yes, yes, no, no, no),
        row(["segment.create"], allowed("✓ shared"), no, allowed("✓ shared"), allowed("✓ own"), no, no),
        row(["segment.list"], yes, yes, yes, allowed("shared and own"), no, no),
        row(
            ["segment.get", "segment.members", "segment.stats"], yes, yes, yes,
            Cell(text: "shared and own; own clients only", right: .own), no, no),
        row(["segment.update", "segment.delete"], yes, no, yes, own, no, no),
        row(["segment.mailing"], qualifier: "(audited)", yes, no, yes, Cell(text: "shared and own; own clients only", right: .own), no, no),
        row(["clock.advance", "clock.set"], qualifier: "(only with `--clock manual`)", yes, no, no, no, no, no),
        row(["client.freeze"], yes, no, yes, own, no, no),
        row(["client.freeze_decide", "client.lock"], yes, no, yes, no, no, no),
        row(["exchange.request"], Cell(text: "– (an admin is no manager)", right: .denied), no, yes, yes, no, no),
        row(["report.exchange"], yes, yes, yes, allowed("own row"), no, no),
        row(["exchange.simulate"], yes, yes, yes, no, no, no),
        row(["request.create"], yes, no, yes, no, allowed("✓ (the web form's account)"), no),
        row(["request.list"], yes, yes, yes, allowed("assigned to them"), yes, no),
        row(["request.take"], no, no, no, Cell(text: "assigned to them, or new", right: .own), no, no),
        row(["request.assign"], yes, no, yes, no, no, no),
        row(["request.close"], yes, no, yes, Cell(text: "assigned to them", right: .own), no, no),
        row(["notification.list"], yes, yes, yes, allowed("their clients'"), no, no),
    ]

    /// The table as docs/protocol.md shows it, one line per row with the header first.
    public static var markdown: [String] {
        var lines = ["| method | " + roles.map(\.rawValue).joined(separator: " | ") + " |"]
        lines.append("|---|" + String(repeating: "---|", count: roles.count))
        for r in rows {
            var label = r.methods.map { "`\($0)`" }.joined(separator: ", ")
            if !r.qualifier.isEmpty { label += " " + r.qualifier }
            lines.append("| \(label) | " + r.cells.map(\.text).joined(separator: " | ") + " |")
        }
        return lines
    }
}
