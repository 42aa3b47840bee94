import Engine
import Script

/// Converting the language's values to what the engine wants, with errors that say which
/// argument was wrong (`what`).
func toNumber(_ value: Value, what: String) throws -> Double {
    switch value {
    case .number(let n): return n
    case .bool(let b): return b ? 1 : 0
    case .tensor(let t) where t.count == 1: return Double(try t.item())
    default: throw ScriptError(.runtime, "\(what) must be a number, got \(describeValue(value))")
    }
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
        throw ScriptError(.runtime, "\(what) must be a tensor, a number or an array of numbers, got \(describeValue(value))")
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
