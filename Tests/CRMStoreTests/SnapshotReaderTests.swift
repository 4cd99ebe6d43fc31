import CRMCore
import Dispatch
import Foundation
import Testing

@testable import CRMStore

@Suite("Snapshot readers: idle expiry")
struct SnapshotReaderTests {
    @Test("a reader given back after the expiry timer read the time is kept, not a crash; an old one is ended")
    func expiryRace() throws {
        let tmp = try TempDB()
        let store = try tmp.open()
        defer { try? store.close() }
        do {
            _ = try store.read { try $0.clientCount() }  // one reader used and given back
            let before = DispatchTime.now().uptimeNanoseconds - 1
            // The timer read `now` before the reader was given back: lastUse > now. This trapped
            // with an unsigned underflow (crmd died of it under crm-bench).
            #expect(store.readers.expireIdle(olderThanNanoseconds: 1_000_000_000, now: before) == 0)
            // Long after its last use, the snapshot is ended; reads still work afterwards.
            #expect(store.readers.expireIdle(olderThanNanoseconds: 1, now: DispatchTime.now().uptimeNanoseconds + 10) == 1)
            #expect(try store.read { try $0.clientCount() } == 0)
        }
    }
}
