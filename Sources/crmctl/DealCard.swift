import CRMClient
import CRMFiles
import CRMProtocol
import Foundation

/// Prints a deal's card from `deal.get`: its facts, its stages with the time spent in each,
/// comments, tasks and attachments.
func printDealCard(_ d: JSON) {
    let client = d["client_name"]?.stringValue.map { "\($0) (#\(str(d["client_id"])))" } ?? "#\(str(d["client_id"]))"
    print(tr("deal #\(str(d["id"])) \(str(d["title"]))"))
    print(cardLine(tr("client"), client))
    print(cardLine(tr("owner"), login(d["owner_login"]) + "  " + tr("opened by \(str(d["creator_login"])) at \(str(d["opened_at"]))")))
    var status = str(d["status"])
    switch status {
    case "won": status = Style.zone("green", Language.word("deal", "won")) + " " + tr("at \(str(d["closed_at"]))")
    case "lost":
        status = Style.zone("red", Language.word("deal", "lost")) + " " + tr("at \(str(d["closed_at"])): \(str(d["lost_reason"]))")
    default: status = tr("open, at this stage since \(str(d["stage_entered_at"]))")
    }
    print(cardLine(tr("stage"), "\(str(d["pipeline"])): \(str(d["stage"]))  (\(status))"))
    let set = d["probability_set"]?.boolValue == true ? "" : " " + tr("(the stage's)")
    print(cardLine(tr("amount"), dealAmount(d) + "  " + tr("probability \(num(d["probability"]))%") + set))
    if let s = d["source"]?.stringValue { print(cardLine(tr("source"), s)) }
    if let e = d["expected_close"]?.stringValue { print(cardLine(tr("close by"), LocalTime.formatDay(wire: e))) }
    if d["status"]?.stringValue == "open" {
        print(cardLine(tr("last contact"), str(d["last_contact_at"]) + nextContact(d)))
    }

    let moves = d["moves"]?.arrayValue ?? []
    if !moves.isEmpty {
        print()
        print(tr("stages"))
        var t = Table(["at", "step", "by", "time in stage"])
        for (i, m) in moves.enumerated() {
            let step: String
            let from = m["from"]?.stringValue
            let to = str(m["to"])
            let moveStatus = str(m["status"])
            if from == nil {
                step = tr("opened at \(to)")
            } else if moveStatus == "won" {
                step = tr("won at \(to)")
            } else if moveStatus == "lost" {
                step = tr("lost at \(to)")
            } else if from == to {
                step = tr("reopened at \(to)")
            } else {
                step = "\(from!) → \(to)"
            }
            var spent = ""
            if moveStatus == "open" {
                if i + 1 < moves.count {
                    spent = durationText(from: m["at"]?.stringValue ?? "", to: moves[i + 1]["at"]?.stringValue ?? "")
                } else {
                    spent = tr("(current)")
                }
            }
            t.add([str(m["at"]), step, str(m["by_login"]), spent])
        }
        t.print()
    }

    // Starts, moves and closes are interactions of kind deal: the stages above show them.
    let comments = (d["interactions"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue != "deal" }
    print()
    print(tr("comments"))
    if comments.isEmpty {
        print(Style.dim(tr("none (add one: crmctl deal comment \(str(d["id"])) TEXT)")))
    } else {
        var t = Table(["id", "when", "by", "kind", "text"])
        for i in comments {
            let text = [i["topic"], i["result"], i["note"]].compactMap { $0?.stringValue }.joined(separator: " / ")
            t.add([str(i["id"]), str(i["occurred_at"]), str(i["author_login"]), Language.word("interaction", str(i["kind"])), text])
        }
        t.print()
    }

    let tasks = d["tasks"]?.arrayValue ?? []
    print()
    print(tr("tasks"))
    if tasks.isEmpty {
        print(Style.dim(tr("none")))
    } else {
        printTaskTable(tasks, showAssignee: true)
    }

    let files = d["attachments"]?.arrayValue ?? []
    print()
    print(tr("attachments"))
    if files.isEmpty {
        print(Style.dim(tr("none (add one: crmctl deal attach \(str(d["id"])) FILE)")))
    } else {
        var t = Table(["id", "name", "size", "type", "sha-256", "by", "at"])
        for a in files {
            var size = fileSizeText(a["size"]?.intValue ?? 0)
            if a["complete"]?.boolValue != true {
                size = Style.zone("yellow", tr("uploading: \(num(a["received"])) of \(num(a["size"])) bytes"))
            }
            t.add([
                str(a["id"]), str(a["name"]), size, str(a["content_type"]), String(str(a["sha256"]).prefix(12)), str(a["by_login"]),
                str(a["created_at"]),
            ])
        }
        t.print()
    }
}

/// The time between two RFC 3339 instants as people read it: "2d 3h", "5h 20m", "45s".
func durationText(from a: String, to b: String) -> String {
    guard case .instant(let x) = RFC3339.read(a), case .instant(let y) = RFC3339.read(b) else { return "" }
    let seconds = max(0, (y - x) / 1000)
    let days = seconds / 86_400
    let hours = seconds % 86_400 / 3_600
    let minutes = seconds % 3_600 / 60
    if days > 0 { return hours > 0 ? tr("\(days)d \(hours)h") : tr("\(days)d") }
    if hours > 0 { return minutes > 0 ? tr("\(hours)h \(minutes)m") : tr("\(hours)h") }
    if minutes > 0 { return tr("\(minutes)m") }
    return tr("\(seconds)s")
}
