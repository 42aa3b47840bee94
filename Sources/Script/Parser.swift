/// A recursive-descent parser, one method per rule of the grammar:
///
///     program        → statement* EOF
///     statement      → declaration | function | if | for | while | return | "break" | "continue"
///                    | assignment | expression
///     declaration    → ("let" | "var") IDENT (":" type)? "=" expression
///     function       → "func" IDENT "(" parameters? ")" ("->" type)? block
///     parameter      → IDENT? IDENT (":" type)? ("=" expression)?     (first IDENT: the label, "_" for none)
///     if             → "if" expression block ("else" (if | block))?
///     for            → "for" IDENT "in" expression block
///     while          → "while" expression block
///     return         → "return" expression?
///     assignment     → postfix ("=" | "+=" | "-=" | "*=" | "/=") expression
///     block          → "{" statement* "}"
///     expression     → or ("?" expression ":" expression)?
///     or             → and ("||" and)*
///     and            → comparison ("&&" comparison)*
///     comparison     → range (("==" | "!=" | "<" | "<=" | ">" | ">=") range)?
///     range          → additive (("..." | "..<") additive)?
///     additive       → multiplicative (("+" | "-") multiplicative)*
///     multiplicative → unary (("*" | "/" | "%" | "@") unary)*
///     unary          → ("-" | "!") unary | power
///     power          → postfix ("**" unary)?
///     postfix        → primary ("(" arguments? ")" | "." IDENT | "[" arguments "]")*
///     argument       → (IDENT ":")? expression
///     primary        → NUMBER | STRING | "true" | "false" | "nil" | IDENT | "(" expression ")"
///                    | "[" (expression ("," expression)*)? "]"
///
/// Types after `:` and `->` are accepted, as Swift readers expect them, and not checked.
public struct Parser {
    var tokens: [Token]
    var position = 0

    public init(_ source: String, start: Location = Location(line: 1, column: 1)) throws {
        tokens = try tokenize(source, start: start)
    }

    public static func parse(_ source: String) throws -> [Statement] {
        var parser = try Parser(source)
        return try parser.program()
    }

    var current: Token { tokens[min(position, tokens.count - 1)] }

    mutating func advance() -> Token { defer { position = min(position + 1, tokens.count - 1) }; return current }

    func check(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }
    func checkKeyword(_ word: String) -> Bool { current.kind == .keyword(word) }

    mutating func match(_ symbols: String...) -> String? {
        for s in symbols where check(s) { _ = advance(); return s }
        return nil
    }

    mutating func expect(_ symbol: String, _ context: String) throws -> Token {
        guard check(symbol) else { throw ScriptError(.syntax, "expected '\(symbol)' \(context), found \(describe(current))", at: current.location) }
        return advance()
    }

    mutating func identifier(_ context: String) throws -> String {
        guard case .identifier(let name) = current.kind else {
            throw ScriptError(.syntax, "expected a name \(context), found \(describe(current))", at: current.location)
        }
        _ = advance()
        return name
    }

    mutating func skipNewlines() {
        while current.kind == .newline || check(";") { _ = advance() }
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .number(let n): return "the number \(n)"
        case .string: return "a string"
        case .identifier(let n): return "'\(n)'"
        case .keyword(let k): return "'\(k)'"
        case .symbol(let s): return "'\(s)'"
        case .newline: return "the end of the line"
        case .end: return "the end of the input"
        }
    }

    // program → statement* EOF
    public mutating func program() throws -> [Statement] {
        var statements: [Statement] = []
        skipNewlines()
        while current.kind != .end {
            statements.append(try statement())
            try endOfStatement()
        }
        return statements
    }

    mutating func endOfStatement() throws {
        guard current.kind == .newline || check(";") || current.kind == .end || check("}") else {
            throw ScriptError(.syntax, "expected the end of the statement, found \(describe(current))", at: current.location,
                              hint: "put each statement on its own line or separate them with ';'")
        }
        skipNewlines()
    }

    // statement → declaration | function | if | for | while | return | break | continue | assignment | expression
    mutating func statement() throws -> Statement {
        let start = current.location
        switch current.kind {
        case .keyword("let"), .keyword("var"):
            let mutable = checkKeyword("var")
            _ = advance()
            let name = try identifier("after '\(mutable ? "var" : "let")'")
            if match(":") != nil { try skipType() }
            _ = try expect("=", "to give '\(name)' a value")
            return .declaration(name: name, mutable: mutable, value: try expression(), start)
        case .keyword("func"):
            return try function()
        case .keyword("if"):
            return try ifStatement()
        case .keyword("for"):
            _ = advance()
            let name = try identifier("after 'for'")
            guard checkKeyword("in") else { throw ScriptError(.syntax, "expected 'in' after 'for \(name)'", at: current.location) }
            _ = advance()
            let sequence = try expression()
            return .forIn(variable: name, sequence: sequence, body: try block("for the loop body"), start)
        case .keyword("while"):
            _ = advance()
            let condition = try expression()
            return .whileLoop(condition: condition, body: try block("for the loop body"), start)
        case .keyword("return"):
            _ = advance()
            if current.kind == .newline || check("}") || current.kind == .end || check(";") { return .returnValue(nil, start) }
            return .returnValue(try expression(), start)
        case .keyword("break"):
            _ = advance()
            return .breakLoop(start)
        case .keyword("continue"):
            _ = advance()
            return .continueLoop(start)
        default:
            let target = try expression()
            if let op = match("=", "+=", "-=", "*=", "/=") {
                switch target {
                case .variable, .subscripted, .member: break
                default: throw ScriptError(.syntax, "cannot assign to this expression", at: target.location)
                }
                return .assignment(target: target, op: op, value: try expression(), start)
            }
            return .expression(target)
        }
    }

    /// Types are read and ignored: `Tensor`, `[Float]`, `[String: Int]`, `(Int, Int)`, `Float?`.
    mutating func skipType() throws {
        if check("[") || check("(") {
            var level = 0
            repeat {
                if check("[") || check("(") { level += 1 } else if check("]") || check(")") { level -= 1 }
                guard current.kind != .end else { throw ScriptError(.syntax, "this type has no closing bracket", at: current.location) }
                _ = advance()
            } while level > 0
        } else {
            _ = try identifier("for a type")
            while match(".") != nil { _ = try identifier("for a type") }
        }
        while match("?") != nil {}
    }

    // function → "func" IDENT "(" parameters? ")" ("->" type)? block
    mutating func function() throws -> Statement {
        let start = advance().location
        let name = try identifier("after 'func'")
        _ = try expect("(", "after the function name")
        var parameters: [Parameter] = []
        while !check(")") {
            // parameter → IDENT? IDENT (":" type)? ("=" expression)?
            let first = try identifier("for a parameter")
            var label: String? = first, name = first
            if case .identifier(let second) = current.kind { _ = advance(); name = second; label = first == "_" ? nil : first }
            if match(":") != nil { try skipType() }
            let defaultValue = match("=") != nil ? try expression() : nil
            parameters.append(Parameter(label: label, name: name, defaultValue: defaultValue))
            if match(",") == nil { break }
        }
        _ = try expect(")", "to close the parameter list")
        if match("->") != nil { try skipType() }
        return .function(name: name, parameters: parameters, body: try block("for the function body"), start)
    }

    // if → "if" expression block ("else" (if | block))?
    mutating func ifStatement() throws -> Statement {
        let start = advance().location
        let condition = try expression()
        let then = try block("after the condition")
        var otherwise: [Statement]?
        let save = position
        skipNewlines()
        if checkKeyword("else") {
            _ = advance()
            otherwise = checkKeyword("if") ? [try ifStatement()] : try block("after 'else'")
        } else {
            position = save
        }
        return .ifElse(condition: condition, then: then, otherwise: otherwise, start)
    }

    // block → "{" statement* "}"
    mutating func block(_ context: String) throws -> [Statement] {
        _ = try expect("{", context)
        var statements: [Statement] = []
        skipNewlines()
        while !check("}") {
            guard current.kind != .end else { throw ScriptError(.syntax, "this block has no closing '}'", at: current.location) }
            statements.append(try statement())
            try endOfStatement()
        }
        _ = advance()
        return statements
    }

    // expression → or ("?" expression ":" expression)?
    public mutating func expression() throws -> Expression {
        let condition = try binary(level: 0)
        guard check("?") else { return condition }
        let location = advance().location
        let then = try expression()
        _ = try expect(":", "between the two values of '? :'")
        return .conditional(condition, then, try expression(), location)
    }

    /// The binary-operator rules from `or` down to `multiplicative`, lowest precedence first.
    static let levels: [[String]] = [["||"], ["&&"], ["==", "!=", "<", "<=", ">", ">="], ["...", "..<"], ["+", "-"], ["*", "/", "%", "@"]]

    mutating func binary(level: Int) throws -> Expression {
        guard level < Parser.levels.count else { return try unary() }
        var left = try binary(level: level + 1)
        // Comparisons and ranges do not chain: `a < b < c` is an error, not a surprise.
        let chains = level != 2 && level != 3
        while let op = match(Parser.levels[level].map { $0 }) {
            let location = tokens[position - 1].location
            skipNewlines()
            left = .binary(op, left, try binary(level: level + 1), location)
            if !chains { break }
        }
        return left
    }

    mutating func match(_ symbols: [String]) -> String? {
        for s in symbols where check(s) { _ = advance(); return s }
        return nil
    }

    // unary → ("-" | "!") unary | power
    mutating func unary() throws -> Expression {
        if let op = match("-", "!") {
            let location = tokens[position - 1].location
            return .unary(op, try unary(), location)
        }
        return try power()
    }

    // power → postfix ("**" unary)?
    mutating func power() throws -> Expression {
        let base = try postfix()
        if match("**") != nil {
            let location = tokens[position - 1].location
            return .binary("**", base, try unary(), location)
        }
        return base
    }

    // postfix → primary ("(" arguments? ")" | "." IDENT | "[" arguments "]")*
    mutating func postfix() throws -> Expression {
        var expression = try primary()
        while true {
            if check("(") {
                let location = advance().location
                expression = .call(expression, try arguments(closing: ")"), location)
            } else if check(".") {
                let location = advance().location
                let name: String
                switch current.kind {
                case .identifier(let n): name = n
                case .keyword(let k): name = k
                default: throw ScriptError(.syntax, "expected a property or method name after '.'", at: current.location)
                }
                _ = advance()
                expression = .member(expression, name, location)
            } else if check("[") {
                let location = advance().location
                expression = .subscripted(expression, try arguments(closing: "]"), location)
            } else {
                return expression
            }
        }
    }

    // argument → (IDENT ":")? expression
    mutating func arguments(closing: String) throws -> [Argument] {
        var result: [Argument] = []
        while !check(closing) {
            var label: String?
            if case .identifier(let name) = current.kind, tokens[min(position + 1, tokens.count - 1)].kind == .symbol(":") {
                label = name
                position += 2
            }
            result.append(Argument(label: label, value: try expression()))
            if match(",") == nil { break }
        }
        _ = try expect(closing, "to close the \(closing == ")" ? "argument list" : "subscript")")
        return result
    }

    // primary → NUMBER | STRING | "true" | "false" | "nil" | IDENT | "(" expression ")" | "[" elements "]"
    mutating func primary() throws -> Expression {
        let token = advance()
        switch token.kind {
        case .number(let value): return .number(value, token.location)
        case .string(let pieces):
            return .string(try pieces.map { piece in
                switch piece {
                case .text(let text): return .text(text)
                case .code(let code, let location):
                    var inner = try Parser(code, start: location)
                    let e = try inner.expression()
                    guard inner.current.kind == .end else {
                        throw ScriptError(.syntax, "unexpected \(inner.describe(inner.current)) in \\(…)", at: inner.current.location)
                    }
                    return .expression(e)
                }
            }, token.location)
        case .keyword("true"): return .bool(true, token.location)
        case .keyword("false"): return .bool(false, token.location)
        case .keyword("nil"): return .none(token.location)
        case .identifier(let name): return .variable(name, token.location)
        case .symbol("("):
            let e = try expression()
            _ = try expect(")", "to close the parenthesis")
            return e
        case .symbol("["):
            var elements: [Expression] = []
            while !check("]") {
                elements.append(try expression())
                if match(",") == nil { break }
            }
            _ = try expect("]", "to close the array")
            return .array(elements, token.location)
        default:
            throw ScriptError(.syntax, "expected a value, found \(describe(token))", at: token.location)
        }
    }
}
