import ArgumentParser

/// `crmctl export ...`: lists the caller may see, as CSV.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export lists as CSV: a segment's mailing list.",
        subcommands: [ExportMailing.self])
}
