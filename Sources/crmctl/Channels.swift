import ArgumentParser
import CRMProtocol
import Foundation

/// A channel named on the command line: its id or its name.
func channelParam(_ s: String) -> JSON { Int64(s).map(JSON.int) ?? .string(s) }

struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel", abstract: tr("Marketing channels: tracking phone numbers and spend per period."),
        discussion: tr(
            """
            A channel is where clients come from (context ads, a billboard, a directory). Each has its own \
            tracking numbers: a call to one of them (call.incoming, reported by the PBX) names the channel. \
            Spend is entered per month (2026-03), ISO week or quarter. crmctl report channels shows what each \
            channel brings: calls, leads, buyers, revenue, profit and ROI.
            """),
        subcommands: [Add.self, List.self, Update.self, Spend.self], defaultSubcommand: List.self)

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Create a channel with its tracking numbers (heads and admins)."),
            discussion: tr("Example: \("crmctl channel add 'Контекстная реклама' --phone '8 (495) 123-45-67' --phone +74951234568")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The channel's name.")) var name: String
        @Option(help: .tr("A tracking number, in any spelling (repeat for more).")) var phone: [String] = []
        @Option(help: .tr("The channel's own gross margin in percent (e.g. 35 or 12.5), instead of channels.margin_bp.")) var margin:
            String?

        func run() throws {
            var p: JSONObject = ["name": .string(name), "phones": .array(phone.map(JSON.string))]
            if let margin { p["margin_bp"] = .int(try marginBP(margin)) }
            try global.run("channel.create", p) { printChannel($0) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("The channels and their tracking numbers."))
        @OptionGroup var global: GlobalOptions
        @Flag(help: .tr("Include archived channels.")) var archived = false

        func run() throws {
            var p: JSONObject = [:]
            if archived { p["archived"] = true }
            try global.run("channel.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                guard !items.isEmpty else {
                    print(tr("no channels yet; a head adds one: crmctl channel add NAME --phone NUMBER"))
                    return
                }
                var t = Table(["id", "name", "numbers", "margin", "state"])
                for c in items {
                    t.add([
                        num(c["id"]), clip(str(c["name"]), 40), phonesText(c["phones"]),
                        c["margin_bp"]?.intValue.map { percentText(bp: $0) } ?? "default",
                        c["archived"] == .bool(true) ? "archived" : "active",
                    ])
                }
                t.print()
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Rename a channel, add or remove numbers, set its margin, archive or restore it (heads and admins)."),
            discussion: tr("Example: \("crmctl channel update 'Контекстная реклама' --add-phone +74951234569 --remove-phone +74951234567")")
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The channel (id or name).")) var channel: String
        @Option(help: .tr("A new name.")) var name: String?
        @Option(help: .tr("Add a tracking number (repeat for more).")) var addPhone: [String] = []
        @Option(help: .tr("Remove a tracking number (repeat for more).")) var removePhone: [String] = []
        @Option(help: .tr("The channel's gross margin in percent, or 'default' for channels.margin_bp.")) var margin: String?
        @Flag(help: .tr("Archive the channel (its history stays in reports).")) var archive = false
        @Flag(help: .tr("Make an archived channel active again.")) var restore = false

        func validate() throws {
            if archive && restore { throw ValidationError(tr("--archive and --restore exclude each other")) }
        }

        func run() throws {
            var p: JSONObject = ["channel": channelParam(channel)]
            if let name { p["name"] = .string(name) }
            if !addPhone.isEmpty { p["add_phones"] = .array(addPhone.map(JSON.string)) }
            if !removePhone.isEmpty { p["remove_phones"] = .array(removePhone.map(JSON.string)) }
            if let margin { p["margin_bp"] = margin == "default" ? .null : .int(try marginBP(margin)) }
            if archive { p["archived"] = true }
            if restore { p["archived"] = false }
            try global.run("channel.update", p) { printChannel($0) }
        }
    }

    struct Spend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Enter a channel's spend for a period; entering it again replaces it (audited)."),
            discussion: tr("Example: \("crmctl channel spend 'Контекстная реклама' 2026-03 90000.00")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The channel (id or name).")) var channel: String
        @Argument(help: .tr("The period: a month (2026-03), an ISO week (2026-W10) or a quarter (2026-Q1).")) var period: String
        @Argument(help: .tr("The amount as money in the department's currency, e.g. 90000.00 or '90 000'.")) var amount: String

        func run() throws {
            let p: JSONObject = ["channel": channelParam(channel), "period": .string(period), "amount": .int(try parseMoney(amount))]
            try global.run("channel.spend", p) { r in
                var line =
                    "spend of '\(str(r["channel_name"]))' for \(str(r["period"])): \(moneyText(r["amount"]?.intValue ?? 0)) \(str(r["currency"]))"
                if let was = r["replaced"]?.intValue { line += " (was \(moneyText(was)))" }
                print(line)
            }
        }
    }
}

/// A margin typed in percent ("35", "12.5") as basis points.
func marginBP(_ text: String) throws -> Int64 {
    guard let v = Double(text.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: ",", with: ".")), (0...100).contains(v)
    else { throw ValidationError(tr("margin '\(text)' must be a percent from 0 to 100, e.g. 35 or 12.5")) }
    return Int64((v * 100).rounded())
}

private func printChannel(_ c: JSON) {
    let phones = (c["phones"]?.arrayValue ?? []).map { phoneText(str($0)) }
    var line = "channel #\(num(c["id"])) '\(str(c["name"]))': \(phones.isEmpty ? "no numbers" : phones.joined(separator: ", "))"
    if let m = c["margin_bp"]?.intValue { line += ", margin \(percentText(bp: m))" }
    if c["archived"] == .bool(true) { line += ", archived" }
    print(line)
}

struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: tr("Call tracking: what the PBX reports."), subcommands: [Incoming.self, Ended.self, Import.self])

    struct Incoming: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Report an incoming call (the PBX's dialplan runs this; operators and admins may too)."),
            discussion: tr(
                """
                The dialled number names the channel; the caller ID finds the client or contact, or opens an \
                unassigned lead. Whoever runs `crmctl watch` sees the call as a screen pop. An empty or \
                'anonymous' --from counts the call without a caller.

                Asterisk (extensions.conf), before Dial():
                  same => n,System(crmctl call incoming --from "${CALLERID(num)}" --to "${EXTEN}" --quiet &)
                FreeSWITCH (dialplan XML), before the bridge:
                  <action application="system" data="crmctl call incoming --from '${caller_id_number}' --to '${destination_number}' --quiet &"/>
                """))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("The caller ID (any spelling; empty or 'anonymous' when withheld).")) var from: String?
        @Option(help: .tr("The number dialled (a tracking number, or the main line).")) var to: String
        @Flag(help: .tr("Print nothing on success (for a dialplan).")) var quiet = false

        func run() throws {
            var p: JSONObject = ["to": .string(to)]
            if let from { p["from"] = .string(from) }
            try global.run("call.incoming", p) { r in
                guard !quiet else { return }
                print(callSummary(r))
            }
        }
    }
}

/// One line on a reported call.
func callSummary(_ r: JSON) -> String {
    let channel = r["channel"]?["name"]?.stringValue.map { " via '\($0)'" } ?? " (untracked number)"
    let from = r["from"]?.stringValue ?? "a withheld number"
    guard let c = r["client"], c != .null else { return "call #\(num(r["call_id"])) from \(from)\(channel): no caller to match" }
    var s = "call #\(num(r["call_id"])) from \(from)\(channel): "
    s +=
        r["lead_created"] == .bool(true)
        ? "new lead #\(num(c["id"])) '\(str(c["name"]))', unassigned" : "client #\(num(c["id"])) '\(str(c["name"]))'"
    if let k = r["contact"]?["name"]?.stringValue { s += ", contact \(k)" }
    if r["lead_created"] != .bool(true) { s += c["owner_login"]?.stringValue.map { " (\($0))" } ?? ", unassigned" }
    return s
}

/// The screen pop `watch` prints for a `call.incoming` event: who calls, through which channel,
/// whose client it is and what to do.
func callPop(_ d: JSON) -> String {
    let from = d["from"]?.stringValue ?? tr("a withheld number")
    let to = str(d["to"])
    var lines = [
        d["channel_name"]?.stringValue.map { tr("☎ INCOMING CALL from \(from) to \(to) via '\($0)'") }
            ?? tr("☎ INCOMING CALL from \(from) to \(to)")
    ]
    if d["client_id"]?.intValue == nil {
        lines.append("  " + tr("no caller ID: nothing to match"))
    } else if d["lead_created"] == .bool(true) {
        let id = num(d["client_id"])
        lines.append("  " + tr("NEW LEAD #\(id) '\(str(d["name"]))', unassigned: crmctl claim \(id)"))
    } else {
        var s = "  " + tr("client #\(num(d["client_id"])) '\(str(d["name"]))'")
        if let k = d["contact_name"]?.stringValue { s += ", " + tr("contact \(k)") }
        s += ", " + (d["owner_login"]?.stringValue.map { tr("owner \($0)") } ?? tr("unassigned"))
        if let z = d["zone"]?.stringValue { s += ", " + Style.zone(z, zoneName(z)) }
        lines.append(s)
    }
    return lines.joined(separator: "\n")
}
