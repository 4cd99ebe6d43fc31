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
        print("\(head): \(str(r["status"]))")
        if let from = r["released_from_login"]?.stringValue { print(tr("released from   \(from)")) }
        if let e = r["explanation"]?.stringValue { print(e) }
        return
    }
    func line(_ label: String, _ text: String) { print(label.padding(toLength: 16, withPad: " ", startingAt: 0) + text) }
    print("\(head): \(zoneCell(r))")
    let by = r["clock_set_by"] ?? .null
    var started = str(r["clock_started_at"])
    switch by["kind"]?.stringValue {
    case "interaction":
        started +=
            " by \(str(by["interaction_kind"])) #\(str(by["interaction_id"])) logged by \(login(by["by"], "?")) at \(str(by["at"]))"
    case "assignment":
        started += " by the assignment to \(login(by["to"], "?"))\(by["at"]?.stringValue.map { " at \($0)" } ?? "")"
    default: break
    }
    line("clock started", started)
    let next = r["next_change"] ?? .null
    let becomes = str(next["becomes"])
    let nextZone = ["green", "yellow", "red"].contains(becomes) ? Style.zone(becomes, becomes) : becomes
    line("next change", "\(nextZone) at \(str(next["at"]))")
    if let days = r["days_to_release"]?.intValue {
        let left = days > 0 ? "\(plural(days, "day")) left" : "due now"
        line("release", "\(str(r["release_at"])) (\(Style.zone(zone, left)))")
    } else {
        line("release", str(r["release_at"]))
    }
    let marks = r["upcoming_reminders"]?.arrayValue ?? []
    line(
        "reminders",
        marks.isEmpty
            ? "none left before the release"
            : marks.map { "\(plural($0["days_before"]?.intValue ?? 0, "day")) before, \(str($0["at"]))" }.joined(separator: "; "))
    if let w = r["what_resets"]?.stringValue { line("what resets it", w) }
}
