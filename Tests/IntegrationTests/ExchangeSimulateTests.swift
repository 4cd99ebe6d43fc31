import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// `exchange.simulate` (issue 21) on the real crmd with a manual clock: the recorded history of a
/// past period replayed under the current thresholds gives what the live engine did, and under
/// other thresholds what those thresholds say.
@Suite("Simulating thresholds over the recorded history")
struct ExchangeSimulateTests: ManualClockSuite {
    @Test("unchanged thresholds give the live engine's releases; shorter ones earlier ones; longer ones none")
    func matchesTheLiveEngine() throws {
        let d = try daemon(start: "2026-01-12T09:00:00Z")
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let x = try admin.call("client.create", ["name": "Contacted X", "owner": "ivanov"])["id"]!
        let y = try admin.call("client.create", ["name": "Silent Y", "owner": "sidorov"])["id"]!
        _ = try admin.call("clock.advance", ["by": "P1M"])
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        _ = try ivanov.call("interaction.log", ["client_id": x, "kind": "call", "result": "call me in autumn"])
        _ = try admin.call("clock.set", ["to": "2026-12-01T00:00:00Z"])
        // What the live engine did: Y six months after its start, X six months after the call.
        let xReleased = try admin.call("client.get", ["id": x])["released_at"]
        let yReleased = try admin.call("client.get", ["id": y])["released_at"]
        #expect(xReleased == "2026-08-12T09:00:00Z")
        #expect(yReleased == "2026-07-12T09:00:00Z")
        let span: JSONObject = ["from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"]
        func releases(_ r: JSON) -> [String: JSON] {
            Dictionary(uniqueKeysWithValues: (r["releases"]?.arrayValue ?? []).map { ("\($0["client_id"]!.intValue!)", $0["at"]!) })
        }
        let same = try admin.call("exchange.simulate", .object(span))
        #expect(same["total"] == 2)
        #expect(same["actual_total"] == 2)
        #expect(releases(same) == ["\(x.intValue!)": xReleased!, "\(y.intValue!)": yReleased!])
        for m in same["managers"]?.arrayValue ?? [] { #expect(m["simulated"] == m["actual"], "\(m)") }
        // Release after three months: each three months after its start.
        var shorter = span
        shorter["thresholds"] = ["yellow_after": "P1M", "red_after": "P2M", "release_after": "P3M"]
        let early = try admin.call("exchange.simulate", .object(shorter))
        #expect(releases(early) == ["\(x.intValue!)": "2026-05-12T09:00:00Z", "\(y.intValue!)": "2026-04-12T09:00:00Z"])
        // Release after a year: nothing in the period.
        var longer = span
        longer["thresholds"] = ["release_after": "P12M"]
        let none = try admin.call("exchange.simulate", .object(longer))
        #expect(none["total"] == 0)
        #expect(none["actual_total"] == 2)
        // Nothing was written: the clients are where the engine left them.
        #expect(try admin.call("client.get", ["id": x])["released_at"] == xReleased)
        // A manager may not; a period that is not past is refused.
        #expect(rpcErrorCode { try ivanov.call("exchange.simulate", .object(span)) } == 1002)
        #expect(
            rpcErrorCode { try admin.call("exchange.simulate", ["from": "2026-11-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"]) } == -32602)
    }
}
