import CRMFiles
import CRMStore
import Foundation

extension Daemon {
    /// `crmd --check`: checks the database crmd would open (same settings: `--database`,
    /// `CRMD_STORE_PATH`, the config file, the default path) without changing it. It opens the
    /// file read-only, takes no instance lock (so it works while crmd serves), never creates or
    /// migrates it, runs `PRAGMA integrity_check` and prints the schema and the main counts.
    ///
    /// Exit status: 0 healthy; 1 damaged, not a SQLite database, or not crmd's; 66 (EX_NOINPUT)
    /// no file; 75 (EX_TEMPFAIL) locked too long; 77 (EX_NOPERM) not readable; 78 bad settings.
    public static func check(_ options: Options) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let settings: Settings
        do {
            settings = try await Settings.load(
                configFile: configPath(options, env: env), socket: options.socket ?? env["CRMD_SOCKET"], database: options.database)
        } catch {
            printError("crmd: \(error)")
            return 78  // EX_CONFIG
        }
        let path = settings.databasePath
        printOut("checking \(path)")
        let report: DatabaseCheck
        do {
            report = try Store.check(path: path)
        } catch {
            printError("crmd: \(error.description)")
            switch error.kind {
            case .missing:
                printError(
                    "crmd: nothing was created. The path comes from --database, CRMD_STORE_PATH, store.path in the config file, or the default."
                )
                return 66  // EX_NOINPUT
            case .noPermission: return 77  // EX_NOPERM
            case .busy: return 75  // EX_TEMPFAIL
            case .notADatabase, .notCRMD, .other: return 1
            }
        }
        var file = "file         \(fileSizeText(report.bytes))"
        if let wal = report.walBytes { file += " + WAL \(fileSizeText(wal))" }
        printOut(file)
        let applied = report.appliedMigrations.count
        let known = report.knownMigrations.count
        var schema = "schema       \(applied) of \(known) migrations"
        if let last = report.appliedMigrations.last { schema += " (latest: \(last))" }
        if !report.unknownMigrations.isEmpty {
            schema += "; \(report.unknownMigrations.count) from a newer crmd than this one"
        } else if applied < known {
            schema += "; crmd will apply the other \(known - applied) when it starts"
        }
        printOut(schema)
        let counts = report.counts.map { "\($0.rows.map(String.init) ?? "?") \($0.table)" }.joined(separator: ", ")
        printOut("contents     \(counts); event log up to seq \(report.lastSeq.map(String.init) ?? "?")")
        let seconds = String(format: "%.2f s", report.seconds)
        if report.healthy {
            printOut("integrity    ok (\(seconds))")
            printOut("ok")
            return 0
        }
        printOut("integrity    \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") (\(seconds)):")
        for p in report.problems { printOut("  \(p)") }
        printError(
            "crmd: the database \(path) is damaged. Stop crmd, keep a copy of the file, and restore the latest backup (crmctl backup makes them)."
        )
        return 1
    }
}
