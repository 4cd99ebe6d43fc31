import CRMSync
import CRMText

/// One connection's identity: the kernel-reported uid and pid, and an admin's `session.act_as`.
final class Session: Sendable {
    let uid: UInt32
    let pid: Int32
    let id: Int
    private let actingAs = Locked<String?>(nil)
    private let clientLanguage = Locked<Lang?>(nil)

    init(id: Int, uid: UInt32, pid: Int32) {
        self.id = id
        self.uid = uid
        self.pid = pid
    }

    /// The language the client's locale names (`whoami` with `lang`), if it named one.
    var clientLang: Lang? {
        get { clientLanguage.withLock { $0 } }
        set { clientLanguage.withLock { $0 = newValue } }
    }

    var actingAsLogin: String? {
        get { actingAs.withLock { $0 } }
        set { actingAs.withLock { $0 = newValue } }
    }
}
