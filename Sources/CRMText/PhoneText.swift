/// A stored phone's number (`+74951234567`, without its extension) as people read it: a Russian
/// number grouped `+7 495 123-45-67`, any other as stored. crmctl's tables and the messages crmd
/// sends to clients both write phones this way.
public func groupedPhone(_ main: String) -> String {
    let digits = main.dropFirst()
    guard main.hasPrefix("+7"), digits.count == 11, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return main }
    let d = Array(digits)
    func g(_ r: Range<Int>) -> String { String(d[r]) }
    return "+7 \(g(1..<4)) \(g(4..<7))-\(g(7..<9))-\(g(9..<11))"
}
