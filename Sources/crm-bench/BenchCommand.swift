import ArgumentParser
import CRMProtocol
import Foundation

@main
struct CRMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Start crmd in a temporary folder, load clients, and measure throughput, latency, start-up and memory.",
        discussion: "Build with `swift build -c release` and run `.build/release/crm-bench`. Figures print as a table and as JSON.")

    @Option(help: "Clients to load.") var clients = 100_000
    @Option(help: "Seconds each throughput phase runs.") var seconds = 3.0
    @Option(help: "Concurrent connections for the multi-connection phases.") var connections = 16
    @Option(help: "Write the JSON figures to this file too.") var jsonOut: String?
    @Option(
        help: """
            Phases to run, comma-separated: ping, get, find, log, startup, zones, catchup, idle, echo, rawlog, stalled, \
            soak, hostile, deallist, dealmove, dealoverdue (deals: all three), mgmt, segments, channels, import, search, abc (default: all but soak, hostile and abc). soak: --soak-requests interaction.log (a client.get after every fourth) on one \
            connection, then on --connections, with crmd's CPU per request, p99, RSS and the WAL per decile. ping also runs echo and log also runs rawlog: their ratios are part of those figures. stalled: \
            crmd's memory while a subscriber that never reads is sent --stalled-events events (about 30 s at 100,000 clients). \
            hostile (needs root): the connection and memory attacks of one non-admin uid (and an unknown uid), one after the \
            other at full size, with crmd's RSS, the host's MemAvailable drop and an admin's server.ping p99 during each. \
            The deal phases run on a daemon of their own (manual clock) loaded with --clients and --deals (deal.create on \
            --seed-connections): deallist: a manager's deal.list and a head's pipeline.board; dealmove: deal.move against \
            interaction.log; dealoverdue: --overdue-deals deals falling overdue at one instant; with crmd's RSS peak. \
            mgmt (issue 18) runs a daemon of its own (manual clock): --clients imported, then a year of --deals deals, \
            invoices, payments and --interactions interactions written into its database by raw SQL with crmd stopped; \
            plan.progress p99, every report for a month and a year (--report-calls calls each) and interaction.log with \
            plans against without (crmd CPU per request). \
            channels (issue 19) runs a daemon of its own: --clients clients with phones, 20 channels; call.incoming from \
            known callers and from new ones (each opens a lead) on 1 and --connections connections, then report.channels. \
            abc (issue 19, not in the default set): the mgmt phase's clients and year of deals on a daemon of its own, then \
            abc.compute timed twice while 4 connections call client.get (p50, p99 during each run). \
            import (issue 19) runs a daemon of its own: a CSV of --clients clients \
            with a contact each through the real crmctl import (rows/s, peak RSS of crmd and crmctl), then crmctl export clients. \
            segments (issue 19): the mgmt department and a year of deals \
            (one interaction per client), then segment.stats of four dynamic segments over the whole base, as the director \
            and as one manager (--report-calls calls each, at least 3). \
            search (issue 20) runs a daemon of its own: --clients clients with company names, phones and a contact for one in \
            five, then client.list with a query typed five ways (a name with the legal form moved, a name's beginning, a \
            contact's name, a phone's last 7 digits, a phone in another spelling), p50 and p99 as an admin and as a manager. \
            window (issue 21): --window-clients clients released at one instant with the fair claim window on; 100 \
            managers request them (each client by 10): exchange.request p99, the window's resolution, one owner each. \
            simulate (issue 21): --clients clients with a year of history (created, released at six months), then \
            exchange.simulate over that year, timed, with client.get p99 on 4 connections meanwhile. \
            route (issue 22): --clients clients with phones over 20 managers, then 2,000 request.create from the web \
            form's account, half from known phones (to the owner), half new (least loaded): p50 and p99. \
            mail (issue 22): a Maildir of --mail-messages real-looking letters (clients to managers, managers to \
            clients, strangers to the department address, newsletters, KOI8-R, encoded words, small PDFs, duplicates) \
            handed to a daemon of its own (up to 10,000 clients) by crmctl mail-in --maildir: messages/s, wall time, \
            peak RSS of crmd and crmctl.
            """)
    var phases: String?
    @Option(help: "Events the stalled phase makes in each of its two rounds.") var stalledEvents = 100_000
    @Option(help: "Clients due at the same instant in the zones phase.") var dueClients = 100_000
    @Option(help: "Seconds the idle phase watches crmd's CPU.") var idleSeconds = 60.0
    @Option(help: "Requests the soak phase sends on 1 connection, then again on --connections (cut into ten deciles).")
    var soakRequests = 1_000_000
    @Option(help: "Deals the deal phases open (default: twice --clients).") var deals: Int?
    @Option(help: "Of --deals, those falling overdue at one instant in the dealoverdue phase (at most half of --clients).")
    var overdueDeals = 100_000
    @Option(help: "Connections the deal phases open deals on.") var seedConnections = 64
    @Option(help: "Interactions the mgmt phase seeds over its year (default: ten per client).") var interactions: Int?
    @Option(help: "Calls of each report the mgmt phase times, for a month and for a year.") var reportCalls = 3
    @Option(help: "Clients released at one instant in the window phase.") var windowClients = 1_000
    @Option(help: "Letters the mail phase writes to its Maildir and hands over.") var mailMessages = 100_000

    func run() throws {
        let bench = Bench(clients: clients, seconds: seconds, connections: connections)
        if let phases { bench.phases = Set(phases.split(separator: ",").map(String.init)) }
        bench.dueClients = min(dueClients, clients)
        bench.idleSeconds = idleSeconds
        bench.stalledEvents = stalledEvents
        bench.soakRequests = soakRequests
        bench.deals = max(2, deals ?? 2 * clients)
        bench.overdueDeals = max(1, min(overdueDeals, clients / 2, bench.deals - 1))
        bench.seedConnections = max(1, seedConnections)
        bench.interactions = max(1, interactions ?? 10 * clients)
        bench.reportCalls = max(1, reportCalls)
        bench.windowClients = max(10, windowClients)
        bench.mailMessages = max(1, mailMessages)
        try bench.run()
        let json = bench.report.json
        print("")
        print(bench.report.table())
        print("")
        print(JSONWriter.string(json))
        if let jsonOut { try JSONWriter.string(json).write(toFile: jsonOut, atomically: true, encoding: .utf8) }
    }
}
