import ArgumentParser
import CRMProtocol
import Foundation

/// `crmctl client freeze|freeze-decide|lock|unlock`: what holds a client back from the exchange.
extension ClientCommand {
    /// One line on a client's freeze and lock.
    static func holdLine(_ c: JSON) -> String {
        var parts = [tr("client #\(str(c["id"])) \(str(c["name"]))")]
        if let f = c["freeze"], f != .null {
            let status = Language.word("freeze", str(f["status"]))
            parts.append(tr("freeze \(status) until \(str(f["until"])) (\(str(f["reason"])))"))
        }
        parts.append(c["locked"] == true ? tr("locked") : tr("not locked"))
        let release = c["release_at"]?.stringValue.map(Display.instant)
        parts.append(release.map { tr("release at \($0)") } ?? tr("release at: none"))
        return parts.joined(separator: ", ")
    }

    struct Freeze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Ask to stop a client's zone clock until a date, with a reason (a head approves it)."),
            discussion: tr("The end may be at most exchange.freeze_max (default P3M) ahead."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's id.")) var id: Int
        @Option(help: .tr("When the freeze ends (01.08.2026 12:00, 01.08, or RFC 3339).")) var until: String
        @Option(help: .tr("Why the clock should stop (a long project, a seasonal business).")) var reason: String

        func run() throws {
            let end = try global.instant(until, option: "--until")
            try global.run("client.freeze", ["id": .int(id), "until": .string(end), "reason": .string(reason)]) {
                print(ClientCommand.holdLine($0))
            }
        }
    }

    struct FreezeDecide: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "freeze-decide", abstract: tr("Approve or refuse the freeze waiting on a client (heads and admins)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's id.")) var id: Int
        @Flag(help: .tr("Approve the freeze: the clock stands still until its end.")) var approve = false
        @Flag(help: .tr("Refuse the freeze: the clock runs on.")) var refuse = false
        @Option(help: .tr("A note for the owner (kept in the audit and the event).")) var note: String?

        func validate() throws {
            guard approve != refuse else { throw ValidationError(tr("Give exactly one of --approve and --refuse.")) }
        }

        func run() throws {
            var p: JSONObject = ["id": .int(id), "approve": .bool(approve)]
            if let note { p["note"] = .string(note) }
            try global.run("client.freeze_decide", p) { print(ClientCommand.holdLine($0)) }
        }
    }

    struct Lock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Lock a key account so it is never released to the exchange (heads and admins)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's id.")) var id: Int

        func run() throws {
            try global.run("client.lock", ["id": .int(id), "locked": true]) { print(ClientCommand.holdLine($0)) }
        }
    }

    struct Unlock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Unlock a key account: past its release it goes to the exchange (heads and admins)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's id.")) var id: Int

        func run() throws {
            try global.run("client.lock", ["id": .int(id), "locked": false]) { print(ClientCommand.holdLine($0)) }
        }
    }
}
