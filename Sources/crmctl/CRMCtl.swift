import ArgumentParser
import Foundation

@main
struct CRMCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: tr("Talk to crmd: users, clients, contacts, interactions, deals, tasks, caller ID and status."),
        discussion: tr(
            """
            crmctl finds crmd's socket by itself (CRMD_SOCKET, then your own crmd, then the system one at
            /run/crmd/crmd.sock). Output is a readable table; add --json for the raw result, for scripts.
            Any method can be called with `crmctl rpc METHOD '{"param":...}'`.
            """),
        version: "0.1.0",
        subcommands: [
            Status.self, Ping.self, WhoAmI.self, UserCommand.self, ClientCommand.self, LogCommand.self, InteractionsCommand.self,
            ContactCommand.self, ExchangeCommand.self, Claim.self, Release.self, Explain.self, Preview.self, AlertsCommand.self, Watch.self,
            ReportCommand.self, DealCommand.self, TaskCommand.self, PipelineCommand.self, TodayCommand.self, ClockCommand.self, Backup.self,
            InvoiceCommand.self, PlanCommand.self, ChannelCommand.self, CallCommand.self, ABCCommand.self, ImportCommand.self,
            ExportCommand.self, SegmentCommand.self, MailIn.self, RequestCommand.self, NotifyCommand.self, RPC.self,
        ])

    /// Global options are taken before the subcommand too (`crmctl --socket S status`). Help and
    /// usage errors are printed as ArgumentParser's `main` prints them, with its own words in
    /// crmctl's language (``ParserWords``).
    static func main() {
        do {
            var command = try parseAsRoot(GlobalPlacement.moved(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let text = ParserWords.said(fullMessage(for: error), in: Language.current)
            if !text.isEmpty {
                if code == .success { print(text) } else { FileHandle.standardError.write(Data((text + "\n").utf8)) }
            }
            Foundation.exit(code.rawValue)
        }
    }
}
