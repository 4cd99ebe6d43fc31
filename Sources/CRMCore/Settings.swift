public import CRMText
public import Foundation

/// The domain settings the rules depend on (a part of crmd's configuration).
public struct DomainSettings: Sendable {
    public var zones: ZoneThresholds
    /// Fields each interaction kind must carry (RULES §3, seed 001).
    public var requiredFields: [InteractionKind: [String]]
    /// Kinds that reset the zone clock when the owner logs them.
    public var resettingKinds: Set<InteractionKind>
    /// How far in the future `occurred_at` may be (default PT5M).
    public var maxFutureSeconds: Int
    /// Country code for national phone numbers (default "7").
    public var defaultCountryCode: String
    /// Digits in a national number (default 10).
    public var nationalNumberLength: Int
    /// Roles that may edit personal data (managers only on their own clients).
    public var personalDataRoles: Set<Role>
    /// Days-to-release reminder marks.
    public var reminders = ReminderPolicy()
    /// Working hours for reminders: minutes after midnight and ISO weekdays.
    public var workStartMinute = 9 * 60
    public var workEndMinute = 19 * 60
    public var workDays: Set<Int> = [1, 2, 3, 4, 5]
    /// How long the manager a client left may not claim it back (default P6M).
    public var exchangeCooldown = ISODuration(months: 6)
    /// Claims per manager per day (0 = no limit).
    public var maxClaimsPerDay = 0
    /// Clients one manager may own (0 = no limit).
    public var maxClientsPerManager = 0
    /// Pipelines, lost reasons, currency and the deal cadence's settings.
    public var deals = DealSettings()
    /// The commission basis and rates (`commission.*`).
    public var commission = CommissionSettings()
    /// Gross margin of revenue in basis points for report.channels (`channels.margin_bp`; a
    /// channel's own `margin_bp` overrides it). 10000: revenue is gross profit, as in seed 003.
    public var channelMarginBP = 10_000
    /// Leads one account's `call.incoming` may open in a minute (`channels.max_leads_per_minute`;
    /// 0: no limit); past it the call is recorded without opening a lead.
    public var maxLeadsPerMinute = 300
    /// Working minutes within which a missed call from a client is to be called back
    /// (`calls.callback_within`, default PT30M): the due instant of the call-back task.
    public var callbackWithinMinutes = 30
    /// The ABC/XYZ classes' window, thresholds and schedule (`classes.*`).
    public var classes = ClassSettings()
    /// Freezes, locks and the won-deal exemption (`exchange.freeze_max` and the rest).
    public var holds = HoldSettings()
    /// The non-working days reminders move off (`calendar.files`; nil: the working days alone).
    public var holidays: WorkCalendar? = nil
    /// Whether releases move off those days too (`calendar.move_releases`).
    public var moveReleasesOffHolidays = false
    /// Whether thresholds of whole days count working days on that calendar (`calendar.working_days`).
    public var workingDayThresholds = false
    /// Zone thresholds by segment and ABC class (`zones.by_segment`, `zones.by_class`); their
    /// base is `zones`.
    public var classThresholds = ThresholdRules(base: .default)
    /// The language of messages and alerts for a user who has set none and whose client names
    /// none (`language`, default ru: the department speaks Russian).
    public var language: Lang = .ru
    /// When the fair claim window of a released client ends: minutes after local midnight on the
    /// next working day (`exchange.claim_window_ends`; `nil`: off, claims at once).
    public var claimWindowEndMinute: Int? = 10 * 60
    /// Inbound requests: routing rule, SLA and department addresses (`requests.*`).
    public var requests = RequestSettings()
    /// Telling the client: the stages that do, the department's phone, the templates (`notify.*`).
    public var notify = NotifySettings()

    /// The working hours in the configured time zone.
    public var workingHours: WorkingHours {
        WorkingHours(startMinute: workStartMinute, endMinute: workEndMinute, days: workDays, timeZone: zones.timeZone)
    }

    public init(
        zones: ZoneThresholds = .default,
        requiredFields: [InteractionKind: [String]] = DomainSettings.defaultRequiredFields,
        resettingKinds: Set<InteractionKind> = [.call, .meeting, .email, .message],
        maxFutureSeconds: Int = 300,
        defaultCountryCode: String = "7",
        nationalNumberLength: Int = 10,
        personalDataRoles: Set<Role> = [.admin, .head, .operator, .manager]
    ) {
        self.zones = zones
        self.requiredFields = requiredFields
        self.resettingKinds = resettingKinds
        self.maxFutureSeconds = maxFutureSeconds
        self.defaultCountryCode = defaultCountryCode
        self.nationalNumberLength = nationalNumberLength
        self.personalDataRoles = personalDataRoles
    }

    /// Meeting: time, contact, topic, result. Call: result. Others: nothing more.
    public static let defaultRequiredFields: [InteractionKind: [String]] = [
        .meeting: ["occurred_at", "contact_id", "topic", "result"],
        .call: ["result"],
    ]

    /// Fields an interaction may be required to carry.
    public static let requirableFields = ["occurred_at", "contact_id", "topic", "result", "note", "direction"]
}

/// A draft interaction before it is stored, for validation.
public struct InteractionDraft: Sendable {
    public var kind: InteractionKind
    public var occurredAt: Date?
    public var contactID: Int64?
    public var topic: String?
    public var result: String?
    public var note: String?
    public var direction: String?

    public init(
        kind: InteractionKind, occurredAt: Date?, contactID: Int64?, topic: String?, result: String?, note: String?, direction: String?
    ) {
        self.kind = kind
        self.occurredAt = occurredAt
        self.contactID = contactID
        self.topic = topic
        self.result = result
        self.note = note
        self.direction = direction
    }
}

/// Interaction rules: the minimal data set and the time window.
public enum InteractionRules {
    /// Every problem with a draft, at `now`; empty when it may be stored.
    public static func problems(_ d: InteractionDraft, now: Date, settings: DomainSettings) -> [(String, String)] {
        var out: [(String, String)] = []
        func blank(_ s: String?) -> Bool { (s?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "").isEmpty }
        for field in settings.requiredFields[d.kind] ?? [] {
            let missing: Bool
            switch field {
            case "occurred_at": missing = d.occurredAt == nil
            case "contact_id": missing = d.contactID == nil
            case "topic": missing = blank(d.topic)
            case "result": missing = blank(d.result)
            case "note": missing = blank(d.note)
            case "direction": missing = d.direction == nil
            default: missing = false
            }
            if missing { out.append((field, "is required for a \(d.kind.rawValue)")) }
        }
        if let at = d.occurredAt, at.timeIntervalSince(now) > Double(settings.maxFutureSeconds) {
            let limit = settings.maxFutureSeconds
            let words =
                limit % 60 == 0 ? (limit == 60 ? "1 minute" : "\(limit / 60) minutes") : (limit == 1 ? "1 second" : "\(limit) seconds")
            out.append(("occurred_at", "is more than \(words) in the future"))
        }
        return out
    }
}
