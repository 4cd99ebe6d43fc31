import ArgumentParser
import CRMClient
import CRMFiles
import CRMProtocol
import Crypto
import Foundation

/// The most bytes one `deal.attach_write` carries, and one `deal.attachment_read` returns.
private let chunkBytes = 512 << 10

/// The file `get-attachment` is writing, removed if crmctl is interrupted.
nonisolated(unsafe) private var downloadToRemove: UnsafeMutablePointer<CChar>? = nil

private func removeDownloadAndExit(_ signal: Int32) {
    if let p = downloadToRemove { unlink(p) }
    _exit(128 + signal)
}

extension DealCommand {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Attach a file to a deal (a sent proposal): SHA-256 checked, sent in 512 KiB chunks."),
            discussion: tr(
                """
                The file is opened without following a symbolic link. If an earlier upload of the same file \
                (same name, size and SHA-256) to this deal was interrupted, it is resumed where it stopped. \
                Example: crmctl deal attach 7 proposal.pdf
                """))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: .tr("The file to attach.")) var file: String
        @Option(help: .tr("The name to store (default: the file's own).")) var name: String?
        @Option(help: .tr("A MIME type (default: guessed from the name, e.g. application/pdf).")) var contentType: String?

        func run() throws {
            let fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 {
                let err = errno
                if err == ELOOP { failure(tr("\(file) is a symbolic link; give the path of the file itself"), 66) }
                failure(tr("cannot open \(file): \(String(cString: strerror(err)))"), 66)
            }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { failure(tr("\(file) is not a regular file"), 66) }
            let size = Int64(st.st_size)
            if size == 0 { failure(tr("\(file) is empty; there is nothing to attach"), 65) }

            var hash = SHA256()
            var offset: Int64 = 0
            while offset < size {
                let chunk = readChunk(fd, at: offset)
                if chunk.isEmpty { break }
                hash.update(data: chunk)
                offset += Int64(chunk.count)
            }
            if offset != size { failure(tr("\(file) changed size while it was read; try again"), 74) }
            let sha = hash.finalize().map { String(format: "%02x", $0) }.joined()
            let stored = name ?? (file as NSString).lastPathComponent
            let type = contentType ?? mimeType(of: stored)

            let result = try global.session { conn -> JSON in
                // An interrupted upload of this very file goes on from where it stopped.
                let deal = try conn.call("deal.get", ["id": .int(id)])
                let earlier = (deal["attachments"]?.arrayValue ?? []).first {
                    $0["complete"]?.boolValue == false && $0["sha256"]?.stringValue == sha && $0["size"]?.intValue == size
                        && $0["name"]?.stringValue == stored
                }
                var a: JSON
                if let earlier {
                    a = earlier
                    FileHandle.standardError.write(
                        Data("crmctl: resuming attachment #\(str(a["id"])) at byte \(num(a["received"]))\n".utf8))
                } else {
                    let p: JSONObject = [
                        "deal_id": .int(id), "name": .string(stored), "content_type": .string(type), "size": .int(size),
                        "sha256": .string(sha),
                    ]
                    a = try conn.call("deal.attach", .object(p))
                }
                guard let aid = a["id"]?.intValue else { throw ClientError.badReply("deal.attach returned no id") }
                let progress = isatty(2) == 1 && size > 8 << 20
                var sent = a["received"]?.intValue ?? 0
                while sent < size {
                    let chunk = readChunk(fd, at: sent)
                    if chunk.isEmpty { failure(tr("\(file) got shorter while it was sent; run the command again to resume"), 74) }
                    let p: JSONObject = ["id": .int(aid), "offset": .int(sent), "data": .string(chunk.base64EncodedString())]
                    a = try conn.call("deal.attach_write", .object(p))
                    sent += Int64(chunk.count)
                    if progress { FileHandle.standardError.write(Data("\rattach: \(sent * 100 / size)%".utf8)) }
                }
                if progress { FileHandle.standardError.write(Data("\r".utf8)) }
                return a
            }
            global.output(result) { a in
                print(
                    "attached \(str(a["name"])) to deal #\(id) as attachment #\(str(a["id"])): \(fileSizeText(size)), \(str(a["content_type"])), sha256 \(sha)"
                )
            }
        }
    }

    struct GetAttachment: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get-attachment", abstract: tr("Download a deal's attachment into a file (mode 0600), checking its SHA-256."),
            discussion: tr(
                """
                The file is the attachment's own name in the current folder unless -o names another (or a \
                folder to put it in; '-' writes to standard output). An existing file is never replaced \
                without --force; a symbolic link in its place is never followed. Example: crmctl deal \
                get-attachment 3 -o /tmp/proposal.pdf
                """))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The attachment's id (see `crmctl deal show`).")) var attachmentID: Int
        @Option(name: [.short, .customLong("output")], help: .tr("The file to write.")) var output: String?
        @Flag(help: .tr("Replace the file if it exists.")) var force = false

        func run() throws {
            var path = ""
            var fd: Int32 = -1
            var hash = SHA256()
            var written: Int64 = 0
            func fetch() throws -> JSON {
                try global.session { conn -> JSON in
                    var r = try conn.call("deal.attachment_read", ["id": .int(attachmentID), "offset": 0])
                    let meta = r["attachment"] ?? .null
                    path = target(named: meta["name"]?.stringValue)
                    fd = path == "-" ? 1 : create(path)
                    while true {
                        guard let text = r["data"]?.stringValue, let chunk = Data(base64Encoded: text), let eof = r["eof"]?.boolValue else {
                            abandon(path, fd, tr("crmd sent a chunk that is not base64 data with eof"))
                        }
                        if let problem = writeAll(fd, chunk) { abandon(path, fd, tr("cannot write \(path): \(problem)")) }
                        hash.update(data: chunk)
                        written += Int64(chunk.count)
                        if eof { break }
                        if chunk.isEmpty { abandon(path, fd, tr("crmd returned no data before the end of the attachment")) }
                        r = try conn.call("deal.attachment_read", ["id": .int(attachmentID), "offset": .int(written)])
                    }
                    return meta
                }
            }
            let meta: JSON
            do {
                meta = try fetch()
            } catch {
                // crmd refused a later chunk, or the connection broke: keep no half file.
                if fd > 1 {
                    close(fd)
                    unlink(path)
                }
                throw error
            }
            let sha = hash.finalize().map { String(format: "%02x", $0) }.joined()
            if written != meta["size"]?.intValue ?? -1 || sha != str(meta["sha256"]) {
                abandon(
                    path, fd, tr("the bytes received (\(written), sha256 \(sha)) are not the attachment crmd announced; nothing was kept"))
            }
            if fd != 1 {
                if fsync(fd) != 0 || close(fd) != 0 { abandon(path, -1, tr("cannot write \(path): \(String(cString: strerror(errno)))")) }
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
                signal(SIGHUP, SIG_DFL)
            }
            if path == "-" { return }
            var o = meta.objectValue ?? JSONObject()
            o["file"] = .string(path)
            global.output(.object(o)) { _ in print("wrote \(path): \(str(meta["name"])), \(fileSizeText(written)), sha256 \(sha) checked") }
        }

        /// The path to write: -o, or the attachment's name (in the folder -o names, if it is one).
        func target(named name: String?) -> String {
            var base = ((name ?? "") as NSString).lastPathComponent
            if base.isEmpty || base == "." || base == ".." || base.hasPrefix("-") { base = "attachment-\(attachmentID)" }
            guard let output else { return base }
            var isDir: ObjCBool = false
            if output != "-", FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
                return (output as NSString).appendingPathComponent(base)
            }
            return output
        }

        /// Creates `path` private (0600) and new: never over an existing file unless --force,
        /// never through a symbolic link.
        func create(_ path: String) -> Int32 {
            if force {
                var st = stat()
                if lstat(path, &st) == 0 {
                    if st.st_mode & S_IFMT == S_IFDIR { failure(tr("\(path) is a folder"), 73) }
                    if unlink(path) != 0 { failure(tr("cannot replace \(path): \(String(cString: strerror(errno)))"), 73) }
                }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                let err = errno
                if err == EEXIST { failure(tr("\(path) exists; choose another name with -o, or add --force to replace it"), 73) }
                failure(tr("cannot create \(path): \(String(cString: strerror(err)))"), 73)
            }
            downloadToRemove = strdup(path)
            signal(SIGINT, removeDownloadAndExit)
            signal(SIGTERM, removeDownloadAndExit)
            signal(SIGHUP, removeDownloadAndExit)
            return fd
        }

        /// Removes the half-written file (not standard output) and fails with `message`.
        func abandon(_ path: String, _ fd: Int32, _ message: String) -> Never {
            if fd > 1 { close(fd) }
            if path != "-" { unlink(path) }
            failure(message, 74)
        }
    }
}

/// Up to 512 KiB of `fd` from `offset` (fewer at the end; empty past it or on an error).
private func readChunk(_ fd: Int32, at offset: Int64) -> Data {
    var buffer = [UInt8](repeating: 0, count: chunkBytes)
    var got = 0
    while got < chunkBytes {
        let n = buffer.withUnsafeMutableBytes { raw in
            pread(fd, raw.baseAddress! + got, chunkBytes - got, off_t(offset) + off_t(got))
        }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { break }
        got += n
    }
    return Data(buffer[0..<got])
}

/// Writes every byte of `data`; the reason when it cannot.
private func writeAll(_ fd: Int32, _ data: Data) -> String? {
    data.withUnsafeBytes { raw -> String? in
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return String(cString: strerror(errno)) }
            off += n
        }
        return nil
    }
}

/// The MIME type of the usual office files by their extension, else application/octet-stream.
func mimeType(of name: String) -> String {
    let types = [
        "pdf": "application/pdf", "doc": "application/msword", "rtf": "application/rtf", "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint", "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation", "txt": "text/plain", "csv": "text/csv",
        "html": "text/html", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "zip": "application/zip",
    ]
    return types[(name as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
}
