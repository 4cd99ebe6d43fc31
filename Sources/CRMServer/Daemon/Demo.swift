import CRMCore
import CRMStore
import Foundation

/// `crmd --demo`: a sample sales team and clients whose clocks started at staggered times, on a
/// clock that runs a month per real minute, so a newcomer sees zones change live.
enum Demo {
    static let factor = 43_200.0

    static func seed(_ store: Store, settings: Settings, now: Date) throws {
        try store.writeNow { tx in
            guard try tx.clientCount() == 0, try tx.allUsers().isEmpty else { return }
            _ = try tx.insertUser(login: "petrova", name: "Anna Petrova (head)", role: .head, uid: nil, now: now)
            var managers: [User] = []
            for (login, name) in [("ivanov", "Ivan Ivanov"), ("sidorov", "Petr Sidorov"), ("smirnova", "Olga Smirnova")] {
                managers.append(try tx.insertUser(login: login, name: name, role: .manager, uid: nil, now: now))
            }
            let rules = ZoneRules(settings.domain.zones)
            let names = [
                "Romashka LLC", "Vektor", "Severstal Trade", "Alfa Build", "Mostorg", "Uralplast", "Baltic Fish", "Tekhnopark",
                "Sibir Oil Service", "Volga Logistics", "Kama Agro", "Don Textile",
            ]
            for (i, name) in names.enumerated() {
                let owner = managers[i % managers.count]
                // Clock starts from 0 to ~6 months ago: every zone is present, and some clients
                // cross a threshold within the first minute of the demo.
                let daysAgo = Double([2, 25, 29, 40, 95, 140, 148, 152, 170, 178, 181, 10][i])
                let start = now.addingTimeInterval(-daysAgo * 86_400)
                var c = Client(
                    id: 0, name: name, kind: .company, phones: ["+7495\(String(format: "%07d", 1_000_000 + i))"], emails: [],
                    ownerID: owner.id, status: .assigned, segment: i % 2 == 0 ? "wholesale" : "retail", source: "demo", abc: nil,
                    fieldsJSON: "{}", lastInteractionAt: nil, assignedAt: start, releasedAt: nil, releasedFrom: nil, releaseReason: nil,
                    createdAt: start, updatedAt: now)
                let schedule = rules.schedule(from: start)
                c.schedule = schedule
                c.appliedZone = .green
                c.alertStage = 0
                c.nextDueAt = rules.nextDue(schedule, .fresh, policy: settings.domain.reminders)
                _ = try tx.insertClient(c, schedule: schedule)
            }
        }
    }
}
