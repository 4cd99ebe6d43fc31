import Testing

@testable import CRMServer

@Suite("Event topics fit the subscription filter's bits")
struct EventTopicBitsTests {
    @Test("every topic has its own bit, and a filter of all topics holds each")
    func everyTopicHasABit() {
        #expect(eventTopics.count <= TopicBits.bitWidth, "\(eventTopics.count) topics for \(TopicBits.bitWidth) bits")
        #expect(Set(eventTopics).count == eventTopics.count, "a topic is listed twice")
        let bits = eventTopics.map(EventKey.bit)
        #expect(!bits.contains(0))
        #expect(Set(bits).count == bits.count)
        #expect(EventKey.mask(Set(eventTopics)) == bits.reduce(0, |))
        #expect(EventKey.bit("no.such.topic") == 0)
    }
}
