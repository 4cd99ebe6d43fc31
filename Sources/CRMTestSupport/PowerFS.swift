public import Foundation

/// A folder on `tools/powerfs` (a FUSE filesystem that keeps file data in memory until it is
/// fsynced), for the power-cut test (docs/reliability.md, "Power loss"). ``cut()`` is the power
/// cut: the filesystem process gets SIGKILL, so every write that was not synced is gone, as the
/// page cache is at a power loss; the mount is then detached and ``mount()`` serves the backing
/// folder (the "disk") afresh.
public final class PowerFS: @unchecked Sendable {
    /// The powerfs binary.
    public let binary: String
    /// Where synced data lives (the disk).
    public let backing: URL
    /// The mount point crmd's database goes in.
    public let mountPoint: URL
    private var process: Process?
    /// Power cuts so far.
    public private(set) var cuts = 0

    /// Makes `backing` and `mountPoint` under `folder`; nothing is mounted yet.
    public init(binary: String, folder: URL) throws {
        self.binary = binary
        backing = folder.appendingPathComponent("disk")
        mountPoint = folder.appendingPathComponent("mnt")
        for dir in [backing, mountPoint] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    }

    deinit { unmount() }

    /// Mounts the backing folder and returns once powerfs says `powerfs: ready`.
    public func mount(timeout: TimeInterval = 30) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [backing.path, mountPoint.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        process = p
        if !waitForOutput(out, containing: "powerfs: ready", timeout: timeout) {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            process = nil
            throw PowerFSError.didNotMount("\(binary) \(backing.path) \(mountPoint.path) did not say it was ready")
        }
    }

    /// The power cut: SIGKILL to powerfs (unsynced data is gone), then the dead mount is detached.
    public func cut() {
        guard let p = process else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
        cuts += 1
        detach()
    }

    /// Unmounts cleanly (the end of a run).
    public func unmount() {
        guard let p = process else { return }
        detach()
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        process = nil
    }

    private func detach() {
        _ = try? runProcess("/bin/umount", ["-l", mountPoint.path])
    }
}

/// Why the power-cut filesystem did not come up.
public enum PowerFSError: Error, CustomStringConvertible {
    case didNotMount(String)
    public var description: String {
        switch self {
        case .didNotMount(let s): return s
        }
    }
}
