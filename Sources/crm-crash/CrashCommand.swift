import ArgumentParser
import CRMTestSupport
import Foundation

@main
struct CRMCrash: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-crash",
        abstract: "Kill crmd with SIGKILL under 16 writers, restart it, and check that nothing acknowledged was lost or duplicated.",
        discussion: """
            Starts the crmd next to this binary (or CRMD_BIN) on a temporary folder. Each round: the writers \
            (interaction.log, client.update, exchange.claim/client.release, each with a request_id) run until a SIGKILL at a \
            random moment; crmd --check; restart; every acknowledged write must be there exactly once, the write in flight \
            at most once and whole, the event log without a gap; then the write in flight is resent with its request_id. \
            Exits 1 on any violation. See docs/reliability.md.
            """)

    @Option(help: "Kill-and-restart rounds.") var rounds = 100
    @Option(help: "Concurrent writers (one connection each).") var writers = 16
    @Option(help: "Shortest delay before the kill, in seconds.") var minDelay = 0.05
    @Option(help: "Longest delay before the kill, in seconds.") var maxDelay = 1.0
    @Option(
        help: """
            Power cuts instead of crashes: the database on this powerfs binary (tools/powerfs), a filesystem that \
            forgets what was not synced; each round cuts its power, then kills crmd (make power-test).
            """)
    var powerFS: String?

    func run() throws {
        var options = CrashTest.Options()
        options.rounds = rounds
        options.writers = writers
        options.minDelay = minDelay
        options.maxDelay = max(maxDelay, minDelay)
        options.powerFS = powerFS
        // Unbuffered: a line per round as it happens, also into a file.
        let test = try CrashTest(options: options) { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        defer { test.shutDown() }
        let summary = try test.run()
        print("")
        print(summary)
        if !summary.ok {
            print("VIOLATIONS:")
            for v in summary.violations { print("  \(v)") }
            throw ExitCode(1)
        }
    }
}
