import Engine
import Synchronization

/// Variables of one scope, with a link to the enclosing one.
final class Environment {
    var variables: [String: (value: Value, mutable: Bool)] = [:]
    let parent: Environment?
    init(parent: Environment?) { self.parent = parent }

    /// The scopes from this one out to the globals.
    var chain: UnfoldSequence<Environment, (Environment?, Bool)> { sequence(first: self) { $0.parent } }

    func lookup(_ name: String) -> (value: Value, mutable: Bool)? {
        for scope in chain { if let found = scope.variables[name] { return found } }
        return nil
    }

    func assign(_ name: String, _ value: Value) -> Bool {
        for scope in chain where scope.variables[name] != nil {
            scope.variables[name]!.value = value
            return true
        }
        return false
    }

    var allNames: [String] { chain.flatMap { $0.variables.keys } }
}

/// Set from a signal handler (Ctrl-C); long computations check it between operations.
public final class InterruptFlag: Sendable {
    let flag = Atomic<Bool>(false)
    public init() {}
    public func request() { flag.store(true, ordering: .relaxed) }
    public func clear() { flag.store(false, ordering: .relaxed) }
    public var isRequested: Bool { flag.load(ordering: .relaxed) }
}

/// Runs programs. Variables live on between `run` calls, so a REPL or a notebook keeps its
/// session; an error leaves every variable as it was when the error happened.
public final class Interpreter {
    let globals = Environment(parent: nil)
    /// Functions and values the host provides (the builtins table).
    public var builtins: [String: Value] = [:]
    /// Properties and methods of values (`x.shape`, `x.sum(axes:)`), provided by the host.
    public var members: (Value, String, Location) throws -> Value? = { _, _, _ in nil }
    /// Hints for names a student brings from elsewhere (PyTorch's modules, the host's renamed
    /// functions), shown when such a name is not defined.
    public var nameHints: [String: String] = Dictionary(uniqueKeysWithValues: ["torch", "np", "numpy", "nn", "F", "math"].map {
        ($0, "there are no modules to import here: every builtin is in scope (torch.randn(2, 3) is randn(2, 3), torch.matmul(a, b) is a @ b); :help lists them")
    })
    /// Where `print` writes.
    public var output: (String) -> Void = { print($0) }
    public let interrupt: InterruptFlag
    /// The user functions being called, innermost last (for the recursion-depth error).
    var calls: [String] = []
    /// The code being run, which the functions it defines keep for their errors.
    var running: SourceText?

    public init(interrupt: InterruptFlag = InterruptFlag()) { self.interrupt = interrupt }

    /// Parses and runs `source`; `show` receives the value of each top-level bare expression
    /// (which is also bound to `_`).
    /// `file` and `firstLine` say where the code is, for the errors of the functions it defines.
    public func run(_ source: String, file: String = "<input>", firstLine: Int = 1, show: (Value) -> Void = { _ in }) throws {
        let statements = try Parser.parse(source)
        let outer = running
        running = SourceText(source, file: file, firstLine: firstLine)
        defer { running = outer }
        // Long engine loops (svd, metrics) ask the same flag between their steps.
        try Interruption.$isRequested.withValue({ [interrupt] in interrupt.isRequested }) { try run(statements: statements, show: show) }
    }

    func run(statements: [Statement], show: (Value) -> Void) throws {
        for statement in statements {
            try checkInterrupt(at: statement.location)
            if case .expression(let e) = statement {
                let value = try evaluate(e, in: globals)
                if case .none = value { continue }
                globals.variables["_"] = (value, true)
                show(value)
            } else {
                switch try execute(statement, in: globals) {
                case .normal: break
                case .returned: throw ScriptError(.runtime, "'return' outside a function", at: statement.location)
                case .broke, .continued: throw ScriptError(.runtime, "'break' or 'continue' outside a loop", at: statement.location)
                }
            }
        }
        // A Ctrl-C that came during the last statement's one long engine operation (which runs
        // to its end) is this program's: left set, it would stop the next one instead.
        if let last = statements.last { try checkInterrupt(at: last.location) }
    }

    /// The session's variables (not builtins), for `:vars`.
    public var variables: [(name: String, value: Value)] {
        globals.variables.map { ($0.key, $0.value.value) }.sorted { $0.name < $1.name }
    }

    public func variable(_ name: String) -> Value? { globals.lookup(name)?.value }
    public func setVariable(_ name: String, _ value: Value) { globals.variables[name] = (value, true) }

    /// Forgets every variable.
    public func reset() { globals.variables = [:] }

    /// Every name in scope: variables and builtins (for completion and hints).
    public var names: [String] { globals.allNames + Array(builtins.keys) }

    public func checkInterrupt(at location: Location) throws {
        if interrupt.isRequested { throw interrupted(at: location) }
    }

    /// The error of a program stopped by Ctrl-C, between statements or inside an engine loop;
    /// the flag is cleared, so the next program runs.
    func interrupted(at location: Location) -> ScriptError {
        interrupt.clear()
        return ScriptError(.interrupted, "stopped by Ctrl-C; variables keep their last values", at: location)
    }

    // MARK: Statements

    enum Flow { case normal, returned(Value), broke, continued }

    func execute(_ statements: [Statement], in environment: Environment) throws -> Flow {
        for statement in statements {
            let flow = try execute(statement, in: environment)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    // Each statement and expression with more than a line of work has a function of its own:
    // recursion passes through `execute` and `evaluate`, and small frames there let a program
    // nest (and recurse) deeper in the same stack.
    func execute(_ statement: Statement, in env: Environment) throws -> Flow {
        try checkStack(at: statement.location)
        switch statement {
        case let .declaration(name, mutable, value, _):
            // Declaring a name again replaces it, as in the Swift REPL: re-running a cell works.
            env.variables[name] = (try evaluate(value, in: env), mutable)
        case let .assignment(target, op, value, location):
            try assign(target, op: op, evaluate(value, in: env), in: env, at: location)
        case let .function(name, parameters, body, _):
            env.variables[name] = (.function(UserFunction(name: name, parameters: parameters, body: body, closure: env, source: running)), false)
        case let .ifElse(condition, then, otherwise, _):
            if try truth(evaluate(condition, in: env), at: condition.location) {
                return try execute(then, in: Environment(parent: env))
            } else if let otherwise {
                return try execute(otherwise, in: Environment(parent: env))
            }
        case let .forIn(name, sequence, body, location):
            return try forLoop(name, in: sequence, body, at: location, env)
        case let .whileLoop(condition, body, location):
            return try whileLoop(condition, body, at: location, env)
        case let .returnValue(value, _):
            return .returned(try value.map { try evaluate($0, in: env) } ?? .none)
        case .breakLoop:
            return .broke
        case .continueLoop:
            return .continued
        case .expression(let e):
            _ = try evaluate(e, in: env)
        }
        return .normal
    }

    func forLoop(_ name: String, in sequence: Expression, _ body: [Statement], at location: Location, _ env: Environment) throws -> Flow {
        var flow = Flow.normal
        try forEachElement(of: evaluate(sequence, in: env), at: sequence.location) { element in
            try checkInterrupt(at: location)
            let scope = Environment(parent: env)
            scope.variables[name] = (element, false)
            switch try execute(body, in: scope) {
            case .broke: return false
            case .returned(let v): flow = .returned(v); return false
            case .normal, .continued: return true
            }
        }
        return flow
    }

    func whileLoop(_ condition: Expression, _ body: [Statement], at location: Location, _ env: Environment) throws -> Flow {
        while try truth(evaluate(condition, in: env), at: condition.location) {
            try checkInterrupt(at: location)
            switch try execute(body, in: Environment(parent: env)) {
            case .broke: return .normal
            case .returned(let v): return .returned(v)
            case .normal, .continued: continue
            }
        }
        return .normal
    }

    func assign(_ target: Expression, op: AssignmentOperator, _ value: Value, in env: Environment, at location: Location) throws {
        func combined(_ old: Value) throws -> Value {
            guard case .compound(let binaryOp) = op else { return value }
            return try binary(binaryOp, old, value, at: location)
        }
        switch target {
        case let .variable(name, l):
            guard let existing = env.lookup(name) else {
                var error = ScriptError(.runtime, "'\(name)' is not defined", at: l, hint: "declare it first with 'var \(name) = …'")
                error.undefinedName = name
                throw error
            }
            guard existing.mutable else {
                throw ScriptError(.runtime, "cannot assign to '\(name)': it was declared with 'let'", at: l, hint: "declare it with 'var' to change it")
            }
            _ = env.assign(name, try combined(existing.value))
        case let .postfix(.variable(name, _), suffixes):
            // d["key"] = value gives the variable a dictionary with that entry set (values, as in Swift).
            if suffixes.count == 1, case let .subscripted(arguments, l) = suffixes[0], let existing = env.lookup(name),
               case .object(let dictionary as ScriptDictionary) = existing.value {
                guard existing.mutable else { throw ScriptError(.runtime, "cannot change '\(name)': it was declared with 'let'", at: l) }
                guard arguments.count == 1, case .string(let key) = try evaluate(arguments[0].value, in: env) else {
                    throw ScriptError(.runtime, "a dictionary's key is one string", at: l)
                }
                let old = dictionary.entries.first { $0.key == key }?.value
                let new = try combined(old ?? .none)
                _ = env.assign(name, .object(ScriptDictionary(old == nil ? dictionary.entries + [(key, new)]
                                                                        : dictionary.entries.map { ($0.key, $0.key == key ? new : $0.value) })))
                return
            }
            guard suffixes.count == 1, case let .subscripted(arguments, l) = suffixes[0],
                  let existing = env.lookup(name), case .array(var items) = existing.value else {
                throw ScriptError(.runtime, "only array elements can be assigned with [ ]; a tensor is a value, build a new one",
                                  at: target.location, hint: "for example: x = where(mask, newValues, x)")
            }
            guard existing.mutable else { throw ScriptError(.runtime, "cannot change '\(name)': it was declared with 'let'", at: l) }
            guard arguments.count == 1, case .number(let n) = try evaluate(arguments[0].value, in: env) else {
                throw ScriptError(.runtime, "an array index must be one number", at: l)
            }
            let index = try arrayIndex(n, count: items.count, at: l)
            items[index] = try combined(items[index])
            _ = env.assign(name, .array(items))
        default:
            throw ScriptError(.runtime, "only array elements can be assigned with [ ]; a tensor is a value, build a new one",
                              at: target.location, hint: "for example: x = where(mask, newValues, x)")
        }
    }

    // MARK: Expressions

    func evaluate(_ expression: Expression, in env: Environment) throws -> Value {
        try checkStack(at: expression.location)
        switch expression {
        case .number(let n, _): return .number(n)
        case .bool(let b, _): return .bool(b)
        case .none: return .none
        case .wholeAxis: return .range(0, Int.max)                 // clipped to the axis, as every range is
        case let .string(pieces, _): return try interpolate(pieces, in: env)
        case let .variable(name, location): return try lookup(name, at: location, in: env)
        case let .array(elements, _): return .array(try elements.map { try evaluate($0, in: env) })
        case let .dictionary(pairs, _):
            var entries: [(key: String, value: Value)] = []
            for (key, value) in pairs {
                guard case .string(let name) = try evaluate(key, in: env) else {
                    throw ScriptError(.runtime, "a dictionary's keys are strings", at: key.location)
                }
                guard !entries.contains(where: { $0.key == name }) else { throw ScriptError(.runtime, "the key \"\(name)\" appears twice", at: key.location) }
                entries.append((name, try evaluate(value, in: env)))
            }
            return .object(ScriptDictionary(entries))
        case let .unary(op, operand, location): return try unary(op, evaluate(operand, in: env), at: location)
        case let .binary(first, operations): return try evaluateBinary(first, operations, in: env)
        case let .postfix(base, suffixes): return try evaluatePostfix(base, suffixes, in: env)
        case let .conditional(condition, then, otherwise, _):
            return try truth(evaluate(condition, in: env), at: condition.location) ? evaluate(then, in: env) : evaluate(otherwise, in: env)
        }
    }

    func interpolate(_ pieces: [InterpolatedPiece], in env: Environment) throws -> Value {
        .string(try pieces.map { piece in
            switch piece {
            case .text(let t): return t
            case .expression(let e): return try evaluate(e, in: env).plain
            }
        }.joined())
    }

    func lookup(_ name: String, at location: Location, in env: Environment) throws -> Value {
        if let v = env.lookup(name) { return v.value }
        if let b = builtins[name] { return b }
        var error = ScriptError(.runtime, "'\(name)' is not defined", at: location,
                                hint: nameHints[name] ?? suggestion(for: name, among: env.allNames + Array(builtins.keys)).map { "did you mean '\($0)'?" })
        error.undefinedName = name
        throw error
    }

    func unary(_ op: UnaryOperator, _ value: Value, at location: Location) throws -> Value {
        switch (op, value) {
        case (.negate, .number(let n)): return .number(-n)
        case (.negate, .tensor(let t)): return .tensor(try engine(location) { try -t })
        case (.negate, .array): return .tensor(try engine(location) { try -tensor(value, at: location) })
        case (.not, _): return .bool(!(try truth(value, at: location)))
        default: throw ScriptError(.runtime, "cannot apply '\(op.rawValue)' to \(value.typeNameWithArticle)", at: location)
        }
    }

    /// `first op₁ e₁ op₂ e₂ …` left to right; `&&` and `||` evaluate their right side only when it decides.
    func evaluateBinary(_ first: Expression, _ operations: [Operation], in env: Environment) throws -> Value {
        var value = try evaluate(first, in: env)
        var valueLocation = first.location
        for operation in operations {
            switch operation.op {
            case .and, .or:
                let decided = try truth(value, at: valueLocation)
                if decided == (operation.op == .or) { return .bool(decided) }
                value = .bool(try truth(evaluate(operation.operand, in: env), at: operation.operand.location))
            default:
                value = try binary(operation.op, value, evaluate(operation.operand, in: env), at: operation.location)
            }
            valueLocation = operation.operand.location
        }
        return value
    }

    /// `base` followed by calls, members and subscripts, left to right.
    func evaluatePostfix(_ base: Expression, _ suffixes: [Suffix], in env: Environment) throws -> Value {
        // xs.append(v) changes the array held by a `var`, as in Swift.
        if case .variable(let name, _) = base, suffixes.count == 2, case .member("append", _) = suffixes[0],
           case let .call(arguments, location) = suffixes[1], let existing = env.lookup(name), case .array(let items) = existing.value {
            guard existing.mutable else { throw ScriptError(.runtime, "cannot append to '\(name)': it was declared with 'let'", at: location) }
            guard arguments.count == 1, arguments[0].label == nil else { throw ScriptError(.runtime, "append takes one value", at: location) }
            _ = env.assign(name, .array(items + [try evaluate(arguments[0].value, in: env)]))
            return .none
        }
        var value = try evaluate(base, in: env)
        // What a call is called in its errors: the variable or method it was reached by.
        var name: String
        if case .variable(let n, _) = base { name = n } else { name = "function" }
        for suffix in suffixes {
            switch suffix {
            case let .call(arguments, location):
                value = try call(value, named: name, arguments, at: location, in: env)
                name = "function"
            case let .member(member, location):
                value = try self.member(member, of: value, at: location)
                name = member
            case let .subscripted(arguments, location):
                value = try subscriptValue(value, arguments.map { try evaluate($0.value, in: env) }, at: location)
                name = "function"
            }
        }
        return value
    }

    /// A call written in the program: its arguments evaluated in order, then the call.
    func call(_ function: Value, named name: String, _ arguments: [Argument], at location: Location, in env: Environment) throws -> Value {
        var positional: [Value] = [], labeled: [(label: String, value: Value)] = []
        for argument in arguments {
            let v = try evaluate(argument.value, in: env)
            if let label = argument.label { labeled.append((label, v)) } else { positional.append(v) }
        }
        try checkInterrupt(at: location)
        return try call(function, Arguments(positional: positional, labeled: labeled, location: location, function: name))
    }

    func member(_ name: String, of value: Value, at location: Location) throws -> Value {
        switch (value, name) {
        case (.array(let items), "count"): return .number(Double(items.count))
        case (.string(let s), "count"): return .number(Double(s.count))
        case (.object(let d as ScriptDictionary), "count"): return .number(Double(d.entries.count))
        case (.object(let d as ScriptDictionary), "keys"): return .array(d.entries.map { .string($0.key) })
        case (.object(let d as ScriptDictionary), "values"): return .array(d.entries.map(\.value))
        default: break
        }
        if let member = try members(value, name, location) { return member }
        throw ScriptError(.runtime, "\(value.typeNameWithArticle) has no property or method '\(name)'", at: location)
    }

    public func call(_ function: Value, _ arguments: Arguments) throws -> Value {
        switch function {
        case .builtin(let b):
            do { return try b.call(arguments) } catch let error as ScriptError {
                throw error.location == nil ? ScriptError(error.kind, error.message, at: arguments.location, hint: error.hint) : error
            } catch EngineError.interrupted {
                throw interrupted(at: arguments.location)
            } catch {
                throw ScriptError(.runtime, "\(error)", at: arguments.location)
            }
        case .function(let f):
            return try call(f, arguments)
        default:
            let called = arguments.function == "function" ? nil : arguments.function
            throw ScriptError(.runtime, "\(function.typeNameWithArticle) cannot be called", at: arguments.location,
                              hint: called.map { "'\($0)' is a value, not a function: write it without ( )" })
        }
    }

    func call(_ f: UserFunction, _ arguments: Arguments) throws -> Value {
        let scope = Environment(parent: f.closure)
        var positional = arguments.positional[...]
        var labeled = arguments.labeled
        let labels = f.parameters.compactMap(\.label)
        if let unknown = labeled.first(where: { !labels.contains($0.label) }) {
            throw ScriptError(.runtime, "\(f.name): no parameter labelled '\(unknown.label):'", at: arguments.location,
                              hint: suggestion(for: unknown.label, among: labels).map { "did you mean '\($0):'?" }
                                  ?? (labels.isEmpty ? "it takes no labelled arguments" : "its labels: " + labels.map { "\($0):" }.joined(separator: ", ")))
        }
        for parameter in f.parameters {
            var value: Value?
            if let label = parameter.label {
                if let i = labeled.firstIndex(where: { $0.label == label }) { value = labeled.remove(at: i).value }
            } else if let first = positional.first {
                value = first
                positional = positional.dropFirst()
            }
            if value == nil, let d = parameter.defaultValue { value = try evaluate(d, in: f.closure) }
            guard let value else {
                throw ScriptError(.runtime, "\(f.name): missing argument " + (parameter.label.map { "'\($0):'" } ?? "'\(parameter.name)'"),
                                  at: arguments.location)
            }
            scope.variables[parameter.name] = (value, false)
        }
        if !positional.isEmpty {
            throw ScriptError(.runtime, "\(f.name): \(positional.count) argument(s) too many, or missing labels", at: arguments.location,
                              hint: "labelled parameters: " + f.parameters.compactMap(\.label).map { "\($0):" }.joined(separator: ", "))
        }
        calls.append(f.name)
        defer { calls.removeLast() }
        do {
            switch try execute(f.body, in: scope) {
            case .returned(let v): return v
            default: return .none
            }
        } catch var error as ScriptError where error.location != nil {
            // The innermost function's code is where the error is; each caller out to the code
            // being run moves the call site outwards.
            if error.function == nil, let source = f.source { error.function = (f.name, source) }
            error.callSite = arguments.location
            throw error
        }
    }

    /// Stops with an error, rather than a crash, when the thread's stack runs low.
    func checkStack(at location: Location) throws {
        guard Stack.isLow else { return }
        if let last = calls.last {
            throw ScriptError(.runtime, "maximum recursion depth exceeded: \(calls.count) calls inside one another (the last of '\(last)') fill the stack",
                              at: location, hint: "does every path of '\(last)' reach a case that returns without calling it again?")
        }
        throw ScriptError(.runtime, "too deeply nested: evaluating this fills the stack", at: location,
                          hint: "split the expression with 'let' for its parts")
    }

    func truth(_ value: Value, at location: Location) throws -> Bool {
        switch value {
        case .bool(let b), .verdict(let b, _): return b
        case .tensor(let t) where t.count == 1: return try t.item() != 0
        default: throw ScriptError(.runtime, "expected true or false, got \(value.typeNameWithArticle)", at: location)
        }
    }

    /// Calls `body` with each element of a loop's sequence until it returns false. A range
    /// yields its numbers one at a time: `for i in 1...1000000000` needs no memory.
    func forEachElement(of value: Value, at location: Location, _ body: (Value) throws -> Bool) throws {
        switch value {
        case .range(let a, let b):
            var i = a
            while i < b {
                guard try body(.number(Double(i))) else { return }
                i += 1
            }
        case .array(let items):
            for item in items { guard try body(item) else { return } }
        case .tensor(let t):
            guard t.rank >= 1 else { throw ScriptError(.runtime, "a scalar tensor cannot be looped over", at: location) }
            for i in 0..<t.shape[0] { guard try body(.tensor(try engine(location) { try t[i] })) else { return } }
        case .string(let s):
            for c in s { guard try body(.string(String(c))) else { return } }
        default: throw ScriptError(.runtime, "\(value.typeNameWithArticle) cannot be looped over", at: location)
        }
    }

    func arrayIndex(_ n: Double, count: Int, at location: Location) throws -> Int {
        guard n == n.rounded(), abs(n) < 1e15 else { throw ScriptError(.runtime, "an index must be a whole number, got \(formatNumber(n))", at: location) }
        let i = Int(n) < 0 ? Int(n) + count : Int(n)
        guard i >= 0 && i < count else { throw ScriptError(.runtime, "index \(formatNumber(n)) is out of range for \(count) elements", at: location) }
        return i
    }

    func subscriptValue(_ value: Value, _ indices: [Value], at location: Location) throws -> Value {
        switch value {
        case .object(let dictionary as ScriptDictionary):
            guard indices.count == 1, case .string(let key) = indices[0] else { throw ScriptError(.runtime, "a dictionary's key is one string", at: location) }
            guard let found = dictionary[key] else {
                let keys = dictionary.entries.map(\.key)
                throw ScriptError(.runtime, "no key \"\(key)\" in the dictionary", at: location,
                                  hint: suggestion(for: key, among: keys).map { "did you mean \"\($0)\"?" } ?? "its keys are in .keys")
            }
            return found
        case .array(let items):
            guard indices.count == 1 else { throw ScriptError(.runtime, "an array takes one index", at: location) }
            switch indices[0] {
            case .number(let n): return items[try arrayIndex(n, count: items.count, at: location)]
            case .range(let a, let b):
                let lower = max(0, min(a, items.count)), upper = max(lower, min(b, items.count))
                return .array(Array(items[lower..<upper]))
            default: throw ScriptError(.runtime, "an array index must be a number or a range", at: location)
            }
        case .tensor(let t):
            let converted: [any TensorIndexExpression] = try indices.map { index in
                switch index {
                case .number(let n):
                    guard n == n.rounded(), abs(n) < 1e15 else { throw ScriptError(.runtime, "an index must be a whole number", at: location) }
                    return Int(n)
                case .range(let a, let b): return TensorIndex.range(a, b)
                default: throw ScriptError(.runtime, "a tensor index must be a number or a range, got \(index.typeNameWithArticle)", at: location)
                }
            }
            return .tensor(try engine(location) { try t.index(converted.map(\.tensorIndex)) })
        default:
            throw ScriptError(.runtime, "\(value.typeNameWithArticle) cannot be indexed", at: location)
        }
    }

    // MARK: Operators

    public func binary(_ op: BinaryOperator, _ left: Value, _ right: Value, at location: Location) throws -> Value {
        switch (left, right) {
        case let (.number(a), .number(b)):
            switch op {
            case .add: return .number(a + b)
            case .subtract: return .number(a - b)
            case .multiply: return .number(a * b)
            case .divide: return .number(a / b)
            case .remainder: return .number(a.truncatingRemainder(dividingBy: b))
            case .power: return .number(pow(a, b))
            case .equal: return .bool(a == b)
            case .notEqual: return .bool(a != b)
            case .less: return .bool(a < b)
            case .lessOrEqual: return .bool(a <= b)
            case .greater: return .bool(a > b)
            case .greaterOrEqual: return .bool(a >= b)
            case .closedRange, .halfOpenRange:
                guard a == a.rounded(), b == b.rounded(), abs(a) < 1e12, abs(b) < 1e12 else {
                    throw ScriptError(.runtime, "range bounds must be whole numbers", at: location)
                }
                return .range(Int(a), Int(b) + (op == .closedRange ? 1 : 0))
            case .matrixProduct: throw ScriptError(.runtime, "'@' is the matrix product; for numbers use '*'", at: location)
            case .and, .or: break
            }
        case let (.string(a), .string(b)):
            if op == .add { return .string(a + b) }
            if op == .equal { return .bool(a == b) }
            if op == .notEqual { return .bool(a != b) }
        case let (.bool(a), .bool(b)):
            if op == .equal { return .bool(a == b) }
            if op == .notEqual { return .bool(a != b) }
        case let (.array(a), .array(b)) where op == .equal || op == .notEqual:
            // Arrays compare as values (shapes, lists): one answer, not an elementwise mask.
            let same = a.count == b.count && zip(a, b).allSatisfy { (try? binary(.equal, $0, $1, at: location)).map(isTrue) ?? false }
            return .bool(op == .equal ? same : !same)
        case let (.array(a), .array(b)) where op == .add:
            // As in Swift, + joins arrays; tensor arithmetic needs a tensor (tensor([1, 2]) + …).
            return .array(a + b)
        case (.string, _), (_, .string):
            if op == .add {
                throw ScriptError(.runtime, "cannot add \(left.typeNameWithArticle) and \(right.typeNameWithArticle)", at: location,
                                  hint: "to put a value in a string write \"…\\(value)…\"")
            }
        default:
            break
        }
        // Anything numeric left over is tensor arithmetic (numbers and numeric arrays convert).
        if isNumeric(left) && isNumeric(right) {
            // x ** 2 with a number exponent is the power primitive: exact for negative x, where
            // exp(2·log x) would be NaN.
            if op == .power, case .number(let p) = right {
                let base = try tensor(left, at: location)
                return .tensor(try engine(location) { try pow(base, Float(p)) })
            }
            let (a, b) = (try tensor(left, at: location), try tensor(right, at: location))
            return .tensor(try engine(location) {
                switch op {
                case .add: return try a + b
                case .subtract: return try a - b
                case .multiply: return try a * b
                case .divide: return try a / b
                case .power: return try pow(a, b)
                case .matrixProduct: return try matmul(a, b)
                case .equal: return try a .== b
                case .notEqual: return try a .!= b
                case .less: return try a .< b
                case .lessOrEqual: return try a .<= b
                case .greater: return try a .> b
                case .greaterOrEqual: return try a .>= b
                case .remainder, .closedRange, .halfOpenRange, .and, .or:
                    throw ScriptError(.runtime, "'\(op.rawValue)' does not apply to tensors", at: location)
                }
            })
        }
        throw ScriptError(.runtime, "cannot apply '\(op.rawValue)' to \(left.typeNameWithArticle) and \(right.typeNameWithArticle)", at: location)
    }

    func isTrue(_ v: Value) -> Bool {
        switch v {
        case .bool(let b), .verdict(let b, _): return b
        case .tensor(let t): return t.scalars.allSatisfy { $0 != 0 }
        default: return false
        }
    }

    func isNumeric(_ v: Value) -> Bool {
        switch v {
        case .number, .tensor: return true
        case .array(let items): return !items.isEmpty && items.allSatisfy(isNumeric)
        default: return false
        }
    }

    /// Numbers and (nested) numeric arrays as tensors.
    public func tensor(_ value: Value, at location: Location) throws -> Tensor {
        switch value {
        case .tensor(let t): return t
        case .number(let n): return Tensor(Float(n))
        case .array(let items):
            let parts = try items.map { try tensor($0, at: location) }
            guard let first = parts.first else { return try engine(location) { try Tensor.zeros([0]) } }
            guard parts.allSatisfy({ $0.shape == first.shape }) else {
                throw ScriptError(.runtime, "the rows of this array have different shapes: " + parts.map(\.shape.description).joined(separator: ", "), at: location)
            }
            return try engine(location) { try Tensor.stack(parts) }
        default:
            throw ScriptError(.runtime, "expected a number, an array of numbers or a tensor, got \(value.typeNameWithArticle)", at: location)
        }
    }

    /// Runs engine code, turning its errors into errors at `location`.
    public func engine<T>(_ location: Location, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ScriptError { throw error } catch EngineError.interrupted {
            throw interrupted(at: location)
        } catch {
            throw ScriptError(.runtime, "\(error)", at: location)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
