import ArgumentParser
import CRMProtocol
import Foundation

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Why a client is in its zone, what comes next, and what would reset it."))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The client's id.")) var id: Int

    func run() throws {
        try global.run("client.explain", ["id": .int(id)], render: printExplanation)
    }
}

private func printExplanation(_ r: JSON) {
    let head = "#\(str(r["client_id"])) \(str(r["name"]))"
    guard let zone = r["zone"]?.stringValue else {
        // On the exchange or unassigned: the server says it in one sentence.
        print("\(head): \(Language.word("status", str(r["status"])))")
        if let from = r["released_from_login"]?.stringValue { print(tr("released from   \(from)")) }
        if let e = r["explanation"]?.stringValue { print(e) }
        return
    }
    func line(_ label: String, _ text: String) {
        print(label.padding(toLength: max(16, label.count + 1), withPad: " ", startingAt: 0) + text)
    }
    print("\(head): \(zoneCell(r))")
    let by = r["clock_set_by"] ?? .null
    var started = str(r["clock_started_at"])
    switch by["kind"]?.stringValue {
    case "interaction":
        let kind = Language.word("interaction", str(by["interaction_kind"]))
        started = tr("\(started) by \(kind) #\(str(by["interaction_id"])) logged by \(login(by["by"], "?")) at \(str(by["at"]))")
    case "assignment":
        let to = login(by["to"], "?")
        started =
            by["at"].map { $0 == .null } ?? true
            ? tr("\(started) by the assignment to \(to)") : tr("\(started) by the assignment to \(to) at \(str(by["at"]))")
    default: break
    }
    line(tr("clock started"), started)
    let next = r["next_change"] ?? .null
    let becomes = str(next["becomes"])
    let nextZone =
        ["green", "yellow", "red"].contains(becomes) ? Style.zone(becomes, zoneName(becomes)) : Language.word("status", becomes)
    line(tr("next change"), tr("\(nextZone) at \(str(next["at"]))"))
    if let days = r["days_to_release"]?.intValue {
        let left = days > 0 ? tr("\(days, "day", "days") left") : tr("due now")
        line(tr("release due"), "\(str(r["release_at"])) (\(Style.zone(zone, left)))")
    } else {
        line(tr("release due"), str(r["release_at"]))
    }
    let marks = r["upcoming_reminders"]?.arrayValue ?? []
    line(
        tr("reminders"),
        marks.isEmpty
            ? tr("none left before the release")
            : marks.map { tr("\($0["days_before"]?.intValue ?? 0, "day", "days") before, \(str($0["at"]))") }.joined(separator: "; "))
    if let w = r["what_resets"]?.stringValue { line(tr("what resets it"), w) }
}
