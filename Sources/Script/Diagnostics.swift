import Engine

/// A position in source text: 1-based line and column.
public struct Location: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { (self.line, self.column) = (line, column) }
    public var description: String { "\(line):\(column)" }
}

/// An error in a program: where it is, what went wrong, and a hint where one is obvious.
/// Code as a front end received it: its text, the file it came from, and the line of that
/// file it starts on (a lesson's cell, a statement of piped input, a notebook cell).
public struct SourceText: Equatable, Sendable {
    public var text: String
    public var file: String
    public var firstLine: Int

    public init(_ text: String, file: String = "<input>", firstLine: Int = 1) {
        (self.text, self.file, self.firstLine) = (text, file, firstLine)
    }
}

public struct ScriptError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable { case syntax, runtime, check, interrupted }
    public var kind: Kind
    public var message: String
    /// Line and column in the code being run, or in `source` when that is set.
    public var location: Location?
    public var hint: String?
    /// The function whose body `location` is in, and the code that defined it: errors inside a
    /// function point into its definition, which may be earlier code than the code being run.
    public var function: (name: String, source: SourceText)?
    /// Then the call, in the code being run, that led into that function.
    public var callSite: Location?
    /// The name, when the error is that a name is not defined: a front end that knows code
    /// not yet run (a lesson's skipped cells) can say where it would be defined.
    public var undefinedName: String?

    public static func == (a: ScriptError, b: ScriptError) -> Bool {
        (a.kind, a.message, a.location, a.hint, a.callSite) == (b.kind, b.message, b.location, b.hint, b.callSite)
            && a.function?.name == b.function?.name && a.function?.source == b.function?.source
    }

    public init(_ kind: Kind, _ message: String, at location: Location? = nil, hint: String? = nil) {
        (self.kind, self.message, self.location, self.hint) = (kind, message, location, hint)
    }

    public var description: String { message + (hint.map { " (\($0))" } ?? "") }

    /// The error in `code` (the code that was run; locations count from its first line), or in
    /// the function's own code when it arose inside a function that other code defined, with
    /// the call that led there as a note.
    public func rendered(in code: SourceText, color: Bool = false) -> String {
        let origin = function?.source ?? code
        var error = self
        error.location = location.map { Location(line: $0.line + origin.firstLine - 1, column: $0.column) }
        var out = error.rendered(source: origin.text, file: origin.file, firstLine: origin.firstLine, color: color)
        if let function, let callSite {
            out += "\n  note: inside '\(function.name)', reached from the call at \(printable(code.file)):\(callSite.line + code.firstLine - 1):\(callSite.column)"
        }
        return out
    }

    /// The error as swift-syntax prints diagnostics: `file:line:column`, the source line with
    /// line numbers in a `│` gutter and a line of context before it, and a caret under the column.
    /// `source` starts at line `firstLine` of the file (a lesson's cell, a statement of piped input).
    public func rendered(source: String, file: String = "<input>", firstLine: Int = 1, color: Bool = false) -> String {
        // A name or string inside the message (a file's, a dictionary key) must not drive the terminal.
        let (message, hint, file) = (printable(message, keepingNewlines: true), hint.map { printable($0, keepingNewlines: true) }, printable(file))
        let label = kind == .check ? "check failed" : (kind == .interrupted ? "interrupted" : "error")
        let (red, bold, dim, reset) = color ? ("\u{1B}[31m", "\u{1B}[1m", "\u{1B}[2m", "\u{1B}[0m") : ("", "", "", "")
        var out = "\(bold)\(red)\(label)\(reset)\(bold): \(message)\(reset)"
        guard let location else { return out + (hint.map { "\n  hint: \($0)" } ?? "") }
        out += "\n\(dim)--> \(file):\(location.line):\(location.column)\(reset)"
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let first = max(firstLine, location.line - 1), width = String(location.line).count
        for number in first...max(first, location.line) where number - firstLine < lines.count {
            out += "\n\(dim)\(String(number).leftPadded(width)) │\(reset) \(lines[number - firstLine])"
        }
        out += "\n\(String(repeating: " ", count: width)) \(dim)│\(reset) \(String(repeating: " ", count: max(0, location.column - 1)))\(red)^\(reset)"
        if let hint { out += "\n\(String(repeating: " ", count: width)) \(dim)│\(reset) hint: \(hint)" }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// The closest of `candidates` to `name` by edit distance, if it is close enough to be a typo.
public func suggestion(for name: String, among candidates: [String]) -> String? {
    // Edit distance where swapping two adjacent letters (the commonest typo) counts as one edit.
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
    let a = Array(name.lowercased())
    let scored = candidates.map { ($0, distance(a, Array($0.lowercased()))) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, (name.count + 1) / 3), best.0 != name else { return nil }
    return best.0
}
