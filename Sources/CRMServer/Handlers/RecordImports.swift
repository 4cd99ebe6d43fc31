import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// Why an item of `contact.import`, `interaction.import` or `deal.import` is not written: a
/// field's problem, or a duplicate (`key` names what repeats; `duplicateOf` the earlier item or
/// the record in the base).
/// Its `problem` goes out in English and, as `message`, said in the reader's language.
struct ImportProblem: Sendable {
    var field: String
    var problem: Phrase
    var key: String? = nil
    var duplicateOf: JSONObject? = nil

    func json(index: Int, lang: Lang) -> JSON {
        var o: JSONObject = [
            "index": .int(Int64(index)), "field": .string(field), "problem": .string(problem.description),
            "message": .string(problem.rendered(lang)),
        ]
        if let key { o["key"] = .string(key) }
        if let duplicateOf { o["duplicate_of"] = .object(duplicateOf) }
        return .object(o)
    }
}

/// What makes a record a duplicate (a phone, an e-mail, `CLIENT/KIND/INSTANT/AUTHOR`) and the
/// field it is reported on.
struct ImportKey: Sendable {
    var field: String
    var value: String
}

/// The client an imported record belongs to: `client_id`, or `client` holding one of its phones
/// or e-mails (names are neither unique nor indexed: docs/rules.md, "Importing contacts, history
/// and deals").
enum ClientRef: Sendable {
    case id(Int64)
    case phone(String)
    case email(String)
    case missing
}

/// One kind of record import: the list's name, how an item decodes, how it is checked in the
/// transaction (its duplicate keys with the fields they come from, and its problems) and how it is stored (its new id).
struct RecordImportKind<Item: Sendable>: Sendable {
    let list: String
    let decode: @Sendable (inout ParamReader) -> Item
    let check: @Sendable (Tx, Item, Date) throws -> (keys: [ImportKey], problems: [ImportProblem])
    let store: @Sendable (Tx, Item, Date) throws -> Int64
}

/// The modes every import takes: `dry_run`, `skip_invalid` (not both; no `request_id` with a
/// dry run) and `return_keys`.
func importModes(_ r: inout ParamReader, _ call: Call) -> (dryRun: Bool, skipInvalid: Bool, returnKeys: Bool) {
    let dryRun = r.optionalBool("dry_run") ?? false
    let skipInvalid = r.optionalBool("skip_invalid") ?? false
    if dryRun, skipInvalid { r.problem("skip_invalid", "has no meaning with dry_run (which writes nothing)") }
    if dryRun, call.requestID != nil { r.problem("request_id", "has no meaning with dry_run (which writes nothing)") }
    return (dryRun, skipInvalid, r.optionalBool("return_keys") ?? false)
}

/// `contact.import`, `interaction.import`, `deal.import`: up to 10,000 records onto existing
/// clients in one transaction, with `dry_run` and `skip_invalid` as `client.import` has them.
struct RecordImports: HandlerGroup {
    let context: ServerContext

    static let maxItems = ImportHandlers.maxItems

    /// Whether `actor` may bring in history (interactions, deals): admins and heads.
    static func mayImportHistory(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head }

    func run<Item: Sendable>(_ call: Call, _ kind: RecordImportKind<Item>) throws {
        let checker = ImportHandlers(context: context)
        let (items, dryRun, skipInvalid, returnKeys) = try call.decode { r in
            let (dryRun, skipInvalid, returnKeys) = importModes(&r, call)
            guard let list = r.optionalValue(kind.list)?.arrayValue else {
                r.problem(kind.list, "is required (an array of objects)")
                return ([(Item, [ImportProblem])](), dryRun, skipInvalid, returnKeys)
            }
            if list.isEmpty || list.count > Self.maxItems { r.problem(kind.list, "must hold 1 to 10,000 items") }
            let items = list.prefix(Self.maxItems).map { j -> (Item, [ImportProblem]) in
                var ir = ParamReader(j)
                let item = kind.decode(&ir)
                return (item, ir.allProblems.map { ImportProblem(field: $0.field, problem: $0.said) })
            }
            return (items, dryRun, skipInvalid, returnKeys)
        }
        let lang = self.lang(call)
        if dryRun {
            try read(call) { tx, now in
                let (verdict, keys) = try Self.verdict(tx, items, kind, now: now)
                return Self.result(count: items.count, verdict, keys: returnKeys ? keys : nil, ids: nil, lang: lang)
            }
            return
        }
        write(call, .alone) { tx, now in
            let (verdict, keys) = try Self.verdict(tx, items, kind, now: now)
            if !skipInvalid, let first = verdict.keys.min() {
                let fields = verdict.keys.sorted().flatMap { i in
                    verdict[i]!.map { ("\(kind.list)[\(i)].\($0.field)", $0.problem.description) }
                }
                throw DomainError(
                    .validationFailed,
                    "\(verdict.count) of \(items.count) \(kind.list) cannot be imported (the first: \(kind.list)[\(first)].\(verdict[first]![0].field) \(verdict[first]![0].problem)); nothing was written. Fix them, or send skip_invalid to write the others.",
                    fields: Array(fields.prefix(100)))
            }
            var ids: [JSON] = []
            for (i, item) in items.enumerated() where verdict[i] == nil { ids.append(.int(try kind.store(tx, item.0, now))) }
            return Self.result(count: items.count, verdict, keys: returnKeys ? keys : nil, ids: ids, lang: lang)
        }
    }

    /// Every item's problems (items without are absent) and each accepted item's duplicate key.
    /// An item repeating an earlier accepted item's key is a duplicate of it (the first wins).
    static func verdict<Item: Sendable>(
        _ tx: Tx, _ items: [(Item, [ImportProblem])], _ kind: RecordImportKind<Item>, now: Date
    ) throws -> ([Int: [ImportProblem]], [JSON]) {
        var out: [Int: [ImportProblem]] = [:]
        var keys: [JSON] = []
        var seen: [String: Int] = [:]
        for (i, (item, decoded)) in items.enumerated() {
            var problems = decoded
            var mine: [ImportKey] = []
            if problems.isEmpty {
                do {
                    (mine, problems) = try kind.check(tx, item, now)
                } catch let e as DomainError {
                    problems = [
                        ImportProblem(field: e.fields.first?.field ?? "-", problem: e.fields.isEmpty ? e.message : e.problemSaid(0))
                    ]
                }
            }
            if problems.isEmpty, let k = mine.first(where: { seen[$0.value] != nil }), let j = seen[k.value] {
                problems = [
                    ImportProblem(
                        field: k.field, problem: "\(k.value) is also in \(kind.list)[\(j)]", key: k.value,
                        duplicateOf: ["index": .int(Int64(j))])
                ]
            }
            if problems.isEmpty {
                for k in mine { seen[k.value] = i }
                keys.append(.array(mine.map { .string($0.value) }))
            } else {
                out[i] = problems
                keys.append(.array([]))
            }
        }
        return (out, keys)
    }

    static func result(count: Int, _ verdict: [Int: [ImportProblem]], keys: [JSON]?, ids: [JSON]?, lang: Lang) -> JSON {
        var o = JSONObject()
        if let ids {
            o["created"] = .int(Int64(ids.count))
            o["ids"] = .array(ids)
        } else {
            o["dry_run"] = true
            o["valid"] = .int(Int64(count - verdict.count))
        }
        o["rejected"] = .array(verdict.keys.sorted().flatMap { i in verdict[i]!.map { $0.json(index: i, lang: lang) } })
        if let keys { o["keys"] = .array(keys) }
        return .object(o)
    }

    /// Runs `body`; a `DomainError` naming no field is said to be `field`'s problem.
    func named<T>(_ field: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var e as DomainError {
            if e.fields.isEmpty {
                e.fields = [(field: field, problem: e.message.description)]
                e.said = [e.message]
            }
            throw e
        }
    }

    /// `client_id` (a number) or `client` (a phone or e-mail of the client or of its contact).
    func clientRef(_ r: inout ParamReader) -> ClientRef {
        let domain = settings.domain
        if let id = r.optionalInt("client_id") { return .id(id) }
        guard let s = r.optionalString("client") else {
            r.problem("client_id", "is required (or client: a phone or e-mail of the client)")
            return .missing
        }
        if s.contains("@"), let e = Email.normalize(s) { return .email(e) }
        if let p = Phone.normalize(s, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength) {
            return .phone(p)
        }
        r.problem("client", "'\(s.prefix(60))' is neither a phone nor an e-mail; name the client by its phone, e-mail or client_id")
        return .missing
    }

    /// The client `ref` names, or a problem naming the field.
    func findClient(_ tx: Tx, _ ref: ClientRef) throws -> Client {
        let id: Int64?
        let field: String
        switch ref {
        case .id(let i): (id, field) = (i, "client_id")
        case .phone(let p): (id, field) = (try tx.callerHolders(p).first?.clientID, "client")
        case .email(let e): (id, field) = (try tx.emailHolders(e).first?.clientID, "client")
        case .missing: (id, field) = (nil, "client_id")
        }
        guard let id, let c = try tx.clientHeader(id: id) else {
            throw DomainError.invalid(field, "names no client in crmd (import the clients first)")
        }
        return c
    }
}
