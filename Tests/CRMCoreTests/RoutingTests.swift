import CRMCore
import Foundation
import Testing

@Suite("Request routing: round robin, least loaded, competence; absent and inactive managers skipped")
struct RoutingTests {
    let now = Date(timeIntervalSince1970: 1_772_434_800)  // 2026-03-02T07:00:00Z, a Monday

    @Test("least loaded picks the fewest open requests plus clients; ties go to the lower id")
    func leastLoaded() {
        let c = [RoutingCandidate(id: 1, load: 5), RoutingCandidate(id: 2, load: 2), RoutingCandidate(id: 3, load: 2)]
        #expect(Routing.pick(.leastLoaded, c, topic: nil, at: now) == 2)
        #expect(Routing.pick(.leastLoaded, c, topic: nil, at: now, excluding: 2) == 3)
    }

    @Test("round robin goes to the next id after the last one, wrapping")
    func roundRobin() {
        let c = [RoutingCandidate(id: 4), RoutingCandidate(id: 7), RoutingCandidate(id: 9)]
        #expect(Routing.pick(.roundRobin, c, topic: nil, at: now, last: 7) == 9)
        #expect(Routing.pick(.roundRobin, c, topic: nil, at: now, last: 9) == 4)
        #expect(Routing.pick(.roundRobin, c, topic: nil, at: now, last: nil) == 4)
    }

    @Test("competence prefers managers tagged with the topic (case-insensitive), then the least loaded; nobody tagged: everyone")
    func competence() {
        let c = [
            RoutingCandidate(id: 1, competence: ["Moscow"], load: 9), RoutingCandidate(id: 2, competence: ["retail"], load: 0),
            RoutingCandidate(id: 3, competence: ["moscow", "retail"], load: 3),
        ]
        #expect(Routing.pick(.competence, c, topic: "MOSCOW", at: now) == 3)
        #expect(Routing.pick(.competence, c, topic: "Kazan", at: now) == 2)
    }

    @Test("absent and inactive managers are skipped; with nobody available the request stays unrouted")
    func unavailable() {
        let hour: TimeInterval = 3600
        let away = RoutingCandidate(id: 1, absentFrom: now - hour, absentUntil: now + hour)
        let back = RoutingCandidate(id: 2, absentFrom: now - 2 * hour, absentUntil: now, load: 50)
        let gone = RoutingCandidate(id: 3, active: false)
        #expect(away.absent(at: now))
        #expect(!back.absent(at: now))
        #expect(Routing.pick(.leastLoaded, [away, back, gone], topic: nil, at: now) == 2)
        #expect(Routing.pick(.leastLoaded, [away, gone], topic: nil, at: now) == nil)
        // The one who missed it gets it back only when nobody else is available.
        #expect(Routing.pick(.leastLoaded, [back], topic: nil, at: now, excluding: 2) == 2)
    }

    @Test("the department works inside working hours on working days only")
    func working() {
        let hours = WorkingHours(timeZone: TimeZone(identifier: "Europe/Moscow")!)
        #expect(Routing.working(at: now, hours: hours, holidays: nil))  // 10:00 Monday in Moscow
        #expect(!Routing.working(at: now + 12 * 3600, hours: hours, holidays: nil))  // 22:00
    }
}
