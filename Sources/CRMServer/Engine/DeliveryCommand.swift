import CRMSync
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run of `alerts.delivery_command`: `/bin/sh -c COMMAND` with the alert on stdin, its output
/// discarded, in a process group of its own. When it outlives its time limit the whole group is
/// stopped, not only the shell: SIGTERM to the group, then, `grace` later, SIGKILL to whatever is
/// left of it. A gateway's background children and pipelines (`sleep 1000 &`, `curl … | mail`)
/// go with it. A process that leaves the group on purpose (`setsid`, a daemon) is on its own.
///
/// Foundation's `Process` cannot put the child in a new group, hence `posix_spawn` with
/// `POSIX_SPAWN_SETPGROUP`. The shell is not reaped until the group has been signalled, so its
/// pid, which is the group's id, cannot be reused by another process meanwhile.
struct DeliveryCommand {
    var command: String
    var timeout: Duration
    var grace: Duration = .seconds(2)

    /// How a run ended.
    enum Outcome: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case cannotStart(String)
        /// The task waiting for it was cancelled (crmd stopping): the group was killed at once.
        case interrupted

        /// Nil when delivered (exit status 0), else what went wrong, for the log and the store.
        func failure(timeout: Duration) -> String? {
            switch self {
            case .exited(0): return nil
            case .exited(let s): return "exit status \(s)"
            case .signaled(let s): return "killed by signal \(s)"
            case .timedOut: return "timed out after \(timeout); its process group was killed"
            case .cannotStart(let why): return "cannot start: \(why)"
            case .interrupted: return "interrupted by crmd stopping; its process group was killed"
            }
        }
    }

    /// Runs the command with `input` and a newline on its stdin and waits for it, at most
    /// `timeout` plus `grace`.
    func run(input: String) async -> Outcome {
        let pid: pid_t
        switch spawn(input: input) {
        case .failure(let why): return .cannotStart(why.description)
        case .success(let p): pid = p
        }
        // The shell's exit, seen without reaping it (WNOWAIT) on a thread of its own.
        let exit = AsyncStream<Outcome>.makeStream()
        Thread.detachNewThread {
            var outcome = Outcome.cannotStart("lost track of the command (pid \(pid))")
            if let info = try? Posix.waitForExit(pid) {
                let status = info._sifields._sigchld.si_status
                outcome = info.si_code == CLD_EXITED ? .exited(status) : .signaled(status)
            }
            exit.continuation.yield(outcome)
            exit.continuation.finish()
        }
        let timedOut = Locked(false)
        let (timeout, grace) = (self.timeout, self.grace)
        let stopper = Task {
            try await Task.sleep(for: timeout)
            timedOut.withLock { $0 = true }
            killpg(pid, SIGTERM)
            try? await Task.sleep(for: grace)
            killpg(pid, SIGKILL)
        }
        var exited: Outcome? = nil
        for await o in exit.stream { exited = o }
        guard let outcome = exited else {
            // Cancelled before the shell exited: nothing will wait for the command any more.
            stopper.cancel()
            killpg(pid, SIGKILL)
            _ = try? Posix.reap(pid)
            return .interrupted
        }
        // Back before the limit: the stopper is still asleep and never signals. Past it: the
        // shell may be gone at the SIGTERM, but what is left of its group gets its grace, then
        // the SIGKILL, before the shell is reaped.
        if !timedOut.withLock({ $0 }) { stopper.cancel() }
        _ = await stopper.result
        _ = try? Posix.reap(pid)
        return timedOut.withLock { $0 } ? .timedOut : outcome
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Swift's Glibc module
    /// does not declare it): the command gets no descriptor of crmd's beyond 0, 1 and 2, as with
    /// Foundation's `Process`. Without it, only crmd's close-on-exec descriptors are closed.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Starts `/bin/sh -c command` leading a new process group, with every signal at its default
    /// action and none blocked (crmd ignores SIGPIPE, and its shutdown signals are taken by
    /// ServiceLifecycle, so a child would otherwise inherit that), stdin from a pipe that gets
    /// `input`, stdout and stderr on /dev/null and no other descriptor of crmd's.
    private func spawn(input: String) -> Result<pid_t, PosixError> {
        // Both ends close-on-exec: neither stays open in the command (dup2 makes its stdin a copy
        // without the flag).
        let (readEnd, writeEnd): (Int32, Int32)
        do throws(PosixError) {
            (readEnd, writeEnd) = try Posix.pipe()
        } catch {
            return .failure(error)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let words: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        close(readEnd)
        guard rc == 0 else {
            close(writeEnd)
            return .failure(PosixError(call: "/bin/sh", errno: rc))  // posix_spawn returns its errno
        }
        // A command that exits (or crashes) before reading its input closes the pipe: the write
        // fails with EPIPE (crmd ignores SIGPIPE), and the exit status says what happened. An
        // alert is far below the pipe's buffer, so this never waits for the command.
        let bytes = Array((input + "\n").utf8)
        var written = 0
        while written < bytes.count {
            guard let n = try? bytes[written...].withUnsafeBytes({ raw throws(PosixError) in try Posix.write(writeEnd, raw) }), n > 0
            else { break }
            written += n
        }
        close(writeEnd)
        return .success(pid)
    }
}
