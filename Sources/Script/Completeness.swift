/// Whether typed input is a whole program yet: the REPL asks it after each line, a script whose
/// input ends early reports `Opening.unfinished`, and Jupyter's is_complete request has the
/// same three answers (complete, incomplete, invalid).
public enum Completeness: Equatable, Sendable {
    /// Nothing is left open: run it (running reports any error the parser finds in it).
    case complete
    /// A bracket or block is still open: more lines are needed.
    case incomplete(Opening)
    /// No further line can make it right (an unclosed string, a bracket closing the wrong one).
    case invalid(ScriptError)
}

/// An opening bracket that has not been closed.
public struct Opening: Equatable, Sendable {
    public var bracket: Symbol
    public var location: Location

    public var description: String {
        "the \(bracket == .leftBrace ? "block" : "'\(bracket.rawValue)'") opened at line \(location.line), column \(location.column)"
    }

    /// The error when the input ends here: it names where the open construct began.
    public var unfinished: ScriptError {
        ScriptError(.syntax, "the input ended inside \(description)", at: location,
                    hint: "close it with '\(bracket.closing?.rawValue ?? "")'")
    }
}

/// Lines typed one at a time, until they form a complete program. Each line is read once,
/// when it is added, so a block of n lines costs time linear in n.
public struct PendingInput {
    public private(set) var lines: [String] = []
    /// The brackets open so far, innermost last.
    var open: [Opening] = []
    /// The line number of the first line (locations in errors and openings count from it).
    public let firstLine: Int

    public init(firstLine: Int = 1) { self.firstLine = firstLine }

    public var isEmpty: Bool { lines.isEmpty }
    /// The innermost bracket still open after the last line, if any.
    public var opening: Opening? { open.last }
    public var source: String { lines.joined(separator: "\n") }

    /// Adds a line and says whether the input is complete now.
    public mutating func append(_ line: String) -> Completeness {
        lines.append(line)
        let tokens: [Token]
        do {
            tokens = try tokenize(line, start: Location(line: firstLine + lines.count - 1, column: 1))
        } catch let error as ScriptError {
            return .invalid(error)
        } catch {
            return .invalid(ScriptError(.syntax, "\(error)"))
        }
        for token in tokens {
            guard case .symbol(let symbol) = token.kind else { continue }
            if symbol.closing != nil {
                open.append(Opening(bracket: symbol, location: token.location))
            } else if symbol.isClosingBracket {
                guard open.last?.bracket.closing == symbol else { return .invalid(mismatch(symbol, at: token.location)) }
                open.removeLast()
            }
        }
        return open.last.map { .incomplete($0) } ?? .complete
    }

    /// The parser's own error for the program so far (a closing bracket that does not fit).
    func mismatch(_ symbol: Symbol, at location: Location) -> ScriptError {
        do {
            _ = try Parser.parse(source, start: Location(line: firstLine, column: 1))
        } catch let error as ScriptError {
            return error
        } catch {}
        return ScriptError(.syntax, "'\(symbol.rawValue)' closes nothing" + (open.last.map { "; \($0.description) is still open" } ?? ""), at: location)
    }
}

extension Parser {
    /// Whether `source` is a whole program, or still inside an open bracket or block, or
    /// wrong in a way that no further line can repair.
    public static func completeness(of source: String, firstLine: Int = 1) -> Completeness {
        var input = PendingInput(firstLine: firstLine)
        var answer = Completeness.complete
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            answer = input.append(String(line))
            if case .invalid = answer { return answer }
        }
        return answer
    }
}
