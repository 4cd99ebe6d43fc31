import CRMCore
import Foundation
import Testing

@Suite("The fair claim window: when it ends and who wins")
struct ClaimWindowTests {
    let window = ClaimWindow(endMinute: 10 * 60, timeZone: moscow)

    @Test func endsAtTenOnTheNextWorkingDay() {
        // Monday noon → Tuesday 10:00; Friday evening and Saturday → Monday 10:00 (Moscow).
        #expect(window.endsAt(releasedAt: instant("2026-01-12T12:00:00+03:00")) == instant("2026-01-13T10:00:00+03:00"))
        #expect(window.endsAt(releasedAt: instant("2026-01-16T23:59:00+03:00")) == instant("2026-01-19T10:00:00+03:00"))
        #expect(window.endsAt(releasedAt: instant("2026-01-17T03:00:00+03:00")) == instant("2026-01-19T10:00:00+03:00"))
        // 03:00 on a Tuesday is no head start: the window still ends on Wednesday.
        #expect(window.endsAt(releasedAt: instant("2026-01-13T03:00:00+03:00")) == instant("2026-01-14T10:00:00+03:00"))
        #expect(ClaimWindow(endMinute: nil, timeZone: moscow).endsAt(releasedAt: instant("2026-01-12T12:00:00+03:00")) == nil)
    }

    @Test func theRulesInOrder() {
        let t0 = instant("2026-01-12T12:00:00+03:00")
        let t1 = t0.addingTimeInterval(60)
        #expect(ClaimWindow.winner([], seed: 1) == nil)
        let one = ClaimWindow.winner([.init(userID: 5, at: t1, active: 9)], seed: 1)
        #expect(one?.winner.userID == 5 && one?.decision == .onlyRequest)
        // Fewest active clients beats an earlier request.
        let fewest = ClaimWindow.winner([.init(userID: 1, at: t0, active: 3), .init(userID: 2, at: t1, active: 2)], seed: 1)
        #expect(fewest?.winner.userID == 2 && fewest?.decision == .fewestActiveClients)
        // Tied on clients: the earlier request.
        let earliest = ClaimWindow.winner([.init(userID: 1, at: t1, active: 2), .init(userID: 2, at: t0, active: 2)], seed: 1)
        #expect(earliest?.winner.userID == 2 && earliest?.decision == .earliestRequest)
    }

    @Test func theDrawIsTheSeedsAndNotTheOrder() {
        let t0 = instant("2026-01-12T12:00:00+03:00")
        let tied: [ClaimWindow.Request] = (1...5).map { .init(userID: Int64($0), at: t0, active: 0) }
        var winners = Set<Int64>()
        for seed in UInt64(0)..<64 {
            let a = ClaimWindow.winner(tied, seed: seed)
            let b = ClaimWindow.winner(tied.reversed(), seed: seed)
            #expect(a?.decision == .draw)
            #expect(a?.winner == b?.winner)
            winners.insert(a!.winner.userID)
        }
        // Every tied requester can win.
        #expect(winners == [1, 2, 3, 4, 5])
    }
}
