import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// Reminders written in the recipient's language with the day and time in `zones.time_zone`.
@Suite("Alert texts in the reader's language")
struct AlertLanguageTests {
    typealias T = SalesTeam

    @Test("a task's reminder names its local due time: in Russian by default, in English for who chose it")
    func taskDueInBothLanguages() async throws {
        let s = try await SalesTeam { $0.domain.language = .ru }
        _ = try await s.ok("user.update", ["login": "petrov", "lang": "en"])
        _ = try await s.ok("task.create", ["title": "позвонить", "due_at": "2026-01-12T10:00:00Z"], uid: T.ivanov)
        _ = try await s.ok("task.create", ["title": "call back", "due_at": "2026-01-12T10:00:00Z"], uid: T.petrov)
        try await s.at("2026-01-12T10:00:00Z")
        let ru = try await s.alerts(T.ivanov).first { $0["kind"] == "task_due" }?["message"]?.stringValue
        let en = try await s.alerts(T.petrov).first { $0["kind"] == "task_due" }?["message"]?.stringValue
        // 10:00 UTC is 13:00 in Moscow.
        #expect(ru == "Срок задачи «позвонить» (id 1): 12.01.2026 13:00.", "\(ru ?? "")")
        #expect(en == "Task 'call back' (id 2) is due: 12.01.2026 13:00.", "\(en ?? "")")
    }
}
