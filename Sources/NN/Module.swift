import Engine

/// A trainable tensor. Its value is a leaf of the autograd graph, so `backward()` fills
/// `grad`; an optimizer step or a checkpoint load replaces the value.
public final class Parameter: @unchecked Sendable {
    public private(set) var value: Tensor

    public init(_ value: Tensor) { self.value = value.detached().requiringGrad() }

    public var grad: Tensor? { value.grad }
    public var shape: Shape { value.shape }

    /// New values (same shape), as a fresh leaf with no gradient.
    public func assign(_ newValue: Tensor) throws {
        guard newValue.shape == value.shape else {
            throw EngineError.shapeMismatch(op: "Parameter.assign", shapes: [value.shape, newValue.shape], reason: "a parameter keeps its shape")
        }
        value = newValue.detached().requiringGrad()
    }

    public func zeroGrad() { value.zeroGrad() }
}

/// State that is saved with a model but not trained: BatchNorm's running statistics and
/// count of batches, spectral normalization's u and v. `dtype` is the type a checkpoint stores
/// it as; an `.i64` buffer holds whole numbers (exact up to 2²⁴ in its Float32 value).
public final class Buffer: @unchecked Sendable {
    public var value: Tensor
    public let dtype: DType
    public init(_ value: Tensor, dtype: DType = .f32) { (self.value, self.dtype) = (value.detached(), dtype) }
}

/// A node of a model: holds parameters, buffers and child modules in stored properties.
/// Names are those of a PyTorch state dict of the same network (`layers.0.weight_orig`,
/// `batch_norms.1.running_mean`), so a checkpoint is that map and PyTorch loads it strictly.
public protocol Module: AnyObject {
    /// This module's own parameters, buffers and child modules (arrays of modules are
    /// numbered), named as PyTorch names them, in PyTorch's registration order. The default
    /// reads the stored properties in declaration order, each name in snake_case.
    var stateChildren: [(name: String, value: Any)] { get }
}

extension Module {
    public var stateChildren: [(name: String, value: Any)] {
        Mirror(reflecting: self).children.enumerated().map { (snakeCase($0.element.label ?? String($0.offset)), $0.element.value) }
    }
}

/// `runningMean` → `running_mean`: Swift's property names as Python's.
public func snakeCase(_ name: String) -> String {
    name.reduce(into: "") { result, c in
        if c.isUppercase && !result.isEmpty { result += "_" }
        result += c.lowercased()
    }
}

/// A module with one input and one output.
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

/// Modules that behave differently in training and evaluation (BatchNorm, spectral norm).
public protocol TrainingModeAware: Module {
    var isTraining: Bool { get set }
}

extension Module {
    /// Every parameter with its dotted path, in declaration order.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var result: [(String, Parameter)] = []
        walk("") { name, value in if let p = value as? Parameter { result.append((name, p)) } }
        return result
    }

    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        var result: [(String, Buffer)] = []
        walk("") { name, value in if let b = value as? Buffer { result.append((name, b)) } }
        return result
    }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.map(\.value.count).reduce(0, +) }

    /// Switches this module and every module below it to training (or evaluation) mode.
    public func train(_ on: Bool = true) {
        if let aware = self as? any TrainingModeAware { aware.isTraining = on }
        walk("") { _, value in (value as? any TrainingModeAware)?.isTraining = on }
    }

    public func eval() { train(false) }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Calls `visit` with the path and value of every parameter, buffer and module below.
    func walk(_ prefix: String, _ visit: (String, Any) -> Void) {
        func children(of module: any Module, _ prefix: String) {
            for (label, value) in module.stateChildren {
                let name = prefix + label
                switch value {
                case let p as Parameter: visit(name, p)
                case let b as Buffer: visit(name, b)
                case let m as any Module:
                    visit(name, m)
                    children(of: m, name + ".")
                case let array as [Any]:
                    for (j, element) in array.enumerated() {
                        guard let m = element as? any Module else { continue }
                        visit("\(name).\(j)", m)
                        children(of: m, "\(name).\(j).")
                    }
                default: break
                }
            }
        }
        children(of: self, prefix)
    }
}
