import ArgumentParser
import CRMProtocol

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: tr("crmd's version, uptime, clients per zone and connections."))
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run("server.status") { r in
            let c = r["clients"] ?? .null
            print(tr("crmd \(r["version"]?.stringValue ?? "?") up since \(r["started_at"].map(str) ?? "?")"))
            print(tr("database     \(r["store"]?["path"]?.stringValue ?? "?")"))
            let (g, y, red) = (
                Style.zone("green", num(c["green"])), Style.zone("yellow", num(c["yellow"])), Style.zone("red", num(c["red"]))
            )
            let (total, exchange, unassigned) = (num(c["total"]), num(c["exchange"]), num(c["unassigned"]))
            print(
                cardLine(
                    tr("clients"),
                    tr("\(total) total: \(g) green, \(y) yellow, \(red) red, \(exchange) on the exchange, \(unassigned) unassigned")))
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
