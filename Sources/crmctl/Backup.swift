import ArgumentParser
import CRMClient
import CRMFiles
import CRMProtocol
import Foundation

/// The `.partial` file being written, removed if crmctl is interrupted.
nonisolated(unsafe) private var partialToRemove: UnsafeMutablePointer<CChar>? = nil

private func removePartialAndExit(_ signal: Int32) {
    if let p = partialToRemove { unlink(p) }
    _exit(128 + signal)
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Copy the database into FILE while crmd serves: consistent and integrity-checked (admins)."),
        discussion: tr(
            """
            crmd makes a snapshot of the database with VACUUM INTO beside the database, checks it with \
            PRAGMA integrity_check, and crmctl streams it into FILE.partial (mode 0600, owned by you), \
            fsyncs it and renames it to FILE. Writes go on meanwhile; the copy holds every change up to \
            the event seq it prints. `crmd --check --database FILE` checks a backup again later. To \
            restore: stop crmd, delete the database's -wal and -shm files, put FILE in place of the \
            database (owned by crmd's user), and start crmd.
            """))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The file to write.")) var file: String
    @Flag(help: .tr("Replace FILE if it exists (and a FILE.partial left by an interrupted backup).")) var force = false

    struct FileError: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws {
        let partial = file + ".partial"
        // Never over a file of the live database (the main file, -wal, -shm, -journal, .lock):
        // renaming the copy onto the log would lose every write not yet checkpointed.
        // (Someone who may not see it may not take a backup either: server.backup says so below.)
        let database = try global.session { conn -> String? in
            do { return try conn.call("server.status")["store"]?["path"]?.stringValue } catch is RPCError { return nil }
        }
        for target in [file, partial] {
            if let database, let live = LiveDatabase.member(target, of: database) {
                fail(tr("\(target) is \(live), a file of crmd's live database; write the backup somewhere else"), 74)
            }
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDir) {
            if isDir.boolValue { fail(tr("\(file) is a folder; give the name of the backup file to write, like \(file)/crmd.sqlite"), 73) }
            if !force { fail(tr("\(file) exists; choose another name, or add --force to replace it"), 73) }
        }
        if force { unlink(partial) }
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let err = errno
            if err == EEXIST {
                fail(tr("\(partial) exists: another backup is writing it, or one was interrupted. Remove it, or add --force"), 73)
            }
            fail(tr("cannot write \(partial): \(String(cString: strerror(err)))"), 73)
        }
        partialToRemove = strdup(partial)
        signal(SIGINT, removePartialAndExit)
        signal(SIGTERM, removePartialAndExit)
        signal(SIGHUP, removePartialAndExit)
        var closed = false
        let meta: JSON
        do {
            meta = try global.session { conn -> JSON in
                let meta = try conn.call("server.backup")
                guard let token = meta["backup"]?.stringValue, let total = meta["bytes"]?.intValue else {
                    throw ClientError.badReply("server.backup did not return a backup token and size")
                }
                let progress = isatty(2) == 1 && total > 8 << 20
                var offset: Int64 = 0
                while true {
                    let r = try conn.call("server.backup_read", ["backup": .string(token), "offset": .int(offset)])
                    guard let text = r["data"]?.stringValue, let chunk = Data(base64Encoded: text), let eof = r["eof"]?.boolValue else {
                        throw ClientError.badReply("server.backup_read did not return base64 data and eof")
                    }
                    try writeAll(fd, chunk, to: partial)
                    offset += Int64(chunk.count)
                    if progress { FileHandle.standardError.write(Data("\rbackup: \(offset * 100 / max(total, 1))%".utf8)) }
                    if eof { break }
                    if chunk.isEmpty { throw ClientError.badReply("server.backup_read returned no data before the end") }
                }
                if progress { FileHandle.standardError.write(Data("\r".utf8)) }
                guard offset == total else {
                    throw ClientError.badReply(tr("the backup is \(offset) bytes, but crmd announced \(total); nothing was kept"))
                }
                return meta
            }
            guard fsync(fd) == 0 else {
                throw FileError(description: tr("cannot write \(partial) to disk: \(String(cString: strerror(errno)))"))
            }
            closed = true
            guard close(fd) == 0 else { throw FileError(description: tr("cannot write \(partial): \(String(cString: strerror(errno)))")) }
            guard rename(partial, file) == 0 else {
                throw FileError(description: tr("cannot rename \(partial) to \(file): \(String(cString: strerror(errno)))"))
            }
            syncFolder(of: file)
        } catch {
            if !closed { close(fd) }
            unlink(partial)
            if let e = error as? FileError { fail(e.description, 74) }
            throw error
        }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, SIG_DFL)
        if global.json {
            var o = meta.objectValue ?? JSONObject()
            o["file"] = .string(file)
            print(JSONWriter.string(.object(o)))
            return
        }
        let bytes = meta["bytes"]?.intValue ?? 0
        print(
            "backup written to \(file): \(fileSizeText(bytes)), integrity \(str(meta["integrity"])), events up to seq \(num(meta["last_seq"])), taken at \(str(meta["taken_at"]))"
        )
    }

    /// Writes every byte of `data`, or throws naming the file.
    func writeAll(_ fd: Int32, _ data: Data, to path: String) throws {
        try data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw FileError(description: tr("cannot write \(path): \(String(cString: strerror(errno)))")) }
                off += n
            }
        }
    }

    /// fsyncs the folder holding `path`, so the rename is on disk too.
    func syncFolder(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    func fail(_ message: String, _ code: Int32) -> Never {
        FileHandle.standardError.write(Data("crmctl: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
