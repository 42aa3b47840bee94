import Engine

/// A value in the lesson language.
public enum Value {
    case number(Double)
    case bool(Bool)
    case string(String)
    case tensor(Tensor)
    case array([Value])
    /// lower..<upper
    case range(Int, Int)
    case function(UserFunction)
    case builtin(BuiltinFunction)
    case object(any ScriptObject)
    /// The outcome of a tolerance check, with how it was decided ("max |a − b| = 3e-7 ≤ 1e-5").
    case verdict(Bool, String)
    case none

    /// The type name shown by `:vars` and in error messages.
    public var typeName: String {
        switch self {
        case .number: return "Number"
        case .bool, .verdict: return "Bool"
        case .string: return "String"
        case .tensor: return "Tensor"
        case .array: return "Array"
        case .range: return "Range"
        case .function, .builtin: return "Function"
        case .object(let o): return o.typeName
        case .none: return "nil"
        }
    }

    /// The type name with its article, as messages use it: "a Tensor", "an Array", "nil".
    public var typeNameWithArticle: String {
        if case .none = self { return "nil" }
        return ("AEIOU".contains(typeName.first ?? " ") ? "an " : "a ") + typeName
    }

    /// How a bare expression shows its value (strings quoted, like the Swift REPL).
    public var display: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .array(let items): return "[" + items.map(\.display).joined(separator: ", ") + "]"
        default: return plain
        }
    }

    /// How `print` and interpolation show a value.
    public var plain: String {
        switch self {
        case .number(let n): return formatNumber(n)
        case .bool(let b): return String(b)
        case .string(let s): return s
        case .tensor(let t): return t.description
        case .array(let items): return "[" + items.map(\.display).joined(separator: ", ") + "]"
        case .range(let a, let b): return "\(a)..<\(b)"
        case .function(let f): return "func \(f.name)(\(f.parameters.map { ($0.label ?? "_") + ":" }.joined()))"
        case .builtin(let b): return "builtin \(b.name)"
        case .object(let o): return o.summary
        case .verdict(let ok, let why): return "\(ok) (\(why))"
        case .none: return "nil"
        }
    }
}

/// Whole numbers print without a fraction ("3"); others as NumPy prints a float32 scalar, in
/// the fewest digits that give back the same Float32 ("0.030138505", not 0.030138505273498595
/// beside a tensor's 3.0138507): every tensor holds Float32, so one way for all numbers, and
/// further digits would be noise. Outside Float32's range, Double's digits.
public func formatNumber(_ n: Double) -> String {
    if n.isFinite && n == n.rounded() && abs(n) < 1e15 { return String(Int64(n)) }
    let single = Float(n)
    if single.isFinite && single != 0 { return single.description }
    return n.description
}

/// Host objects shown to the language (plots, models, datasets).
public protocol ScriptObject: AnyObject {
    var typeName: String { get }
    var summary: String { get }
}

/// `["name": value, …]`: values by string key, in the order they were given (a safetensors
/// file's tensors by name, for instance). A value, like an array: `d["k"] = v` makes a new one.
public final class ScriptDictionary: ScriptObject {
    public let entries: [(key: String, value: Value)]
    public init(_ entries: [(key: String, value: Value)]) { self.entries = entries }

    public subscript(key: String) -> Value? { entries.first { $0.key == key }?.value }

    public var typeName: String { "Dictionary" }
    /// Tensors of more than one element by their shape, as records show them.
    public var summary: String {
        guard !entries.isEmpty else { return "[:]" }
        return "[" + entries.map { entry -> String in
            if case .tensor(let t) = entry.value, t.count > 1 { return "\"\(entry.key)\": Tensor \(t.shape)" }
            return "\"\(entry.key)\": \(entry.value.display)"
        }.joined(separator: ", ") + "]"
    }
}

/// A function written in the language, with the environment it was defined in.
public final class UserFunction {
    public let name: String
    public let parameters: [Parameter]
    let body: [Statement]
    let closure: Environment
    /// The code that defined it, which its errors point into.
    let source: SourceText?

    init(name: String, parameters: [Parameter], body: [Statement], closure: Environment, source: SourceText?) {
        (self.name, self.parameters, self.body, self.closure, self.source) = (name, parameters, body, closure, source)
    }
}

/// A function provided by the host (the builtins table, or a bound method).
public struct BuiltinFunction {
    public let name: String
    public let call: (Arguments) throws -> Value
    public init(name: String, call: @escaping (Arguments) throws -> Value) { (self.name, self.call) = (name, call) }
}

/// The arguments of a call: positional ones in order, labelled ones by label.
public struct Arguments {
    public var positional: [Value]
    public var labeled: [(label: String, value: Value)]
    public var location: Location
    public let function: String

    public init(positional: [Value], labeled: [(label: String, value: Value)], location: Location, function: String) {
        (self.positional, self.labeled, self.location, self.function) = (positional, labeled, location, function)
    }
}
