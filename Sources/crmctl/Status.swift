import ArgumentParser
import CRMProtocol

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: tr("crmd's version, uptime, clients per zone and connections."))
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run("server.status") { r in
            let c = r["clients"] ?? .null
            print(tr("crmd \(r["version"]?.stringValue ?? "?") up since \(r["started_at"]?.stringValue ?? "?")"))
            print(tr("database     \(r["store"]?["path"]?.stringValue ?? "?")"))
            print(
                "clients      \(num(c["total"])) total: \(Style.zone("green", num(c["green"]))) green, \(Style.zone("yellow", num(c["yellow"]))) yellow, \(Style.zone("red", num(c["red"]))) red, \(num(c["exchange"])) on the exchange, \(num(c["unassigned"])) unassigned"
            )
            print(tr("connections  \(num(r["connections"])) open, \(num(r["subscriptions"])) subscriptions"))
            if let s = r["store"] {
                print(
                    tr(
                        "commits      \(num(s["commits"])) commits for \(num(s["writes"])) writes (largest batch \(num(s["largest_batch"])))"
                    ))
            }
        }
    }
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: tr("Check that crmd answers."))
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try global.run("server.ping") { r in print(tr("pong from crmd \(r["version"]?.stringValue ?? "?")")) }
    }
}
