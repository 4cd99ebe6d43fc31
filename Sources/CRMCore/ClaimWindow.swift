public import Foundation

/// The fair claim window (issue 21; docs/rules.md, "The fair claim window"): a client released to
/// the exchange is announced at once, but for a while nobody may take it; managers *request* it,
/// and when the window ends one winner is chosen by ``ClaimWindow/winner(_:seed:)``. Who is awake
/// at 03:00 gains nothing: every request made in the window counts the same, whenever it came.
/// Pure: the engine reads the requests and the figures, and these say who wins.
public struct ClaimWindow: Sendable {
    /// The local time of day (minutes after midnight) the window ends on the next working day
    /// after the release, or `nil` when the window is off (`exchange.claim_window_ends`).
    public let endMinute: Int?
    /// The department's time zone (`zones.time_zone`).
    public let timeZone: TimeZone
    /// The holiday calendar (`calendar.files`), if any: its days off are not working days.
    public let holidays: WorkCalendar?

    public init(endMinute: Int?, timeZone: TimeZone, holidays: WorkCalendar? = nil) {
        self.endMinute = endMinute
        self.timeZone = timeZone
        self.holidays = holidays
    }

    /// Whether released clients get a window at all.
    public var isOn: Bool { endMinute != nil }

    /// Whether the local day starting at `dayStart` is a working day: the holiday calendar's
    /// answer when there is one (the New Year holidays, transferred working Saturdays), else
    /// Monday to Friday.
    public func isWorkingDay(_ dayStart: Date, calendar: Calendar) -> Bool {
        if let holidays {
            return holidays.isWorkingDay(LocalDate.containing(dayStart, in: timeZone).dayNumber)
        }
        let weekday = calendar.component(.weekday, from: dayStart)  // 1 = Sunday, 7 = Saturday
        return weekday != 1 && weekday != 7
    }

    /// When the window of a client released at `releasedAt` ends: `endMinute` local time on the
    /// first working day after the release's local day; `nil` when the window is off.
    public func endsAt(releasedAt: Date) -> Date? {
        guard let endMinute else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var day = calendar.startOfDay(for: releasedAt)
        // A year has no run of 30 days off; the bound keeps a bad calendar from looping.
        for _ in 0..<30 {
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = next
            if isWorkingDay(day, calendar: calendar) { break }
        }
        return calendar.date(bySettingHour: endMinute / 60, minute: endMinute % 60, second: 0, of: day)
    }

    /// One manager's request for a client in its window.
    public struct Request: Sendable, Equatable {
        public let userID: Int64
        /// When they asked (the first time: asking again changes nothing).
        public let at: Date
        /// The assigned clients they lead when the window ends.
        public let active: Int

        public init(userID: Int64, at: Date, active: Int) {
            self.userID = userID
            self.at = at
            self.active = active
        }
    }

    /// Which rule decided a window.
    public enum Decision: String, Sendable {
        /// One eligible request: it wins.
        case onlyRequest = "only_request"
        /// The requester leading the fewest active clients wins.
        case fewestActiveClients = "fewest_active_clients"
        /// Tied on active clients: the earliest request wins.
        case earliestRequest = "earliest_request"
        /// Tied on both: a draw from the recorded seed.
        case draw
    }

    /// The winner among `requests` (those still eligible when the window ends) and the rule that
    /// chose them, or `nil` for none: fewest active clients, then the earliest request, then a
    /// draw among those tied on both, ordered by user id, whose index is
    /// ``drawIndex(seed:count:)``. The same requests and seed always give the same winner.
    public static func winner(_ requests: [Request], seed: UInt64) -> (winner: Request, decision: Decision)? {
        guard let first = requests.first else { return nil }
        guard requests.count > 1 else { return (first, .onlyRequest) }
        let fewest = requests.map(\.active).min()!
        let least = requests.filter { $0.active == fewest }
        guard least.count > 1 else { return (least[0], .fewestActiveClients) }
        let earliest = least.map(\.at).min()!
        let tied = least.filter { $0.at == earliest }.sorted { $0.userID < $1.userID }
        guard tied.count > 1 else { return (tied[0], .earliestRequest) }
        return (tied[drawIndex(seed: seed, count: tied.count)], .draw)
    }

    /// The draw: SplitMix64's output for `seed`, modulo `count`.
    public static func drawIndex(seed: UInt64, count: Int) -> Int {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(count))
    }
}

extension DomainSettings {
    /// The fair claim window these settings describe.
    public var claimWindow: ClaimWindow {
        ClaimWindow(endMinute: claimWindowEndMinute, timeZone: zones.timeZone, holidays: holidays)
    }
}
