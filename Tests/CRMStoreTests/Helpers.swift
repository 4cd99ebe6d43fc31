import CRMCore
import CRMStore
import Foundation
import Testing

/// A temporary folder holding one database file, removed when the test ends.
final class TempDB: Sendable {
    let dir: URL
    let path: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        path = dir.appendingPathComponent("crm.sqlite").path
    }

    func open(_ options: StoreOptions = StoreOptions()) throws -> Store { try Store(path: path, options: options) }

    /// Removes the folder and everything in it.
    func remove() { try? FileManager.default.removeItem(at: dir) }

    deinit { remove() }
}

/// Runs `body` with a fresh store on a temporary file, then closes the store and removes the file.
func withStore<T>(_ body: (Store, TempDB) async throws -> T) async throws -> T {
    let tmp = try TempDB()
    defer { tmp.remove() }
    let store = try tmp.open()
    do {
        let result = try await body(store, tmp)
        try store.close()
        return result
    } catch {
        try? store.close()
        throw error
    }
}

/// A fixed instant with whole seconds (the store keeps milliseconds).
let t0 = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21T14:13:20Z

let zoneRules = ZoneRules(.default)

/// A client value ready to insert (id is assigned by the store).
func newClient(
    _ name: String, owner: Int64? = nil, status: ClientStatus? = nil, phones: [String] = [], emails: [String] = [],
    assignedAt: Date? = nil, segment: String? = nil, releasedFrom: Int64? = nil, at: Date = t0
) -> Client {
    let st = status ?? (owner == nil ? .unassigned : .assigned)
    return Client(
        id: 0, name: name, kind: .company, phones: phones, emails: emails, ownerID: owner, status: st, segment: segment,
        source: "web", abc: nil, fieldsJSON: "{}", lastInteractionAt: nil, assignedAt: st == .assigned ? (assignedAt ?? at) : nil,
        releasedAt: st == .exchange ? at : nil, releasedFrom: releasedFrom, releaseReason: st == .exchange ? "no contact" : nil,
        createdAt: at, updatedAt: at)
}

extension Tx {
    /// Inserts a client with the zone schedule its R gives (or none when not assigned).
    func insert(_ c: Client) throws -> Client {
        try insertClient(c, schedule: c.clockStart.map { zoneRules.schedule(from: $0) })
    }
}

/// An error a test write throws on purpose.
struct Deliberate: Error, Equatable {
    var tag: String
}

/// A value shared between a test and write closures, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }

    var current: Value { withLock { $0 } }
}

let builtinAdmin = Actor.builtinAdmin(uid: 0, login: "root")
