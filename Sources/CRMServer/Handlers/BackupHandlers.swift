import CRMCore
import CRMProtocol
import CRMStore
import Dispatch
import Foundation

/// Online backup: crmd makes a consistent, checked copy beside the database (the only place it
/// may write), and the admin's crmctl reads it over the socket into a file of its own
/// (`server.backup`, then `server.backup_read` in chunks).
struct BackupHandlers: HandlerGroup {
    let context: ServerContext
    /// Backup copies waiting to be read (`server.backup`).
    let backups: Backups

    /// Deletes the copies a previous run left beside the database: make one per database (the
    /// dispatcher makes it, once, at start).
    init(context: ServerContext) {
        self.context = context
        backups = Backups(databasePath: context.store.path, logger: context.logger)
        backups.removeLeftovers()
    }

    func serverBackup(_ call: Call) throws {
        guard Access.canBackUp(call.actor) else { throw DomainError.forbidden("Only an admin may take a backup of the database.") }
        try call.decode { _ in }
        guard let token = backups.reserve(session: call.session.id) else {
            throw RPCError(
                code: ErrorCode.unavailable,
                message:
                    "\(Backups.maxCopies) backup copies are being made or read already; retry when one is done (a copy is deleted once read to the end, when its connection closes, or after \(Int(Backups.idleTimeout / 60)) minutes unread).",
                data: ["reason": "too_many_backups", "limit": .int(Backups.maxCopies)])
        }
        let takenAt = clock.now()
        let path = backups.path(for: token)
        let reply = call.reply
        backups.makeQueue.async { [self] in
            let copy: BackupCopy
            do throws(BackupError) {
                copy = try store.makeBackup(into: path)
            } catch {
                backups.failed(token)
                logger.error("backup failed", metadata: ["error": "\(error.description)"])
                reply(
                    .failure(
                        RPCError(
                            code: ErrorCode.internalError, message: .verbatim(error.description), data: ["reason": .string(error.reason)])))
                return
            }
            guard copy.integrity == ["ok"] else {
                backups.failed(token)
                unlink(path)
                logger.error("backup copy failed its integrity check", metadata: ["problems": "\(copy.integrity.prefix(10))"])
                reply(
                    .failure(
                        RPCError(
                            code: ErrorCode.internalError,
                            message:
                                "The backup copy failed its integrity check (\(copy.integrity.prefix(3).joined(separator: "; "))): the database itself is probably damaged. Run `crmd --check`.",
                            data: ["reason": "integrity", "problems": .array(copy.integrity.prefix(10).map { .string($0) })])))
                return
            }
            guard backups.made(token, bytes: copy.bytes) else { return }  // the connection is gone
            logger.info(
                "backup copy made",
                metadata: [
                    "bytes": "\(copy.bytes)", "last_seq": "\(copy.lastSeq)", "copy_seconds": "\(copy.copySeconds)",
                    "check_seconds": "\(copy.checkSeconds)",
                ])
            reply(
                .success([
                    "backup": .string(token), "bytes": .int(copy.bytes), "integrity": "ok", "last_seq": .int(copy.lastSeq),
                    "taken_at": wire.time(takenAt),
                ]))
        }
    }

    func serverBackupRead(_ call: Call) throws {
        guard Access.canBackUp(call.actor) else { throw DomainError.forbidden("Only an admin may read a backup of the database.") }
        let (token, offset) = try call.decode { r in (r.string("backup"), r.optionalInt("offset") ?? 0) }
        guard let entry = backups.lookup(token, session: call.session.id) else {
            throw DomainError(
                .notFound,
                "No backup '\(token)' on this connection. A backup is read on the connection that made it, until it has been read to the end, that connection closes, or it sits unread for \(Int(Backups.idleTimeout / 60)) minutes; take a new one with server.backup.",
                details: [("backup", .string(token))])
        }
        guard offset >= 0, offset <= entry.bytes else {
            throw RPCError.invalidParams([
                FieldProblem(field: "offset", problem: "must be from 0 to the backup's size, \(entry.bytes) bytes, not \(offset)")
            ])
        }
        let reply = call.reply
        let backups = self.backups
        DispatchQueue.global().async {
            let want = Int(min(Int64(Backups.chunkBytes), entry.bytes - offset))
            var buffer = [UInt8](repeating: 0, count: want)
            var got = 0
            var failure: String? = nil
            do throws(PosixError) {
                let fd = try Posix.open(entry.path, O_RDONLY | O_CLOEXEC, mode: 0)
                defer { close(fd) }
                while got < want {
                    let n = try buffer.withUnsafeMutableBytes { bytes in
                        Result { () throws(PosixError) in
                            try Posix.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: bytes[got...]), at: offset + Int64(got))
                        }
                    }.get()
                    if n == 0 {
                        failure = "the copy is shorter than \(entry.bytes) bytes"
                        break
                    }
                    got += n
                }
            } catch {
                failure = error.message
            }
            if let failure {
                backups.discard(token)
                reply(
                    .failure(
                        RPCError(
                            code: ErrorCode.internalError, message: "Reading the backup copy failed (\(failure)); take a new one.",
                            data: ["reason": "storage"])))
                return
            }
            let eof = offset + Int64(got) >= entry.bytes
            if eof { backups.discard(token) }
            reply(.success(["data": .string(Data(buffer).base64EncodedString()), "offset": .int(offset), "eof": .bool(eof)]))
        }
    }

    /// A connection closed: the backup copies it made are deleted.
    func connectionClosed(_ session: Session) {
        backups.discard(session: session.id)
    }
}
