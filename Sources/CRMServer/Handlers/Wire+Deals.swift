import CRMCore
import CRMProtocol
import CRMStore
import Foundation

extension Wire {
    var dealRules: DealRules { live.current.dealRules }

    /// An amount in minor units as people read it: `"20000.00"` (two decimals, as RUB, USD, EUR).
    func amountText(_ minor: Int64?) -> JSON {
        guard let minor else { return .null }
        let sign = minor < 0 ? "-" : ""
        let v = minor.magnitude
        let cents = v % 100
        return .string("\(sign)\(v / 100).\(cents < 10 ? "0" : "")\(cents)")
    }

    /// A deal as every method shows it.
    /// With `now`, a deal past its cadence that the scheduler has not yet marked (an instant ago,
    /// or one given to a new owner) shows as overdue already.
    func deal(_ d: Deal, now: Date? = nil) -> JSON {
        let overdue = now.map { d.isOverdue(at: $0) } ?? d.overdue
        return [
            "id": .int(d.id), "client_id": .int(d.clientID), "owner": .int(d.ownerID), "owner_login": login(d.ownerID),
            "creator_login": .string(d.creatorLogin), "title": .string(d.title), "amount": .int(d.amount),
            "amount_text": amountText(d.amount), "currency": .string(d.currency), "probability": .int(dealRules.probability(d)),
            "probability_set": .bool(d.probability != nil), "source": .string(d.source), "pipeline": .string(d.pipeline),
            "stage": .string(d.stage), "status": .string(d.status.rawValue), "lost_reason": .string(d.lostReason),
            "expected_close": .string(d.expectedClose), "overdue": .bool(overdue), "next_contact_due": time(d.nextContactDue),
            "last_contact_at": time(d.lastContactAt), "opened_at": time(d.openedAt), "closed_at": time(d.closedAt),
            "stage_entered_at": time(d.stageEnteredAt), "created_at": time(d.createdAt), "updated_at": time(d.updatedAt),
        ]
    }

    func dealMove(_ m: DealMove) -> JSON {
        [
            "from": .string(m.fromStage), "to": .string(m.toStage), "status": .string(m.status), "at": time(m.at),
            "by_login": .string(m.byLogin),
        ]
    }

    func task(_ t: TaskItem, now: Date) -> JSON {
        [
            "id": .int(t.id), "title": .string(t.title), "note": .string(t.note), "kind": .string(t.kind), "assignee": .int(t.assigneeID),
            "assignee_login": login(t.assigneeID), "creator_login": .string(t.creatorLogin), "client_id": .int(t.clientID),
            "deal_id": .int(t.dealID), "due_at": time(t.dueAt), "done": .bool(t.doneAt != nil), "done_at": time(t.doneAt),
            "done_by": .string(t.doneBy), "overdue": .bool(t.doneAt == nil && t.dueAt <= now), "interaction_id": .int(t.interactionID),
            "created_at": time(t.createdAt), "updated_at": time(t.updatedAt),
        ]
    }

    func stage(_ s: Stage) -> JSON {
        ["name": .string(s.name), "probability": .int(s.probability), "cadence": .string(s.cadence?.description)]
    }
}
