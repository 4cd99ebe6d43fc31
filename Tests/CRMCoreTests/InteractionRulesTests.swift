import CRMCore
import Foundation
import Testing

@Suite("Interaction rules: minimal data set and time window")
struct InteractionRulesTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let settings = DomainSettings()

    func draft(
        _ kind: InteractionKind, at: Date? = nil, contact: Int64? = nil, topic: String? = nil, result: String? = nil, note: String? = nil,
        direction: String? = nil
    ) -> InteractionDraft {
        InteractionDraft(kind: kind, occurredAt: at, contactID: contact, topic: topic, result: result, note: note, direction: direction)
    }

    func fields(_ d: InteractionDraft, settings: DomainSettings? = nil) -> [String] {
        InteractionRules.problems(d, now: now, settings: settings ?? self.settings).map(\.0)
    }

    @Test func meetingNeedsTimeContactTopicAndResult() {
        #expect(fields(draft(.meeting)) == ["occurred_at", "contact_id", "topic", "result"])
        let problems = InteractionRules.problems(draft(.meeting), now: now, settings: settings)
        #expect(problems.allSatisfy { $0.1 == "is required for a meeting" })
        #expect(fields(draft(.meeting, at: now, contact: 5, topic: "Contract", result: "Agreed on terms")) == [])
        #expect(fields(draft(.meeting, at: now, contact: 5, topic: "Contract")) == ["result"])
        #expect(fields(draft(.meeting, contact: 5, topic: "Contract", result: "ok")) == ["occurred_at"])
    }

    @Test func blankTextCountsAsMissing() {
        #expect(fields(draft(.meeting, at: now, contact: 5, topic: "  \n\t", result: "ok")) == ["topic"])
        #expect(fields(draft(.call, result: "")) == ["result"])
        #expect(fields(draft(.call, result: "   ")) == ["result"])
    }

    @Test func callNeedsResult() {
        #expect(fields(draft(.call)) == ["result"])
        #expect(InteractionRules.problems(draft(.call), now: now, settings: settings).first?.1 == "is required for a call")
        #expect(fields(draft(.call, result: "No answer")) == [])
    }

    @Test(arguments: [InteractionKind.email, .message, .note])
    func otherKindsNeedNothingByDefault(_ kind: InteractionKind) {
        #expect(fields(draft(kind)) == [])
    }

    @Test func occurredAtInThePastIsFine() {
        #expect(fields(draft(.note, at: now.addingTimeInterval(-30 * 86_400))) == [])
    }

    @Test func occurredAtMoreThanFiveMinutesAheadIsRejected() {
        let p = InteractionRules.problems(draft(.note, at: now.addingTimeInterval(301)), now: now, settings: settings)
        #expect(p.map(\.0) == ["occurred_at"])
        #expect(p.first?.1 == "is more than 5 minutes in the future")
        #expect(fields(draft(.note, at: now.addingTimeInterval(300.001))) == ["occurred_at"])
        #expect(fields(draft(.note, at: now.addingTimeInterval(86_400))) == ["occurred_at"])
    }

    @Test func exactlyFiveMinutesAheadIsAllowed() {
        #expect(fields(draft(.note, at: now.addingTimeInterval(300))) == [])
        #expect(fields(draft(.call, at: now.addingTimeInterval(299), result: "ok")) == [])
    }

    @Test func missingFieldsAndFutureTimeAreAllReported() {
        #expect(fields(draft(.meeting, at: now.addingTimeInterval(3600))) == ["contact_id", "topic", "result", "occurred_at"])
    }

    @Test func configuredMinimalSetAndWindow() {
        var s = DomainSettings()
        s.requiredFields = [.email: ["direction", "note"], .call: []]
        s.maxFutureSeconds = 60
        #expect(fields(draft(.email), settings: s) == ["direction", "note"])
        #expect(fields(draft(.email, note: "Sent the offer", direction: "out"), settings: s) == [])
        #expect(fields(draft(.call), settings: s) == [])
        #expect(fields(draft(.meeting), settings: s) == [])
        let p = InteractionRules.problems(draft(.note, at: now.addingTimeInterval(61)), now: now, settings: s)
        #expect(p.map(\.0) == ["occurred_at"])
        #expect(p.first?.1.hasSuffix("in the future") == true)
        #expect(fields(draft(.note, at: now.addingTimeInterval(60)), settings: s) == [])
    }

    @Test func defaultSettings() {
        #expect(settings.maxFutureSeconds == 300)
        #expect(settings.resettingKinds == [.call, .meeting, .email, .message])
        #expect(!settings.resettingKinds.contains(.note))
        #expect(settings.defaultCountryCode == "7")
        #expect(settings.nationalNumberLength == 10)
    }
}
