import ArgumentParser
import CRMProtocol

/// `crmctl client list --sort`: crmd lists clients by id, page by page; sorting needs every page,
/// so crmctl fetches them all (up to `cap` clients, a manager's book many times over) and sorts.
enum ClientSort: String, ExpressibleByArgument, CaseIterable {
    case release, name
    case lastContact = "last-contact"

    static let cap = 20_000

    func list(_ global: GlobalOptions, _ filter: JSONObject) throws {
        let items = try global.allPages("client.list", filter, cap: Self.cap) {
            failure(tr("more than \(Self.cap) clients match; narrow the list (--owner, --zone, --status, --query) to sort it"), 65)
        }
        let result: JSON = ["items": .array(sorted(items)), "next_cursor": .null]
        if global.json {
            print(JSONWriter.string(result))
        } else {
            printClientList(result)
        }
    }

    /// Stable: ties keep crmd's id order.
    func sorted(_ items: [JSON]) -> [JSON] {
        let indexed = Array(items.enumerated())
        func key(_ c: JSON) -> (Int64, String) {
            switch self {
            // Fewest days first; clients with no release date (exchange, unassigned) last.
            case .release: return (c["days_to_release"]?.intValue ?? Int64.max, "")
            case .name: return (0, (c["name"]?.stringValue ?? "").lowercased())
            // Longest ago first; never contacted before everyone.
            case .lastContact: return (c["last_interaction_at"]?.stringValue.flatMap(RFC3339.parseMilliseconds) ?? Int64.min, "")
            }
        }
        return indexed.sorted { a, b in
            let (ka, kb) = (key(a.element), key(b.element))
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
    }
}

extension GlobalOptions {
    /// Every page of a list method, 1000 items a call, on one connection; `tooMany` runs once more
    /// than `cap` items have come and more are left.
    func allPages(_ method: String, _ params: JSONObject, cap: Int = .max, tooMany: () -> Void = {}) throws -> [JSON] {
        var p = params
        p["limit"] = 1000
        return try session { conn -> [JSON] in
            var items: [JSON] = []
            while true {
                let page = try conn.call(method, .object(p))
                items += page["items"]?.arrayValue ?? []
                guard let next = page["next_cursor"]?.stringValue else { return items }
                if items.count >= cap { tooMany() }
                p["cursor"] = .string(next)
            }
        }
    }
}
