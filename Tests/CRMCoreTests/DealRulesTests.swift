import CRMCore
import Foundation
import Testing

/// An open deal of the default pipeline at `stage` whose last contact was `lastContact`.
func deal(
    stage: String = "New deal", status: DealStatus = .open, pipeline: String = "Sales",
    lastContact: Date = instant("2026-01-12T12:00:00+03:00"),
    probability: Int? = nil
) -> Deal {
    Deal(
        id: 7, clientID: 3, ownerID: 10, creatorLogin: "ivanov", title: "Boxes", amount: 100_000, currency: "RUB",
        probability: probability, source: nil, pipeline: pipeline, stage: stage, status: status, lostReason: nil, expectedClose: nil,
        openedAt: lastContact, closedAt: status == .open ? nil : lastContact, stageEnteredAt: lastContact, lastContactAt: lastContact,
        nextContactDue: nil, overdueStage: 0, dueAt: nil, createdAt: lastContact, updatedAt: lastContact)
}

func rules(_ configure: (inout DealSettings) -> Void = { _ in }, in zone: TimeZone = moscow) -> DealRules {
    var s = DealSettings()
    configure(&s)
    return DealRules(s, timeZone: zone)
}

func detail(_ e: DomainError?, _ key: String) -> DomainError.Detail? {
    e?.details.first { $0.key == key }?.value
}

@Suite("Deal rules: moves")
struct DealRulesMoveTests {
    let r = rules()

    @Test("forward one stage at a time is allowed for anyone")
    func forwardOne() {
        #expect(r.moveRefusal(deal(stage: "New deal"), to: "Proposal sent", mayGoBack: false) == nil)
        #expect(r.moveRefusal(deal(stage: "Handling objections"), to: "Contract discussion", mayGoBack: false) == nil)
    }

    @Test("skipping a stage is 1008 stage_order naming from, to and the next stage")
    func skipRefused() throws {
        let e = try #require(r.moveRefusal(deal(stage: "New deal"), to: "Proposal under review", mayGoBack: false))
        #expect(e.kind == .stageOrder)
        #expect(detail(e, "from") == .string("New deal"))
        #expect(detail(e, "to") == .string("Proposal under review"))
        #expect(detail(e, "next") == .string("Proposal sent"))
        #expect(detail(e, "deal_id") == .int(7))
        #expect(e.message.description.contains("Proposal sent"))
    }

    @Test("a pipeline with allow_skip, or a head, may skip")
    func skipAllowed() {
        let skipping = rules { $0.pipelines[0].allowSkip = true }
        #expect(skipping.moveRefusal(deal(stage: "New deal"), to: "Contract discussion", mayGoBack: false) == nil)
        #expect(r.moveRefusal(deal(stage: "New deal"), to: "Contract discussion", mayGoBack: true) == nil)
    }

    @Test("allow_skip is forward only: a manager still may not go back")
    func skipIsNotBack() {
        let skipping = rules { $0.pipelines[0].allowSkip = true }
        #expect(skipping.moveRefusal(deal(stage: "Proposal sent"), to: "New deal", mayGoBack: false)?.kind == .stageOrder)
    }

    @Test("back is refused for a manager (1008), allowed for a head")
    func back() throws {
        let e = try #require(r.moveRefusal(deal(stage: "Contract discussion"), to: "New deal", mayGoBack: false))
        #expect(e.kind == .stageOrder)
        #expect(e.message.description.contains("head"))
        // At the last stage there is no next one.
        #expect(detail(e, "next") == .null)
        #expect(r.moveRefusal(deal(stage: "Contract discussion"), to: "New deal", mayGoBack: true) == nil)
        #expect(r.moveRefusal(deal(stage: "Proposal sent"), to: "New deal", mayGoBack: true) == nil)
    }

    @Test("a closed deal does not move, not even for a head: conflict naming its status", arguments: [DealStatus.won, .lost])
    func closed(_ status: DealStatus) throws {
        for mayGoBack in [false, true] {
            let e = try #require(r.moveRefusal(deal(stage: "New deal", status: status), to: "Proposal sent", mayGoBack: mayGoBack))
            #expect(e.kind == .conflict)
            #expect(detail(e, "status") == .string(status.rawValue))
            #expect(e.message.description.contains("reopen"))
        }
    }

    @Test("an unknown stage, or an outcome named as a stage, is validation_failed on the field stage")
    func unknownStage() throws {
        for target in ["Negotiation", "Won", "Lost", "new deal"] {
            let e = try #require(r.moveRefusal(deal(), to: target, mayGoBack: true), "\(target)")
            #expect(e.kind == .validationFailed)
            #expect(e.fields.map(\.field) == ["stage"])
            #expect(e.message.description.contains("deal.close"))
        }
    }

    @Test("the same stage is a conflict, for a head too")
    func sameStage() {
        #expect(r.moveRefusal(deal(stage: "Proposal sent"), to: "Proposal sent", mayGoBack: false)?.kind == .conflict)
        #expect(r.moveRefusal(deal(stage: "Proposal sent"), to: "Proposal sent", mayGoBack: true)?.kind == .conflict)
    }

    @Test("a deal of a pipeline no longer configured is a conflict")
    func gonePipeline() {
        #expect(r.moveRefusal(deal(pipeline: "Old"), to: "Proposal sent", mayGoBack: true)?.kind == .conflict)
    }
}

@Suite("Deal rules: cadence")
struct DealRulesCadenceTests {
    @Test("next contact due: the stage's cadence in calendar days of Moscow (no DST), across a month's end")
    func nextContactDue() {
        let r = rules()
        // 23:30 in Moscow on 31 January: P2D is 2 February at 23:30 Moscow time.
        let last = instant("2026-01-31T23:30:00+03:00")
        #expect(r.nextContactDue(pipeline: "Sales", stage: "New deal", lastContact: last) == instant("2026-02-02T23:30:00+03:00"))
        // P3D from 27 February (not a leap year) lands on 2 March.
        #expect(
            r.nextContactDue(pipeline: "Sales", stage: "Proposal sent", lastContact: instant("2026-02-27T10:00:00+03:00"))
                == instant("2026-03-02T10:00:00+03:00"))
        // The weekend Berlin moves its clocks (29 March 2026), Moscow keeps 48 hours for P2D.
        let march = instant("2026-03-28T12:00:00Z")
        #expect(r.nextContactDue(pipeline: "Sales", stage: "New deal", lastContact: march) == instant("2026-03-30T12:00:00Z"))
        // The same in Berlin is two calendar days, 47 hours: the time zone is the calendar's.
        let berlinRules = rules(in: berlin)
        #expect(berlinRules.nextContactDue(pipeline: "Sales", stage: "New deal", lastContact: march) == instant("2026-03-30T11:00:00Z"))
    }

    @Test("a cadence in hours counts clock hours")
    func hours() {
        let r = rules { $0.pipelines[0].stages[0].cadence = ISODuration("PT36H") }
        #expect(
            r.nextContactDue(pipeline: "Sales", stage: "New deal", lastContact: instant("2026-01-31T20:00:00+03:00"))
                == instant("2026-02-02T08:00:00+03:00"))
    }

    @Test("no cadence, an unknown stage or pipeline: never due")
    func never() {
        let r = rules { $0.pipelines[0].stages[1].cadence = nil }
        let t = instant("2026-01-12T12:00:00+03:00")
        #expect(r.nextContactDue(pipeline: "Sales", stage: "Proposal sent", lastContact: t) == nil)
        #expect(r.nextContactDue(pipeline: "Sales", stage: "Nowhere", lastContact: t) == nil)
        #expect(r.nextContactDue(pipeline: "Other", stage: "New deal", lastContact: t) == nil)
    }

    @Test("rearm, due ahead: in cadence, the scheduler's instant is the due instant")
    func rearmFuture() {
        let r = rules()
        var d = deal(lastContact: instant("2026-01-12T12:00:00+03:00"))
        d.overdueStage = 1
        r.rearm(&d, now: instant("2026-01-13T12:00:00+03:00"))
        #expect(d.nextContactDue == instant("2026-01-14T12:00:00+03:00"))
        #expect(d.dueAt == d.nextContactDue)
        #expect(d.overdueStage == 0)
    }

    @Test("rearm, due passed and not yet overdue: due at once at its true instant (also exactly at due)")
    func rearmPast() {
        let r = rules()
        for now in [instant("2026-01-20T12:00:00+03:00"), instant("2026-01-14T12:00:00+03:00")] {
            var d = deal(lastContact: instant("2026-01-12T12:00:00+03:00"))
            r.rearm(&d, now: now)
            #expect(d.nextContactDue == instant("2026-01-14T12:00:00+03:00"))
            #expect(d.dueAt == instant("2026-01-14T12:00:00+03:00"))
            #expect(d.overdueStage == 0)
        }
    }

    @Test("rearm, already reminded: stays reminded and keeps the scheduler's next instant (the head copy)")
    func rearmReminded() {
        let r = rules()
        var d = deal(lastContact: instant("2026-01-12T12:00:00+03:00"))
        let copyAt = instant("2026-01-15T12:00:00+03:00")
        d.overdueStage = 1
        d.dueAt = copyAt
        r.rearm(&d, now: instant("2026-01-14T18:00:00+03:00"))
        #expect(d.overdueStage == 1)
        #expect(d.dueAt == copyAt)
    }

    @Test("rearm, closed or at a stage without cadence: nothing to watch", arguments: [DealStatus.won, .lost])
    func rearmClosed(_ status: DealStatus) {
        let r = rules()
        var d = deal(status: status)
        d.nextContactDue = instant("2026-01-14T12:00:00+03:00")
        d.overdueStage = 2
        d.dueAt = d.nextContactDue
        r.rearm(&d, now: instant("2026-01-20T12:00:00+03:00"))
        #expect(d.nextContactDue == nil)
        #expect(d.dueAt == nil)
        #expect(d.overdueStage == 0)
        let noCadence = rules { $0.pipelines[0].stages[0].cadence = nil }
        var open = deal()
        open.overdueStage = 1
        noCadence.rearm(&open, now: instant("2026-01-20T12:00:00+03:00"))
        #expect(open.nextContactDue == nil && open.dueAt == nil && open.overdueStage == 0)
    }

    @Test("the heads' copy: the grace after the due instant; none without grace or due")
    func headCopy() {
        let r = rules()
        var d = deal()
        #expect(r.headCopyAt(d) == nil)
        d.nextContactDue = instant("2026-01-31T20:00:00+03:00")
        #expect(r.headCopyAt(d) == instant("2026-02-01T20:00:00+03:00"))
        let hours = rules { $0.overdueHeadGrace = ISODuration("PT4H") }
        #expect(hours.headCopyAt(d) == instant("2026-02-01T00:00:00+03:00"))
        #expect(rules { $0.overdueHeadGrace = nil }.headCopyAt(d) == nil)
    }

    @Test("probability: the deal's own, else its stage's default, else 0")
    func probability() {
        let r = rules()
        #expect(r.probability(deal(stage: "New deal")) == 10)
        #expect(r.probability(deal(stage: "Contract discussion")) == 80)
        #expect(r.probability(deal(stage: "Contract discussion", probability: 5)) == 5)
        #expect(r.probability(deal(stage: "New deal", probability: 0)) == 0)
        #expect(r.probability(deal(stage: "Gone")) == 0)
    }
}

@Suite("Deal rules: exemption from release")
struct DealRulesExemptionTests {
    @Test("off by default: no stage exempts")
    func off() {
        let r = rules()
        #expect(Pipeline.sales.stages.allSatisfy { !r.exempts(pipeline: "Sales", stage: $0.name) })
        #expect(r.exemptingStages.isEmpty)
    }

    @Test("at or past the stage exempts, in every pipeline that has it")
    func fromStage() {
        let other = Pipeline(
            name: "Tenders",
            stages: [
                Stage(name: "Bid", probability: 5, cadence: nil), Stage(name: "Proposal under review", probability: 40, cadence: nil),
                Stage(name: "Signed", probability: 90, cadence: nil),
            ])
        let short = Pipeline(name: "Quick", stages: [Stage(name: "Call", probability: 50, cadence: nil)])
        let r = rules {
            $0.pipelines.append(other)
            $0.pipelines.append(short)
            $0.exemptFromStage = "Proposal under review"
        }
        #expect(!r.exempts(pipeline: "Sales", stage: "New deal"))
        #expect(!r.exempts(pipeline: "Sales", stage: "Proposal sent"))
        #expect(r.exempts(pipeline: "Sales", stage: "Proposal under review"))
        #expect(r.exempts(pipeline: "Sales", stage: "Contract discussion"))
        #expect(!r.exempts(pipeline: "Sales", stage: "Gone"))
        #expect(!r.exempts(pipeline: "Nowhere", stage: "Contract discussion"))
        #expect(!r.exempts(pipeline: "Quick", stage: "Call"))
        let pairs = r.exemptingStages.map { "\($0.pipeline)/\($0.stage)" }
        #expect(
            pairs == [
                "Sales/Proposal under review", "Sales/Handling objections", "Sales/Contract discussion", "Tenders/Proposal under review",
                "Tenders/Signed",
            ])
    }
}

@Suite("Deal settings: validate")
struct DealRulesSettingsTests {
    @Test("the defaults are the seed's pipeline and valid")
    func defaults() {
        let s = DealSettings()
        #expect(s.validate() == nil)
        #expect(s.pipelines.map(\.name) == ["Sales"])
        #expect(
            s.pipelines[0].stages.map(\.name) == [
                "New deal", "Proposal sent", "Proposal under review", "Handling objections", "Contract discussion",
            ])
        #expect(s.pipelines[0].stages.map { $0.cadence?.description } == ["P2D", "P3D", "P2D", "P1D", "P1D"])
        #expect(s.currency == "RUB")
        #expect(s.exemptFromStage == nil)
        #expect(s.pipeline(nil)?.name == "Sales")
        #expect(s.pipeline("Nope") == nil)
    }

    static let stage = Stage(name: "Call", probability: 50, cadence: ISODuration(days: 1))

    /// A broken setting, the key the problem must name and a word of its text.
    static let broken: [(String, @Sendable (inout DealSettings) -> Void, String, String)] = [
        ("no pipelines", { $0.pipelines = [] }, "deals.pipelines", "at least one"),
        ("a pipeline without a name", { $0.pipelines[0].name = "  " }, "deals.pipelines", "no name"),
        ("a pipeline twice", { $0.pipelines.append(.sales) }, "deals.pipelines", "twice"),
        ("no stages", { $0.pipelines[0].stages = [] }, "deals.pipelines", "1 to 20"),
        (
            "21 stages", { $0.pipelines[0].stages = (1...21).map { Stage(name: "S\($0)", probability: 1, cadence: nil) } },
            "deals.pipelines",
            "not 21"
        ),
        ("a stage without a name", { $0.pipelines[0].stages[1].name = "" }, "deals.pipelines", "has no name"),
        ("a stage named Won", { $0.pipelines[0].stages[4].name = "Won" }, "deals.pipelines", "outcome"),
        ("a stage named lost", { $0.pipelines[0].stages[0].name = "lost" }, "deals.pipelines", "outcome"),
        (
            "a stage twice",
            {
                $0.pipelines[0].stages.append(stage); $0.pipelines[0].stages.append(stage)
            }, "deals.pipelines", "twice"
        ),
        ("probability 150", { $0.pipelines[0].stages[2].probability = 150 }, "deals.pipelines", "0 to 100"),
        ("probability -1", { $0.pipelines[0].stages[2].probability = -1 }, "deals.pipelines", "0 to 100"),
        ("a zero cadence", { $0.pipelines[0].stages[0].cadence = ISODuration() }, "deals.pipelines", "longer than zero"),
        ("a cadence of 200 years", { $0.pipelines[0].stages[0].cadence = ISODuration(years: 200) }, "deals.pipelines", "cadence"),
        ("no lost reasons", { $0.lostReasons = [] }, "deals.lost_reasons", "at least one"),
        ("currency rub", { $0.currency = "rub" }, "deals.currency", "ISO 4217"),
        ("currency RUBL", { $0.currency = "RUBL" }, "deals.currency", "ISO 4217"),
        ("currency R1B", { $0.currency = "R1B" }, "deals.currency", "ISO 4217"),
        ("exempt from no stage", { $0.exemptFromStage = "Signed" }, "deals.exempt_from_stage", "no pipeline"),
    ]

    @Test("each problem names its key", arguments: 0..<broken.count)
    func problem(_ i: Int) throws {
        let (name, change, key, word) = Self.broken[i]
        var s = DealSettings()
        change(&s)
        let p = try #require(s.validate(), "\(name) was accepted")
        #expect(p.key == key, "\(name)")
        #expect(p.problem.contains(word), "\(name): \(p.problem)")
    }

    @Test("the edges that are fine: 20 stages, probabilities 0 and 100, no cadence, a known exempt stage")
    func edges() {
        var s = DealSettings()
        s.pipelines[0].stages = (1...20).map { Stage(name: "S\($0)", probability: $0 == 1 ? 0 : 100, cadence: nil) }
        s.exemptFromStage = "S3"
        #expect(s.validate() == nil)
    }
}
