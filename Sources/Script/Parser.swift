/// A recursive-descent parser, one method per rule of the grammar:
///
///     program        → separators? (statement (separators statement)*)? separators? EOF
///     separators     → (NEWLINE | ";")+
///     statement      → declaration | function | if | for | while | return | "break" | "continue"
///                    | assignment | expression
///     declaration    → ("let" | "var") IDENT (":" type)? "=" expression
///     function       → "func" IDENT "(" (parameter ("," parameter)*)? ")" ("->" type)? block
///     parameter      → IDENT IDENT? (":" type)? ("=" expression)?   (with two names the first is the label, "_" for none)
///     if             → "if" expression block (NEWLINE* "else" (if | block))?
///     for            → "for" IDENT "in" expression block
///     while          → "while" expression block
///     return         → "return" expression?
///     assignment     → postfix ("=" | "+=" | "-=" | "*=" | "/=") expression
///     block          → "{" separators? (statement (separators statement)*)? separators? "}"
///     type           → (IDENT ("." IDENT)* | balanced "[…]" or "(…)") "?"*
///     expression     → or ("?" expression ":" expression)?
///     or             → and ("||" and)*
///     and            → comparison ("&&" comparison)*
///     comparison     → range (("==" | "!=" | "<" | "<=" | ">" | ">=") range)?
///     range          → additive (("..." | "..<") additive)?
///     additive       → multiplicative (("+" | "-") multiplicative)*
///     multiplicative → unary (("*" | "/" | "%" | "@") unary)*
///     unary          → ("-" | "!") unary | power
///     power          → postfix ("**" unary)?
///     postfix        → primary ("(" arguments ")" | "." (IDENT | KEYWORD) | "[" arguments "]")*
///     arguments      → (argument ("," argument)* ","?)?
///     argument       → (IDENT ":")? expression
///     primary        → NUMBER | STRING | "true" | "false" | "nil" | IDENT | "(" expression ")"
///                    | "[" (expression ("," expression)* ","?)? "]"
///
/// A newline may follow a binary operator (the expression goes on); inside `(…)` and `[…]` the
/// lexer drops newlines. Types after `:` and `->` are accepted, as Swift readers expect them,
/// and not checked. A STRING's `\(…)` pieces are parsed as expressions where they stand.
public struct Parser {
    var tokens: [Token]
    var position = 0
    /// How many rules are open inside one another, for the error when the stack runs low.
    var nesting = 0

    public init(_ source: String, start: Location = Location(line: 1, column: 1)) throws {
        tokens = try tokenize(source, start: start)
    }

    /// The statements of `source`, whose first line is line `start.line` of its file.
    public static func parse(_ source: String, start: Location = Location(line: 1, column: 1)) throws -> [Statement] {
        var parser = try Parser(source, start: start)
        return try parser.program()
    }

    // MARK: Tokens

    var current: Token { tokens[min(position, tokens.count - 1)] }
    var previous: Token { tokens[max(0, min(position, tokens.count) - 1)] }

    mutating func advance() -> Token { defer { position = min(position + 1, tokens.count - 1) }; return current }

    func check(_ symbol: Symbol) -> Bool { current.kind == .symbol(symbol) }
    func check(_ keyword: Keyword) -> Bool { current.kind == .keyword(keyword) }

    /// Consumes the current token if it is one of `symbols`.
    mutating func match(_ symbols: Symbol...) -> Symbol? {
        for s in symbols where check(s) { _ = advance(); return s }
        return nil
    }

    mutating func expect(_ symbol: Symbol, _ context: String) throws -> Token {
        guard check(symbol) else {
            throw ScriptError(.syntax, "expected '\(symbol.rawValue)' \(context), found \(describe(current))", at: current.location)
        }
        return advance()
    }

    mutating func identifier(_ context: String) throws -> String {
        guard case .identifier(let name) = current.kind else {
            throw ScriptError(.syntax, "expected a name \(context), found \(describe(current))", at: current.location)
        }
        _ = advance()
        return name
    }

    var atEndOfStatement: Bool { current.kind == .newline || current.kind == .end || check(.semicolon) || check(.rightBrace) }

    mutating func skipSeparators() {
        while current.kind == .newline || check(.semicolon) { _ = advance() }
    }

    mutating func skipNewlines() {
        while current.kind == .newline { _ = advance() }
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .number(let n): return "the number \(formatNumber(n))"
        case .string: return "a string"
        case .identifier(let n): return "'\(n)'"
        case .keyword(let k): return "'\(k.rawValue)'"
        case .symbol(let s): return "'\(s.rawValue)'"
        case .newline: return "the end of the line"
        case .end: return "the end of the input"
        }
    }

    /// Called as each nested rule opens: stops with an error while the stack still has room.
    mutating func enter() throws {
        nesting += 1
        if Stack.isLow {
            throw ScriptError(.syntax, "too deeply nested: \(nesting) brackets, blocks or operators inside one another fill the parser's stack",
                              at: current.location, hint: "split the expression with 'let' for its parts")
        }
    }

    // MARK: Statements

    // program → separators? (statement (separators statement)*)? separators? EOF
    public mutating func program() throws -> [Statement] {
        var statements: [Statement] = []
        skipSeparators()
        while current.kind != .end {
            if case .identifier(let word) = current.kind, word == "import" || word == "from",
               case .identifier = tokens[min(position + 1, tokens.count - 1)].kind {
                throw ScriptError(.syntax, "there is nothing to import: every builtin is already in scope", at: current.location,
                                  hint: "torch.randn(2, 3) is randn(2, 3) here; :help lists the builtins")
            }
            statements.append(try statement())
            try endOfStatement()
        }
        return statements
    }

    mutating func endOfStatement() throws {
        guard atEndOfStatement else {
            throw ScriptError(.syntax, "expected the end of the statement, found \(describe(current))", at: current.location,
                              hint: "put each statement on its own line or separate them with ';'")
        }
        skipSeparators()
    }

    // statement → declaration | function | if | for | while | return | "break" | "continue" | assignment | expression
    mutating func statement() throws -> Statement {
        try enter()
        defer { nesting -= 1 }
        let start = current.location
        switch current.kind {
        case .keyword(.let), .keyword(.var):
            return try declaration()
        case .keyword(.func):
            return try function()
        case .keyword(.if):
            return try ifStatement()
        case .keyword(.for):
            return try forStatement()
        case .keyword(.while):
            _ = advance()
            let condition = try expression()
            return .whileLoop(condition: condition, body: try block("for the loop body"), start)
        case .keyword(.return):
            _ = advance()
            return .returnValue(atEndOfStatement ? nil : try expression(), start)
        case .keyword(.break):
            _ = advance()
            return .breakLoop(start)
        case .keyword(.continue):
            _ = advance()
            return .continueLoop(start)
        default:
            return try assignmentOrExpression()
        }
    }

    // declaration → ("let" | "var") IDENT (":" type)? "=" expression
    mutating func declaration() throws -> Statement {
        let start = current.location
        let mutable = check(.var)
        _ = advance()
        let name = try identifier("after '\(mutable ? "var" : "let")'")
        if match(.colon) != nil { try type() }
        _ = try expect(.assign, "to give '\(name)' a value")
        return .declaration(name: name, mutable: mutable, value: try expression(), start)
    }

    // function → "func" IDENT "(" (parameter ("," parameter)*)? ")" ("->" type)? block
    mutating func function() throws -> Statement {
        let start = advance().location
        let name = try identifier("after 'func'")
        _ = try expect(.leftParen, "after the function name")
        var parameters: [Parameter] = []
        while !check(.rightParen) {
            parameters.append(try parameter())
            if match(.comma) == nil { break }
        }
        _ = try expect(.rightParen, "to close the parameter list")
        if match(.arrow) != nil { try type() }
        return .function(name: name, parameters: parameters, body: try block("for the function body"), start)
    }

    // parameter → IDENT IDENT? (":" type)? ("=" expression)?
    mutating func parameter() throws -> Parameter {
        let first = try identifier("for a parameter")
        var label: String? = first, name = first
        if case .identifier(let second) = current.kind {
            _ = advance()
            name = second
            label = first == "_" ? nil : first
        }
        if match(.colon) != nil { try type() }
        let defaultValue = match(.assign) != nil ? try expression() : nil
        return Parameter(label: label, name: name, defaultValue: defaultValue)
    }

    // if → "if" expression block (NEWLINE* "else" (if | block))?
    mutating func ifStatement() throws -> Statement {
        let start = advance().location
        let condition = try expression()
        let then = try block("after the condition")
        var otherwise: [Statement]?
        let save = position
        skipNewlines()
        if check(.else) {
            _ = advance()
            otherwise = check(.if) ? [try statement()] : try block("after 'else'")
        } else {
            position = save
        }
        return .ifElse(condition: condition, then: then, otherwise: otherwise, start)
    }

    // for → "for" IDENT "in" expression block
    mutating func forStatement() throws -> Statement {
        let start = advance().location
        let name = try identifier("after 'for'")
        guard check(.in) else { throw ScriptError(.syntax, "expected 'in' after 'for \(name)'", at: current.location) }
        _ = advance()
        let sequence = try expression()
        return .forIn(variable: name, sequence: sequence, body: try block("for the loop body"), start)
    }

    // assignment → postfix ("=" | "+=" | "-=" | "*=" | "/=") expression
    mutating func assignmentOrExpression() throws -> Statement {
        let start = current.location
        let target = try expression()
        let op: AssignmentOperator
        switch match(.assign, .addAssign, .subtractAssign, .multiplyAssign, .divideAssign) {
        case .assign?: op = .assign
        case .addAssign?: op = .compound(.add)
        case .subtractAssign?: op = .compound(.subtract)
        case .multiplyAssign?: op = .compound(.multiply)
        case .divideAssign?: op = .compound(.divide)
        default: return .expression(target)
        }
        guard target.isAssignable else {
            throw ScriptError(.syntax, "cannot assign to this expression", at: target.location,
                              hint: "assign to a variable (x = …) or an element of an array (xs[i] = …)")
        }
        return .assignment(target: target, op: op, value: try expression(), start)
    }

    // block → "{" separators? (statement (separators statement)*)? separators? "}"
    mutating func block(_ context: String) throws -> [Statement] {
        let open = try expect(.leftBrace, context)
        var statements: [Statement] = []
        skipSeparators()
        while !check(.rightBrace) {
            guard current.kind != .end else {
                throw ScriptError(.syntax, "the block opened at \(open.location) has no closing '}'", at: current.location)
            }
            statements.append(try statement())
            try endOfStatement()
        }
        _ = advance()
        return statements
    }

    // type → (IDENT ("." IDENT)* | balanced "[…]" or "(…)") "?"*
    mutating func type() throws {
        if check(.leftBracket) || check(.leftParen) {
            var level = 0
            repeat {
                if check(.leftBracket) || check(.leftParen) { level += 1 } else if check(.rightBracket) || check(.rightParen) { level -= 1 }
                guard current.kind != .end else { throw ScriptError(.syntax, "this type has no closing bracket", at: current.location) }
                _ = advance()
            } while level > 0
        } else {
            _ = try identifier("for a type")
            while match(.dot) != nil { _ = try identifier("for a type") }
        }
        while match(.question) != nil {}
    }

    // MARK: Expressions

    // expression → or ("?" expression ":" expression)?
    public mutating func expression() throws -> Expression {
        try enter()
        defer { nesting -= 1 }
        let condition = try or()
        guard check(.question) else { return condition }
        let location = advance().location
        let then = try expression()
        _ = try expect(.colon, "between the two values of '? :'")
        return .conditional(condition, then, try expression(), location)
    }

    // or → and ("||" and)*
    mutating func or() throws -> Expression {
        try leftAssociative(Parser.orOperators, chains: true) { try $0.and() }
    }

    // and → comparison ("&&" comparison)*
    mutating func and() throws -> Expression {
        try leftAssociative(Parser.andOperators, chains: true) { try $0.comparison() }
    }

    // comparison → range (("==" | "!=" | "<" | "<=" | ">" | ">=") range)?
    mutating func comparison() throws -> Expression {
        // Comparisons do not chain: `a < b < c` is an error, not a surprise.
        try leftAssociative(Parser.comparisonOperators, chains: false) { try $0.range() }
    }

    // range → additive (("..." | "..<") additive)?
    mutating func range() throws -> Expression {
        try leftAssociative(Parser.rangeOperators, chains: false) { try $0.additive() }
    }

    // additive → multiplicative (("+" | "-") multiplicative)*
    mutating func additive() throws -> Expression {
        try leftAssociative(Parser.additiveOperators, chains: true) { try $0.multiplicative() }
    }

    // multiplicative → unary (("*" | "/" | "%" | "@") unary)*
    mutating func multiplicative() throws -> Expression {
        try leftAssociative(Parser.multiplicativeOperators, chains: true) { try $0.unary() }
    }

    static let orOperators: [Symbol: BinaryOperator] = [.or: .or]
    static let andOperators: [Symbol: BinaryOperator] = [.and: .and]
    static let comparisonOperators: [Symbol: BinaryOperator] = [.equal: .equal, .notEqual: .notEqual, .less: .less, .lessOrEqual: .lessOrEqual,
                                                                .greater: .greater, .greaterOrEqual: .greaterOrEqual]
    static let rangeOperators: [Symbol: BinaryOperator] = [.closedRange: .closedRange, .halfOpenRange: .halfOpenRange]
    static let additiveOperators: [Symbol: BinaryOperator] = [.plus: .add, .minus: .subtract]
    static let multiplicativeOperators: [Symbol: BinaryOperator] = [.star: .multiply, .slash: .divide, .percent: .remainder, .at: .matrixProduct]

    /// `operand (op operand)*` (or at most one op when it does not `chain`), as one `.binary` list.
    mutating func leftAssociative(_ operators: [Symbol: BinaryOperator], chains: Bool,
                                  operand: (inout Parser) throws -> Expression) throws -> Expression {
        let first = try operand(&self)
        var operations: [Operation] = []
        while case .symbol(let symbol) = current.kind, let op = operators[symbol] {
            let location = advance().location
            skipNewlines()
            operations.append(Operation(op: op, operand: try operand(&self), location: location))
            if !chains { break }
        }
        return operations.isEmpty ? first : .binary(first, operations)
    }

    // unary → ("-" | "!") unary | power
    mutating func unary() throws -> Expression {
        try enter()
        defer { nesting -= 1 }
        switch current.kind {
        case .symbol(.minus):
            let location = advance().location
            return .unary(.negate, try unary(), location)
        case .symbol(.bang):
            let location = advance().location
            return .unary(.not, try unary(), location)
        default:
            return try power()
        }
    }

    // power → postfix ("**" unary)?
    mutating func power() throws -> Expression {
        let base = try postfix()
        guard check(.power) else { return base }
        let location = advance().location
        skipNewlines()
        return .binary(base, [Operation(op: .power, operand: try unary(), location: location)])
    }

    // postfix → primary ("(" arguments ")" | "." (IDENT | KEYWORD) | "[" arguments "]")*
    mutating func postfix() throws -> Expression {
        let base = try primary()
        var suffixes: [Suffix] = []
        while true {
            if check(.leftParen) {
                let location = advance().location
                suffixes.append(.call(try arguments(closing: .rightParen, "to close the argument list"), location))
            } else if check(.dot) {
                let location = advance().location
                let name: String
                switch current.kind {
                case .identifier(let n): name = n
                case .keyword(let k): name = k.rawValue
                default: throw ScriptError(.syntax, "expected a property or method name after '.'", at: current.location)
                }
                _ = advance()
                suffixes.append(.member(name, location))
            } else if check(.leftBracket) {
                let location = advance().location
                suffixes.append(.subscripted(try arguments(closing: .rightBracket, "to close the subscript"), location))
            } else {
                return suffixes.isEmpty ? base : .postfix(base, suffixes)
            }
        }
    }

    // arguments → (argument ("," argument)* ","?)?
    // argument → (IDENT ":")? expression
    /// Python's `x[1:3]`: the form it takes here.
    static func sliceError(at location: Location) -> ScriptError {
        ScriptError(.syntax, "a slice is a range here, not ':'", at: location, hint: "x[1..<3, :] takes rows 1 and 2 and every column")
    }

    mutating func arguments(closing: Symbol, _ context: String) throws -> [Argument] {
        var result: [Argument] = []
        while !check(closing) {
            if closing == .rightBracket, check(.closedRange) {
                throw ScriptError(.syntax, "'...' for the remaining axes is not written here", at: current.location,
                                  hint: "give ':' for each axis before the one you index: x[:, :, 1]")
            }
            if closing == .rightBracket, check(.colon) {
                let whole = advance()
                guard check(.comma) || check(closing) else {
                    throw Parser.sliceError(at: whole.location)
                }
                result.append(Argument(label: nil, value: .wholeAxis(whole.location)))
                if match(.comma) == nil { break }
                continue
            }
            var label: String?
            if case .identifier(let name) = current.kind, tokens[min(position + 1, tokens.count - 1)].kind == .symbol(.colon) {
                label = name
                position += 2
            }
            let value = try expression()
            if closing == .rightBracket, label == nil, check(.colon) {
                throw Parser.sliceError(at: current.location)
            }
            if label == nil, case .variable(let name, _) = value, check(.assign) {
                throw ScriptError(.syntax, "a label is followed by ':' here, not '='", at: current.location, hint: "a label takes ':' as in Swift: \(name): 1, not \(name)=1")
            }
            result.append(Argument(label: label, value: value))
            if match(.comma) == nil { break }
        }
        _ = try expect(closing, context)
        return result
    }

    // primary → NUMBER | STRING | "true" | "false" | "nil" | IDENT | "(" expression ")"
    //         | "[" (expression ("," expression)* ","?)? "]"
    //         | "[" ":" "]" | "[" expression ":" expression ("," expression ":" expression)* ","? "]"
    mutating func primary() throws -> Expression {
        let token = advance()
        switch token.kind {
        case .number(let value): return .number(value, token.location)
        case .string(let pieces): return .string(try pieces.map { try interpolated($0) }, token.location)
        case .keyword(.true): return .bool(true, token.location)
        case .keyword(.false): return .bool(false, token.location)
        case .keyword(.nil): return .none(token.location)
        case .identifier(let name): return .variable(name, token.location)
        case .symbol(.leftParen):
            let e = try expression()
            _ = try expect(.rightParen, "to close the parenthesis")
            return e
        case .symbol(.leftBracket):
            if match(.colon) != nil {
                _ = try expect(.rightBracket, "to close the empty dictionary [:]")
                return .dictionary([], token.location)
            }
            var elements: [Expression] = []
            var pairs: [(key: Expression, value: Expression)] = []
            while !check(.rightBracket) {
                let element = try expression()
                // A ':' after the first element makes the literal a dictionary, and every element a pair.
                if !pairs.isEmpty || (elements.isEmpty && check(.colon)) {
                    _ = try expect(.colon, "between a key and its value in a dictionary")
                    pairs.append((element, try expression()))
                } else {
                    elements.append(element)
                }
                if match(.comma) == nil { break }
            }
            _ = try expect(.rightBracket, pairs.isEmpty ? "to close the array" : "to close the dictionary")
            return pairs.isEmpty ? .array(elements, token.location) : .dictionary(pairs, token.location)
        default:
            throw ScriptError(.syntax, "expected a value, found \(describe(token))", at: token.location)
        }
    }

    /// A `\(…)` piece of a string, parsed where it stands in the source.
    mutating func interpolated(_ piece: StringPiece) throws -> InterpolatedPiece {
        switch piece {
        case .text(let text): return .text(text)
        case .code(let code, let location):
            var inner = try Parser(code, start: location)
            inner.nesting = nesting
            let e = try inner.expression()
            guard inner.current.kind == .end else {
                throw ScriptError(.syntax, "unexpected \(inner.describe(inner.current)) in \\(…)", at: inner.current.location)
            }
            return .expression(e)
        }
    }
}
