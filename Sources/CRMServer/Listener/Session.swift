import CRMSync

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
