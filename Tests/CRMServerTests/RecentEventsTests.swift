import CRMProtocol
import Foundation
import Testing

@testable import CRMServer
@testable import CRMStore

@Suite("The in-memory window of recent events that live subscribers read")
struct RecentEventsTests {
    func event(_ seq: Int64, owner: Int64 = 1, topic: String = "zone.changed") -> StoredEvent {
        StoredEvent(
            seq: seq, at: Date(timeIntervalSince1970: Double(seq)), topic: topic, clientID: seq, ownerID: owner, data: "{\"n\":\(seq)}")
    }

    @Test("an empty window sends every cursor to the store")
    func empty() {
        let w = RecentEvents(capacity: 8)
        #expect(w.scan(after: 0, maxScan: 10, maxMatch: 10) { _ in true } == nil)
    }

    @Test("events after the cursor come in order; a cursor older than the window reads the store")
    func window() throws {
        let w = RecentEvents(capacity: 4)
        w.publish((1...6).map { event($0) })  // holds 3...6
        #expect(w.scan(after: 1, maxScan: 10, maxMatch: 10) { _ in true } == nil)
        let page = try #require(w.scan(after: 2, maxScan: 10, maxMatch: 10) { _ in true })
        #expect(page.events.map(\.seq) == [3, 4, 5, 6])
        #expect(page.cursor == 6)
        #expect(!page.more)
        let none = try #require(w.scan(after: 6, maxScan: 10, maxMatch: 10) { _ in true })
        #expect(none.events.isEmpty && none.cursor == 6 && !none.more)
    }

    @Test("the scan stops at its limits and says more is held; the cursor passes what did not match")
    func limits() throws {
        let w = RecentEvents(capacity: 100)
        w.publish((1...50).map { event($0, owner: $0 % 2 == 0 ? 7 : 8) })
        let mine = try #require(w.scan(after: 0, maxScan: 10, maxMatch: 100) { $0.ownerID == 7 })
        #expect(mine.events.map(\.seq) == [2, 4, 6, 8, 10])
        #expect(mine.cursor == 10 && mine.more)
        let three = try #require(w.scan(after: 10, maxScan: 100, maxMatch: 3) { $0.ownerID == 7 })
        #expect(three.events.map(\.seq) == [12, 14, 16])
        #expect(three.cursor == 16 && three.more)
    }

    @Test("an event that does not follow the last one held starts a new window")
    func gap() throws {
        let w = RecentEvents(capacity: 10)
        w.publish([event(1), event(2)])
        w.publish([event(5), event(6)])  // 3 and 4 were written outside group commit
        #expect(w.scan(after: 2, maxScan: 10, maxMatch: 10) { _ in true } == nil)
        let page = try #require(w.scan(after: 4, maxScan: 10, maxMatch: 10) { _ in true })
        #expect(page.events.map(\.seq) == [5, 6])
    }

    @Test("the ring wraps many times and keeps the newest events")
    func wraps() throws {
        let w = RecentEvents(capacity: 7)
        for s in stride(from: Int64(1), through: 100, by: 3) { w.publish([event(s), event(s + 1), event(s + 2)]) }
        let page = try #require(w.scan(after: 95, maxScan: 100, maxMatch: 100) { _ in true })
        #expect(page.events.map(\.seq) == [96, 97, 98, 99, 100, 101, 102])
    }

    @Test("a notification line carries the stored data as it is and parses as JSON-RPC")
    func notificationLine() throws {
        let e = StoredEvent(
            seq: 42, at: Date(timeIntervalSince1970: 1_767_603_600), topic: "zone.changed", clientID: 3, ownerID: 1,
            data: #"{"client_id":3,"name":"Ромашка \"ООО\""}"#)
        let line = Hub.notificationLine(e, subscription: 9)
        #expect(line.last == UInt8(ascii: "\n"))
        let v = try JSONParser.parse(String(decoding: line.dropLast(), as: UTF8.self))
        #expect(v["method"] == "event")
        #expect(v["params"]?["subscription"] == 9)
        #expect(v["params"]?["seq"] == 42)
        #expect(v["params"]?["topic"] == "zone.changed")
        #expect(v["params"]?["at"]?.stringValue == RFC3339.format(e.at))
        #expect(v["params"]?["data"]?["name"] == "Ромашка \"ООО\"")
    }
}
