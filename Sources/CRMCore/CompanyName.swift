import Foundation

/// The key two spellings of one company share, so a manager cannot dodge the exchange's
/// cooldown by creating a new card for the company they lost (issue 14 §5).
///
/// Folded: case; `ё` to `е`; quotes of every kind, punctuation and runs of spaces; the legal form
/// where it stands as a word (ООО, ИП, АО, ПАО, ЗАО, ОАО, НКО, LLC, Ltd, Inc and their Latin
/// look-alikes such as OOO). So «ООО "Ромашка"», "ооо Ромашка" and "Ромашка, ООО" are one
/// company; "Ромашка-2" and "Ромашка Плюс" are others. A name that is nothing but a legal form has
/// no key (nil): it matches nothing.
public enum CompanyName {
    static let legalForms: Set<String> = [
        "ооо", "ип", "ао", "пао", "зао", "оао", "нко", "тоо", "чп", "гк", "ooo", "ip", "ao", "pao", "zao", "oao",
        "llc", "ltd", "inc", "corp", "gmbh", "co",
    ]

    public static func key(_ name: String) -> String? {
        var words: [String] = []
        var word = ""
        func flush() {
            if !word.isEmpty, !legalForms.contains(word) { words.append(word) }
            word = ""
        }
        for ch in name.lowercased() {
            if ch == "ё" {
                word.append("е")
            } else if ch.isLetter || ch.isNumber {
                word.append(ch)
            } else if ch == "-" || ch == "+" || ch == "&" {
                // Part of the name ("Ромашка-2", "A&B"): kept, but not a word boundary.
                word.append(ch)
            } else {
                flush()
            }
        }
        flush()
        let key = words.joined(separator: " ").trimmingCharacters(in: CharacterSet(charactersIn: "-+&"))
        return key.isEmpty ? nil : key
    }
}
