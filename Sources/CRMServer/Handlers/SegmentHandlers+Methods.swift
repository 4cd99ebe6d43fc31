import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `segment.create`, `segment.list`, `segment.get`, `segment.update`, `segment.delete`,
/// `segment.members`.
extension SegmentHandlers {
    func segmentCreate(_ call: Call) throws {
        let actor = call.actor
        guard SegmentAccess.canCreate(actor) else {
            throw DomainError.forbidden("Segments are made by heads and admins (shared) and by managers (their own).")
        }
        let (name, kind, filter, ids) = try call.decode { r in
            let name = segmentName(&r, required: true)
            let kind = Segment.Kind(rawValue: r.enumValue("kind", Segment.Kind.allCases.map(\.rawValue)))
            let filter = filterText(&r)
            let ids = clientIDs(&r, "client_ids")
            if kind == .dynamic, filter == nil, r.problems.isEmpty {
                r.problem("filter", "is required for a dynamic segment: an object like {\"segment\": \"wholesale\"}")
            }
            if kind == .dynamic, ids != nil { r.problem("client_ids", "belong to a static segment; a dynamic one has a filter") }
            if kind == .staticList, r.has("filter") { r.problem("filter", "belongs to a dynamic segment; a static one lists client_ids") }
            return (name ?? "", kind ?? .dynamic, filter, ids ?? [])
        }
        write(call) { [self] tx, now in
            try checkName(tx, name, except: nil)
            try checkOwners(tx, filter)
            let ownerID = SegmentAccess.createsPersonal(actor) ? (actor.userID ?? -1) : nil
            if ownerID != nil {
                guard try tx.segmentCount(ownerID: ownerID) < SegmentLimits.personalPerUser else {
                    throw DomainError(
                        .limitReached,
                        "A manager keeps at most \(SegmentLimits.personalPerUser) segments of their own; delete ones no longer used.",
                        details: [("kind", .string("segments_per_user")), ("limit", .int(Int64(SegmentLimits.personalPerUser)))])
                }
            } else {
                guard try tx.segmentCount(ownerID: nil) < SegmentLimits.segments else {
                    throw DomainError(
                        .limitReached, "crmd holds at most \(SegmentLimits.segments) shared segments; delete ones no longer used.",
                        details: [("kind", .string("segments")), ("limit", .int(Int64(SegmentLimits.segments)))])
                }
            }
            let s = try tx.saveSegment(
                Segment(
                    id: 0, name: name, kind: kind, filterJSON: filter, ownerID: ownerID, creatorLogin: actor.login,
                    createdAt: now, updatedAt: now))
            var after = json(s)
            if kind == .staticList {
                let (added, _) = try changeMembers(tx, s, add: ids, remove: [], actor: actor, now: now)
                after = with(after, "members", .int(Int64(added)))
            }
            try audit(tx, actor, "segment", s.id, "create", before: nil, after: after, at: now)
            return after
        }
    }

    func segmentList(_ call: Call) throws {
        let actor = call.actor
        guard SegmentAccess.canSee(actor) else { throw DomainError.forbidden("Segments are for managers, heads, directors and admins.") }
        let (limit, cursor) = try call.decode { r in (r.limit(), r.idCursor()) }
        try read(call) { [self] tx, _ in
            let visible = actor.role == .manager ? (actor.userID ?? -1) : nil
            return wire.page(try tx.segments(visibleTo: visible, afterID: cursor, limit: limit), json)
        }
    }

    func segmentGet(_ call: Call) throws {
        let actor = call.actor
        guard SegmentAccess.canSee(actor) else { throw DomainError.forbidden("Segments are for managers, heads, directors and admins.") }
        let ref = try call.decode { r in segmentRef(&r) }
        guard let ref else { throw DomainError.invalid("id", "is required (a segment id), or give its name") }
        try read(call) { [self] tx, now in
            let s = try load(tx, ref, actor)
            let counts = try tx.segmentClientCounts(try scope(s, actor, now: now), now: now)
            return with(json(s), "clients", .int(Int64(counts.total)))
        }
    }

    func segmentUpdate(_ call: Call) throws {
        let actor = call.actor
        let (id, name, filter, add, remove) = try call.decode { r in
            // `name` is the new name here: the segment is named by its id.
            let id = r.int("id")
            let name = segmentName(&r, required: false)
            let filter = filterText(&r)
            let add = clientIDs(&r, "add_client_ids")
            let remove = clientIDs(&r, "remove_client_ids")
            if r.problems.isEmpty, name == nil, filter == nil, add == nil, remove == nil {
                r.problem("params", "must change something: name, filter, add_client_ids or remove_client_ids")
            }
            return (id, name, filter, add, remove)
        }
        write(call) { [self] tx, now in
            var s = try load(tx, .id(id), actor)
            guard SegmentAccess.canEdit(actor, ownerID: s.ownerID) else {
                throw DomainError.forbidden("Shared segments are changed by heads and admins; a manager changes their own.")
            }
            if s.kind == .staticList, filter != nil {
                throw DomainError.invalid("filter", "belongs to a dynamic segment; this one is static")
            }
            if s.kind == .dynamic, add != nil || remove != nil {
                throw DomainError.invalid("add_client_ids", "belong to a static segment; this one is dynamic (change its filter)")
            }
            let before = json(s)
            if let name {
                try checkName(tx, name, except: s.id)
                s.name = name
            }
            if let filter {
                try checkOwners(tx, filter)
                s.filterJSON = filter
            }
            s.updatedAt = now
            s = try tx.saveSegment(s)
            var after = json(s)
            if add != nil || remove != nil {
                let (added, removed) = try changeMembers(tx, s, add: add ?? [], remove: remove ?? [], actor: actor, now: now)
                after = with(with(after, "added", .int(Int64(added))), "removed", .int(Int64(removed)))
            }
            try audit(tx, actor, "segment", s.id, "update", before: before, after: after, at: now)
            return after
        }
    }

    func segmentDelete(_ call: Call) throws {
        let actor = call.actor
        let ref = try call.decode { r in segmentRef(&r) }
        guard let ref else { throw DomainError.invalid("id", "is required (a segment id), or give its name") }
        write(call) { [self] tx, now in
            let s = try load(tx, ref, actor)
            guard SegmentAccess.canEdit(actor, ownerID: s.ownerID) else {
                throw DomainError.forbidden("Shared segments are deleted by heads and admins; a manager deletes their own.")
            }
            let before = json(s)
            try tx.deleteSegment(id: s.id)
            try audit(tx, actor, "segment", s.id, "delete", before: before, after: nil, at: now)
            return ["id": .int(s.id), "deleted": true]
        }
    }

    func segmentMembers(_ call: Call) throws {
        let actor = call.actor
        guard SegmentAccess.canSee(actor) else { throw DomainError.forbidden("Segments are for managers, heads, directors and admins.") }
        let (ref, limit, cursor) = try call.decode { r in (segmentRef(&r), r.limit(), r.idCursor()) }
        guard let ref else { throw DomainError.invalid("id", "is required (a segment id), or give its name") }
        try read(call) { [self] tx, now in
            let s = try load(tx, ref, actor)
            let page = try tx.segmentMembers(try scope(s, actor, now: now), afterID: cursor, limit: limit)
            return wire.page(page) { c in wire.client(c, now: now, full: Access.canSeeFullCard(actor, ownerID: c.ownerID)) }
        }
    }

    /// `o` with `key` set to `value`.
    func with(_ o: JSON, _ key: String, _ value: JSON) -> JSON {
        guard case .object(var m) = o else { return o }
        m[key] = value
        return .object(m)
    }
}
