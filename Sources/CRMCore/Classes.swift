public import Foundation

/// A client's ABC class: its share of the department's won revenue over the window.
public enum ABCClass: String, Sendable, CaseIterable {
    case a = "A", b = "B", c = "C"
}

/// A client's XYZ class: how steady its monthly revenue is over the window.
public enum XYZClass: String, Sendable, CaseIterable {
    case x = "X", y = "Y", z = "Z"
}

/// The `classes.*` settings (docs/rules.md, "ABC/XYZ classes").
public struct ClassSettings: Sendable, Equatable {
    /// Whole months of won revenue the classes are computed over (1-36), ending where the
    /// current month starts.
    public var windowMonths = 12
    /// Cumulative shares of revenue, in percent: up to `aPercent` is A, the next `bPercent` B, the
    /// rest C (the C share is what is left: 100 - a - b).
    public var aPercent = 80
    public var bPercent = 15
    /// Coefficients of variation of monthly revenue, in percent: up to `xPercent` is X, up to
    /// `yPercent` Y, above it Z.
    public var xPercent = 10
    public var yPercent = 25
    /// The day of the month (1-28) the scheduled computation runs on; nil: no schedule (only
    /// `abc.compute`).
    public var runDay: Int? = 1
    /// The local time of day it runs at, in minutes after midnight (default 03:00).
    public var runMinute = 3 * 60
    /// A computation that changes more clients than this records no `client.class_changed` per
    /// client, only its `classes.computed` summary (events are durable rows every subscriber reads).
    public var maxChangeEvents = 20_000

    public init() {}

    /// The largest window crmd accepts (three years of months).
    public static let maxWindowMonths = 36
}

/// One client's classes over a window.
public struct ClientClass: Sendable, Equatable {
    public var abc: ABCClass
    public var xyz: XYZClass
    /// The coefficient of variation of its monthly revenue, in basis points of the mean (1000 =
    /// 10 %), rounded.
    public var cvBP: Int64

    public init(abc: ABCClass, xyz: XYZClass, cvBP: Int64) {
        self.abc = abc
        self.xyz = xyz
        self.cvBP = cvBP
    }
}

/// The ABC/XYZ arithmetic (docs/rules.md, "ABC/XYZ classes"): pure functions of revenues.
public enum ClassRules {
    /// The ABC class of each revenue (index for index; every revenue above zero).
    ///
    /// Clients are ranked by revenue, largest first; a client's cumulative share is the revenue
    /// of every client ranked before it plus its own, over the total. Up to `a` % is A, up to
    /// `a + b` % is B, the rest C. Two refinements: clients with the same revenue share one class,
    /// the one the first of them gets (their order among themselves is arbitrary, and an
    /// arbitrary order must not split them); and the largest client is always A (one client with
    /// 90 % of the revenue is the department's most important client, not a B).
    public static func abc(_ revenues: [Int64], aPercent a: Int, bPercent b: Int) -> [ABCClass] {
        guard !revenues.isEmpty else { return [] }
        let total = revenues.reduce(Int128(0)) { $0 + Int128($1) }
        let order = revenues.indices.sorted { revenues[$0] > revenues[$1] }
        var out = [ABCClass](repeating: .c, count: revenues.count)
        var before = Int128(0)
        var i = 0
        while i < order.count {
            let r = revenues[order[i]]
            var j = i
            var group = Int128(0)
            while j < order.count, revenues[order[j]] == r {
                group += Int128(r)
                j += 1
            }
            let share = (before + Int128(r)) * 100
            let cls: ABCClass =
                i == 0 || share <= Int128(a) * total ? .a : share <= Int128(a + b) * total ? .b : .c
            for k in i..<j { out[order[k]] = cls }
            before += group
            i = j
        }
        return out
    }

    /// The XYZ class of one client's monthly revenues (every month of the window, zeros
    /// included), with the coefficient of variation in basis points; nil when the months hold no
    /// revenue at all (such a client has no class).
    ///
    /// CV = σ / μ over the window's months (the population σ); with S the sum and Q the sum of
    /// squares over N months, CV² = (N·Q − S²) / S², compared exactly: X when CV ≤ `x` %, Y when
    /// ≤ `y` %, else Z.
    public static func xyz(_ months: [Int64], xPercent x: Int, yPercent y: Int) -> (XYZClass, cvBP: Int64)? {
        let n = Int128(months.count)
        let s = months.reduce(Int128(0)) { $0 + Int128($1) }
        guard n > 0, s > 0 else { return nil }
        // Amounts are bounded (deals.amount ≤ 10^15 minor units, 36 months): N·Q < 2^127.
        let q = months.reduce(Int128(0)) { $0 + Int128($1) * Int128($1) }
        let spread = n * q - s * s
        let s2 = s * s
        let cls: XYZClass =
            spread * 10_000 <= Int128(x * x) * s2 ? .x : spread * 10_000 <= Int128(y * y) * s2 ? .y : .z
        let cv = (Double(spread) / Double(s2)).squareRoot()
        return (cls, Int64((cv * 10_000).rounded()))
    }

    /// The month a computation at `now` is for (`2026-12`): the classes hold during it.
    public static func month(of now: Date, in timeZone: TimeZone) -> Period {
        Period.containing(now, kind: .month, in: timeZone)
    }

    /// The window's month bounds, oldest first: `windowMonths + 1` local midnights, the last one
    /// the start of `month` (the month being computed is not in its own window).
    public static func window(for month: Period, months: Int, in timeZone: TimeZone) -> [Date] {
        var bounds: [Date] = []
        var y = month.year
        var m = month.number
        for _ in 0...months {
            bounds.append(Period(kind: .month, year: y, number: m).interval(in: timeZone).start)
            m -= 1
            if m == 0 {
                m = 12
                y -= 1
            }
        }
        return bounds.reversed()
    }

    /// The index of the window month holding `instant` (bounds as ``window(for:months:in:)``
    /// returns them), nil outside the window.
    public static func monthIndex(_ instant: Date, bounds: [Date]) -> Int? {
        guard let first = bounds.first, let last = bounds.last, instant >= first, instant < last else { return nil }
        var lo = 0
        var hi = bounds.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if bounds[mid] <= instant { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// The instant the scheduled computation for `month` runs at (its `runDay` at `runMinute`,
    /// local time); nil when there is no schedule.
    public static func scheduledRun(for month: Period, settings: ClassSettings, in timeZone: TimeZone) -> Date? {
        guard let day = settings.runDay else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let parts = DateComponents(
            year: month.year, month: month.number, day: day, hour: settings.runMinute / 60, minute: settings.runMinute % 60)
        return cal.date(from: parts)
    }

    /// The next month after `month`.
    public static func following(_ month: Period) -> Period {
        month.number == 12
            ? Period(kind: .month, year: month.year + 1, number: 1) : Period(kind: .month, year: month.year, number: month.number + 1)
    }
}
