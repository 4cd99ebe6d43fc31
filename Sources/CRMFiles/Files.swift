public import Foundation

/// What crmd and crmctl check before they trust a file or folder another local user could have
/// put in their way (docs/reliability.md, "Files and folders"). Foundation and libc only, so
/// the store, the server and the client share it.
public enum PrivateFolder {
    /// Why `path` is not a private folder of `uid`: a real folder (not a symbolic link), owned by
    /// `uid`, with no group or other permission bits; nil when it is one, or does not exist.
    public static func problem(_ path: String, uid: uid_t) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFLNK { return "\(path) is a symbolic link" }
        guard kind == S_IFDIR else { return "\(path) is not a folder" }
        if st.st_uid != uid { return "\(path) is owned by uid \(st.st_uid), not by uid \(uid)" }
        let mode = st.st_mode & 0o7777
        if mode & 0o077 != 0 { return "\(path) has mode \(String(mode, radix: 8)), open to other users (it must be 700)" }
        return nil
    }

    /// Creates `path` with mode 0700 if it does not exist (its parent must), then checks it is
    /// `uid`'s own private folder: a folder someone else made first, or a symbolic link, is
    /// refused, never used. Returns the problem, or nil.
    public static func create(_ path: String, uid: uid_t) -> String? {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            return "cannot create \(path): \(String(cString: strerror(errno)))"
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        return problem(path, uid: uid)
    }
}

/// The files that make up a live SQLite database in WAL mode, and crmd's lock beside it.
public enum LiveDatabase {
    /// The suffixes of every file of the live database `x`: `x`, `x-wal`, `x-shm`, `x-journal`,
    /// `x.lock`.
    public static let suffixes = ["", "-wal", "-shm", "-journal", ".lock"]

    /// The live file of `database` that `path` is, if any: compared by resolved path (symbolic
    /// links, `..` and `.` followed, whether or not the file exists) and, where both exist, by
    /// device and inode (a hard link).
    public static func member(_ path: String, of database: String) -> String? {
        let target = resolve(path)
        var st = stat()
        let exists = stat(path, &st) == 0
        for suffix in suffixes {
            let live = database + suffix
            if resolve(live) == target { return live }
            var ls = stat()
            if exists, stat(live, &ls) == 0, ls.st_dev == st.st_dev, ls.st_ino == st.st_ino { return live }
        }
        return nil
    }

    /// `path` made absolute with every symbolic link followed, also when the file (or the end of
    /// a chain of links) does not exist: its folder is resolved and its name kept.
    public static func resolve(_ path: String, hops: Int = 40) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let real = realPath(absolute) { return real }
        let name = (absolute as NSString).lastPathComponent
        let folder = (absolute as NSString).deletingLastPathComponent
        let base = realPath(folder.isEmpty ? "/" : folder) ?? (folder as NSString).standardizingPath
        let joined = base == "/" ? "/" + name : base + "/" + name
        // A dangling link: follow it by hand.
        if hops > 0, let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: joined) {
            return resolve(dest.hasPrefix("/") ? dest : base + "/" + dest, hops: hops - 1)
        }
        return joined
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
