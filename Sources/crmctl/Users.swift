import ArgumentParser
import CRMProtocol

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: tr("Add, list, change and deactivate users (admins)."),
        subcommands: [Add.self, List.self, Update.self, Deactivate.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Add a user mapped to a Unix account."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("Login (usually the Unix account name).")) var login: String
        @Option(help: .tr("Full name.")) var name: String
        @Option(help: .tr("admin, director, head, manager, operator or accountant.")) var role: String
        @Option(help: .tr("Unix uid (default: the uid of the system account with this login).")) var uid: Int?

        func run() throws {
            var p: JSONObject = ["login": .string(login), "name": .string(name), "role": .string(role)]
            if let uid { p["uid"] = .int(uid) }
            try global.run("user.add", p) { u in
                print(tr("added user \(str(u["login"])) (id \(str(u["id"])), role \(str(u["role"])), uid \(u["uid"].map(str) ?? "-"))"))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("List users."))
        @OptionGroup var global: GlobalOptions
        @Flag(help: .tr("Include deactivated users.")) var all = false

        func run() throws {
            try global.run("user.list", all ? ["include_inactive": true] : [:]) { r in
                var t = Table(["id", "login", "name", "role", "uid", "active"])
                for u in r["items"]?.arrayValue ?? [] {
                    t.add([str(u["id"]), str(u["login"]), str(u["name"]), str(u["role"]), str(u["uid"]), str(u["active"])])
                }
                t.print()
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Change a user's name, role, uid, commission rate, team, e-mail address or language (a user may set their own language).")
        @OptionGroup var global: GlobalOptions
        @Argument var login: String
        @Option var name: String?
        @Option var role: String?
        @Option var uid: Int?
        @Option(help: .tr("The user's commission rate as a percent (2.5%, 2.5), or none to remove it.")) var commission: String?
        @Option(help: .tr("The user's commission rate in basis points (250 = 2.5 %).")) var commissionBp: Int?
        @Option(help: .tr("The user's sales team, or none to take them out of any team.")) var team: String?
        @Option(help: .tr("The user's own e-mail address (incoming mail names them by it), or none.")) var email: String?
        @Option(name: .customLong("extension"), help: .tr("The user's PBX extension (calls name them by it), or none."))
        var pbxExtension: String?
        @Option(help: .tr("The user's own phone, their mobile (calls forwarded to it or made from it name them), or none."))
        var phone: String?
        @Option(help: .tr("The language of the user's messages and alerts: ru, en, or none to follow their LANG.")) var lang: String?
        @Option(help: .tr("Away from this instant (RFC 3339): no requests are routed to them; none clears the absence."))
        var absentFrom: String?
        @Option(help: .tr("Away until this instant (RFC 3339).")) var absentUntil: String?
        @Option(help: .tr("Competence tags for request routing, comma-separated (segments, regions), or none.")) var competence: String?

        func validate() throws {
            if let lang, !["ru", "en", "none"].contains(lang) { throw ValidationError(tr("--lang '\(lang)' must be ru, en or none")) }
            if commission != nil && commissionBp != nil { throw ValidationError(tr("give --commission or --commission-bp, not both")) }
            if let commission, commission != "none", parsePercentBP(commission) == nil {
                throw ValidationError(tr("--commission '\(commission)' must be a percent like 2.5% (at most two decimals, 0-100), or none"))
            }
        }

        func run() throws {
            var p: JSONObject = ["login": .string(login)]
            if let name { p["name"] = .string(name) }
            if let role { p["role"] = .string(role) }
            if let uid { p["uid"] = .int(uid) }
            if let commission { p["commission_bp"] = commission == "none" ? .null : parsePercentBP(commission).map { .int($0) } ?? .null }
            if let commissionBp { p["commission_bp"] = .int(Int64(commissionBp)) }
            if let team { p["team"] = team == "none" ? .null : .string(team) }
            if let email { p["email"] = email == "none" ? .null : .string(email) }
            if let pbxExtension { p["extension"] = pbxExtension == "none" ? .null : .string(pbxExtension) }
            if let phone { p["phone"] = phone == "none" ? .null : .string(phone) }
            if let lang { p["lang"] = lang == "none" ? .null : .string(lang) }
            if let absentFrom { p["absent_from"] = absentFrom == "none" ? .null : .string(absentFrom) }
            if let absentUntil { p["absent_until"] = absentUntil == "none" ? .null : .string(absentUntil) }
            if let competence {
                let tags = competence == "none" ? [] : competence.split(separator: ",").map { JSON.string(String($0)) }
                p["competence"] = .array(tags)
            }
            try global.run("user.update", p) { u in
                let rate = u["commission_bp"]?.intValue.map { percentText(bp: $0) } ?? "-"
                print(
                    tr(
                        "updated \(str(u["login"])): role \(str(u["role"])), uid \(str(u["uid"])), commission \(rate), team \(str(u["team"])), e-mail \(str(u["email"])), extension \(str(u["extension"])), phone \(str(u["phone"])), lang \(str(u["lang"]))"
                    )
                )
            }
        }
    }

    struct Deactivate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Deactivate a user; their history stays."),
            discussion:
                tr(
                    "crmd refuses while the user still leads clients, unless --to names who takes them over (with their open deals and tasks)."
                ))
        @OptionGroup var global: GlobalOptions
        @Argument var login: String
        @Option(
            name: [.customLong("to"), .customLong("reassign-to")],
            help: .tr("Hand all their clients, open deals and tasks to this manager or head."))
        var reassignTo: String?

        func run() throws {
            var p: JSONObject = ["login": .string(login)]
            if let reassignTo { p["reassign_to"] = .string(reassignTo) }
            try global.run("user.deactivate", p) { r in
                print(tr("deactivated \(login); \(num(r["clients_reassigned"])) clients reassigned"))
            }
        }
    }
}

/// "2.5%", "2,5" or "2" as basis points (250, 250, 200); nil if not a percent from 0 to 100 with
/// at most two decimals.
func parsePercentBP(_ typed: String) -> Int64? {
    var t = typed.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
    if t.hasSuffix("%") { t = String(t.dropLast()).trimmingCharacters(in: .whitespaces) }
    let parts = t.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let whole = Int64(parts[0]), (0...100).contains(whole), parts[0].allSatisfy(\.isNumber) else {
        return nil
    }
    var frac: Int64 = 0
    if parts.count == 2 {
        let f = parts[1]
        guard (1...2).contains(f.count), f.allSatisfy(\.isNumber), let v = Int64(f) else { return nil }
        frac = f.count == 1 ? v * 10 : v
    }
    let bp = whole * 100 + frac
    return bp <= 10_000 ? bp : nil
}

struct WhoAmI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: tr("The crmd user you are."))
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try global.run("whoami") { r in
            let u = r["user"] ?? .null
            var line = tr("\(u["login"]?.stringValue ?? "?") (\(u["name"]?.stringValue ?? "")), role \(u["role"]?.stringValue ?? "?")")
            if let admin = r["acting_admin"]?.stringValue { line += tr(", acted as by \(admin)") }
            print(line)
        }
    }
}
