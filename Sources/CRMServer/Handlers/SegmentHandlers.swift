import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// How a request names a segment: `id`, or `name` (case-insensitive).
enum SegmentRef: Sendable {
    case id(Int64)
    case name(String)
}

/// `segment.*`: saved static and dynamic segments, their members, statistics
/// (`SegmentHandlers+Stats.swift`) and mailing lists (docs/rules.md, "Segments and mailing
/// lists"). A manager's view of any segment holds only the clients they lead.
struct SegmentHandlers: HandlerGroup {
    let context: ServerContext

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = rules.thresholds.timeZone
        return c
    }

    // MARK: reading params

    func segmentRef(_ r: inout ParamReader) -> SegmentRef? {
        let id = r.optionalInt("id")
        let name = r.optionalString("name")
        switch (id, name) {
        case (let id?, nil): return .id(id)
        case (nil, let n?): return .name(n)
        case (.some, .some): r.problem("name", "give either id or name, not both")
        case (nil, nil): r.problem("id", "is required (a segment id), or give its name")
        }
        return nil
    }

    func segmentName(_ r: inout ParamReader, required: Bool) -> String? {
        guard let raw = required ? r.string("name") : r.optionalString("name") else { return nil }
        let n = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !n.isEmpty, n.count <= SegmentLimits.nameLength else {
            r.problem("name", "must be 1 to \(SegmentLimits.nameLength) characters")
            return nil
        }
        return n
    }

    /// The filter param as canonical JSON text, checked by ``SegmentFilterReader``.
    func filterText(_ r: inout ParamReader) -> String? {
        guard let v = r.optionalValue("filter"), !v.isNull else { return nil }
        let text = JSONWriter.string(v)
        guard text.utf8.count <= SegmentLimits.filterBytes else {
            r.problem("filter", "is \(text.utf8.count) bytes; a filter may be at most \(SegmentLimits.filterBytes)")
            return nil
        }
        var reader = SegmentFilterReader()
        _ = reader.read(v)
        for p in reader.problems { r.problem(p.field, .verbatim(p.problem)) }
        return reader.problems.isEmpty ? text : nil
    }

    func clientIDs(_ r: inout ParamReader, _ key: String) -> [Int64]? {
        guard let ids = r.optionalIntArray(key) else { return nil }
        guard ids.count <= SegmentLimits.clientIDsPerRequest else {
            r.problem(key, "may list at most \(SegmentLimits.clientIDsPerRequest) clients a request; send the rest in further updates")
            return nil
        }
        var seen = Set<Int64>()
        return ids.filter { seen.insert($0).inserted }
    }

    // MARK: shared steps

    /// The segment `ref` names, if the actor may read it.
    func load(_ tx: Tx, _ ref: SegmentRef, _ actor: Actor) throws -> Segment {
        let s: Segment?
        switch ref {
        case .id(let id): s = try tx.segment(id: id)
        case .name(let n): s = try tx.segment(named: n)
        }
        guard let s else {
            switch ref {
            case .id(let id): throw DomainError.notFound("segment", id)
            case .name(let n): throw DomainError.notFound("segment", named: n)
            }
        }
        guard SegmentAccess.canRead(actor, ownerID: s.ownerID) else {
            throw DomainError(
                .forbidden, "Segment \(s.id) is another manager's personal segment; yours and the shared ones are in segment.list.",
                details: [("segment_id", .int(s.id))])
        }
        return s
    }

    /// Which clients the segment holds for this actor at `now` (a manager: only their own).
    func scope(_ s: Segment, _ actor: Actor, now: Date) throws -> SegmentScope {
        let base: SegmentScope
        switch s.kind {
        case .staticList: base = .members(of: s.id)
        case .dynamic:
            var reader = SegmentFilterReader()
            guard let json = try? JSONParser.parse(s.filterJSON ?? ""), let f = reader.read(json), reader.problems.isEmpty else {
                throw DomainError.invalid("filter", "of segment \(s.id) cannot be read; set a new one with segment.update")
            }
            base = .filter(f, now: now, calendar: calendar, currency: settings.domain.deals.currency)
        }
        return Access.seesOnlyOwnClients(actor) ? base.owned(by: actor.userID ?? -1) : base
    }

    /// Refuses a filter naming an owner login crmd does not know.
    func checkOwners(_ tx: Tx, _ filterJSON: String?) throws {
        guard let filterJSON, let json = try? JSONParser.parse(filterJSON) else { return }
        var reader = SegmentFilterReader()
        for login in reader.read(json)?.ownerLogins ?? [] where try tx.user(login: login) == nil {
            throw DomainError.invalid("filter", "names the owner '\(login.prefix(64))', who is no user")
        }
    }

    /// Refuses a name another segment has.
    func checkName(_ tx: Tx, _ name: String, except id: Int64?) throws {
        if let other = try tx.segment(named: name), other.id != id {
            throw DomainError(
                .conflict, "A segment named '\(other.name)' already exists (id \(other.id)); choose another name.",
                fields: [("name", "is taken")])
        }
    }

    /// Adds and removes static members, within the bounds; a manager only their own clients.
    func changeMembers(_ tx: Tx, _ s: Segment, add: [Int64], remove: [Int64], actor: Actor, now: Date) throws -> (Int, Int) {
        let missing = try tx.missingClients(add)
        guard missing.isEmpty else {
            throw DomainError.invalid("client_ids", "name no client: \(missing.prefix(20).map(String.init).joined(separator: ", "))")
        }
        if Access.seesOnlyOwnClients(actor) {
            let other = try tx.clientsNotOwned(add, by: actor.userID ?? -1)
            guard other.isEmpty else {
                throw DomainError.forbidden(
                    "A manager adds only their own clients to a segment; not yours: \(other.prefix(20).map(String.init).joined(separator: ", "))."
                )
            }
        }
        let changed = try tx.changeMembers(segmentID: s.id, add: add, remove: remove, at: now)
        let count = try tx.segmentMemberCount(segmentID: s.id)
        guard count <= SegmentLimits.membersPerSegment else {
            throw DomainError(
                .limitReached, "A static segment holds at most \(SegmentLimits.membersPerSegment) clients; this one would hold \(count).",
                details: [("limit", .int(Int64(SegmentLimits.membersPerSegment)))])
        }
        return changed
    }

    /// A segment as every method shows it.
    func json(_ s: Segment) -> JSON {
        [
            "id": .int(s.id), "name": .string(s.name), "kind": .string(s.kind.rawValue),
            "filter": s.filterJSON.flatMap { try? JSONParser.parse($0) } ?? .null, "personal": .bool(s.ownerID != nil),
            "owner": .int(s.ownerID), "owner_login": wire.login(s.ownerID), "created_by": .string(s.creatorLogin),
            "created_at": wire.time(s.createdAt), "updated_at": wire.time(s.updatedAt),
        ]
    }
}
