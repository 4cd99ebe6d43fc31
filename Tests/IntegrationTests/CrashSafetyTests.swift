import CRMTestSupport
import Foundation
import Testing

/// The short version of `crm-crash` (docs/reliability.md, "Crash safety"): the same code, fewer rounds.
/// The long one is `make crash-test` (100 rounds on a release build).
@Suite("Crash safety")
struct CrashSafetyTests {
    @Test("SIGKILL under 16 writers: nothing acknowledged lost, nothing duplicated or half-applied, no gap")
    func killAndRestart() throws {
        var options = CrashTest.Options()
        options.rounds = Int(ProcessInfo.processInfo.environment["CRASH_ROUNDS"] ?? "") ?? 5
        options.writers = 16
        options.minDelay = 0.05
        options.maxDelay = 0.6
        let test = try CrashTest(options: options) { line in print(line) }
        let summary = try test.run()
        print(summary)
        #expect(summary.rounds == options.rounds)
        #expect(summary.acknowledged > 0)
        #expect(summary.ok, "\(summary.violations.joined(separator: "\n"))")
    }
}
