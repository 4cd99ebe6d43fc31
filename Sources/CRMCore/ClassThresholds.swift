public import Foundation

/// Some of a client's zone thresholds, for a segment or an ABC class: the ones it leaves out are
/// the default's (`zones.*`).
public struct ThresholdOverride: Sendable, Equatable {
    public var yellowAfter: ISODuration?
    public var redAfter: ISODuration?
    public var releaseAfter: ISODuration?

    public init(yellowAfter: ISODuration? = nil, redAfter: ISODuration? = nil, releaseAfter: ISODuration? = nil) {
        self.yellowAfter = yellowAfter
        self.redAfter = redAfter
        self.releaseAfter = releaseAfter
    }

    /// `base` with this rule's thresholds in place of its own.
    public func applied(to base: ZoneThresholds) -> ZoneThresholds {
        var t = base
        if let y = yellowAfter { t.yellowAfter = y }
        if let r = redAfter { t.redAfter = r }
        if let r = releaseAfter { t.releaseAfter = r }
        return t
    }
}

/// Zone thresholds by segment and by ABC class (issue 21, item 3; docs/rules.md, "What holds a
/// client"). The most specific rule wins: the client's segment's rule, else its ABC class's rule,
/// else the default. A card has one `segment`, so two segment rules never both match; the names
/// are compared case-insensitively. Pure: the live engine and a replay of history pick a client's
/// thresholds with the same function.
public struct ThresholdRules: Sendable, Equatable {
    public var base: ZoneThresholds
    /// By segment name, case-folded.
    public private(set) var bySegment: [String: ThresholdOverride] = [:]
    /// By ABC class (`A`, `B`, `C`).
    public private(set) var byClass: [String: ThresholdOverride] = [:]

    /// Which rule gave a client its thresholds.
    public enum Source: Sendable, Equatable {
        case segment(String)
        case abcClass(String)
        case `default`
    }

    public init(base: ZoneThresholds) { self.base = base }

    /// Sets the rule of a segment (replacing any).
    public mutating func set(segment: String, _ rule: ThresholdOverride) {
        bySegment[segment.lowercased()] = rule
    }

    /// Sets the rule of an ABC class (replacing any).
    public mutating func set(abcClass: String, _ rule: ThresholdOverride) {
        byClass[abcClass.uppercased()] = rule
    }

    /// The thresholds of a client in `segment` of ABC class `abc`, and the rule that gave them.
    public func thresholds(segment: String?, abc: String?) -> (thresholds: ZoneThresholds, source: Source) {
        if let s = segment, let rule = bySegment[s.lowercased()] { return (rule.applied(to: base), .segment(s)) }
        if let a = abc, let rule = byClass[a.uppercased()] { return (rule.applied(to: base), .abcClass(a.uppercased())) }
        return (base, .default)
    }

    /// The first rule whose thresholds do not grow (yellow < red < release) or reach too far,
    /// named as its setting key, with the problem.
    public func problem() -> (key: String, problem: String)? {
        for (name, rule) in bySegment.sorted(by: { $0.key < $1.key }) {
            if let p = ZoneRules(rule.applied(to: base)).validate() { return ("zones.by_segment.\(name)", p) }
        }
        for (name, rule) in byClass.sorted(by: { $0.key < $1.key }) {
            if let p = ZoneRules(rule.applied(to: base)).validate() { return ("zones.by_class.\(name)", p) }
        }
        return nil
    }
}
