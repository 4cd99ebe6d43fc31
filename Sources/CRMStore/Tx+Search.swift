public import CRMCore
import Foundation
import GRDB

/// Ranked search over names, contacts' names and phones (docs/architecture.md, "Search"):
/// every tier is a range of an index (`clients_search_key`, `search_words_word`, `phones_phone`,
/// `phones_tail`), so a search reads about what it lists, whatever the size of the base.
extension Tx {
    /// The clients `q` finds that pass the other conditions of `f`, best first: the exact name
    /// (its key), then names that begin with the query, then names with every word of the query
    /// (as a word or the beginning of one, in any order), then contacts so named, then the phone
    /// the query spells (or its main number), then phones that end in the query's digits. Within
    /// a tier, by key then id. `f.afterID` counts the matches earlier pages listed; at most
    /// ``SearchQuery/maxResults`` are ranked.
    public func searchClients(_ f: ClientFilter, _ q: SearchQuery) throws -> Page<Client> {
        let cap = SearchQuery.maxResults
        let offset = Int(min(f.afterID ?? 0, Int64(cap)))
        let need = min(cap, offset + f.limit + 1)
        let (conds, condArgs) = conditions(f)
        var ranked: [Int64] = []
        var seen = Set<Int64>()
        func take(_ candidates: [Int64]) throws {
            let fresh = candidates.filter { seen.insert($0).inserted }
            guard !fresh.isEmpty else { return }
            if conds.isEmpty {
                ranked += fresh
                return
            }
            var i = 0
            while i < fresh.count, ranked.count < need {
                let chunk = Array(fresh[i..<min(i + Self.keysPerStatement, fresh.count)])
                i += chunk.count
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                var args = StatementArguments(chunk)
                args += condArgs
                let pass = Set(
                    try Int64.fetchAll(
                        db, sql: "SELECT id FROM clients WHERE id IN (\(marks)) AND " + conds.joined(separator: " AND "), arguments: args))
                ranked += chunk.filter(pass.contains)
            }
        }
        func ids(_ sql: String, _ args: StatementArguments) throws -> [Int64] {
            try Int64.fetchAll(db.cachedStatement(sql: sql), arguments: args)
        }
        // Past every character a key can hold: the end of a prefix range.
        let high = "\u{10FFFF}"
        if let key = q.key {
            try take(ids("SELECT id FROM clients WHERE search_key = ? ORDER BY id LIMIT ?", [key, cap]))
            if ranked.count < need {
                try take(
                    ids(
                        "SELECT id FROM clients WHERE search_key > ? AND search_key < ? ORDER BY search_key, id LIMIT ?",
                        [key, key + high, cap]))
            }
            for contacts in [false, true] where ranked.count < need {
                try take(wordMatches(q, contacts: contacts, cap: cap))
            }
        }
        if ranked.count < need, let phone = q.phone {
            try take(callerHolders(phone).map(\.clientID))
        }
        if ranked.count < need, let tail = q.reversedDigits {
            // ":" sorts right after "9": every tail that begins with these digits is in range.
            try take(ids("SELECT DISTINCT client_id FROM phones WHERE tail >= ? AND tail < ? LIMIT ?", [tail, tail + ":", cap]))
        }
        let page = Array(ranked.dropFirst(offset).prefix(f.limit))
        let more = ranked.count > offset + f.limit && offset + f.limit < cap
        var byID: [Int64: Row] = [:]
        if !page.isEmpty {
            let marks = Array(repeating: "?", count: page.count).joined(separator: ", ")
            for r in try Row.fetchAll(
                db, sql: "SELECT \(Self.clientColumns) FROM clients WHERE id IN (\(marks))", arguments: StatementArguments(page))
            {
                byID[r[0]] = r
            }
        }
        let keys = try ownKeys(of: page)
        let items = page.compactMap { id in byID[id].map { client(from: $0, phones: keys.phones[id] ?? [], emails: keys.emails[id] ?? []) }
        }
        return Page(items: items, nextCursor: more ? String(offset + f.limit) : nil)
    }

    /// Clients whose name (or, with `contacts`, a contact's name) has every word of `q` as a word
    /// or its beginning, by id. The query's most selective word is looked up (the one whose
    /// range holds the fewest entries, counted up to `cap + 1`); the others are checked on the
    /// candidates' words. At most `cap` candidates are read.
    func wordMatches(_ q: SearchQuery, contacts: Bool, cap: Int) throws -> [Int64] {
        guard !q.words.isEmpty else { return [] }
        // The index leads with the kind: a range of one kind's words reads only those.
        let kind = contacts ? 1 : 0
        let high = "\u{10FFFF}"
        var driver = q.words[0]
        // With every word's range over `cap` entries (common words and short numbers), the
        // word with the fewest exact entries drives instead, as a whole word.
        var whole = false
        if q.words.count > 1 {
            func count(_ condition: String, _ args: StatementArguments) throws -> Int {
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM (SELECT 1 FROM search_words WHERE kind = ? AND \(condition) LIMIT ?)"),
                    arguments: [kind] + args + [cap + 1]) ?? 0
            }
            var fewest = Int.max
            for w in q.words {
                let n = try count("word >= ? AND word < ?", [w, w + high])
                if n < fewest { (fewest, driver) = (n, w) }
            }
            if fewest > cap {
                for w in q.words {
                    let n = try count("word = ?", [w])
                    if n < fewest { (fewest, driver, whole) = (n, w, true) }
                }
            }
        }
        let column = contacts ? "contact_id" : "client_id"
        let found = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT DISTINCT client_id, \(column) FROM search_words WHERE kind = ? AND "
                    + (whole ? "word = ?" : "word >= ? AND word < ?") + " LIMIT ?"),
            arguments: whole ? [kind, driver, cap] : [kind, driver, driver + high, cap])
        var candidates: [(client: Int64, holder: Int64)] = found.map { ($0[0], $0[1]) }
        if q.words.count > 1, !candidates.isEmpty {
            var words: [Int64: [String]] = [:]
            let holders = Array(Set(candidates.map(\.holder)))
            var i = 0
            while i < holders.count {
                let chunk = Array(holders[i..<min(i + Self.keysPerStatement, holders.count)])
                i += chunk.count
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                // `+kind`: the kind must not pick the index (search_words_word would read every
                // name word); the holder's index is the one.
                var sql = "SELECT client_id, word FROM search_words WHERE client_id IN (\(marks)) AND +kind = 0"
                if contacts { sql = "SELECT contact_id, word FROM search_words WHERE contact_id IN (\(marks))" }
                for r in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(chunk)) { words[r[0], default: []].append(r[1]) }
            }
            candidates = candidates.filter { q.allWordsBegin(words[$0.holder] ?? []) }
        }
        var seen = Set<Int64>()
        return candidates.map(\.client).filter { seen.insert($0).inserted }.sorted()
    }

    /// The clients whose name has this key (``CompanyName/key(_:)``), oldest first, at most `limit`:
    /// the similar-name warning of `client.create` and of an import's check.
    public func clients(withKey key: String, limit: Int = 5) throws -> [Client] {
        try rows("SELECT \(Self.clientColumns) FROM clients WHERE search_key = ? ORDER BY id LIMIT ?", [key, limit]).map {
            client(from: $0, phones: [], emails: [])
        }
    }

    /// The client with this ИНН, if any.
    public func client(inn: String) throws -> Client? {
        try row("SELECT \(Self.clientColumns) FROM clients WHERE inn = ?", [inn]).map { client(from: $0, phones: [], emails: []) }
    }
}
