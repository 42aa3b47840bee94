/// The tokens of the lesson language.
public enum TokenKind: Equatable, Sendable {
    case number(Double)
    /// Text pieces and `\(…)` interpolations (their source and where it starts).
    case string([StringPiece])
    case identifier(String)
    case keyword(Keyword)
    case symbol(Symbol)
    case newline
    case end
}

public enum StringPiece: Equatable, Sendable {
    case text(String)
    case code(String, Location)
}

public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    public var location: Location
}

public enum Keyword: String, CaseIterable, Sendable {
    case `let`, `var`, `func`, `return`, `if`, `else`, `for`, `in`, `while`, `break`, `continue`, `true`, `false`, `nil`
}

/// Operators and punctuation, spelled as in the source.
public enum Symbol: String, CaseIterable, Sendable {
    case closedRange = "...", halfOpenRange = "..<", power = "**"
    case equal = "==", notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", and = "&&", or = "||"
    case addAssign = "+=", subtractAssign = "-=", multiplyAssign = "*=", divideAssign = "/=", arrow = "->"
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%", at = "@", less = "<", greater = ">", bang = "!"
    case assign = "="
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]", leftBrace = "{", rightBrace = "}"
    case comma = ",", colon = ":", dot = ".", semicolon = ";", question = "?"

    /// By first character, longest first (so that `...` wins over `.` and `**` over `*`): the
    /// lexer tries only the few symbols that can start at a character, not all of them.
    static let startingWith = Dictionary(grouping: allCases.sorted { $0.rawValue.count > $1.rawValue.count }) { $0.rawValue.first ?? " " }

    /// The bracket that closes this one, for `(`, `[` and `{`.
    public var closing: Symbol? {
        switch self {
        case .leftParen: return .rightParen
        case .leftBracket: return .rightBracket
        case .leftBrace: return .rightBrace
        default: return nil
        }
    }

    var isClosingBracket: Bool { self == .rightParen || self == .rightBracket || self == .rightBrace }
}

/// How deeply strings may nest inside `\(…)` of other strings.
let maxInterpolationDepth = 32

/// Splits source into tokens. Newlines separate statements except inside (…) and […].
public func tokenize(_ source: String, start: Location = Location(line: 1, column: 1)) throws -> [Token] {
    var tokens: [Token] = []
    let chars = Array(source)
    var i = 0
    var line = start.line, column = start.column
    var depth = 0
    func advance(_ n: Int = 1) {
        for _ in 0..<n where i < chars.count {
            if chars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
            i += 1
        }
    }
    func peek(_ offset: Int = 0) -> Character? { i + offset < chars.count ? chars[i + offset] : nil }

    while i < chars.count {
        let c = chars[i]
        let here = Location(line: line, column: column)
        if c == "\n" {
            if depth == 0 && tokens.last?.kind != .newline { tokens.append(Token(kind: .newline, location: here)) }
            advance()
        } else if c == " " || c == "\t" || c == "\r" {
            advance()
        } else if c == "/" && peek(1) == "/" {
            while let p = peek(), p != "\n" { _ = p; advance() }
        } else if c.isASCIIDigit || (c == "." && (peek(1)?.isASCIIDigit ?? false) && !(tokens.last.map(isOperand) ?? false)) {
            var text = ""
            while let p = peek(), p.isASCIIDigit || p == "_" || (p == "." && (peek(1)?.isASCIIDigit ?? false) && !text.contains(".") && !text.contains("e")) {
                if p != "_" { text.append(p) }
                advance()
            }
            if let p = peek(), p == "e" || p == "E", let next = peek(1), next.isASCIIDigit || ((next == "-" || next == "+") && (peek(2)?.isASCIIDigit ?? false)) {
                text.append("e"); advance()
                if let sign = peek(), sign == "-" || sign == "+" { text.append(sign); advance() }
                while let p = peek(), p.isASCIIDigit { text.append(p); advance() }
            }
            guard let value = Double(text) else { throw ScriptError(.syntax, "'\(text)' is not a number", at: here) }
            tokens.append(Token(kind: .number(value), location: here))
        } else if c.isLetter || c == "_" {
            var text = ""
            while let p = peek(), p.isLetter || p.isNumber || p == "_" { text.append(p); advance() }
            tokens.append(Token(kind: Keyword(rawValue: text).map { .keyword($0) } ?? .identifier(text), location: here))
        } else if c == "\"" {
            advance()
            var pieces: [StringPiece] = []
            var text = ""
            while true {
                guard let p = peek(), p != "\n" else {
                    throw ScriptError(.syntax, "this string has no closing quote", at: here, hint: "strings end with \" on the same line")
                }
                if p == "\"" { advance(); break }
                if p == "\\" {
                    guard let next = peek(1), next != "\n" else {
                        throw ScriptError(.syntax, "this string has no closing quote", at: here, hint: "strings end with \" on the same line")
                    }
                    if next == "(" {
                        if !text.isEmpty { pieces.append(.text(text)); text = "" }
                        advance(2)
                        let codeStart = Location(line: line, column: column)
                        var level = 1
                        // The paren levels at which the `\(`s inside this one close: how deeply
                        // they nest. Each level's code is read again when it is parsed, so depth
                        // costs time as its square; a limit keeps that small.
                        var inner: [Int] = []
                        var code = ""
                        while let q = peek(), q != "\n" {
                            if q == "\\" && peek(1) == "(" {
                                inner.append(level)
                                guard inner.count < maxInterpolationDepth else {
                                    throw ScriptError(.syntax, "strings are nested inside \\( … ) more than \(maxInterpolationDepth) deep",
                                                      at: Location(line: line, column: column), hint: "build the inner strings first, with let")
                                }
                            }
                            if q == "(" { level += 1 }
                            if q == ")" {
                                level -= 1
                                if level == 0 { break }
                                if inner.last == level { inner.removeLast() }
                            }
                            code.append(q); advance()
                        }
                        guard peek() == ")" else { throw ScriptError(.syntax, "\\( in a string needs a closing )", at: codeStart) }
                        advance()
                        pieces.append(.code(code, codeStart))
                        continue
                    }
                    let escapes: [Character: Character] = ["n": "\n", "t": "\t", "\\": "\\", "\"": "\"", "0": "\0"]
                    guard let escaped = escapes[next] else {
                        throw ScriptError(.syntax, "unknown escape \\\(next) in a string", at: Location(line: line, column: column))
                    }
                    text.append(escaped); advance(2)
                    continue
                }
                text.append(p); advance()
            }
            if !text.isEmpty || pieces.isEmpty { pieces.append(.text(text)) }
            tokens.append(Token(kind: .string(pieces), location: here))
        } else if let symbol = Symbol.startingWith[c]?.first(where: { s in s.rawValue.dropFirst().enumerated().allSatisfy { peek($0.offset + 1) == $0.element } }) {
            if symbol == .leftParen || symbol == .leftBracket { depth += 1 }
            if symbol == .rightParen || symbol == .rightBracket { depth = max(0, depth - 1) }
            tokens.append(Token(kind: .symbol(symbol), location: here))
            advance(symbol.rawValue.count)
        } else {
            throw ScriptError(.syntax, "unexpected character '\(c)'", at: here)
        }
    }
    tokens.append(Token(kind: .end, location: Location(line: line, column: column)))
    return tokens
}

extension Character {
    /// 0–9 only: `Character.isNumber` also holds for "½" and "٣", which `Double(_:)` cannot read.
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Whether a token ends an operand, so that a following `.5` is a member access, not a number.
private func isOperand(_ token: Token) -> Bool {
    switch token.kind {
    case .identifier, .number, .string: return true
    case .symbol(let s): return s == .rightParen || s == .rightBracket
    default: return false
    }
}
