/// What a manager's commission is counted on (setting `commission.basis`).
public enum CommissionBasis: String, Sendable, CaseIterable {
    /// Deals won in the period; the base is the deal's final amount.
    case won
    /// Payments dated in the period on deals the manager owned when paid; the base is their sum.
    case paid
}

/// Where a deal line's rate came from, in order of precedence.
public enum RateSource: String, Sendable, CaseIterable {
    case segment, pipeline, user, `default`
}

/// The commission settings (`commission.*`): the basis, the department's default rate and the
/// rates per pipeline and per client segment, all in basis points (200 = 2 %).
public struct CommissionSettings: Sendable, Equatable {
    public var basis = CommissionBasis.won
    public var defaultBP = 0
    public var pipelines: [String: Int] = [:]
    public var segments: [String: Int] = [:]

    /// The largest rate: 10,000 basis points = 100 %.
    public static let maxBP = 10_000

    public init() {}
}

/// Commission rules: which rate a deal earns, and the money (RULES §7, seed 002 #5).
public enum Commission {
    /// The rate of a deal: the client's segment's rate if set, else the pipeline's, else the
    /// owner's own rate, else the department's default.
    public static func rate(segment: String?, pipeline: String, userBP: Int?, settings: CommissionSettings) -> (
        bp: Int, source: RateSource
    ) {
        if let segment, let bp = settings.segments[segment] { return (bp, .segment) }
        if let bp = settings.pipelines[pipeline] { return (bp, .pipeline) }
        if let userBP { return (userBP, .user) }
        return (settings.defaultBP, .default)
    }

    /// `base × rate`, half up, in minor units: `(base × bp + 5000) / 10000`. Nil if it would not
    /// fit 64 bits (a base above about 9 × 10^14 at 100 %); a negative base gives nil too.
    public static func amount(base: Int64, bp: Int) -> Int64? {
        guard base >= 0, (0...CommissionSettings.maxBP).contains(bp) else { return nil }
        let (product, overflow) = base.multipliedReportingOverflow(by: Int64(bp))
        guard !overflow, product <= Int64.max - 5000 else { return nil }
        return (product + 5000) / 10_000
    }
}

/// Order statistics of durations for the reports.
public enum Stats {
    /// The median of `sorted` (ascending): the middle value, or the mean of the two middle ones
    /// rounded down. Nil when empty.
    public static func median(_ sorted: [Int64]) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let n = sorted.count
        if n % 2 == 1 { return sorted[n / 2] }
        let a = sorted[n / 2 - 1]
        let b = sorted[n / 2]
        return a + (b - a) / 2
    }

    /// The 90th percentile of `sorted` (ascending) by nearest rank: the value at rank
    /// ⌈0.9 n⌉. Nil when empty.
    public static func p90(_ sorted: [Int64]) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let rank = (sorted.count * 9 + 9) / 10  // ⌈0.9 n⌉
        return sorted[max(1, rank) - 1]
    }

    /// `part × 100 / whole` rounded down; 0 when `whole` is 0.
    public static func percent(_ part: Int, of whole: Int) -> Int {
        whole == 0 ? 0 : part * 100 / whole
    }
}
