import ArgumentParser
import CRMClient
import CRMProtocol
import CRMSync
import Foundation

/// `crmctl mail-in`: hands mail to crmd (`mail.ingest`), one message on stdin (an MTA alias) or
/// a whole Maildir.
struct MailIn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail-in", abstract: tr("Hand incoming mail to crmd: one message on stdin, or a Maildir."),
        discussion: tr(
            """
            crmd logs the letter as an e-mail on every client it names (from a client's or contact's \
            address: incoming, on that client; from a user's address: outgoing, on each client among \
            To and Cc). A Message-ID already handed over is not logged again, so running it twice, or \
            over a Maildir again after an interruption, is safe. Runs as an operator account (or an admin).

            An MTA alias (/etc/aliases, then newaliases):
              crm: "|/usr/local/bin/crmctl mail-in --quiet"
            A whole Maildir (new/ and cur/):
              crmctl mail-in --maildir ~/Maildir

            Exit status: 0 when crmd took the message (logged, a duplicate, or nothing to log); 65 when \
            the message cannot be read (the MTA bounces it); 75 when crmd cannot be reached (the MTA \
            keeps the message and tries again).
            """))
    @OptionGroup var global: GlobalOptions
    @Option(help: .tr("The department address the mail was delivered to (recorded with the message).")) var mailbox: String?
    @Option(help: .tr("Hand over every message of this Maildir (its new/ and cur/ folders) instead of stdin.")) var maildir: String?
    @Flag(help: .tr("Print nothing on success (for an MTA alias).")) var quiet = false
    @Option(help: .tr("How many messages of a Maildir are handed over at once, each on a connection of its own (1-16)."))
    var parallel = 8

    func validate() throws {
        guard (1...16).contains(parallel) else { throw ValidationError(tr("--parallel must be from 1 to 16")) }
    }

    /// The largest raw message: base64 makes it 4/3 larger, and a request is one line of at most 1 MiB.
    static let maxMessageBytes = 760 * 1024

    func run() throws {
        if let maildir {
            try runMaildir(maildir)
            return
        }
        var raw: [UInt8] = []
        while raw.count <= Self.maxMessageBytes {
            let chunk = FileHandle.standardInput.readData(ofLength: 64 * 1024)
            if chunk.isEmpty { break }
            raw += chunk
        }
        if raw.count > Self.maxMessageBytes {
            failure(tr("the message is larger than \(Self.maxMessageBytes / 1024) KiB, which crmd takes at most"), 65)
        }
        let result = try ingestOrExit(raw, connection: nil)
        if !quiet { print(describe(result)) }
    }

    /// Sends one message; maps failures to the exit codes an MTA understands.
    func ingestOrExit(_ raw: [UInt8], connection: Connection?) throws -> JSON {
        do {
            let c = try connection ?? global.connect()
            let result = try ingest(raw, on: c)
            if global.json { print(JSONWriter.string(result)) }
            return result
        } catch let e as RPCError {
            printError(e)
            throw ExitCode(e.code == -32602 || e.code == 1005 ? 65 : 75)
        } catch let e as ClientError {
            FileHandle.standardError.write(Data("crmctl: \(e)\n".utf8))
            throw ExitCode(e.exitCode == 77 ? 77 : 75)
        }
    }

    func ingest(_ raw: [UInt8], on c: Connection) throws -> JSON {
        var p: JSONObject = ["message": .string(Data(raw).base64EncodedString())]
        if let mailbox { p["mailbox"] = .string(mailbox) }
        return try c.call("mail.ingest", .object(p))
    }

    func describe(_ r: JSON) -> String {
        let id = r["message_id"]?.stringValue ?? ""
        if r["duplicate"] == JSON.bool(true) { return tr("\(id): already handed over") }
        let logged = r["interactions"]?.arrayValue?.count ?? 0
        if logged > 0 {
            let clients = (r["clients"]?.arrayValue ?? []).compactMap(\.intValue).map { "#\($0)" }.joined(separator: ", ")
            return r["direction"]?.stringValue == "out"
                ? tr("\(id): logged as outgoing on \(clients)") : tr("\(id): logged as incoming on \(clients)")
        }
        return tr("\(id): nothing logged (\(r["skipped"]?.stringValue ?? tr("no client named")))")
    }

    /// Every file of new/ and cur/ (or of the folder itself when it has neither), by name.
    func runMaildir(_ dir: String) throws {
        let fm = FileManager.default
        var folders = ["new", "cur"].map { (dir as NSString).appendingPathComponent($0) }.filter { fm.fileExists(atPath: $0) }
        if folders.isEmpty { folders = [dir] }
        var files: [String] = []
        for f in folders {
            guard let names = try? fm.contentsOfDirectory(atPath: f) else { failure(tr("cannot read the folder \(f)"), 66) }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { (f as NSString).appendingPathComponent($0) }
        }
        // Each message is a durable commit of its own; on `--parallel` connections at once, crmd
        // commits the messages in flight together instead of one fsync each.
        let run = MaildirRun(self, files)
        try global.session { first in
            var connections = [first]
            while connections.count < min(parallel, files.count) { connections.append(try global.connect()) }
            try run.hand(over: connections)
        }
        let counts = run.counts.withLock { $0 }
        if !global.json {
            print(
                tr(
                    "\(files.count, "message", "messages"): \(counts.logged) logged, \(counts.duplicates) handed over before, \(counts.nothing) naming no client, \(counts.failed) unreadable"
                ))
        }
        if counts.failed > 0 { throw ExitCode(65) }
    }

    /// A message file, read without following a symbolic link; nil (said on stderr) when it
    /// cannot be read or is too large.
    func readMessage(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("crmctl: \(tr("cannot open \(path): \(String(cString: strerror(errno)))"))\n".utf8))
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int(st.st_size) <= Self.maxMessageBytes else {
            FileHandle.standardError.write(
                Data("crmctl: \(tr("\(path) is not a regular file of at most \(Self.maxMessageBytes / 1024) KiB"))\n".utf8))
            return nil
        }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < out.count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n <= 0 { break }
            got += n
        }
        return Array(out.prefix(got))
    }
}

/// One `mail-in --maildir` run: worker threads, a connection each, take the next file until none
/// is left; the tallies and the lines printed are shared under one lock. A failure other than a
/// refused message (crmd gone, the connection lost) stops every worker and is thrown at the end.
final class MaildirRun: @unchecked Sendable {
    struct Counts { var logged = 0, duplicates = 0, nothing = 0, failed = 0 }
    let command: MailIn
    let files: [String]
    // Locked (CRMSync), not Synchronization's Mutex: it tells ThreadSanitizer its ordering.
    let counts = Locked(Counts())
    private let next = Locked(0)
    private let fatal = Locked<(any Error)?>(nil)

    init(_ command: MailIn, _ files: [String]) {
        self.command = command
        self.files = files
    }

    /// Hands every file over on `connections`, a thread each; returns when all are done.
    func hand(over connections: [Connection]) throws {
        let group = DispatchGroup()
        for c in connections {
            group.enter()
            Thread { [self] in
                defer { group.leave() }
                work(on: c)
            }.start()
        }
        group.wait()
        if let error = fatal.withLock({ $0 }) { throw error }
    }

    private func work(on c: Connection) {
        while fatal.withLock({ $0 == nil }) {
            let i = next.withLock { n in
                defer { n += 1 }
                return n
            }
            guard i < files.count else { return }
            let path = files[i]
            guard let raw = command.readMessage(path) else {
                counts.withLock { $0.failed += 1 }
                continue
            }
            do {
                let r = try command.ingest(raw, on: c)
                counts.withLock { n in
                    if r["duplicate"] == JSON.bool(true) {
                        n.duplicates += 1
                    } else if (r["interactions"]?.arrayValue?.count ?? 0) > 0 {
                        n.logged += 1
                    } else {
                        n.nothing += 1
                    }
                    // Printed under the same lock: one whole line at a time.
                    if command.global.json {
                        print(JSONWriter.string(r))
                    } else if !command.quiet {
                        print("\((path as NSString).lastPathComponent): \(command.describe(r))")
                    }
                }
            } catch let e as RPCError where e.code == -32602 || e.code == 1005 {
                counts.withLock { n in
                    FileHandle.standardError.write(Data("crmctl: \(path): \(e.message)\n".utf8))
                    n.failed += 1
                }
            } catch {
                fatal.withLock { if $0 == nil { $0 = error } }
            }
        }
    }
}
