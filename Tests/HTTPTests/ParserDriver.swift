@testable import CredLedgerHTTP

/// Feeds bytes to a parser in the given pieces, as the server does: parse until no event, keep the unparsed rest,
/// stop at the first error. Returns every event in order.
enum ParserDriver {
    static func events(_ input: [UInt8], cuts: [Int] = [], limits: HTTPParser.Limits = .init(),
                       maxBuffered: inout Int) -> [HTTPParser.Event] {
        var parser = HTTPParser(limits: limits)
        var events: [HTTPParser.Event] = []
        var pending: [UInt8] = []
        var start = 0
        for end in (cuts.filter { $0 > 0 && $0 < input.count }.sorted() + [input.count]) where end >= start {
            pending += input[start..<end]
            start = end
            while true {
                let step = parser.parse(pending)
                pending.removeFirst(step.consumed)
                maxBuffered = max(maxBuffered, parser.bufferedBytes)
                guard let event = step.event else { break }
                events.append(event)
                if case .error = event { return events }
            }
        }
        return events
    }

    static func events(_ input: [UInt8], cuts: [Int] = [], limits: HTTPParser.Limits = .init()) -> [HTTPParser.Event] {
        var ignored = 0
        return events(input, cuts: cuts, limits: limits, maxBuffered: &ignored)
    }

    static func events(_ text: String, cuts: [Int] = [], limits: HTTPParser.Limits = .init()) -> [HTTPParser.Event] {
        events(Array(text.utf8), cuts: cuts, limits: limits)
    }

    /// The status of the first error, or nil when the input parsed without one.
    static func errorStatus(_ text: String, limits: HTTPParser.Limits = .init()) -> Int? {
        errorStatus(Array(text.utf8), limits: limits)
    }

    static func errorStatus(_ bytes: [UInt8], limits: HTTPParser.Limits = .init()) -> Int? {
        for case .error(let error) in events(bytes, limits: limits) { return error.status.code }
        return nil
    }
}
