import Engine
import Foundation
import Script

/// One entry of the builtins table. Its parameters are data: the signature that help shows,
/// the checking of every call, Tab completion of labels and the reference page all come from
/// them, and the body reads its arguments through them (a test runs every example).
public struct Builtin: Sendable {
    public let signature: Signature
    public let doc: String
    public let example: String
    public let topic: Topic
    let body: @Sendable (BoundArguments, Session) throws -> Value

    public enum Topic: String, CaseIterable, Sendable {
        case tensors = "Creating tensors"
        case math = "Math"
        case autograd = "Gradients"
        case normalization = "Normalizations: formulas (1) and (2)"
        case pictures = "Pictures and plots"
        case data = "Data"
        case study = "The study: training runs and metrics"
        case checks = "Checks"
        case session = "Session"
    }

    init(_ name: String, _ parameters: [BuiltinParameter], returns: String? = nil, _ topic: Topic, _ doc: String, example: String,
         _ body: @escaping @Sendable (BoundArguments, Session) throws -> Value) {
        signature = Signature(name: name, parameters: parameters, returns: returns)
        (self.topic, self.doc, self.example, self.body) = (topic, doc, example, body)
    }

    public var name: String { signature.name }
    public var help: String { signature.help(doc: doc, example: example) }
}

/// A property or method of a tensor (`x.shape`, `x.mean(axes: [2, 3])`), declared like a builtin.
public struct TensorMember: Sendable {
    public let signature: Signature
    public let doc: String
    public let example: String
    /// Properties are read without parentheses.
    public let isProperty: Bool
    let body: @Sendable (Tensor, BoundArguments) throws -> Value

    init(_ name: String, _ parameters: [BuiltinParameter], returns: String?, isProperty: Bool, doc: String, example: String,
         _ body: @escaping @Sendable (Tensor, BoundArguments) throws -> Value) {
        signature = Signature(name: name, receiver: "x", isProperty: isProperty, parameters: parameters, returns: returns)
        (self.isProperty, self.doc, self.example, self.body) = (isProperty, doc, example, body)
    }

    public var name: String { signature.name }
    public var help: String { signature.help(doc: doc, example: example) }
}

/// What a parameter accepts. Each argument is converted once, when the call is bound, so a
/// body reads a Tensor, a Double or an Int and a wrong argument is refused before it runs.
public indirect enum ParameterType: Sendable, Equatable, CustomStringConvertible {
    /// A tensor; numbers and (nested) arrays of numbers convert.
    case tensor
    case number
    /// A whole number.
    case int
    /// true or false; a one-element tensor counts by being non-zero, and `close`'s verdict keeps its reason.
    case bool
    case string
    /// One of a few strings.
    case choice([String])
    /// An array of these; an array of numbers may also be given as a tensor.
    case list(ParameterType)
    /// The first of the two that fits.
    case either(ParameterType, ParameterType)
    /// A builtin or a function written in the language.
    case function
    case any

    /// How a signature writes it: `Tensor`, `[Int]`, `"unit" or "symmetric"`.
    public var description: String {
        switch self {
        case .tensor: return "Tensor"
        case .number: return "Number"
        case .int: return "Int"
        case .bool: return "Bool"
        case .string: return "String"
        case .choice(let options): return options.map { "\"\($0)\"" }.joined(separator: " or ")
        case .list(let element): return "[\(element)]"
        case .either(let a, let b): return "\(a) or \(b)"
        case .function: return "Function"
        case .any: return "Any"
        }
    }

    /// How an error message names it: "a whole number", "an array of strings".
    var phrase: String {
        switch self {
        case .tensor: return "a tensor, a number or an array of numbers"
        case .number: return "a number"
        case .int: return "a whole number"
        case .bool: return "true or false"
        case .string: return "a string"
        case .choice: return description
        case .list(.number): return "an array of numbers or a tensor"
        case .list(let element): return "an array of \(element.plural)"
        case .either(let a, let b): return "\(a.phrase) or \(b.phrase)"
        case .function: return "a function"
        case .any: return "a value"
        }
    }

    private var plural: String {
        switch self {
        case .int: return "whole numbers"
        case .number: return "numbers"
        case .string: return "strings"
        case .tensor: return "tensors"
        case .bool: return "Bools"
        default: return "values"
        }
    }

    /// `value` in this type's normal form (a tensor as `.tensor`, a whole number as `.number`),
    /// or nil when it does not fit.
    func convert(_ value: Value, what: String) throws -> Value? {
        switch (self, value) {
        case (.any, _): return value
        case (.tensor, .tensor), (.number, .number), (.string, .string), (.bool, .bool), (.bool, .verdict),
             (.function, .builtin), (.function, .function):
            return value
        case (.tensor, .number), (.tensor, .bool), (.tensor, .array):
            return .tensor(try toTensor(value, what: what))
        case (.number, .bool), (.number, .tensor):
            return (try? toNumber(value, what: "")).map { .number($0) }
        case (.int, .number), (.int, .bool), (.int, .tensor):
            guard let n = try? toNumber(value, what: ""), n == n.rounded() else { return nil }
            // Past 10¹⁵ a Double no longer holds every whole number, and no count is that large.
            guard Swift.abs(n) < 1e15 else { throw ScriptError(.runtime, "\(what) is \(formatNumber(n)), too large: whole numbers here stay below 10¹⁵") }
            return .number(n)
        case (.bool, .tensor(let t)) where t.count == 1:
            return .bool(try t.item() != 0)
        case (.choice(let options), .string(let s)):
            return options.contains(s) ? value : nil
        case (.list(let element), .array(let items)):
            var converted: [Value] = []
            for item in items {
                guard let c = try element.convert(item, what: what) else { return nil }
                converted.append(c)
            }
            return .array(converted)
        case (.list(.number), .tensor(let t)):
            return .array(t.scalars.map { .number(Double($0)) })
        case (.either(let a, let b), _):
            // A value that already is one of the two stays what it is (a number stays a number
            // where a one-element tensor would also convert to one). What one type refuses with a
            // message (a whole number too large) the other may still take; else the message stands.
            var refusal: Error?
            for type in [a, b].filter({ $0.holds(value) }) + [a, b] {
                do {
                    if let c = try type.convert(value, what: what) { return c }
                } catch {
                    refusal = refusal ?? error
                }
            }
            if let refusal { throw refusal }
            return nil
        default:
            return nil
        }
    }
}

/// A parameter's default: required, nil, or a value.
public enum Default: Sendable, Equatable, CustomStringConvertible, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
                     ExpressibleByBooleanLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    case required
    case nothing
    case number(Double)
    case bool(Bool)
    case string(String)
    case emptyList

    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(nilLiteral: ()) { self = .nothing }

    public var description: String {
        switch self {
        case .required: return ""
        case .nothing: return "nil"
        case .number(let n): return formatNumber(n).replacingOccurrences(of: "e-0", with: "e-")
        case .bool(let b): return String(b)
        case .string(let s): return "\"\(s)\""
        case .emptyList: return "[]"
        }
    }

    var value: Value? {
        switch self {
        case .required, .nothing: return nil
        case .number(let n): return .number(n)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .emptyList: return .array([])
        }
    }
}

/// One parameter: its label (none: written without one), type, default and a one-line doc.
public struct BuiltinParameter: Sendable {
    /// nil for a parameter written without a label (`exp(x)`).
    public let label: String?
    /// What the signature and messages call it.
    public let name: String
    public let type: ParameterType
    public let defaultValue: Default
    /// Takes every remaining unlabelled argument (`zeros(2, 3)`); one array of them also works (`zeros([2, 3])`).
    public let isVariadic: Bool
    /// Other spellings accepted for the label (PyTorch's), never shown as the canonical one.
    public let aliases: [String]
    public let doc: String

    /// A parameter written without a label.
    static func positional(_ name: String, _ type: ParameterType, default defaultValue: Default = .required, _ doc: String) -> BuiltinParameter {
        BuiltinParameter(label: nil, name: name, type: type, defaultValue: defaultValue, isVariadic: false, aliases: [], doc: doc)
    }

    /// Every remaining argument without a label.
    static func variadic(_ name: String, _ type: ParameterType, _ doc: String) -> BuiltinParameter {
        BuiltinParameter(label: nil, name: name, type: type, defaultValue: .required, isVariadic: true, aliases: [], doc: doc)
    }

    /// A labelled parameter; `name` when the signature calls it something else (`of y: Tensor`).
    static func labelled(_ label: String, name: String? = nil, _ type: ParameterType, default defaultValue: Default = .required,
                         aliases: [String] = [], _ doc: String) -> BuiltinParameter {
        BuiltinParameter(label: label, name: name ?? label, type: type, defaultValue: defaultValue, isVariadic: false, aliases: aliases, doc: doc)
    }

    /// The key a body reads it by: its label, or its name when it has none.
    var key: String { label ?? name }

    /// `_ x: Tensor`, `slope: Number = 0.2`, `bias: Tensor? = nil`, `_ shape: Int...`.
    var declaration: String {
        let head = label.map { $0 == name ? $0 : "\($0) \(name)" } ?? "_ \(name)"
        let type = (defaultValue == .nothing ? (self.type.isCompound ? "(\(self.type))?" : "\(self.type)?") : "\(self.type)") + (isVariadic ? "..." : "")
        return "\(head): \(type)" + (defaultValue == .required || isVariadic ? "" : " = \(defaultValue)")
    }

    /// How a message names it: `'stride:'`, or `argument 1 (x)`.
    func described(position: Int?) -> String {
        if let label { return "'\(label):'" }
        return "argument \((position ?? 0) + 1) (\(name))"
    }
}

extension ParameterType {
    /// Whether the value is of this type as it stands, before any conversion.
    func holds(_ value: Value) -> Bool {
        switch (self, value) {
        case (.tensor, .tensor), (.number, .number), (.int, .number), (.bool, .bool), (.bool, .verdict), (.string, .string),
             (.choice, .string), (.list, .array), (.function, .builtin), (.function, .function), (.any, _):
            return true
        case (.either(let a, let b), _):
            return a.holds(value) || b.holds(value)
        default:
            return false
        }
    }

    /// Written with "or" (`"unit" or "symmetric"`), so an optional one needs parentheses.
    var isCompound: Bool {
        switch self {
        case .choice, .either: return true
        default: return false
        }
    }
}

/// A builtin's or method's name, parameters and result: shown as a Swift-like signature,
/// and the binder of every call to it.
public struct Signature: Sendable {
    public let name: String
    /// "x" for a tensor member (`x.sum(…)`), nil for a builtin.
    public let receiver: String?
    public let isProperty: Bool
    public let parameters: [BuiltinParameter]
    public let returns: String?

    init(name: String, receiver: String? = nil, isProperty: Bool = false, parameters: [BuiltinParameter], returns: String?) {
        (self.name, self.receiver, self.isProperty, self.parameters, self.returns) = (name, receiver, isProperty, parameters, returns)
    }

    /// `conv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: Int = 1) -> Tensor`.
    public var text: String {
        let head = (receiver.map { $0 + "." } ?? "") + name
        let call = isProperty ? head : head + "(" + parameters.map(\.declaration).joined(separator: ", ") + ")"
        return call + (returns.map { " -> \($0)" } ?? "")
    }

    /// The labels a call may use (canonical spellings), for completion.
    public var labels: [String] { parameters.compactMap(\.label) }

    /// The signature, the doc, one line per parameter, and the example.
    func help(doc: String, example: String) -> String {
        var lines = [text, "  " + doc]
        let width = parameters.map { $0.label.map { $0.count + 1 } ?? $0.name.count }.max() ?? 0
        for p in parameters {
            let shown = p.label.map { $0 + ":" } ?? p.name
            let alias = p.aliases.isEmpty ? "" : " (also accepted: " + p.aliases.map { $0 + ":" }.joined(separator: ", ") + ")"
            lines.append("    " + shown.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + p.doc + alias)
        }
        lines.append("  example: " + example)
        return lines.joined(separator: "\n")
    }

    func error(_ message: String, at location: Location, hint: String? = nil) -> ScriptError {
        ScriptError(.runtime, "\(name): \(message)", at: location, hint: hint)
    }

    /// Matches a call's arguments to the parameters: labels to labelled parameters (aliases
    /// included), the rest in order, defaults for what is missing, each converted to its type.
    public func bind(_ arguments: Arguments) throws -> BoundArguments {
        let location = arguments.location
        let usage = "usage: " + text
        var values: [String: Value] = [:]
        for (label, value) in arguments.labeled {
            guard let p = parameters.first(where: { $0.label == label || $0.aliases.contains(label) }) else {
                let hint: String
                if let near = suggestion(for: label, among: labels) {
                    hint = "did you mean '\(near):'?"
                } else if let unlabelled = parameters.first(where: { $0.label == nil && $0.name == label }) {
                    hint = "\(unlabelled.name) is written without a label; " + usage
                } else {
                    hint = labels.isEmpty ? "it takes no labelled arguments" : "its labels: " + labels.map { $0 + ":" }.joined(separator: ", ")
                }
                throw error("no parameter labelled '\(label):'", at: location, hint: hint)
            }
            guard values[p.key] == nil else { throw error("'\(p.key):' is given twice", at: location) }
            values[p.key] = try convert(value, for: p, position: nil, at: location)
        }
        var remaining = arguments.positional[...]
        let unlabelled = parameters.filter { $0.label == nil }
        for (position, p) in unlabelled.enumerated() {
            if p.isVariadic {
                values[p.key] = try variadic(Array(remaining), for: p, from: position, at: location)
                remaining = []
                break
            }
            guard let value = remaining.popFirst() else { break }
            values[p.key] = try convert(value, for: p, position: position, at: location)
        }
        if !remaining.isEmpty {
            let takes = unlabelled.isEmpty ? "no arguments without a label"
                : "\(unlabelled.count) argument\(unlabelled.count == 1 ? "" : "s") without a label (" + unlabelled.map(\.name).joined(separator: ", ") + ")"
            throw error("takes \(takes), got \(arguments.positional.count)", at: location, hint: usage)
        }
        for p in parameters where values[p.key] == nil {
            switch p.defaultValue {
            case .required:
                let position = unlabelled.firstIndex { $0.name == p.name }
                throw error("missing \(p.label == nil ? "" : "argument ")\(p.described(position: position))", at: location, hint: usage)
            case .nothing: break
            case let other: values[p.key] = other.value
            }
        }
        return BoundArguments(signature: self, values: values, location: location)
    }

    private func convert(_ value: Value, for p: BuiltinParameter, position: Int?, at location: Location) throws -> Value {
        do {
            if let converted = try p.type.convert(value, what: p.described(position: position)) { return converted }
        } catch let e as ScriptError {
            throw error(e.message, at: location, hint: e.hint)
        }
        var hint: String? = nil
        if case .choice(let options) = p.type, case .string(let s) = value { hint = suggestion(for: s, among: options).map { "did you mean \"\($0)\"?" } }
        throw error("\(p.described(position: position)) must be \(p.type.phrase), got \(describeValue(value))", at: location, hint: hint)
    }

    /// The rest of the arguments as one array; a single array of them works too (`zeros([2, 3])`).
    private func variadic(_ values: [Value], for p: BuiltinParameter, from position: Int, at location: Location) throws -> Value {
        let fitsWhole = { (v: Value) in (try? p.type.convert(v, what: p.name)) != nil }
        if values.count == 1, case .array(let items) = values[0], !fitsWhole(values[0]) {
            return .array(try items.enumerated().map { try convert($1, for: p, position: position + $0, at: location) })
        }
        return .array(try values.enumerated().map { try convert($1, for: p, position: position + $0, at: location) })
    }
}

/// A value as a message names it: its type with an article ("a String", "an Array"), or the
/// string itself for a wrong choice.
func describeValue(_ value: Value) -> String {
    switch value {
    case .string(let s): return "\"\(s)\""
    case .number(let n): return formatNumber(n)
    default: return value.typeNameWithArticle
    }
}

/// A call's arguments after binding: every declared parameter by its key, converted to its
/// type, defaults filled in. A body can read only what its signature declares.
public struct BoundArguments {
    let signature: Signature
    let values: [String: Value]
    public let location: Location

    /// An error that names the builtin and points at the call.
    public func error(_ message: String, hint: String? = nil) -> ScriptError { signature.error(message, at: location, hint: hint) }

    /// The argument for `key` (a label, or the name of an unlabelled parameter); nil when it was
    /// left out and defaults to nil.
    public func value(_ key: String) -> Value? {
        precondition(signature.parameters.contains { $0.key == key }, "\(signature.name) reads '\(key)', which it does not declare")
        return values[key]
    }

    private func read<T>(_ key: String, _ type: String, _ extract: (Value) -> T?) -> T? {
        guard let v = value(key) else { return nil }
        guard let t = extract(v) else { preconditionFailure("\(signature.name): '\(key)' is declared as \(v.typeName), read as \(type)") }
        return t
    }

    public func optionalTensor(_ key: String) -> Tensor? { read(key, "Tensor") { if case .tensor(let t) = $0 { t } else { nil } } }
    public func optionalNumber(_ key: String) -> Double? { read(key, "Number") { if case .number(let n) = $0 { n } else { nil } } }
    public func optionalInt(_ key: String) -> Int? { optionalNumber(key).map { Int($0) } }
    public func optionalString(_ key: String) -> String? { read(key, "String") { if case .string(let s) = $0 { s } else { nil } } }
    public func optionalList(_ key: String) -> [Value]? { read(key, "Array") { if case .array(let a) = $0 { a } else { nil } } }

    private func present<T>(_ key: String, _ v: T?) -> T {
        guard let v else { preconditionFailure("\(signature.name): '\(key)' may be nil; read it with an optional accessor") }
        return v
    }

    public func tensor(_ key: String) -> Tensor { present(key, optionalTensor(key)) }
    public func number(_ key: String) -> Double { present(key, optionalNumber(key)) }
    public func int(_ key: String) -> Int { present(key, optionalInt(key)) }
    public func string(_ key: String) -> String { present(key, optionalString(key)) }
    public func list(_ key: String) -> [Value] { present(key, optionalList(key)) }
    public func bool(_ key: String) -> Bool {
        present(key, read(key, "Bool") { v -> Bool? in
            switch v {
            case .bool(let b), .verdict(let b, _): return b
            default: return nil
            }
        })
    }

    /// The elements of a list (or variadic) argument, each already converted to the element type.
    private func elements<T>(_ key: String, _ extract: @escaping (Value) -> T?) -> [T]? {
        optionalList(key).map { $0.map { present(key, extract($0)) } }
    }

    public func optionalNumbers(_ key: String) -> [Double]? { elements(key) { if case .number(let n) = $0 { n } else { nil } } }
    public func numbers(_ key: String) -> [Double] { present(key, optionalNumbers(key)) }
    public func ints(_ key: String) -> [Int] { numbers(key).map { Int($0) } }
    public func strings(_ key: String) -> [String] { present(key, elements(key) { if case .string(let s) = $0 { s } else { nil } }) }
    public func tensors(_ key: String) -> [Tensor] { present(key, elements(key) { if case .tensor(let t) = $0 { t } else { nil } }) }
    /// A `.choice` argument as the enum its strings name.
    public func choice<T: RawRepresentable>(_ key: String, as type: T.Type) -> T where T.RawValue == String {
        present(key, T(rawValue: string(key)))
    }

    /// An axis or an array of axes (`axes: 1`, `axes: [2, 3]`), or nil.
    public func axes(_ key: String) -> [Int]? {
        guard let v = value(key) else { return nil }
        if case .number(let n) = v { return [Int(n)] }
        return ints(key)
    }
}
