public import Foundation
import GRDB

extension Tx {
    /// The method and stored response (JSON text) of a request already processed for this actor.
    public func processedRequest(actor: String, requestID: String) throws -> (method: String, response: String)? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT method, response FROM requests WHERE actor = ? AND request_id = ?"),
            arguments: [actor, requestID]
        ).map { (method: $0[0], response: $0[1]) }
    }

    /// Remembers a request's response, so a retry returns it and writes nothing.
    public func rememberResponse(actor: String, requestID: String, method: String, response: String, at: Date) throws {
        try exec(
            "INSERT INTO requests(actor, request_id, method, response, at) VALUES (?, ?, ?, ?, ?)",
            [actor, requestID, method, response, ms(at)])
    }
}
