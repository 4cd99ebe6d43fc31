import CRMCore
import CRMProtocol
import CRMStore
import CRMSync
public import Foundation
import Synchronization

/// The source of "now". The system clock in production; issue-level tests inject others.
public protocol WallClock: Sendable {
    func now() -> Date
    /// How long to sleep in real time until `instant` on this clock, or `nil` if only an explicit
    /// move of the clock can bring it. A requirement, not only an extension: the scheduler and
    /// the deliverer hold the clock as `any WallClock`, and an extension method alone would give
    /// them the system clock's answer on every clock (a demo-month of real seconds, capped at a
    /// minute, on `--demo`; a minute's needless wake-ups on a manual clock).
    func realDelay(until instant: Date) -> Duration?
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// The users, cached in memory and reloaded after every committed user change, so resolving the
/// caller costs a dictionary lookup instead of a query.
final class UserDirectory: Sendable {
    private struct Snapshot {
        var byID: [Int64: User] = [:]
        var byUID: [UInt32: User] = [:]
        var byLogin: [String: User] = [:]
    }
    private let state = ReadMostly(Snapshot())

    func reload(_ users: [User]) {
        var s = Snapshot()
        for u in users {
            s.byID[u.id] = u
            s.byLogin[u.login] = u
            if let uid = u.uid { s.byUID[uid] = u }
        }
        state.write { $0 = s }
    }

    func user(id: Int64) -> User? { state.read { $0.byID[id] } }
    func user(uid: UInt32) -> User? { state.read { $0.byUID[uid] } }
    func user(login: String) -> User? { state.read { $0.byLogin[login] } }
}

/// One connection's identity: the kernel-reported uid and pid, and an admin's `session.act_as`.
final class Session: Sendable {
    let uid: UInt32
    let pid: Int32
    let id: Int
    private let actingAs = Locked<String?>(nil)

    init(id: Int, uid: UInt32, pid: Int32) {
        self.id = id
        self.uid = uid
        self.pid = pid
    }

    var actingAsLogin: String? {
        get { actingAs.withLock { $0 } }
        set { actingAs.withLock { $0 = newValue } }
    }
}

/// Live figures for `server.status`.
final class ServerStats: Sendable {
    private let connections = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)

    func connectionOpened() -> Int {
        _ = accepted.wrappingAdd(1, ordering: .relaxed)
        return connections.wrappingAdd(1, ordering: .relaxed).newValue
    }
    func connectionClosed() { connections.wrappingSubtract(1, ordering: .relaxed) }
    func request() { requests.wrappingAdd(1, ordering: .relaxed) }
    var openConnections: Int { connections.load(ordering: .relaxed) }
    var totalAccepted: Int { accepted.load(ordering: .relaxed) }
    var totalRequests: Int { requests.load(ordering: .relaxed) }
}

/// crmd's version, shown by `server.ping` and `--version`.
public let crmdVersion = "0.1.0"
