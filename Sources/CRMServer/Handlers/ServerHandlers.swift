import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// `server.status`, `whoami` and `session.act_as`.
struct ServerHandlers: HandlerGroup {
    let context: ServerContext

    func serverStatus(_ call: Call) throws {
        try call.decode { _ in }
        let commit = store.commitStats
        let wal = store.walStats
        try read(call) { tx, now in
            let c = try tx.zoneCounts(now: now)
            let backlog = try tx.commandBacklog()
            let notices = try tx.notificationBacklog()
            return [
                "version": .string(crmdVersion), "started_at": wire.time(context.startedAt), "now": wire.time(now),
                "clients": [
                    "total": .int(c.total), "green": .int(c.green), "yellow": .int(c.yellow), "red": .int(c.red),
                    "exchange": .int(c.exchange), "unassigned": .int(c.unassigned),
                ],
                "connections": .int(context.stats.openConnections), "subscriptions": .int(context.hub.subscriptions),
                "requests": .int(context.stats.totalRequests),
                "store": [
                    "path": .string(store.path), "synchronous": .string(store.writerSynchronous), "commits": .int(commit.commits),
                    "writes": .int(commit.writes),
                    "largest_batch": .int(commit.largestBatch), "failed_commits": .int(commit.failedCommits),
                    "last_seq": .int(try tx.lastSeq()), "wal_pages": .int(wal.frames),
                    "wal_pages_max": .int(wal.maxFrames), "wal_limit_pages": .int(Store.walLimitPages),
                    "checkpoints": .int(wal.checkpoints),
                    "wal_restarts": .int(wal.restarts), "wal_forced_restarts": .int(wal.forcedRestarts),
                    "checkpoint_error": wal.error.map(JSON.string) ?? .null,
                ],
                "alerts": [
                    "delivery_command": .bool(settings.deliveryCommand != nil), "command_pending": .int(backlog.pending),
                    "command_failing": .int(backlog.failing), "next_delivery": wire.time(try tx.earliestAlertDelivery()),
                ],
                "notify": [
                    "delivery_command": .bool(settings.notifyCommand != nil), "pending": .int(notices.pending),
                    "failing": .int(notices.failing), "next_attempt": wire.time(try tx.earliestNotificationAttempt()),
                ],
                "scheduler": [
                    "next_due": wire.time(try tx.earliestDue()),
                    "clock": .string(clock is ManualClock ? "manual" : (clock is AcceleratedClock ? "accelerated" : "system")),
                ],
            ]
        }
    }

    func actorJSON(_ a: Actor) -> JSON {
        if let u = a.user { return wire.user(u, detailed: false) }
        return ["id": .null, "login": .string(a.login), "name": .string("\(a.login) (built-in admin)"), "role": .string(a.role.rawValue)]
    }

    func whoami(_ call: Call) throws {
        // `lang`: the language the client's locale names (crmctl sends its LANG); it chooses the
        // language for this connection when the user has chosen none. Null or absent: none.
        let named = try call.decode { r in r.optionalEnum("lang", Lang.allCases.map(\.rawValue)) }
        if let named { call.session.clientLang = Lang(rawValue: named) }
        var o: JSONObject = [
            "user": actorJSON(call.actor), "uid": .int(Int64(call.session.uid)),
            "time_zone": .string(settings.domain.zones.timeZone.identifier), "now": wire.time(clock.now()),
        ]
        o["lang"] = .string(lang(call).rawValue)
        if let admin = call.actor.actingAdmin { o["acting_admin"] = .string(admin) }
        call.reply(.success(.object(o)))
    }

    func sessionActAs(_ call: Call) throws {
        let login = try call.decode { r in r.optionalString("login") }
        guard let real = context.identity.realActor(for: call.session), Access.canActAs(real) else {
            throw DomainError.forbidden("Only an admin may act as another user.")
        }
        var found: User? = nil
        if let login {
            guard let u = users.user(login: login), u.active else { throw DomainError.notFound("active user", named: login) }
            found = u
        }
        let target = found
        let session = call.session
        let realJSON = actorJSON(real)
        let requestID = call.requestID
        // The identity follows the reply: on a replay of a request_id, the stored reply names the
        // user acted as, not this call's login; the switch it makes is audited like the first.
        write(
            call, after: { reply in session.actingAsLogin = Self.actingAs(reply) },
            replayed: { tx, now, stored in
                let login = Self.actingAs(stored)
                try audit(
                    tx, real, "session", login == nil ? nil : stored["user"]?["id"]?.intValue, login == nil ? "act_as_end" : "act_as",
                    before: nil, after: ["as": .string(login), "replay_of": .string(requestID)], at: now)
            }
        ) { [self] tx, now in
            try audit(
                tx, real, "session", target?.id, target == nil ? "act_as_end" : "act_as",
                before: nil, after: ["as": .string(target?.login)], at: now)
            return [
                "user": target.map { wire.user($0, detailed: false) } ?? realJSON,
                "acting_admin": target == nil ? .null : .string(real.login),
            ]
        }
    }

    /// The login a `session.act_as` reply switches to: its user, or nil when it ended acting.
    static func actingAs(_ reply: JSON) -> String? {
        reply["acting_admin"]?.stringValue == nil ? nil : reply["user"]?["login"]?.stringValue
    }
}
