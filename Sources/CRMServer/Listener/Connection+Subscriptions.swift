import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// Subscriptions and the event pump. `subscribe` and `unsubscribe` are answered by the reader; a
/// subscription goes live once its reply is sent, and the first one starts the pump, a thread
/// that sends each subscription the events after its cursor whenever the hub says there are new
/// ones.
extension ClientConnection {
    /// Events a page holds, per subscription.
    private static let pageSize = 256
    /// Events held in memory looked at per subscription and pump (most are other managers').
    private static let scanSize = 4_096

    /// Gives back `n` of this connection's subscriptions counted against its uid.
    func giveUIDSubscriptions(_ n: Int) {
        let n = min(n, uidSubscriptions)
        guard n > 0 else { return }
        uidSubscriptions -= n
        server.giveSubscriptions(uid: session.uid, n)
    }

    /// `subscribe` and `unsubscribe` live here: a subscription belongs to its connection.
    func subscriptionRequest(_ request: Request, session: Session) -> Result<JSON, RPCError> {
        guard services.actor(for: session) != nil else { return .failure(services.notAUser(session)) }
        services.stats.request()
        do {
            if request.method == "unsubscribe" {
                var r = ParamReader(request.params)
                let id = r.int("subscription")
                try r.finish()
                if let i = pendingSubscriptions.firstIndex(where: { $0.id == id }) {
                    pendingSubscriptions.remove(at: i)
                } else {
                    let found = subscriptions.withLock { list in
                        guard let i = list.firstIndex(where: { $0.id == id }) else { return false }
                        list.remove(at: i)
                        return true
                    }
                    guard found else {
                        throw DomainError(.notFound, "This connection has no subscription \(id).", details: [("subscription", .int(id))])
                    }
                }
                services.hub.subscriptionClosed()
                giveUIDSubscriptions(1)
                return .success(.object(JSONObject()))
            }
            let (topics, since) = try services.decodeSubscribe(request.params)
            let open = pendingSubscriptions.count + subscriptions.withLock { $0.count }
            let limit = settings.maxSubscriptionsPerConnection
            guard open < limit else {
                services.logger.warning(
                    "refused a subscription over subscriptions.max_per_connection",
                    metadata: ["limit": "\(limit)", "uid": "\(session.uid)"])
                throw DomainError(
                    .limitReached,
                    "This connection has \(open) subscriptions, the limit (subscriptions.max_per_connection); one subscription takes any number of topics.",
                    details: [("limit", .int(Int64(limit))), ("kind", .string("subscriptions_per_connection"))])
            }
            if !admitted.admin {
                let perUID = settings.maxSubscriptionsPerUID
                guard server.takeSubscription(uid: session.uid, limit: perUID) else {
                    services.logger.warning(
                        "refused a subscription over subscriptions.max_per_uid", metadata: ["limit": "\(perUID)", "uid": "\(session.uid)"])
                    throw DomainError(
                        .limitReached,
                        "Your connections hold \(perUID) subscriptions, the limit for one user (subscriptions.max_per_uid); unsubscribe or close some, and remember one subscription takes any number of topics.",
                        details: [("limit", .int(Int64(perUID))), ("kind", .string("subscriptions_per_uid"))])
                }
                uidSubscriptions += 1
            }
            let last: Int64
            do {
                last = try services.store.read { try $0.lastSeq() }
            } catch {
                giveUIDSubscriptions(1)
                throw error
            }
            let id = services.hub.newSubscriptionID()
            pendingSubscriptions.append(Subscription(id: id, topics: topics, cursor: min(since ?? last, last)))
            services.hub.subscriptionOpened()
            return .success(["subscription": .int(id), "seq": .int(last)])
        } catch let e as RPCError {
            return .failure(e)
        } catch let e as DomainError {
            return .failure(e.rpc)
        } catch {
            return .failure(RPCError(code: ErrorCode.internalError, message: "Could not read the event log: \(error)"))
        }
    }

    /// After a line's replies: its new subscriptions go live, the pump starts with the first, and
    /// a replay (when `since` is behind) begins. False if the pump thread cannot be started.
    func activatePendingSubscriptions() -> Bool {
        guard !pendingSubscriptions.isEmpty else { return true }
        guard flush() else { return false }
        let added = pendingSubscriptions
        pendingSubscriptions.removeAll()
        subscriptions.withLock { $0.append(contentsOf: added) }
        if state == .open, let real = services.realActor(for: session), Access.hasLargeSubscriberQueue(real) {
            sender.growSendBuffer(to: settings.subscriberQueueBytes)
        }
        if state == .open {
            services.hub.add(self)
            do throws(PosixError) {
                try Posix.startThread(name: "crmd-events", stackBytes: 1 << 20) { [self] in
                    pumpLoop()
                    pumpDone.signal()
                }
            } catch {
                services.hub.remove(self)
                services.logger.error("cannot start a thread for a subscriber; closing its connection")
                return false
            }
            become(.subscribed)
        }
        eventsRecorded()
        return true
    }

    /// From the hub, after a commit that recorded events: wakes the pump, at most once per round.
    func eventsRecorded() {
        guard !pumpWakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pumpWake.signal()
    }

    private func pumpLoop() {
        while true {
            pumpWake.wait()
            if state.isEnding { return }
            pumpWakePending.store(false, ordering: .releasing)
            guard pump() else { return }
        }
    }

    /// Sends every event after each subscription's cursor that it wants and may see, a page at a
    /// time. A subscriber that takes nothing for the stall timeout gets a final notice if there is
    /// room for it and is closed; it can resume with `since`. False once the connection is done.
    private func pump() -> Bool {
        while !state.isEnding {
            guard let actor = services.actor(for: session) else {
                dropSubscriber(reason: "not_a_user", message: "This connection's user is no longer active.")
                return false
            }
            var subs = subscriptions.withLock { $0 }
            if subs.isEmpty { return true }
            // Pages are gathered by at most one pump per core at a time; sending is outside the
            // gate, so a stalled subscriber holds nobody up.
            services.hub.pumpGate.wait()
            var lines: [UInt8] = []
            /// Where each event's line ends in `lines`, and whose it is.
            var marks: [(end: Int, sub: Int, seq: Int64)] = []
            var more = false
            for i in subs.indices {
                let sub = subs[i]
                // Visibility first: for a manager it is two integer compares that drop most events.
                let wanted = { [services] (k: EventKey) in services.visible(k, to: actor) && k.topic & sub.topics != 0 }
                // Live: from the events held in memory. Behind them (a replay, a slow reader):
                // from the store.
                let page: (events: [StoredEvent], cursor: Int64, more: Bool)
                if let held = services.hub.recent.scan(after: sub.cursor, maxScan: Self.scanSize, maxMatch: Self.pageSize, wanted) {
                    page = held
                } else {
                    let narrow = Access.seesOnlyOwnClients(actor) ? actor.userID : nil
                    guard
                        let events = try? services.store.read({ tx in
                            if let me = narrow { return try tx.events(after: sub.cursor, visibleTo: me, limit: Self.pageSize) }
                            return try tx.events(after: sub.cursor, limit: Self.pageSize)
                        })
                    else { continue }
                    // A page may end early on the filtered query; the cursor still moves to what was read.
                    page = (events.filter { wanted(EventKey($0)) }, events.last?.seq ?? sub.cursor, events.count == Self.pageSize)
                }
                for e in page.events {
                    lines += services.notificationLine(e, subscription: sub.id)
                    marks.append((lines.count, i, e.seq))
                }
                subs[i].cursor = page.cursor
                if page.more { more = true }
            }
            services.hub.pumpGate.signal()
            let (outcome, sent) =
                lines.isEmpty ? (.sent, 0) : sender.sendEvents(lines, lineEnds: marks.map(\.end), ending: { state.isEnding })
            // Cursors move only once their events are sent: all of them, or, for a page cut
            // short, to the last event sent. A subscription removed meanwhile stays removed.
            var cursors: [Int64: Int64] = [:]
            if outcome == .sent {
                for s in subs { cursors[s.id] = s.cursor }
            } else {
                for m in marks where m.end <= sent { cursors[subs[m.sub].id] = m.seq }
            }
            subscriptions.withLock { list in
                for j in list.indices { if let c = cursors[list[j].id] { list[j].cursor = c } }
            }
            switch outcome {
            case .sent: break
            case .stalled:
                dropSubscriber(
                    reason: "too_slow",
                    message:
                        "This subscriber did not read its events for \(settings.subscriberStallSeconds) s; resume with subscribe since=<last seq seen>."
                )
                return false
            case .gone:
                shutdown(fd, Int32(SHUT_RDWR))  // the reader ends too
                return false
            }
            if !more { return true }
        }
        return false
    }

    /// Closes a subscriber that cannot be served: one notice if the socket takes it, then the
    /// connection is cut (the reader sees the end of input and closes it).
    private func dropSubscriber(reason: String, message: String) {
        let last = subscriptions.withLock { $0.map(\.cursor).min() ?? 0 }
        services.logger.warning(
            "closing a subscriber",
            metadata: ["reason": "\(reason)", "subscriptions": "\(subscriptions.withLock { $0.count })", "last_seq_sent": "\(last)"])
        let note = Response.notification(
            method: "subscription.closed", params: ["reason": .string(reason), "message": .string(message), "last_seq_sent": .int(last)])
        sender.sendNow(note)
        shutdown(fd, Int32(SHUT_RDWR))
    }
}
