import CRMCore
import CRMStore
import CRMText
import Configuration
public import Foundation
import Logging
import SystemPackage
import Yams

extension Settings {
    /// Loads settings: defaults, then the YAML file (if any), then `CRMD_*` environment variables,
    /// then explicit command-line paths. Any bad value throws naming its key.
    public static func load(
        configFile: String?, socket: String?, database: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> Settings {
        var envVars: [String: String] = [:]
        for (k, v) in environment where k.hasPrefix("CRMD_") && k != "CRMD_SOCKET" && k != "CRMD_CONFIG" {
            envVars[String(k.dropFirst(5))] = v
        }
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider(environmentVariables: envVars)]
        if let configFile {
            guard FileManager.default.fileExists(atPath: configFile) else {
                throw SettingsError(key: "--config", problem: "the file \(configFile) does not exist")
            }
            try checkKeys(ofYAMLFile: configFile)
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(configFile)))
            } catch {
                throw SettingsError(key: "--config", problem: "cannot read \(configFile) as YAML: \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        var s = Settings(
            socketPath: socket ?? reader.string(forKey: "server.socket") ?? DefaultPaths.socket(environment: environment),
            databasePath: database ?? reader.string(forKey: "store.path") ?? DefaultPaths.database(environment: environment))
        try s.apply(reader)
        if let configFile { try s.domain.deals.pipelines = pipelines(ofYAMLFile: configFile) ?? s.domain.deals.pipelines }
        s.domain.holidays = try holidayCalendar(reader, configFile: configFile)
        s.domain.moveReleasesOffHolidays = try calendarSwitch(reader, "calendar.move_releases")
        s.domain.workingDayThresholds = try calendarSwitch(reader, "calendar.working_days")
        if let configFile { s.domain.classThresholds = try zoneClassRules(ofYAMLFile: configFile) }
        s.domain.classThresholds.base = s.domain.zones
        if let problem = s.domain.classThresholds.problem() { throw SettingsError(key: problem.key, problem: problem.problem) }
        if let problem = s.domain.deals.validate() { throw SettingsError(key: problem.key, problem: problem.problem) }
        try s.applyNotify(reader, configFile: configFile)
        if let configFile {
            (s.domain.commission.pipelines, s.domain.commission.segments) = try commissionRates(
                ofYAMLFile: configFile, pipelines: s.domain.deals.pipelines)
        }
        // Absolute, so what server.status shows means the same file to crmctl in another folder.
        if !s.databasePath.hasPrefix("/") { s.databasePath = FileManager.default.currentDirectoryPath + "/" + s.databasePath }
        return s
    }

    /// Every key crmd reads. A key in the file that is not here is a mistake worth stopping for.
    static let knownKeys: Set<String> = {
        var keys: Set<String> = [
            "server.socket", "server.socket_mode", "server.max_connections", "server.max_connections_per_uid", "server.admin_connections",
            "server.idle_timeout", "language",
            "protocol.max_line_bytes", "protocol.max_batch_items", "protocol.max_batch_reply_bytes",
            "protocol.max_buffered_bytes_per_uid", "protocol.max_buffered_bytes", "store.path", "store.synchronous",
            "store.group_commit_max", "log.level", "log.target",
            "zones.time_zone", "zones.yellow_after", "zones.red_after", "zones.release_after",
            "interactions.resetting_kinds", "interactions.max_future", "phones.default_country_code",
            "phones.national_length", "rights.personal_data_roles", "alerts.marks", "alerts.on_yellow", "alerts.working_hours",
            "alerts.working_days", "alerts.delivery_command", "alerts.delivery_timeout", "exchange.cooldown", "exchange.max_claims_per_day",
            "exchange.max_clients_per_manager", "subscriptions.max_queue_bytes", "subscriptions.max_per_connection",
            "subscriptions.max_per_uid",
            "subscriptions.stall_timeout",
            "deals.currency", "deals.lost_reasons", "deals.overdue_head_grace", "deals.exempt_from_stage", "deals.max_attachment_bytes",
            "deals.max_attachments_per_deal", "deals.pipelines", "deals.max_attachment_bytes_per_user",
            "deals.max_open_per_client",
            "invoices.max_per_deal",
            "reports.cold_call_window",
            "commission.basis", "commission.default_bp", "commission.pipelines", "commission.segments",
            "channels.margin_bp", "channels.max_leads_per_minute", "calls.callback_within",
            "classes.window_months", "classes.abc_shares", "classes.xyz_limits", "classes.run_day", "classes.run_at",
            "classes.max_change_events",
            "exchange.freeze_max", "exchange.max_frozen_per_manager", "exchange.max_locked_per_manager", "exchange.exempt_won_within",
            "calendar.files", "calendar.move_releases", "calendar.working_days", "zones.by_segment", "zones.by_class",
            "exchange.claim_window_ends",
            "requests.routing", "requests.sla", "requests.mail_addresses",
            "notify.delivery_command", "notify.stages", "notify.phone", "notify.templates",
        ]
        for kind in InteractionKind.loggable { keys.insert("interactions.required.\(kind.rawValue)") }
        return keys
    }()

    /// Fails on a key crmd does not know (a typo would otherwise be ignored silently), naming the
    /// closest known key.
    static func checkKeys(ofYAMLFile path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SettingsError(key: "--config", problem: "cannot read \(path): \(error.localizedDescription)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError(key: "--config", problem: "\(path) is not valid YAML: \(error)")
        }
        guard let node else { return }  // an empty file: all defaults
        guard case .mapping(let top) = node else {
            throw SettingsError(key: "--config", problem: "\(path) must be a YAML mapping of sections (server:, store:, zones:...)")
        }
        var found: [String] = []
        let sections = Set(
            knownKeys.flatMap { key in
                let parts = key.split(separator: ".")
                return (1..<parts.count).map { parts[0..<$0].joined(separator: ".") }
            })
        func walk(_ mapping: Node.Mapping, _ prefix: String) throws {
            for (k, v) in mapping {
                let key = prefix.isEmpty ? (k.string ?? "?") : prefix + "." + (k.string ?? "?")
                guard sections.contains(key) else {
                    found.append(key)
                    continue
                }
                switch v {
                case .mapping(let inner): try walk(inner, key)
                case .scalar(let s) where s.string.isEmpty || s.string == "~" || s.string == "null":
                    continue  // a section whose settings are all commented out
                default:
                    throw SettingsError(key: key, problem: "must be a section of settings (a YAML mapping), see config/crmd.yaml")
                }
            }
        }
        try walk(top, "")
        for key in found where !knownKeys.contains(key) {
            let suggestion = knownKeys.min { editDistance($0, key) < editDistance($1, key) }
            throw SettingsError(
                key: key, problem: "is not a crmd setting\(suggestion.map { "; did you mean '\($0)'?" } ?? "") (see config/crmd.yaml)")
        }
    }

    mutating func apply(_ r: ConfigReader) throws {
        func text(_ key: String) -> String? {
            guard let v = r.string(forKey: ConfigKey(key)) else { return nil }
            let t = v.trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? nil : t
        }
        func list(_ key: String) -> [String]? {
            if let a = r.stringArray(forKey: ConfigKey(key)) { return a.map { $0.trimmingCharacters(in: .whitespaces) } }
            return text(key).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let t = text(key) else { return nil }
            guard let v = Int(t), range.contains(v) else {
                throw SettingsError(key: key, problem: "'\(t)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return v
        }
        func duration(_ key: String) throws -> ISODuration? {
            guard let t = text(key) else { return nil }
            guard let d = ISODuration(t) else {
                throw SettingsError(key: key, problem: "'\(t)' is not an ISO 8601 duration like P1M, P2D or PT12H")
            }
            return d
        }
        /// A duration that counts a deadline ahead: at most P100Y (see ``InstantLimits``).
        func bounded(_ d: ISODuration, _ key: String) throws {
            if let problem = InstantLimits.problem(d) { throw SettingsError(key: key, problem: problem) }
        }
        /// A bounded duration that may be turned off: `.some(nil)` for `none`, `never` or `off`;
        /// nil when the key is not set.
        func optionalBounded(_ key: String) throws -> ISODuration?? {
            guard let v = text(key) else { return nil }
            if ["none", "never", "off"].contains(v.lowercased()) { return .some(nil) }
            guard let d = try duration(key) else { return nil }
            try bounded(d, key)
            return .some(d)
        }
        func clockSeconds(_ d: ISODuration, _ key: String) throws -> Int {
            guard d.years == 0, d.months == 0 else {
                throw SettingsError(key: key, problem: "'\(d)' must be a fixed length (days, hours, minutes, seconds), not months or years")
            }
            return ((d.weeks * 7 + d.days) * 24 + d.hours) * 3600 + d.minutes * 60 + d.seconds
        }

        if let m = text("server.socket_mode") {
            guard let v = UInt32(m, radix: 8), v <= 0o777 else {
                throw SettingsError(key: "server.socket_mode", problem: "'\(m)' is not an octal permission like 0660")
            }
            socketMode = v
        }
        if let v = try int("server.max_connections", 1...1_000_000) { maxConnections = v }
        if let v = try int("server.max_connections_per_uid", 1...1_000_000) { maxConnectionsPerUID = v }
        if let v = try int("server.admin_connections", 1...100_000) { adminConnections = v }
        if let d = try duration("server.idle_timeout") { idleTimeoutSeconds = try clockSeconds(d, "server.idle_timeout") }
        if let v = try int("protocol.max_line_bytes", 1024...(256 << 20)) { maxLineBytes = v }
        if let v = try int("protocol.max_batch_items", 1...10_000) { maxBatchItems = v }
        if let v = try int("protocol.max_batch_reply_bytes", 4096...(1 << 30)) { maxBatchReplyBytes = v }
        if let v = try int("protocol.max_buffered_bytes_per_uid", 65536...(1 << 40)) { maxBufferedBytesPerUID = v }
        if let v = try int("protocol.max_buffered_bytes", 65536...(1 << 40)) { maxBufferedBytes = v }
        if let v = text("store.synchronous") {
            guard ["OFF", "NORMAL", "FULL", "EXTRA"].contains(v.uppercased()) else {
                throw SettingsError(key: "store.synchronous", problem: "'\(v)' must be one of OFF, NORMAL, FULL, EXTRA")
            }
            synchronous = v.uppercased()
        }
        if let v = try int("store.group_commit_max", 1...100_000) { groupCommitMax = v }
        if let v = text("log.level") {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw SettingsError(
                    key: "log.level", problem: "'\(v)' must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = level
        }
        if let v = text("log.target") {
            guard let t = CRMLogging.Target(rawValue: v.lowercased()) else {
                throw SettingsError(
                    key: "log.target",
                    problem: "'\(v)' must be one of \(CRMLogging.Target.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logTarget = t
        }

        if let tz = text("zones.time_zone") {
            guard let zone = TimeZone(identifier: tz) else {
                throw SettingsError(key: "zones.time_zone", problem: "'\(tz)' is not a time zone name like Europe/Moscow")
            }
            domain.zones.timeZone = zone
        }
        if let d = try duration("zones.yellow_after") { domain.zones.yellowAfter = d }
        if let d = try duration("zones.red_after") { domain.zones.redAfter = d }
        if let d = try duration("zones.release_after") { domain.zones.releaseAfter = d }
        if let problem = ZoneRules(domain.zones).validate() {
            throw SettingsError(key: "zones", problem: problem)
        }

        for kind in InteractionKind.loggable {
            let key = "interactions.required.\(kind.rawValue)"
            if let fields = list(key) {
                for f in fields where !DomainSettings.requirableFields.contains(f) {
                    throw SettingsError(
                        key: key, problem: "'\(f)' is not a field; use \(DomainSettings.requirableFields.joined(separator: ", "))")
                }
                domain.requiredFields[kind] = fields
            }
        }
        if let kinds = list("interactions.resetting_kinds") {
            var set = Set<InteractionKind>()
            for k in kinds {
                guard let kind = InteractionKind(rawValue: k), kind != .deal else {
                    throw SettingsError(
                        key: "interactions.resetting_kinds",
                        problem: "'\(k)' is not a kind; use \(InteractionKind.loggable.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(kind)
            }
            domain.resettingKinds = set
        }
        if let d = try duration("interactions.max_future") {
            try bounded(d, "interactions.max_future")
            domain.maxFutureSeconds = try clockSeconds(d, "interactions.max_future")
        }
        if let cc = text("phones.default_country_code") {
            guard !cc.isEmpty, cc.count <= 3, cc.allSatisfy(\.isNumber) else {
                throw SettingsError(key: "phones.default_country_code", problem: "'\(cc)' must be 1 to 3 digits, like 7")
            }
            domain.defaultCountryCode = cc
        }
        if let v = try int("phones.national_length", 4...14) { domain.nationalNumberLength = v }
        if let marks = list("alerts.marks") {
            var out: [Int] = []
            for m in marks {
                guard let d = Int(m), d >= 1, d <= 366 else {
                    throw SettingsError(key: "alerts.marks", problem: "'\(m)' is not a number of days from 1 to 366")
                }
                out.append(d)
            }
            domain.reminders.marks = Array(Set(out)).sorted(by: >)
        }
        if let v = text("alerts.on_yellow") {
            guard let b = ["true": true, "yes": true, "false": false, "no": false][v.lowercased()] else {
                throw SettingsError(key: "alerts.on_yellow", problem: "'\(v)' must be true or false")
            }
            domain.reminders.onYellow = b
        }
        if let v = text("alerts.working_hours") {
            let parts = v.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
            func minutes(_ s: String) -> Int? {
                let hm = s.split(separator: ":")
                guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0...59).contains(m) else { return nil }
                return h * 60 + m
            }
            guard parts.count == 2, let a = minutes(parts[0]), let b = minutes(parts[1]), a < b, b <= 24 * 60 else {
                throw SettingsError(key: "alerts.working_hours", problem: "'\(v)' must be a range like 09:00-19:00")
            }
            domain.workStartMinute = a
            domain.workEndMinute = b
        }
        if let days = list("alerts.working_days") {
            let names = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
            var set = Set<Int>()
            for d in days {
                guard let n = names[d.lowercased().prefix(3).description] else {
                    throw SettingsError(key: "alerts.working_days", problem: "'\(d)' is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
                }
                set.insert(n)
            }
            domain.workDays = set
        }
        if let cmd = text("alerts.delivery_command") { deliveryCommand = cmd }
        if let l = text("language") {
            guard let lang = Lang(rawValue: l) else {
                throw SettingsError(key: "language", problem: "'\(l)' is not a language crmd speaks: ru or en")
            }
            domain.language = lang
        }
        if let d = try duration("alerts.delivery_timeout") {
            let seconds = try clockSeconds(d, "alerts.delivery_timeout")
            guard seconds >= 1 else { throw SettingsError(key: "alerts.delivery_timeout", problem: "'\(d)' must be at least PT1S") }
            deliveryTimeoutSeconds = seconds
        }
        if let d = try duration("exchange.cooldown") {
            try bounded(d, "exchange.cooldown")
            domain.exchangeCooldown = d
        }
        if let v = try int("exchange.max_claims_per_day", 0...100_000) { domain.maxClaimsPerDay = v }
        if let v = try int("exchange.max_clients_per_manager", 0...10_000_000) { domain.maxClientsPerManager = v }
        if let d = try duration("exchange.freeze_max") {
            try bounded(d, "exchange.freeze_max")
            domain.holds.freezeMax = d
        }
        if let v = try int("exchange.max_frozen_per_manager", 0...1_000_000) { domain.holds.maxFrozenPerManager = v }
        if let v = try int("exchange.max_locked_per_manager", 0...1_000_000) { domain.holds.maxLockedPerManager = v }
        if let within = try optionalBounded("exchange.exempt_won_within") { domain.holds.exemptWonWithin = within }
        if let v = text("exchange.claim_window_ends") { domain.claimWindowEndMinute = try claimWindowEnd(v) }
        if let v = text("requests.routing") {
            guard let rule = RoutingRule(rawValue: v) else {
                throw SettingsError(
                    key: "requests.routing", problem: "'\(v)' must be round_robin, least_loaded or competence")
            }
            domain.requests.routing = rule
        }
        if let d = try duration("requests.sla") {
            let seconds = try clockSeconds(d, "requests.sla")
            guard (60...30 * 86_400).contains(seconds) else {
                throw SettingsError(key: "requests.sla", problem: "'\(d)' must be from PT1M to P30D")
            }
            domain.requests.slaSeconds = seconds
        }
        if let addresses = list("requests.mail_addresses") {
            var normalized: [String] = []
            for a in addresses.prefix(100) {
                guard let e = Email.normalize(a) else {
                    throw SettingsError(key: "requests.mail_addresses", problem: "'\(a.prefix(60))' is not an e-mail address")
                }
                normalized.append(e)
            }
            domain.requests.mailAddresses = normalized
        }
        if let v = try int("subscriptions.max_queue_bytes", 4096...(1 << 30)) { subscriberQueueBytes = v }
        if let v = try int("subscriptions.max_per_connection", 1...10_000) { maxSubscriptionsPerConnection = v }
        if let v = try int("subscriptions.max_per_uid", 1...1_000_000) { maxSubscriptionsPerUID = v }
        if let d = try duration("subscriptions.stall_timeout") {
            subscriberStallSeconds = max(1, try clockSeconds(d, "subscriptions.stall_timeout"))
        }
        if let v = text("deals.currency") { domain.deals.currency = v.uppercased() }
        if let reasons = list("deals.lost_reasons") { domain.deals.lostReasons = reasons.filter { !$0.isEmpty } }
        if let grace = try optionalBounded("deals.overdue_head_grace") { domain.deals.overdueHeadGrace = grace }
        if let v = text("deals.exempt_from_stage") { domain.deals.exemptFromStage = ["none", "off"].contains(v.lowercased()) ? nil : v }
        if let v = try int("deals.max_attachment_bytes", 1...(1 << 30)) { domain.deals.maxAttachmentBytes = v }
        if let v = try int("deals.max_attachments_per_deal", 1...10_000) { domain.deals.maxAttachmentsPerDeal = v }
        if let v = try int("deals.max_attachment_bytes_per_user", 1...(1 << 50)) { domain.deals.maxAttachmentBytesPerUser = Int64(v) }
        if let v = try int("deals.max_open_per_client", 1...100_000) { domain.deals.maxOpenDealsPerClient = v }
        if let v = try int("invoices.max_per_deal", 1...10_000) { domain.deals.maxInvoicesPerDeal = v }
        if let v = try int("channels.margin_bp", 0...10_000) { domain.channelMarginBP = v }
        if let v = try int("channels.max_leads_per_minute", 0...1_000_000) { domain.maxLeadsPerMinute = v }
        if let d = try duration("calls.callback_within") {
            let seconds = try clockSeconds(d, "calls.callback_within")
            guard (60...7 * 86_400).contains(seconds) else {
                throw SettingsError(key: "calls.callback_within", problem: "'\(d)' must be from PT1M to P7D")
            }
            domain.callbackWithinMinutes = seconds / 60
        }
        if let d = try duration("reports.cold_call_window") {
            let seconds = try clockSeconds(d, "reports.cold_call_window")
            guard (3600...366 * 86_400).contains(seconds) else {
                throw SettingsError(key: "reports.cold_call_window", problem: "'\(d)' must be from PT1H to P366D")
            }
            coldCallWindowSeconds = seconds
        }
        try applyCommission(basis: text("commission.basis"), defaultBP: text("commission.default_bp"))
        try applyClasses(text)
        if let roles = list("rights.personal_data_roles") {
            var set = Set<Role>()
            for name in roles {
                guard let role = Role(rawValue: name) else {
                    throw SettingsError(
                        key: "rights.personal_data_roles",
                        problem: "'\(name)' is not a role; use \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(role)
            }
            domain.personalDataRoles = set
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    var prev = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var cur = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(1, b.count) where !b.isEmpty {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}

/// `exchange.claim_window_ends`: `off`, or the local time (`HH:MM`) the fair claim window ends on
/// the next working day after a release. Returns minutes after midnight, `nil` for off.
func claimWindowEnd(_ v: String) throws -> Int? {
    if ["off", "false", "no", ""].contains(v.lowercased()) { return nil }
    let hm = v.split(separator: ":")
    guard hm.count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...23).contains(h), (0...59).contains(m) else {
        throw SettingsError(key: "exchange.claim_window_ends", problem: "'\(v)' must be off or a time of day like 10:00")
    }
    return h * 60 + m
}
