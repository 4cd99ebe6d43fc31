import Synchronization

/// Live figures for `server.status`.
final class ServerStats: Sendable {
    private let connections = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)

    func connectionOpened() -> Int {
        _ = accepted.wrappingAdd(1, ordering: .relaxed)
        return connections.wrappingAdd(1, ordering: .relaxed).newValue
    }
    func connectionClosed() { connections.wrappingSubtract(1, ordering: .relaxed) }
    func request() { requests.wrappingAdd(1, ordering: .relaxed) }
    var openConnections: Int { connections.load(ordering: .relaxed) }
    var totalAccepted: Int { accepted.load(ordering: .relaxed) }
    var totalRequests: Int { requests.load(ordering: .relaxed) }
}
