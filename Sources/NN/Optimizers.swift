import Engine
import Foundation

/// Updates parameters from their gradients. State (moments, step count) is a map of names to
/// tensors, so it is saved in checkpoints beside the model.
public protocol Optimizer: AnyObject {
    var parameters: [(name: String, parameter: Parameter)] { get }
    func step() throws
    func stateDict() throws -> [String: Tensor]
    func load(stateDict: [String: Tensor]) throws
}

extension Optimizer {
    public func zeroGrad() { parameters.forEach { $0.parameter.zeroGrad() } }
}

/// Adam, exactly as torch.optim.Adam (no weight decay, no amsgrad):
///
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
///     θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Defaults are WGAN-GP's: lr 1e-4, β = (0, 0.9), ε = 1e-8.
public final class Adam: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    /// Kept in Double: 1 − β is computed in Double, as PyTorch does in Python floats
    /// (1 − Float(0.999) is off by 1.3e-5 relative).
    public let beta1: Double, beta2: Double
    public let eps: Float
    public private(set) var stepCount = 0
    private var m: [String: Tensor] = [:]
    private var v: [String: Tensor] = [:]

    public init(_ parameters: [(name: String, parameter: Parameter)], learningRate: Float = 1e-4,
                betas: (Double, Double) = (0, 0.9), eps: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2, self.eps) = (betas.0, betas.1, eps)
    }

    public convenience init(_ module: any Module, learningRate: Float = 1e-4, betas: (Double, Double) = (0, 0.9), eps: Float = 1e-8) {
        self.init(module.namedParameters(), learningRate: learningRate, betas: betas, eps: eps)
    }

    public func step() throws {
        stepCount += 1
        let t = stepCount
        // Bias corrections in Double, as PyTorch computes them in Python floats.
        let correction1 = Float(1 - Foundation.pow(beta1, Double(t)))
        let correction2 = Float(1 - Foundation.pow(beta2, Double(t)))
        try noGrad {
            for (name, parameter) in parameters {
                guard let g = parameter.grad else { continue }
                let mNew = try Tensor(Float(beta1)) * (m[name] ?? Tensor.zeros(g.shape)) + Tensor(Float(1 - beta1)) * g
                let vNew = try Tensor(Float(beta2)) * (v[name] ?? Tensor.zeros(g.shape)) + Tensor(Float(1 - beta2)) * g * g
                let denominator = try sqrt(vNew) / Tensor(correction2.squareRoot()) + Tensor(eps)
                try parameter.assign(parameter.value - Tensor(learningRate / correction1) * mNew / denominator)
                (m[name], v[name]) = (mNew, vNew)
            }
        }
    }

    public func stateDict() throws -> [String: Tensor] {
        var state: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        for (name, tensor) in m { state["exp_avg.\(name)"] = tensor }
        for (name, tensor) in v { state["exp_avg_sq.\(name)"] = tensor }
        return state
    }

    public func load(stateDict state: [String: Tensor]) throws {
        guard let step = state["step"] else {
            throw CheckpointError.mismatch(["the optimizer state has no 'step'"])
        }
        var problems: [String] = []
        var (newM, newV): ([String: Tensor], [String: Tensor]) = ([:], [:])
        for (name, parameter) in parameters {
            for (prefix, _) in [("exp_avg.", 0), ("exp_avg_sq.", 1)] {
                guard let t = state[prefix + name] else { continue }
                if t.shape != parameter.shape { problems.append("\(prefix)\(name): shape \(t.shape) in the file, \(parameter.shape) in the model"); continue }
                if prefix == "exp_avg." { newM[name] = t } else { newV[name] = t }
            }
        }
        let known = Set(parameters.flatMap { ["exp_avg.\($0.name)", "exp_avg_sq.\($0.name)"] } + ["step"])
        problems += state.keys.filter { !known.contains($0) }.sorted().map { "\($0): in the file, not in the optimizer" }
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
        (m, v, stepCount) = (newM, newV, Int(try step.item()))
    }
}

/// Plain gradient descent, θ ← θ − lr·g, with optional momentum (PyTorch's form).
public final class SGD: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    public let momentum: Float
    private var velocity: [String: Tensor] = [:]

    public init(_ parameters: [(name: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public convenience init(_ module: any Module, learningRate: Float, momentum: Float = 0) {
        self.init(module.namedParameters(), learningRate: learningRate, momentum: momentum)
    }

    public func step() throws {
        try noGrad {
            for (name, parameter) in parameters {
                guard var g = parameter.grad else { continue }
                if momentum != 0 {
                    g = try velocity[name].map { try Tensor(momentum) * $0 + g } ?? g
                    velocity[name] = g
                }
                try parameter.assign(parameter.value - Tensor(learningRate) * g)
            }
        }
    }

    public func stateDict() throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: velocity.map { ("momentum_buffer.\($0.key)", $0.value) })
    }

    public func load(stateDict state: [String: Tensor]) throws {
        velocity = [:]
        for (name, parameter) in parameters {
            if let t = state["momentum_buffer.\(name)"] {
                guard t.shape == parameter.shape else { throw CheckpointError.mismatch(["momentum_buffer.\(name): shape \(t.shape) in the file, \(parameter.shape) in the model"]) }
                velocity[name] = t
            }
        }
    }
}
