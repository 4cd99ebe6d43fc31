import ArgumentParser
import CRMProtocol

struct ClockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock", abstract: tr("Move a test daemon's clock (crmd --clock manual only; admins)."),
        discussion: tr("Everything that falls due (zone changes, reminders, releases) is applied before the command returns."),
        subcommands: [Advance.self, SetTime.self])

    struct Advance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Move the clock forward."), discussion: tr("Example: \("crmctl clock advance P1M")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("An ISO 8601 duration, e.g. P30D, P1M or PT1H.")) var duration: String

        func run() throws { try global.run("clock.advance", ["by": .string(duration)], render: printClock) }
    }

    struct SetTime: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: tr("Set the clock to a later time."),
            discussion: tr("Example: \("crmctl clock set 2026-07-01T09:00:00Z")")
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("An RFC 3339 timestamp, not before the clock's now nor after 9000-01-01T00:00:00Z.")) var time: String

        func run() throws { try global.run("clock.set", ["to": .string(time)], render: printClock) }
    }
}

private func printClock(_ r: JSON) {
    print(tr("clock now \(str(r["now"])); \(r["events"]?.intValue ?? 0, "event", "events") applied"))
}
