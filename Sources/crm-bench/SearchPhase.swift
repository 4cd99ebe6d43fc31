import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

/// The search phase (issue 20), `search`, on a daemon of its own: `clients` clients with company
/// names drawn from common words («ООО "Северная Ромашка 123"», the legal form in five spellings),
/// a phone each and a contact for one client in five (imported). Then `client.list` with a
/// `query` typed as people type it, a fifth of each kind: a whole name with the legal form moved
/// and in other case, the beginning of a name, a contact's name, the last 7 digits of a phone,
/// a phone in another spelling. p50 and p99 over all, as an admin (who sees every card) and as a
/// manager (others' cards restricted); the issue's target: p99 <= 50 ms at 1,000,000 clients.
struct SearchPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["search"]
    static let targetMS = 50.0
    static let forms = ["ООО", "АО", "ИП", "ЗАО", "ПАО"]
    static let adjectives = [
        "Северная", "Южная", "Новая", "Старая", "Большая", "Малая", "Красная", "Зелёная", "Белая", "Тёплая", "Быстрая", "Верная",
        "Добрая", "Ясная", "Светлая", "Речная", "Лесная", "Горная", "Морская", "Полевая",
    ]
    static let nouns = [
        "Ромашка", "Василёк", "Звезда", "Берёза", "Волна", "Гавань", "Заря", "Мельница", "Пристань", "Роща", "Сфера", "Линия",
        "Палитра", "Слобода", "Артель", "Мастерская", "Торговля", "Логистика", "Поставка", "Стройка",
    ]
    static let surnames = ["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков"]
    static let given = ["Александр", "Сергей", "Алексей", "Дмитрий", "Андрей", "Михаил", "Пётр", "Семён", "Фёдор", "Олег"]

    static func name(_ k: Int) -> String {
        "\(forms[k % forms.count]) «\(adjectives[k % adjectives.count]) \(nouns[(k / adjectives.count) % nouns.count]) \(k)»"
    }
    static func contact(_ k: Int) -> String {
        "\(surnames[k % surnames.count]) \(given[(k / 7) % given.count]) \(k)"
    }
    /// +7 916 nnn nn nn, one per client.
    static func phone(_ k: Int) -> String { "+7916\(String(format: "%07d", k % 10_000_000))" }

    /// The k-th query: five kinds in turn, each about client `k % clients`.
    static func query(_ seed: UInt64, clients: Int) -> String {
        query(kind: Int((seed >> 20) % 5), Int((seed >> 33) % UInt64(max(1, clients))))
    }

    /// A query of `kind` (0 to 4, as above) about client `k`.
    static func query(kind: Int, _ k: Int) -> String {
        switch kind {
        case 0:
            // The whole name, legal form after, lower case, ё typed as е.
            let n = "\(adjectives[k % adjectives.count]) \(nouns[(k / adjectives.count) % nouns.count]) \(k) \(forms[k % forms.count])"
            return n.lowercased().replacingOccurrences(of: "ё", with: "е")
        case 1:
            // The beginning of a name, with its number.
            return "\(adjectives[k % adjectives.count]) \(nouns[(k / adjectives.count) % nouns.count].prefix(4)) \(k)"
        case 2:
            // A contact's name (one client in five has one).
            let c = k - k % 5
            return "\(given[(c / 7) % given.count]) \(surnames[c % surnames.count]) \(c)"
        case 3:
            // The last 7 digits.
            return String(phone(k).suffix(7))
        default:
            // The phone, as a person writes it.
            let d = String(phone(k).dropFirst(2))
            return "8 (\(d.prefix(3))) \(d.dropFirst(3).prefix(3))-\(d.dropFirst(6).prefix(2))-\(d.suffix(2))"
        }
    }

    func run() throws {
        let d = try TestDaemon(environment: Bench.crmdEnvironment)
        try d.start()
        defer { d.stop() }
        let c = try d.connect(readTimeout: 600)
        _ = try c.call("user.add", ["login": "sman", "name": "Search Manager", "role": "manager", "uid": 61_000])
        _ = try c.call("user.add", ["login": "sman2", "name": "Other Manager", "role": "manager", "uid": 61_001])
        log("search: loading \(bench.clients) clients with phones and contacts ...")
        // 2,000 a call: Cyrillic names and a contact make an item about 200 bytes, and a call must
        // fit in one line of protocol.max_line_bytes (1 MiB).
        var k = 0
        while k < bench.clients {
            let n = min(2_000, bench.clients - k)
            let items: [JSON] = (k..<(k + n)).map { k in
                var o: JSONObject = [
                    "name": .string(Self.name(k)), "phones": [.string(Self.phone(k))], "owner": k % 2 == 0 ? "sman" : "sman2",
                ]
                if k % 5 == 0 { o["contacts"] = [["name": .string(Self.contact(k))]] }
                return .object(o)
            }
            _ = try c.call("client.import", ["clients": .array(items)])
            k += n
        }
        // Every query kind must find its client: a search that answers fast but finds nothing
        // would measure nothing.
        for kind in 0..<5 {
            let q = Self.query(kind: kind, bench.clients / 2)
            let items = try c.call("client.list", ["query": .string(q), "limit": 20])["items"]?.arrayValue ?? []
            let k = bench.clients / 2
            let expected = Self.name(kind == 2 ? k - k % 5 : k)
            guard items.first?["name"]?.stringValue == expected else {
                throw ValidationError("search: '\(q)' did not list '\(expected)' first: \(items.prefix(3).map { $0["name"] ?? .null })")
            }
            report.info.append(("search: '\(q)'", "\(items.count) found, first '\(items[0]["name"]?.stringValue ?? "?")'"))
        }
        let size = "\(bench.clients) clients"
        let clients = bench.clients
        for (who, login) in [("admin", nil), ("manager", "sman")] as [(String, String?)] {
            let (rate, s) = try LoadGenerator.timedLoop(
                threads: 1, seconds: bench.seconds,
                open: { login == nil ? try d.connect(readTimeout: 600) : try ManagementPhases.acting(d, login!) }
            ) { conn, _, seed in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let q = JSONWriter.string(.string(Self.query(seed, clients: clients)))
                _ = try ManagementPhases.send(conn, RawCall.line(id: 1, method: "client.list", params: "{\"query\":\(q),\"limit\":20}"))
            }
            report.add("client.list query, \(who), 1 connection (\(size))", rate, "searches/s")
            report.add("client.list query, \(who): p50 (\(size))", s.percentile(0.5), "ms")
            let p99 = s.percentile(0.99)
            report.add(
                "client.list query, \(who): p99 (\(size))", p99, "ms", target: "<= \(Int(Self.targetMS)) ms at 1,000,000",
                met: p99 <= Self.targetMS)
        }
        // Each kind of query on its own, as the admin: which one sets the p99.
        let kinds = ["whole name", "beginning of a name", "contact's name", "last 7 digits", "phone in another spelling"]
        for (kind, label) in kinds.enumerated() {
            var ns: [UInt64] = []
            var seed: UInt64 = 0x2545_F491_4F6C_DD1D &+ UInt64(kind)
            for _ in 0..<200 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let q = JSONWriter.string(.string(Self.query(kind: kind, Int((seed >> 33) % UInt64(max(1, clients))))))
                let t = nowNS()
                _ = try ManagementPhases.send(c, RawCall.line(id: 1, method: "client.list", params: "{\"query\":\(q),\"limit\":20}"))
                ns.append(nowNS() - t)
            }
            let samples = Samples(ns: ns)
            report.add("client.list query, \(label), admin: p50 (\(size))", samples.percentile(0.5), "ms")
            report.add("client.list query, \(label), admin: p99 (\(size))", samples.percentile(0.99), "ms")
        }
    }
}
