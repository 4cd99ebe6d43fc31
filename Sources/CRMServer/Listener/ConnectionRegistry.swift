import CRMProtocol
import CRMSync
import CRMText
import Foundation

/// The open connections, so crmd can end them when it stops. A connection's descriptor is closed
/// here, under the same lock `endInput` and `cutAll` take, so they never touch a reused one.
final class ConnectionRegistry: Sendable {
    private let open = Locked<[ObjectIdentifier: ClientConnection]>([:])
    private let changed = NSCondition()
    /// Open connections by kind and by uid, for admission.
    private let counts = Locked<Counts>(Counts())
    /// The descriptors connections may take (``DescriptorShares``).
    let descriptors: Int
    /// Memory held for non-admin peers' unfinished lines and unsent batch replies.
    let buffers = BufferBudget()
    /// Non-admin requests handled at once.
    let work = WorkGate()
    /// Open subscriptions of each non-admin uid, over all its connections.
    private let subscriptionsByUID = Locked<[UInt32: Int]>([:])

    /// Counts one more subscription for `uid`; false (nothing counted) when it holds `limit`.
    func takeSubscription(uid: UInt32, limit: Int) -> Bool {
        subscriptionsByUID.withLock { m in
            let n = m[uid, default: 0]
            guard n < limit else { return false }
            m[uid] = n + 1
            return true
        }
    }

    /// `n` subscriptions of `uid` are gone.
    func giveSubscriptions(uid: UInt32, _ n: Int) {
        subscriptionsByUID.withLock { m in
            let left = m[uid, default: n] - n
            m[uid] = left > 0 ? left : nil
        }
    }

    init(descriptors: Int) { self.descriptors = descriptors }

    struct Counts {
        var others = 0
        var admins = 0
        var byUID: [UInt32: Int] = [:]
    }

    /// Whether a new connection of `peer` may open; nil when it may (and it is then counted), else
    /// why not. Everyone but admins shares `server.max_connections`, and one uid may hold
    /// `server.max_connections_per_uid` of them; admins (root, crmd's own uid, users with the
    /// admin role) have `server.admin_connections` more of their own, so an admin always gets in
    /// (issue 15 §2: 4,096 connections of one uid locked root out).
    func admit(_ peer: Admission, settings: Settings) -> Refusal? {
        // Both limits fit in the descriptors crmd has.
        let (adminReserve, maxOthers) = DescriptorShares.limits(connections: descriptors, settings)
        return counts.withLock { c -> Refusal? in
            if peer.admin {
                guard c.admins < adminReserve + max(0, maxOthers - c.others) else {
                    return .unavailable(
                        "too_many_connections",
                        "crmd is at its connection limit, admins' reserve included (server.admin_connections = \(adminReserve)); retry later.",
                        limit: adminReserve)
                }
                c.admins += 1
                return nil
            }
            guard c.others < maxOthers else {
                return .unavailable(
                    "too_many_connections",
                    maxOthers == settings.maxConnections
                        ? "crmd is at its connection limit (server.max_connections = \(maxOthers)); retry later."
                        : "crmd is at its connection limit (\(maxOthers), which the open-file limit sets below server.max_connections); retry later.",
                    limit: maxOthers)
            }
            let mine = c.byUID[peer.uid, default: 0]
            guard mine < settings.maxConnectionsPerUID else {
                return .unavailable(
                    "too_many_connections_for_uid",
                    "You have \(mine) connections open, the limit for one user (server.max_connections_per_uid); close some and retry.",
                    limit: settings.maxConnectionsPerUID)
            }
            c.others += 1
            c.byUID[peer.uid] = mine + 1
            return nil
        }
    }

    /// A connection admitted by ``admit(_:settings:)`` is gone.
    func release(_ peer: Admission) {
        counts.withLock { c in
            if peer.admin {
                c.admins -= 1
                return
            }
            c.others -= 1
            let left = c.byUID[peer.uid, default: 1] - 1
            c.byUID[peer.uid] = left > 0 ? left : nil
        }
    }

    func add(_ c: ClientConnection) { open.withLock { $0[ObjectIdentifier(c)] = c } }

    func remove(_ c: ClientConnection) { _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(c)) } }

    /// A connection is done: its socket is closed and it leaves the registry.
    func closed(_ c: ClientConnection) {
        open.withLock { list in
            list.removeValue(forKey: ObjectIdentifier(c))
            close(c.fd)
        }
        release(c.admitted)
        changed.lock()
        changed.broadcast()
        changed.unlock()
    }

    /// Ends every connection's input, as if each peer had half-closed.
    func endInput() { open.withLock { list in for c in list.values { shutdown(c.fd, Int32(SHUT_RD)) } } }

    /// Cuts every connection both ways (a peer that does not read its replies).
    func cutAll() { open.withLock { list in for c in list.values { shutdown(c.fd, Int32(SHUT_RDWR)) } } }

    /// Waits until every connection has closed, or `seconds` pass; true if they all closed.
    func waitUntilEmpty(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        changed.lock()
        defer { changed.unlock() }
        while !open.withLock({ $0.isEmpty }) {
            if !changed.wait(until: deadline) { return open.withLock { $0.isEmpty } }
        }
        return true
    }
}

/// A connection's peer as admitted: its uid, and whether it counts against the admins' reserve.
struct Admission: Sendable {
    var uid: UInt32
    var admin: Bool
}

/// Why a connection was not admitted, and what it is told.
struct Refusal {
    var reason: String
    var error: RPCError

    /// A `1009 unavailable` refusal: `reason` goes into the log line and `data.reason`, with the
    /// limit that was reached, if any.
    static func unavailable(_ reason: String, _ message: Phrase, limit: Int? = nil) -> Refusal {
        let data: JSON = limit.map { ["reason": .string(reason), "limit": .int(Int64($0))] } ?? ["reason": .string(reason)]
        return Refusal(reason: reason, error: RPCError(code: ErrorCode.unavailable, message: message, data: data))
    }
}
