import Foundation

/// What a search (`client.list` `query`) looks for, folded the way names are stored
/// (docs/rules.md, "Phones, search and duplicates").
///
/// A name is found by its key (``CompanyName/key(_:)``: case, `ё`/`е`, quotes and legal forms
/// folded away, so «ООО "Ромашка"» and "Ромашка ООО" are one key), by a prefix of its key, and by
/// its words in any order; a contact's name finds the contact's client; a number finds the phone
/// it spells, and a tail of at least 5 digits (the last 7 digits, typically) finds every phone
/// ending so.
public struct SearchQuery: Sendable, Equatable {
    /// The longest query accepted, in characters.
    public static let maxLength = 200
    /// The most matches a search lists, over all its pages: narrow the query to see others.
    public static let maxResults = 1000
    /// The fewest digits a number's tail needs to be searched (fewer match too many phones).
    public static let minTailDigits = 5
    /// Characters of a word kept in `search_words` (and of a query's word): longer words are
    /// found by their beginning, and a pasted paragraph does not bloat the index.
    public static let maxWordLength = 64

    /// The search key stored for a name (`clients.search_key`): its ``CompanyName/key(_:)``, at
    /// most ``maxLength`` characters (a query is no longer, so every prefix search still finds it,
    /// and an absurdly long name costs the index no more than a long one).
    public static func storedKey(ofName name: String) -> String? {
        CompanyName.key(name).map { String($0.prefix(maxLength)) }
    }

    /// The folded key of the query, nil when it is nothing but a legal form or punctuation.
    public let key: String?
    /// The key's words, longest first (the first is the most selective to look up).
    public let words: [String]
    /// The phone the query spells, normalized, if it is one.
    public let phone: String?
    /// The query's digits, last first, when it is a number of at least ``minTailDigits`` digits.
    public let reversedDigits: String?

    public init(_ text: String, defaultCountryCode: String = "7", nationalLength: Int = 10) {
        key = CompanyName.key(text)
        words = Self.words(ofKey: key).sorted { $0.count > $1.count }
        phone = Phone.normalize(text, defaultCountryCode: defaultCountryCode, nationalLength: nationalLength)
        let digits = text.unicodeScalars.filter { ("0"..."9").contains($0) }
        let numberLike = text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || " -.()+".unicodeScalars.contains($0) }
        reversedDigits = numberLike && digits.count >= Self.minTailDigits ? String(String.UnicodeScalarView(digits.reversed())) : nil
    }

    /// The distinct words of a name's key, as stored in `search_words`.
    public static func words(ofName name: String) -> [String] {
        words(ofKey: CompanyName.key(name))
    }

    static func words(ofKey key: String?) -> [String] {
        guard let key else { return [] }
        var seen = Set<String>()
        return key.split(separator: " ").map { String($0.prefix(maxWordLength)) }.filter { seen.insert($0).inserted }
    }

    /// Whether every word of the query begins some word of `candidate` (words of a key).
    public func allWordsBegin(_ candidate: [String]) -> Bool {
        words.allSatisfy { w in candidate.contains { $0.hasPrefix(w) } }
    }
}

/// Russian tax ids: ИНН (INN) and КПП (KPP).
public enum TaxID {
    /// The problem with an ИНН, or nil when it is valid: 10 digits (a company) or 12 (a person
    /// or sole trader) whose check digits agree (the Federal Tax Service's algorithm).
    public static func innProblem(_ inn: String) -> String? {
        let d = inn.unicodeScalars.compactMap { ("0"..."9").contains($0) ? Int($0.value) - 48 : nil }
        guard d.count == inn.unicodeScalars.count, d.count == 10 || d.count == 12 else {
            return "must be 10 digits (a company) or 12 digits (a person or sole trader)"
        }
        func check(_ weights: [Int]) -> Int { zip(weights, d).reduce(0) { $0 + $1.0 * $1.1 } % 11 % 10 }
        if d.count == 10 {
            return check([2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9] ? nil : "has a wrong check digit (a typo?)"
        }
        let ok = check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10] && check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
        return ok ? nil : "has wrong check digits (a typo?)"
    }

    /// The problem with a КПП, or nil when it is valid: 9 characters, 4 digits (the tax office),
    /// 2 digits or capital Latin letters (the reason), 3 digits.
    public static func kppProblem(_ kpp: String) -> String? {
        let u = Array(kpp.unicodeScalars)
        func digit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
        guard u.count == 9, u[0..<4].allSatisfy(digit), u[4..<6].allSatisfy({ digit($0) || ("A"..."Z").contains($0) }),
            u[6..<9].allSatisfy(digit)
        else { return "must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits (e.g. 773601001)" }
        return nil
    }
}
