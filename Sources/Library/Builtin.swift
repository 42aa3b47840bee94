import Engine
import Script

/// One entry of the builtins table: everything `help`, tab completion and the reference page
/// show comes from here, and a test runs every example.
public struct Builtin: Sendable {
    public let name: String
    public let signature: String
    public let doc: String
    public let example: String
    public let topic: Topic
    let body: @Sendable (Arguments, Session) throws -> Value

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

    init(_ name: String, _ signature: String, _ topic: Topic, _ doc: String, example: String,
         _ body: @escaping @Sendable (Arguments, Session) throws -> Value) {
        (self.name, self.signature, self.topic, self.doc, self.example, self.body) = (name, signature, topic, doc, example, body)
    }

    /// The help text: signature, doc and example.
    public var help: String { "\(signature)\n  \(doc)\n  example: \(example)" }
}

/// A property or method of a tensor (`x.shape`, `x.mean(axes: [2, 3])`).
public struct TensorMember: Sendable {
    public let name: String
    public let signature: String
    public let doc: String
    public let example: String
    /// Properties are read without parentheses.
    public let isProperty: Bool
    let body: @Sendable (Tensor, Arguments) throws -> Value

    public var help: String { "\(signature)\n  \(doc)\n  example: \(example)" }
}
