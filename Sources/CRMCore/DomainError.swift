public import CRMText
public import Foundation

/// A rule the request broke, with a sentence for a person and details for a program.
/// The server maps ``Kind`` to the wire codes in one place.
public struct DomainError: Error, Sendable, Equatable {
    /// The class of failure; each maps to one protocol error code.
    public enum Kind: Sendable, Equatable {
        case notFound, forbidden, conflict, claimBanned, validationFailed, notAUser, limitReached, stageOrder, invalidParams
    }

    /// A detail value, kept free of any wire format.
    public enum Detail: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case date(Date)
        case null
    }

    public var kind: Kind
    /// Rendered in the caller's language at the wire boundary; `kind`, fields and details never are.
    public var message: Phrase
    /// Fields that failed, with the problem of each.
    public var fields: [(field: String, problem: String)]
    /// Further machine-readable details (`client_id`, `owner`, `until`...).
    public var details: [(key: String, value: Detail)]
    /// The fields' problems as phrases, when the thrower kept them (``invalid(_:_:)``); an
    /// import says a rejected item's problem with them in the reader's language.
    public var said: [Phrase] = []

    public init(_ kind: Kind, _ message: Phrase, fields: [(String, String)] = [], details: [(String, Detail)] = []) {
        self.kind = kind
        self.message = message
        self.fields = fields.map { (field: $0.0, problem: $0.1) }
        self.details = details.map { (key: $0.0, value: $0.1) }
    }

    public static func == (a: DomainError, b: DomainError) -> Bool {
        a.kind == b.kind && a.message == b.message && a.fields.map(\.field) == b.fields.map(\.field)
            && a.fields.map(\.problem) == b.fields.map(\.problem) && a.details.map(\.key) == b.details.map(\.key)
            && a.details.map(\.value) == b.details.map(\.value)
    }

    /// `not_found` for an entity and id.
    public static func notFound(_ entity: String, _ id: Int64) -> DomainError {
        DomainError(.notFound, "No \(Phrase.key(entity)) with id \(id).", details: [("entity", .string(entity)), ("id", .int(id))])
    }

    /// `not_found` for an entity named by text.
    public static func notFound(_ entity: String, named: String) -> DomainError {
        DomainError(.notFound, "No \(Phrase.key(entity)) '\(named)'.", details: [("entity", .string(entity)), ("name", .string(named))])
    }

    /// `forbidden` with the reason.
    public static func forbidden(_ message: Phrase) -> DomainError {
        DomainError(.forbidden, message)
    }

    /// `validation_failed` for one field. A field's value refused: `The FIELD PROBLEM.` in the reader's language (the problem a
    /// phrase, its arguments a date or a limit); the error's `data` keeps the problem in English.
    public static func invalid(_ field: String, _ problem: Phrase) -> DomainError {
        var e = DomainError(.validationFailed, "The \(field) \(problem).", fields: [(field, problem.description)])
        e.said = [problem]
        return e
    }

    /// Field `i`'s problem as a phrase: the one the thrower kept, else its English text looked up
    /// in the catalog whole (a problem without arguments has its entry; one with them is said in English).
    public func problemSaid(_ i: Int) -> Phrase {
        i < said.count ? said[i] : .key(fields[i].problem)
    }
}
