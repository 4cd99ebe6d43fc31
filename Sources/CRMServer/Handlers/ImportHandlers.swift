import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// `client.import`: up to 10,000 clients (each with up to 10 contacts) in one transaction. Three
/// modes: strict (the default: any bad item fails the whole call, as before), `skip_invalid`
/// (the good items are written, the bad ones come back in `rejected`, all in one transaction) and
/// `dry_run` (every item checked on a snapshot, nothing written). `crmctl import` uses the last
/// two, a batch of a CSV file per call (docs/rules.md, "Import and export").
struct ImportHandlers: HandlerGroup {
    let context: ServerContext

    /// Most items in one call, and most contacts in one item.
    static let maxItems = 10_000
    static let maxContacts = 10

    func clientImport(_ call: Call) throws {
        let actor = call.actor
        guard Access.canImport(actor) else { throw DomainError.forbidden("Only admins, heads and operators may import clients.") }
        let domain = settings.domain
        let (items, dryRun, skipInvalid, returnKeys) = try call.decode { r in
            let (dryRun, skipInvalid, returnKeys) = importModes(&r, call)
            guard let list = r.optionalValue("clients")?.arrayValue else {
                r.problem("clients", "is required (an array of client objects)")
                return ([ImportItem](), dryRun, skipInvalid, returnKeys)
            }
            if list.isEmpty || list.count > Self.maxItems { r.problem("clients", "must hold 1 to 10,000 clients") }
            var items = list.prefix(Self.maxItems).map { decodeItem($0, domain: domain) }
            if !dryRun, !skipInvalid {
                markDuplicatesInImport(&items)
                // Strict: every problem of every item fails the call (-32602), naming the item.
                for (i, item) in items.enumerated() {
                    for p in item.rejections { r.problem("clients[\(i)].\(p.field)", p.problem) }
                }
            }
            return (items, dryRun, skipInvalid, returnKeys)
        }
        if actor.role == .operator, let i = items.firstIndex(where: { $0.owner != nil && $0.owner! != nil }) {
            throw DomainError.forbidden(
                "An operator imports clients without owners (clients[\(i)] names an owner); a head or an admin assigns them.")
        }
        let lang = self.lang(call)
        if dryRun {
            try read(call) { tx, _ in
                let verdict = try check(tx, items)
                return result(items, verdict, ids: nil, returnKeys: returnKeys, lang: lang)
            }
            return
        }
        let rules = self.rules
        let cards = ClientHandlers(context: context)
        // Up to 10,000 clients: a transaction of its own (no savepoint journal of their pages),
        // their audit entries and events inserted 64 rows per statement at its end.
        write(call, .alone) { [self] tx, now in
            try tx.buffered { tx in
                let verdict = skipInvalid ? try check(tx, items) : [:]
                var ids: [JSON] = []
                for (i, item) in items.enumerated() where verdict[i] == nil {
                    do {
                        let c = try cards.createClient(
                            tx, actor: actor, input: item.fields, ownerRef: item.owner, rules: rules, now: now, action: "import",
                            keysChecked: skipInvalid, similarCheck: !skipInvalid)
                        let id = c["id"]?.intValue ?? 0
                        for k in item.contacts { try createContact(tx, k, clientID: id, actor: actor, now: now) }
                        ids.append(.int(id))
                    } catch var e as DomainError {
                        e.message = Phrase("Client \(i) of the import: \(e.message)")
                        e.fields = e.fields.map { (field: "clients[\(i)].\($0.field)", problem: $0.problem) }
                        throw e
                    }
                }
                return result(items, verdict, ids: ids, returnKeys: returnKeys, lang: lang)
            }
        }
    }

    /// The reply: counts, ids (a real run), the rejected items and, on request, each accepted
    /// item's normalized phones and e-mails (so a client sending a file in batches finds the
    /// duplicates across batches).
    func result(_ items: [ImportItem], _ verdict: [Int: [Rejection]], ids: [JSON]?, returnKeys: Bool, lang: Lang) -> JSON {
        var o = JSONObject()
        if let ids {
            o["created"] = .int(ids.count)
            o["ids"] = .array(ids)
        } else {
            o["dry_run"] = true
            o["valid"] = .int(items.count - verdict.count)
        }
        if ids == nil || !verdict.isEmpty {
            o["rejected"] = .array(
                verdict.keys.sorted().flatMap { i in verdict[i]!.map { $0.json(index: i, lang: lang) } })
        }
        if returnKeys {
            o["keys"] = .array(
                items.enumerated().map { i, item in verdict[i] == nil ? .array(item.keys.map { .string($0.value) }) : .array([]) })
        }
        return .object(o)
    }

    func createContact(_ tx: Tx, _ k: ContactInput, clientID: Int64, actor: Actor, now: Date) throws {
        let contact = try tx.insertContact(
            Contact(
                id: 0, clientID: clientID, name: k.name, position: k.position, phones: k.phones, emails: k.emails,
                decisionMaker: k.decisionMaker, createdAt: now, updatedAt: now))
        try audit(tx, actor, "contact", contact.id, "import", before: nil, after: wire.contact(contact), at: now)
    }
}
