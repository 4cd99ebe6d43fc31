import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

/// The import phase (issue 19), `import`, on a daemon of its own: writes a CSV of `clients` rows
/// (a client with a phone, an e-mail, a lead manager, a segment and a source, and a contact with
/// a phone each), imports it with the real `crmctl import clients` (rows/s; peak RSS of crmd and of
/// crmctl, sampled every 20 ms), then exports the clients with `crmctl export clients` (rows/s,
/// peak RSS of crmctl). Targets: >= 20,000 rows/s in, RSS <= 200 MiB each; >= 100,000 rows/s out.
struct ImportPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["import"]
    static let managers = 10

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-bench-import-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("clients.csv")
        log("import: writing \(bench.clients) rows to \(file.path) ...")
        try writeCSV(file, rows: bench.clients)
        let d = try TestDaemon(environment: Bench.crmdEnvironment)
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        for i in 0..<Self.managers {
            _ = try admin.call(
                "user.add", ["login": .string("m\(i)"), "name": .string("Manager \(i)"), "role": "manager", "uid": .int(Int64(61_000 + i))])
        }
        let crmctl = TestDaemon.binaryPath(named: "crmctl")
        let env = ["XDG_STATE_HOME": dir.path]
        log("import: crmctl import clients (\(bench.clients) rows) ...")
        let imp = try measure(crmctl, ["import", "clients", file.path, "--socket", d.socketPath], env, crmd: d.pid)
        let size = "\(bench.clients) clients with a contact each"
        let inRate = Double(bench.clients) / imp.seconds
        report.add("import: crmctl import clients, \(size)", inRate, "rows/s", target: ">= 20000", met: inRate >= 20_000)
        report.add("import: crmd peak RSS during the import", imp.crmdPeak, "MiB", target: "<= 200", met: imp.crmdPeak <= 200)
        report.add("import: crmctl peak RSS during the import", imp.toolPeak, "MiB", target: "<= 200", met: imp.toolPeak <= 200)
        if imp.status != 0 { report.info.append(("import: crmctl exit status", "\(imp.status): \(imp.tail)")) }
        let out = dir.appendingPathComponent("export.csv")
        log("import: crmctl export clients ...")
        let exp = try measure(crmctl, ["export", "clients", "--out", out.path, "--socket", d.socketPath], env, crmd: d.pid)
        let outRate = Double(bench.clients) / exp.seconds
        report.add("import: crmctl export clients, \(size)", outRate, "rows/s", target: ">= 100000", met: outRate >= 100_000)
        report.add("import: crmctl peak RSS during the export", exp.toolPeak, "MiB", target: "<= 200", met: exp.toolPeak <= 200)
        report.add("import: crmd peak RSS during the export", exp.crmdPeak, "MiB")
        if exp.status != 0 { report.info.append(("import: export exit status", "\(exp.status): \(exp.tail)")) }
    }

    /// The file: UTF-8, ';', the Russian header a department's spreadsheet has.
    func writeCSV(_ url: URL, rows: Int) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        var chunk = "Название;Телефон;Email;Менеджер;Сегмент;Источник;Контактное лицо;Должность;Телефон контакта\n"
        for k in 0..<rows {
            chunk +=
                "ООО «Клиент \(k)»;+7 (9\(String(format: "%02d", k / 10_000_000 % 100))) \(String(format: "%07d", k % 10_000_000));"
                + "client\(k)@example.ru;m\(k % Self.managers);\(k % 3 == 0 ? "опт" : "розница");сайт;Контакт \(k);Директор;"
                + "8 (8\(String(format: "%02d", k / 10_000_000 % 100))) \(String(format: "%07d", k % 10_000_000))\n"
            if chunk.utf8.count > 1 << 20 {
                h.write(Data(chunk.utf8))
                chunk = ""
            }
        }
        h.write(Data(chunk.utf8))
    }

    struct Run {
        var seconds: Double
        var crmdPeak: Double
        var toolPeak: Double
        var status: Int32
        var tail: String
    }

    /// Runs the tool to its end, sampling its RSS and crmd's every 20 ms.
    func measure(_ path: String, _ args: [String], _ env: [String: String], crmd: Int32?) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        let t = nowNS()
        try p.run()
        let collected = LockedText()
        let reader = Thread {
            while case let data = out.fileHandleForReading.availableData, !data.isEmpty { collected.keep(data) }
        }
        reader.start()
        var crmdPeak = 0.0
        var toolPeak = 0.0
        while p.isRunning {
            if let crmd { crmdPeak = max(crmdPeak, ProcStats.rssMiB(pid: crmd)) }
            toolPeak = max(toolPeak, ProcStats.rssMiB(pid: p.processIdentifier))
            usleep(20_000)
        }
        p.waitUntilExit()
        let seconds = Double(nowNS() - t) / 1e9
        return Run(seconds: seconds, crmdPeak: crmdPeak, toolPeak: toolPeak, status: p.terminationStatus, tail: collected.tail)
    }
}

/// The last lines a tool printed (for a failure line in the report).
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""

    func keep(_ d: Data) {
        lock.lock()
        text = String((text + String(decoding: d, as: UTF8.self)).suffix(400))
        lock.unlock()
    }

    var tail: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }
}
