import Engine
import Script

/// Converting the language's values to what the engine wants, with errors that say which
/// argument was wrong.
extension Arguments {
    func tensor(_ index: Int, _ label: String? = nil) throws -> Tensor {
        try toTensor(required(index, label), what: describe(index, label))
    }

    func number(_ index: Int, _ label: String? = nil) throws -> Double {
        try toNumber(required(index, label), what: describe(index, label))
    }

    func int(_ index: Int, _ label: String? = nil) throws -> Int {
        try toInt(required(index, label), what: describe(index, label))
    }

    func optionalNumber(_ label: String) throws -> Double? { try value(label).map { try toNumber($0, what: "'\(label):'") } }
    func optionalInt(_ label: String) throws -> Int? { try value(label).map { try toInt($0, what: "'\(label):'") } }
    func optionalBool(_ label: String) throws -> Bool? {
        try value(label).map {
            guard case .bool(let b) = $0 else { throw error("'\(label):' must be true or false, got a \($0.typeName)") }
            return b
        }
    }

    func string(_ index: Int, _ label: String? = nil) throws -> String {
        guard case .string(let s) = try required(index, label) else { throw error("\(describe(index, label)) must be a string") }
        return s
    }

    /// A shape given as an array (`zeros([2, 3])`) or as separate numbers (`zeros(2, 3)`).
    func shape() throws -> Shape {
        if positional.count == 1, case .array(let items) = positional[0] {
            return Shape(try items.map { try toInt($0, what: "a dimension") })
        }
        return Shape(try positional.map { try toInt($0, what: "a dimension") })
    }

    func axes(_ label: String = "axes") throws -> [Int]? {
        guard let v = value(label) else { return nil }
        switch v {
        case .number: return [try toInt(v, what: "'\(label):'")]
        case .array(let items): return try items.map { try toInt($0, what: "an axis") }
        default: throw error("'\(label):' must be an axis or an array of axes")
        }
    }

    func describe(_ index: Int, _ label: String?) -> String { label.map { "'\($0):'" } ?? "argument \(index + 1)" }
}

func toNumber(_ value: Value, what: String) throws -> Double {
    switch value {
    case .number(let n): return n
    case .bool(let b): return b ? 1 : 0
    case .tensor(let t) where t.count == 1: return Double(try t.item())
    default: throw ScriptError(.runtime, "\(what) must be a number, got a \(value.typeName)")
    }
}

func toInt(_ value: Value, what: String) throws -> Int {
    let n = try toNumber(value, what: what)
    guard n == n.rounded(), abs(n) < 1e15 else { throw ScriptError(.runtime, "\(what) must be a whole number, got \(formatNumber(n))") }
    return Int(n)
}

/// Numbers, numeric arrays (nested) and tensors as a tensor.
func toTensor(_ value: Value, what: String) throws -> Tensor {
    switch value {
    case .tensor(let t): return t
    case .number(let n): return Tensor(Float(n))
    case .bool(let b): return Tensor(b ? 1 : 0)
    case .array(let items):
        let parts = try items.map { try toTensor($0, what: what) }
        guard let first = parts.first else { return try Tensor.zeros([0]) }
        guard parts.allSatisfy({ $0.shape == first.shape }) else {
            throw ScriptError(.runtime, "\(what): the rows have different shapes (" + parts.map(\.shape.description).joined(separator: ", ") + ")")
        }
        return try Tensor.stack(parts)
    default:
        throw ScriptError(.runtime, "\(what) must be a tensor, a number or an array of numbers, got a \(value.typeName)")
    }
}

/// A shape as the language shows it: an array of numbers.
func shapeValue(_ shape: Shape) -> Value { .array(shape.dims.map { .number(Double($0)) }) }

/// Named fields for results with several parts (`power_iteration(W).sigma`).
public final class Record: ScriptObject {
    public let typeName: String
    public let fields: [(name: String, value: Value)]
    init(_ typeName: String, _ fields: [(String, Value)]) { (self.typeName, self.fields) = (typeName, fields.map { (name: $0.0, value: $0.1) }) }
    public var summary: String {
        "\(typeName)(" + fields.map { field -> String in
            if case .tensor(let t) = field.value, t.count > 1 { return "\(field.name): Tensor \(t.shape)" }
            return "\(field.name): \(field.value.plain)"
        }.joined(separator: ", ") + ")"
    }
}
