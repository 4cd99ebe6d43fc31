/// Interactions crmd records by itself (issue 22): who may hand them over, and how much of a
/// letter an interaction keeps.
public enum Capture {
    /// Characters of a letter's subject kept as the interaction's topic.
    public static let topicLength = 200
    /// Characters of a letter's text kept as the interaction's note.
    public static let noteLength = 8_000
    /// Recipients (To and Cc) looked up per letter; a mass mailing past it is matched on the first ones.
    public static let recipients = 100
}

extension Access {
    /// May hand over incoming mail (`mail.ingest`): the mail server's account (an operator) and
    /// admins. Not heads or managers: a letter resets a client's clock, so a person who could
    /// write one in could keep a client from the exchange without contact.
    public static func canIngestMail(_ actor: Actor) -> Bool {
        actor.role == .admin || actor.role == .operator
    }
}
