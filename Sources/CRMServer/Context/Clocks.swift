import CRMCore
import CRMSync
public import Foundation

/// The source of "now". The system clock in production; issue-level tests inject others.
public protocol WallClock: Sendable {
    func now() -> Date
    /// How long to sleep in real time until `instant` on this clock, or `nil` if only an explicit
    /// move of the clock can bring it. A requirement, not only an extension: the scheduler and
    /// the deliverer hold the clock as `any WallClock`, and an extension method alone would give
    /// them the system clock's answer on every clock (a demo-month of real seconds, capped at a
    /// minute, on `--demo`; a minute's needless wake-ups on a manual clock).
    func realDelay(until instant: Date) -> Duration?
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

extension WallClock {
    /// How long to sleep in real time until `instant` on this clock, or `nil` if only an explicit
    /// move of the clock can bring it (a manual clock).
    public func realDelay(until instant: Date) -> Duration? {
        let s = max(0, instant.timeIntervalSince(now()))
        return .milliseconds(Int64((s * 1000).rounded(.up)))
    }
}

/// A clock that moves only when told (`--clock manual`): tests and rehearsals of a whole story.
/// `clock.set` and `clock.advance` refuse to move it past ``latest``.
public final class ManualClock: WallClock, Sendable {
    /// The latest time it may show, 9000-01-01T00:00:00Z (``InstantLimits/latestNow``).
    public static let latest = InstantLimits.latestNow
    /// Why, for messages: `9000-01-01T00:00:00Z, the latest the clock may show, so that...`.
    public static let latestExplained = "\(InstantLimits.latestNowText), \(InstantLimits.latestNowReason)"

    private let current: Locked<Date>

    public init(start: Date) { current = Locked(start) }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock; it never goes back.
    public func set(_ date: Date) {
        current.withLock { $0 = max($0, date) }
    }

    public func realDelay(until instant: Date) -> Duration? { nil }
}

/// A clock that runs `factor` times faster than real time from `start` (`--demo`), so a
/// newcomer sees zones change within a minute. It stops at ``InstantLimits/latestNow`` (some
/// 58 days of running at a month a minute), as the manual clock does.
public struct AcceleratedClock: WallClock {
    let start: Date
    let realStart: Date
    let factor: Double

    public init(start: Date, factor: Double) {
        self.start = start
        self.realStart = Date()
        self.factor = factor
    }

    public func now() -> Date {
        min(InstantLimits.latestNow, start.addingTimeInterval(Date().timeIntervalSince(realStart) * factor))
    }

    public func realDelay(until instant: Date) -> Duration? {
        let s = max(0, instant.timeIntervalSince(now())) / factor
        return .milliseconds(Int64((s * 1000).rounded(.up)))
    }
}
