public import CRMCore
import CRMSync
import Foundation

/// The settings in force, replaced as a whole when crmd reloads its configuration (SIGHUP).
/// Readers take a consistent snapshot: settings, zone rules and working hours always agree.
public final class LiveSettings: Sendable {
    /// One consistent set of values (a class, so taking it costs one reference, not a copy).
    public final class Snapshot: Sendable {
        public let settings: Settings
        public let rules: ZoneRules
        public let workingHours: WorkingHours
        public let dealRules: DealRules
        /// The zone rules by segment and ABC class.
        public let classRules: ClassZoneRules
        init(_ s: Settings) {
            settings = s
            rules = ZoneRules(s.domain.zones)
            workingHours = s.domain.workingHours
            dealRules = DealRules(s.domain.deals, timeZone: s.domain.zones.timeZone)
            classRules = ClassZoneRules(s.domain.classThresholds, base: rules)
        }
    }

    private let state: ReadMostly<Snapshot>

    init(_ settings: Settings) { state = ReadMostly(Snapshot(settings)) }

    /// The values in force now.
    public var current: Snapshot { state.read { $0 } }

    /// Puts `new` in force and returns the keys whose new value waits for a restart (the socket,
    /// the database and its durability are fixed while crmd runs; those keep their old values).
    /// `log.level` applies to every logger at once; `log.target` waits for a restart.
    func replace(with new: Settings) -> [String] {
        let pending = state.write { snap in
            let old = snap.settings
            var kept = new
            var pending: [String] = []
            if new.socketPath != old.socketPath { pending.append("server.socket") }
            if new.socketMode != old.socketMode { pending.append("server.socket_mode") }
            if new.databasePath != old.databasePath { pending.append("store.path") }
            if new.synchronous != old.synchronous { pending.append("store.synchronous") }
            if new.groupCommitMax != old.groupCommitMax { pending.append("store.group_commit_max") }
            if new.logTarget != old.logTarget { pending.append("log.target") }
            kept.socketPath = old.socketPath
            kept.socketMode = old.socketMode
            kept.databasePath = old.databasePath
            kept.synchronous = old.synchronous
            kept.groupCommitMax = old.groupCommitMax
            kept.logTarget = old.logTarget
            snap = Snapshot(kept)
            return pending
        }
        CRMLogging.setLevel(new.logLevel)
        return pending
    }
}
