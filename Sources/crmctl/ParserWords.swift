import ArgumentParser
import CRMText
import Foundation

/// ArgumentParser's own words (`OVERVIEW:`, `USAGE:`, `OPTIONS:`, `See 'crmctl help …'`,
/// `Error:`, `--help`'s help) in ``Language/current``. ArgumentParser has no localisation, so
/// crmctl takes the text it would print for help or a usage error and replaces exactly those
/// words, line by line; everything else (our own help, already in the language, and the parser's
/// diagnostics such as `Missing expected argument '<id>'`) passes unchanged. Text that is not
/// help or a usage error (a completion script, `--experimental-dump-help`'s JSON) is never
/// touched: only text that starts the way help or an error starts is.
enum ParserWords {
    /// `text` (what ArgumentParser prints for an error or a help request) in `lang`.
    static func said(_ text: String, in lang: Lang) -> String {
        guard lang != .en, ["OVERVIEW: ", "USAGE: ", "Error: "].contains(where: text.hasPrefix) else { return text }
        let headings = [
            "ARGUMENTS:": tr("ARGUMENTS:"), "OPTIONS:": tr("OPTIONS:"), "SUBCOMMANDS:": tr("SUBCOMMANDS:"),
        ]
        let endings = [
            "Show help information.": tr("Show help information."), "Show the version.": tr("Show the version."),
            "Show subcommand help information.": tr("Show subcommand help information."),
        ]
        let starts = [
            "OVERVIEW: ": tr("OVERVIEW:") + " ", "USAGE: ": tr("USAGE:") + " ", "Usage: ": tr("Usage:") + " ",
            "Error: ": tr("Error:") + " ", "Help:  ": tr("Help:") + "  ",
        ]
        var out: [String] = []
        var hanging = 0  // extra indent for the lines a longer `USAGE:` hangs
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if hanging > 0, line.hasPrefix(String(repeating: " ", count: 7)), !line.hasPrefix("  See '") {
                out.append(String(repeating: " ", count: hanging) + line)
                continue
            }
            hanging = 0
            if let h = headings[line] {
                out.append(h)
            } else if let (word, said) = starts.first(where: { line.hasPrefix($0.key) }) {
                if word == "USAGE: " || word == "Usage: " { hanging = max(0, said.count - word.count) }
                out.append(said + defaults(String(line.dropFirst(word.count))))
            } else if let names = between(line, "  See '", " <subcommand>' for detailed help.") {
                out.append("  " + tr("See '\(names) <subcommand>' for detailed help."))
            } else if let call = between(line, "  See '", "' for more information.") {
                out.append("  " + tr("See '\(call)' for more information."))
            } else if let (english, said) = endings.first(where: { line.hasSuffix($0.key) }) {
                out.append(defaults(String(line.dropLast(english.count))) + said)
            } else {
                out.append(defaults(line))
            }
        }
        return out.joined(separator: "\n")
    }

    /// `(default)` after a default subcommand (kept in its column) and `(default: …)` after an
    /// option's help.
    private static func defaults(_ line: String) -> String {
        var line = line.replacingOccurrences(of: "(default:", with: tr("(default:"))
        if let r = line.range(of: " (default)") {
            let said = " " + tr("(default)")
            let after = line[r.upperBound...]
            let spare = after.prefix(while: { $0 == " " }).count
            line = String(line[..<r.lowerBound]) + said + after.dropFirst(min(max(0, said.count - 10), max(0, spare - 2)))
        }
        return line
    }

    private static func between(_ line: String, _ start: String, _ end: String) -> String? {
        guard line.hasPrefix(start), line.hasSuffix(end), line.count > start.count + end.count else { return nil }
        return String(line.dropFirst(start.count).dropLast(end.count))
    }
}
