import CRMStore
import CRMSync
import Foundation

/// The newest committed events in seq order, a bounded window of the durable log: the store
/// hands each commit's events here before acknowledging its writes. The window is contiguous;
/// an event that does not follow the last one held (written outside group commit) starts a new
/// window, and older cursors read the store.
final class RecentEvents: Sendable {
    private struct Window {
        var ring: [StoredEvent?]
        /// What subscriptions filter on, beside each event: plain values, so a scan past events
        /// meant for others touches no reference counts (a hundred subscribers each look at every
        /// event of a 100,000-client pass).
        var keys: [EventKey]
        /// Ring index of the oldest event held.
        var start = 0
        var count = 0
        /// Seq of the oldest event held.
        var firstSeq: Int64 = 0
    }
    private let window: Locked<Window>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        window = Locked(
            Window(
                ring: [StoredEvent?](repeating: nil, count: max(1, capacity)),
                keys: [EventKey](repeating: EventKey(ownerID: nil, previousOwnerID: nil, topic: 0), count: max(1, capacity))))
    }

    /// Adds committed events, in seq order; the oldest fall out.
    func publish(_ events: [StoredEvent]) {
        let capacity = self.capacity
        let keys = events.map(EventKey.init)
        window.withLock { w in
            for (e, key) in zip(events, keys) {
                if w.count > 0, e.seq != w.firstSeq + Int64(w.count) { w.count = 0 }
                if w.count == 0 {
                    w.start = 0
                    w.firstSeq = e.seq
                } else if w.count == capacity {
                    w.ring[w.start] = nil
                    w.start = (w.start + 1) % capacity
                    w.firstSeq += 1
                    w.count -= 1
                }
                let i = (w.start + w.count) % capacity
                w.ring[i] = e
                w.keys[i] = key
                w.count += 1
            }
        }
    }

    /// The events after `cursor` whose key `match`es, oldest first: at most `maxMatch` of them,
    /// looking at no more than `maxScan` events. Returns the seq looked at last (the new cursor)
    /// and whether more are held; nil when events after `cursor` are no longer (or not yet) held.
    func scan(
        after cursor: Int64, maxScan: Int, maxMatch: Int, _ match: (EventKey) -> Bool
    ) -> (events: [StoredEvent], cursor: Int64, more: Bool)? {
        let capacity = self.capacity
        return window.withLock { w in
            guard w.count > 0, cursor >= w.firstSeq - 1 else { return nil }
            let last = w.firstSeq + Int64(w.count) - 1
            var seq = cursor
            var found: [StoredEvent] = []
            var scanned = 0
            while seq < last, scanned < maxScan, found.count < maxMatch {
                seq += 1
                scanned += 1
                let i = (w.start + Int(seq - w.firstSeq)) % capacity
                if match(w.keys[i]), let e = w.ring[i] { found.append(e) }
            }
            return (found, seq, seq < last)
        }
    }
}
