import ArgumentParser
import CRMProtocol

struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: tr("The board: open deals per stage with counts, sums and overdue marks."),
        discussion: tr(
            """
            One column per stage, fitted to the terminal's width (COLUMNS, else the terminal's own, else 80): \
            stage names wrap or are shortened and sums are abbreviated (12.5k, 1.25M) when narrow; \
            below a few characters a column, the stages are listed one a line. A head sees one line per \
            owner after the board, those with overdue deals first. Example: crmctl pipeline --owner ivanov
            """))
    @OptionGroup var global: GlobalOptions
    @Option(help: .tr("The pipeline (default: the first).")) var pipeline: String?
    @Option(help: .tr("Only this owner's deals (login or id).")) var owner: String?

    func run() throws {
        var p: JSONObject = [:]
        if let pipeline { p["pipeline"] = .string(pipeline) }
        if let owner { p["owner"] = userParam(owner) }
        let (board, role) = try global.session { conn -> (JSON, String?) in
            let board = try conn.call("pipeline.board", .object(p))
            let role = global.json ? nil : (try? conn.call("whoami"))?["user"]?["role"]?.stringValue
            return (board, role)
        }
        global.output(board) { b in
            let width = terminalWidth()
            printBoard(b, width: width)
            // A manager's board is their own: the per-owner lines would repeat it.
            if owner == nil && role != "manager" { printOwners(b, width: width) }
        }
    }
}

/// The column separators: roomy, and the least that still separates.
private let wideSeparator = (cell: " │ ", rule: "─┼─")
private let narrowSeparator = (cell: "│", rule: "┼")

/// Prints the board in at most `width` cells a line.
func printBoard(_ b: JSON, width: Int) {
    let stages = b["stages"]?.arrayValue ?? []
    let currency = str(b["currency"])
    let count = stages.reduce(Int64(0)) { $0 + ($1["count"]?.intValue ?? 0) }
    let amount = stages.reduce(Int64(0)) { $0 + ($1["amount"]?.intValue ?? 0) }
    let overdue = stages.reduce(Int64(0)) { $0 + ($1["overdue"]?.intValue ?? 0) }
    var header =
        "\(str(b["pipeline"])): "
        + (count == 0 ? tr("no open deals") : tr("\(count, "open deal", "open deals"), \(moneyText(amount)) \(currency)"))
    if overdue > 0 { header += ", " + Style.zone("red", tr("\(overdue) overdue")) }
    print(clip(header, width))
    guard !stages.isEmpty else { return }
    print()

    let n = stages.count
    var sep = wideSeparator
    var narrow = false
    var column = (width - sep.cell.count * (n - 1)) / n
    if column < 9 {
        sep = narrowSeparator
        narrow = true
        column = (width - sep.cell.count * (n - 1)) / n
    }
    guard column >= 9 else {
        printStageList(stages, width: width)
        return
    }
    column = min(column, 32)
    // Without spaces around the bars, a cell's text stops one short of the next bar.
    let text = narrow ? column - 1 : column

    let names = stages.map { wrap(str($0["name"]), width: text, maxLines: 3) }
    let nameRows = names.map(\.count).max() ?? 1
    var rows: [[String]] = (0..<nameRows).map { i in names.map { i < $0.count ? $0[i] : "" } }
    rows.append(stages.map { _ in String(repeating: "─", count: column) })
    rows.append(
        stages.map { s in
            let c = s["count"]?.intValue ?? 0
            let long = tr("\(c, "deal", "deals")")
            return displayWidth(long) <= text ? long : String(c)
        })
    let sums = stages.map { $0["amount"]?.intValue ?? 0 }
    let format = moneyFormat(fitting: sums, width: text)
    rows.append(sums.map { $0 == 0 ? "-" : format($0) })
    rows.append(
        stages.map { s in
            let o = s["overdue"]?.intValue ?? 0
            guard o > 0 else { return "" }
            let long = tr("\(o) overdue")
            return Style.zone("red", displayWidth(long) <= text ? long : clip("!\(o)", text))
        })
    if text >= 12 {
        rows.append(stages.map { s in Style.dim(clip("\(num(s["probability"]))% · \(cadenceText(s["cadence"]?.stringValue))", text)) })
    }
    for (i, row) in rows.enumerated() {
        let isRule = i == nameRows
        let line = row.map { pad($0, column) }.joined(separator: isRule ? sep.rule : sep.cell)
        print(isRule ? line : String(line.reversed().drop { $0 == " " }.reversed()))
    }
}

/// The stages one a line, for a terminal too narrow for columns: the numbers right, the name
/// shortened to what is left.
private func printStageList(_ stages: [JSON], width: Int) {
    let counts = stages.map { num($0["count"]) }
    let sums = stages.map { s in (s["amount"]?.intValue ?? 0) == 0 ? "-" : compactMoney(s["amount"]?.intValue ?? 0) }
    let marks = stages.map { s in (s["overdue"]?.intValue ?? 0) > 0 ? Style.zone("red", "!\(num(s["overdue"]))") : "" }
    let countWidth = counts.map(displayWidth).max() ?? 1
    let sumWidth = sums.map(displayWidth).max() ?? 1
    let markWidth = marks.map(displayWidth).max() ?? 0
    for (i, s) in stages.enumerated() {
        var numbers = String(repeating: " ", count: countWidth - displayWidth(counts[i])) + counts[i] + " "
        numbers += String(repeating: " ", count: sumWidth - displayWidth(sums[i])) + sums[i]
        if !marks[i].isEmpty { numbers += " " + marks[i] }
        let longest = stages.map { displayWidth(str($0["name"])) }.max() ?? 0
        let nameWidth = min(longest, width - countWidth - sumWidth - markWidth - (markWidth > 0 ? 3 : 2))
        if nameWidth < 6 {
            // Too narrow for a name beside the numbers: the name, then the numbers below it.
            print(clip(str(s["name"]), width))
            print(clip("  " + numbers, width))
        } else {
            print(clip(pad(str(s["name"]), nameWidth) + " " + numbers, width))
        }
    }
}

/// The longest money format that fits every sum in `width` cells: with kopecks, without, or
/// compact.
private func moneyFormat(fitting sums: [Int64], width: Int) -> (Int64) -> String {
    let formats: [(Int64) -> String] = [{ moneyText($0) }, { moneyText($0, decimals: false) }, compactMoney]
    for f in formats where sums.allSatisfy({ displayWidth(f($0)) <= width }) { return f }
    return { clip(compactMoney($0), width) }
}

/// One line per owner, those with overdue deals first (crmd's order).
func printOwners(_ b: JSON, width: Int) {
    let owners = b["owners"]?.arrayValue ?? []
    guard !owners.isEmpty else { return }
    print()
    print(clip(tr("by owner, most overdue first"), width))
    var t = Table(["owner", "deals", "sum", "overdue"])
    for o in owners {
        let amount = o["amount"]?.intValue ?? 0
        let overdue = o["overdue"]?.intValue ?? 0
        t.add([
            login(o["owner_login"], tr("(no owner)")), num(o["count"]), width >= 60 ? moneyText(amount) : compactMoney(amount),
            overdue > 0 ? Style.zone("red", width >= 50 ? tr("\(overdue) overdue") : "!\(overdue)") : "-",
        ])
    }
    printFitted(t, width: width)
}

/// `text` in lines of at most `width` cells, words kept whole where they fit (a longer word is
/// shortened with "…"), at most `maxLines` lines (the last one shortened if more remains).
func wrap(_ text: String, width: Int, maxLines: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ").map({ clip(String($0), width) }) {
        if current.isEmpty {
            current = word
        } else if displayWidth(current) + 1 + displayWidth(word) <= width {
            current += " " + word
        } else {
            lines.append(current)
            current = word
        }
    }
    if !current.isEmpty || lines.isEmpty { lines.append(current) }
    guard lines.count > maxLines else { return lines }
    let rest = lines[(maxLines - 1)...].joined(separator: " ")
    return Array(lines.prefix(maxLines - 1)) + [clip(rest, width)]
}
