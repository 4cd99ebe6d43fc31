public import Foundation

/// Why a claim is refused, with the figures its error names. The cases come in the order the
/// rules are checked (after "still on the exchange"): the cooldown, claims per day, clients per
/// manager.
public enum ClaimRefusal: Sendable, Equatable {
    /// The claimant is the manager the client left, and their cooldown runs until `until`
    /// (`1004 claim_banned`).
    case cooldown(until: Date)
    /// The claimant has made `claimed` claims today, `limit` or more (`exchange.max_claims_per_day`,
    /// `1007 limit_reached`, kind `claims_per_day`).
    case claimsPerDay(claimed: Int, limit: Int)
    /// The claimant leads `owned` assigned clients, `limit` or more
    /// (`exchange.max_clients_per_manager`, `1007 limit_reached`, kind `clients_per_manager`).
    case clientsPerManager(owned: Int, limit: Int)
}

/// The exchange's rules on who may take a client (RULES §5; docs/rules.md, "The exchange"): the
/// cooldown of the manager a client left, the claims a manager may make in a day, and how many
/// clients they may lead. Pure: the caller reads the figures (the recorded cooldown, today's
/// claims, the clients led) from the store at its own instant, and these say what they mean.
public struct ExchangeRules: Sendable {
    /// How long the manager a client left may not claim it (`exchange.cooldown`).
    public let cooldown: ISODuration
    /// Claims per manager per calendar day, 0 for no limit (`exchange.max_claims_per_day`).
    public let maxClaimsPerDay: Int
    /// Assigned clients a manager may lead and still claim, 0 for no limit
    /// (`exchange.max_clients_per_manager`).
    public let maxClientsPerManager: Int
    /// The calendar and time zone of the department (`zones.time_zone`): the cooldown is counted
    /// on it, and "today" is its day.
    public let zones: ZoneRules

    public init(cooldown: ISODuration, maxClaimsPerDay: Int, maxClientsPerManager: Int, zones: ZoneRules) {
        self.cooldown = cooldown
        self.maxClaimsPerDay = maxClaimsPerDay
        self.maxClientsPerManager = maxClientsPerManager
        self.zones = zones
    }

    /// The rules of `settings`, on the calendar of `zones` (the zone rules of the same settings).
    public init(_ settings: DomainSettings, zones: ZoneRules) {
        self.init(
            cooldown: settings.exchangeCooldown, maxClaimsPerDay: settings.maxClaimsPerDay,
            maxClientsPerManager: settings.maxClientsPerManager, zones: zones)
    }

    /// Whether claims per day are limited (so today's claims need counting).
    public var limitsClaimsPerDay: Bool { maxClaimsPerDay > 0 }

    /// Whether the clients a manager leads are limited (so they need counting).
    public var limitsClientsPerManager: Bool { maxClientsPerManager > 0 }

    /// Until when the manager a client left, released at `releasedAt`, may not claim it back:
    /// `exchange.cooldown` later on the department's calendar. Claims are refused before this
    /// instant and allowed from it on.
    public func cooldownUntil(releasedAt: Date) -> Date {
        zones.add(cooldown, to: releasedAt)
    }

    /// Where the day of `now` starts for the claims-per-day limit: midnight of that calendar day
    /// in the department's time zone, found with the UTC offset in force at `now`. In a zone
    /// without daylight saving time (Europe/Moscow) that is always local midnight; on the day a
    /// clock change happens it is off by the change (an hour early on the day clocks go forward,
    /// an hour late on the day they go back), as crmd has always counted it.
    public func dayStart(of now: Date) -> Date {
        Date(
            timeIntervalSince1970: Double(zones.localDayNumber(now)) * 86_400
                - Double(zones.thresholds.timeZone.secondsFromGMT(for: now)))
    }

    /// Why the claim at `now` is refused, or `nil` if these rules allow it. `cooldownUntil` is the
    /// end of the claimant's cooldown on this client, if one was recorded (see
    /// ``cooldownUntil(releasedAt:)``); `claimsToday` their claims since ``dayStart(of:)``;
    /// `owned` the assigned clients they lead. The first rule that refuses wins: the cooldown,
    /// then claims per day, then clients per manager; a figure is read (from the store, by the
    /// caller's expression) only when its rule is on and no rule before it refused.
    public func claimRefusal(
        now: Date, cooldownUntil: Date?, claimsToday: @autoclosure () throws -> Int, owned: @autoclosure () throws -> Int
    ) rethrows -> ClaimRefusal? {
        if let until = cooldownUntil, until > now { return .cooldown(until: until) }
        if limitsClaimsPerDay {
            let claimed = try claimsToday()
            if claimed >= maxClaimsPerDay { return .claimsPerDay(claimed: claimed, limit: maxClaimsPerDay) }
        }
        return try ownedLimitRefusal(owned: owned())
    }

    /// Whether a manager who leads `owned` assigned clients has reached
    /// `exchange.max_clients_per_manager`: checked on a claim, and on a card a manager creates
    /// for themselves (see ``Access/isBoundByExchangeOnCards(_:)``). `owned` is read only when
    /// the limit is on.
    public func ownedLimitRefusal(owned: @autoclosure () throws -> Int) rethrows -> ClaimRefusal? {
        guard limitsClientsPerManager else { return nil }
        let n = try owned()
        guard n >= maxClientsPerManager else { return nil }
        return .clientsPerManager(owned: n, limit: maxClientsPerManager)
    }
}
