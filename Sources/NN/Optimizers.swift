import Engine
import Foundation

/// Updates parameters from their gradients. Its state is torch.optim's `state_dict()` as far
/// as a file of tensors carries it (see `OptimizerState`), so checkpoints cross between the two.
public protocol Optimizer: AnyObject {
    var parameters: [(name: String, parameter: Parameter)] { get }
    func step() throws
    func stateDict() throws -> OptimizerState
    func load(stateDict: OptimizerState) throws
}

extension Optimizer {
    public func zeroGrad() { parameters.forEach { $0.parameter.zeroGrad() } }

    /// The parameter group as torch.optim writes it, with this optimizer's settings.
    func parameterGroup(_ settings: [String: Any]) -> [String: Any] {
        settings.merging(["params": Array(parameters.indices), "param_names": parameters.map(\.name), "weight_decay": 0, "maximize": false,
                          "foreach": NSNull(), "capturable": false, "differentiable": false, "fused": NSNull()]) { mine, _ in mine }
    }

    /// Checks a saved group against this optimizer: the same parameters in the same order (by
    /// name, where the file names them) and the same settings. PyTorch would silently take the
    /// file's settings; here a different learning rate is a different run, so it is an error.
    func checkGroup(_ saved: OptimizerState, _ settings: [String: Double]) throws {
        guard let group = saved.paramGroups.first, saved.paramGroups.count == 1 else {
            throw CheckpointError.mismatch(["the optimizer state has \(saved.paramGroups.count) parameter groups, expected 1"])
        }
        var problems: [String] = []
        if let params = group["params"] as? [Any], params.map(wholeNumber) != parameters.indices.map({ $0 }) {
            problems.append("param_groups: \(params.count) parameters in the file, \(parameters.count) in the model")
        }
        if let names = group["param_names"] as? [String], names != parameters.map(\.name) {
            let missing = parameters.map(\.name).filter { !names.contains($0) }, extra = names.filter { n in !parameters.contains { $0.name == n } }
            problems.append("param_names differ from the model's" + (missing.isEmpty ? "" : "; not in the file: " + missing.joined(separator: ", "))
                            + (extra.isEmpty ? "" : "; not in the model: " + extra.joined(separator: ", ")) + (missing.isEmpty && extra.isEmpty ? " (order)" : ""))
        }
        // Options Normlab does not implement must be off.
        if let decay = jsonNumber(group["weight_decay"])?.doubleValue, decay != 0 { problems.append("weight_decay is \(decay); Normlab's optimizers have none") }
        for flag in ["amsgrad", "maximize", "nesterov"] where (group[flag] as? Bool) == true && jsonNumber(group[flag]) == nil {
            problems.append("\(flag) is on; Normlab's optimizers do not implement it")
        }
        for (key, mine) in settings.sorted(by: { $0.key < $1.key }) {
            let betas = (group["betas"] as? [Any])?.compactMap { jsonNumber($0)?.doubleValue }
            let value = key.hasPrefix("betas.") ? betas.flatMap { $0.count == 2 ? $0[key == "betas.0" ? 0 : 1] : nil } : jsonNumber(group[key])?.doubleValue
            guard let value else { problems.append("param_groups lacks \(key)"); continue }
            if Float(value) != Float(mine) { problems.append("\(key) is \(value) in the file, \(mine) here") }
        }
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
    }

    /// `state.<i>.<key>` for parameter i, checked against its shape; nil when the file has no
    /// state for that parameter.
    func savedState(_ saved: OptimizerState, _ index: Int, _ keys: [String], problems: inout [String]) -> [String: Tensor]? {
        let (name, parameter) = parameters[index]
        let found = keys.compactMap { key in saved.tensors["state.\(index).\(key)"].map { (key, $0) } }
        guard !found.isEmpty else { return nil }
        guard found.count == keys.count else {
            problems.append("state.\(index) (\(name)) has " + found.map(\.0).joined(separator: ", ") + ", needs " + keys.joined(separator: ", "))
            return nil
        }
        for (key, t) in found where key != "step" && t.shape != parameter.shape {
            problems.append("state.\(index).\(key) (\(name)): shape \(t.shape) in the file, \(parameter.shape) in the model")
        }
        return Dictionary(uniqueKeysWithValues: found)
    }

    /// Entries of the file that name no state of this optimizer.
    func unknownEntries(_ saved: OptimizerState, keys: [String]) -> [String] {
        let known = Set(parameters.indices.flatMap { i in keys.map { "state.\(i).\($0)" } })
        return saved.tensors.keys.filter { !known.contains($0) }.sorted().map { "\($0): in the file, not in the optimizer" }
    }
}

/// An optimizer's state in the form of torch.optim's `state_dict()`: per parameter i (in the
/// order of `module.parameters()`), tensors named `state.<i>.<key>` (Adam: `step`, a float32
/// scalar as PyTorch keeps it, `exp_avg`, `exp_avg_sq`), and `param_groups` (settings, `params`
/// and `param_names`), which a checkpoint keeps as JSON in its metadata.
public struct OptimizerState {
    public var tensors: [String: Tensor]
    public var paramGroups: [[String: Any]]

    public init(tensors: [String: Tensor], paramGroups: [[String: Any]]) { (self.tensors, self.paramGroups) = (tensors, paramGroups) }

    /// `param_groups` as JSON text (what `json.loads` turns back into PyTorch's list).
    public func paramGroupsJSON() throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: paramGroups, options: [.sortedKeys]), as: UTF8.self)
    }

    public init(tensors: [String: Tensor], paramGroupsJSON json: String) throws {
        guard let groups = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else {
            throw CheckpointError.mismatch(["param_groups is not a JSON list of objects"])
        }
        self.init(tensors: tensors, paramGroups: groups)
    }
}

/// Adam, exactly as torch.optim.Adam (no weight decay, no amsgrad):
///
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
///     θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// with t counted per parameter, as PyTorch does (a parameter without a gradient is skipped and
/// keeps its count). Defaults are WGAN-GP's: lr 1e-4, β = (0, 0.9), ε = 1e-8.
public final class Adam: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    /// Kept in Double: 1 − β is computed in Double, as PyTorch does in Python floats
    /// (1 − Float(0.999) is off by 1.3e-5 relative).
    public let beta1: Double, beta2: Double
    public let eps: Float
    /// Per parameter (by index): steps taken, first and second moments.
    private var state: [Int: (step: Int, m: Tensor, v: Tensor)] = [:]
    static let keys = ["step", "exp_avg", "exp_avg_sq"]

    public init(_ parameters: [(name: String, parameter: Parameter)], learningRate: Float = 1e-4,
                betas: (Double, Double) = (0, 0.9), eps: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2, self.eps) = (betas.0, betas.1, eps)
    }

    public convenience init(_ module: any Module, learningRate: Float = 1e-4, betas: (Double, Double) = (0, 0.9), eps: Float = 1e-8) {
        self.init(module.namedParameters(), learningRate: learningRate, betas: betas, eps: eps)
    }

    /// The most steps any parameter has taken.
    public var stepCount: Int { state.values.map(\.step).max() ?? 0 }

    public func step() throws {
        try noGrad {
            for (index, (_, parameter)) in parameters.enumerated() {
                guard let g = parameter.grad else { continue }
                let previous = state[index]
                let t = (previous?.step ?? 0) + 1
                // Bias corrections in Double, as PyTorch computes them in Python floats.
                let correction1 = Float(1 - Foundation.pow(beta1, Double(t)))
                let correction2 = Float(1 - Foundation.pow(beta2, Double(t)))
                let mNew = try Tensor(Float(beta1)) * (previous?.m ?? Tensor.zeros(g.shape)) + Tensor(Float(1 - beta1)) * g
                let vNew = try Tensor(Float(beta2)) * (previous?.v ?? Tensor.zeros(g.shape)) + Tensor(Float(1 - beta2)) * g * g
                let denominator = try sqrt(vNew) / Tensor(correction2.squareRoot()) + Tensor(eps)
                try parameter.assign(parameter.value - Tensor(learningRate / correction1) * mNew / denominator)
                state[index] = (t, mNew, vNew)
            }
        }
    }

    var settings: [String: Double] {
        ["lr": Double(learningRate), "betas.0": beta1, "betas.1": beta2, "eps": Double(eps)]
    }

    public func stateDict() throws -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for (i, s) in state {
            (tensors["state.\(i).step"], tensors["state.\(i).exp_avg"], tensors["state.\(i).exp_avg_sq"]) = (Tensor(Float(s.step)), s.m, s.v)
        }
        let group = parameterGroup(["lr": shortestDecimal(learningRate), "betas": [beta1, beta2], "eps": shortestDecimal(eps), "amsgrad": false,
                                    "decoupled_weight_decay": false])
        return OptimizerState(tensors: tensors, paramGroups: [group])
    }

    /// Every parameter's state must be complete or absent (absent: it has taken no step yet);
    /// on any problem nothing changes and the error lists them all.
    public func load(stateDict saved: OptimizerState) throws {
        try checkGroup(saved, settings)
        var problems: [String] = []
        var loaded: [Int: (step: Int, m: Tensor, v: Tensor)] = [:]
        for index in parameters.indices {
            guard let found = savedState(saved, index, Self.keys, problems: &problems), let step = found["step"], let m = found["exp_avg"],
                  let v = found["exp_avg_sq"] else { continue }
            guard step.count == 1, let t = try? step.item(), t >= 1, t == t.rounded(), t <= 16_777_216 else {
                problems.append("state.\(index).step (\(parameters[index].name)) must be a whole number of steps ≥ 1, got \(step.scalars.prefix(4))")
                continue
            }
            loaded[index] = (Int(t), m, v)
        }
        problems += unknownEntries(saved, keys: Self.keys)
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
        state = loaded
    }
}

/// A Float setting as the decimal it was written as (1e-4, not 9.999999747378752e-05), so
/// JSON and Python read the user's number.
public func shortestDecimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }

/// Plain gradient descent, θ ← θ − lr·g, with optional momentum (PyTorch's form).
public final class SGD: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    public let momentum: Float
    private var velocity: [Int: Tensor] = [:]

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
            for (index, (_, parameter)) in parameters.enumerated() {
                guard var g = parameter.grad else { continue }
                if momentum != 0 {
                    g = try velocity[index].map { try Tensor(momentum) * $0 + g } ?? g
                    velocity[index] = g
                }
                try parameter.assign(parameter.value - Tensor(learningRate) * g)
            }
        }
    }

    public func stateDict() throws -> OptimizerState {
        let group = parameterGroup(["lr": shortestDecimal(learningRate), "momentum": shortestDecimal(momentum), "dampening": 0, "nesterov": false])
        return OptimizerState(tensors: Dictionary(uniqueKeysWithValues: velocity.map { ("state.\($0.key).momentum_buffer", $0.value) }), paramGroups: [group])
    }

    public func load(stateDict saved: OptimizerState) throws {
        try checkGroup(saved, ["lr": Double(learningRate), "momentum": Double(momentum)])
        var problems: [String] = []
        var loaded: [Int: Tensor] = [:]
        for index in parameters.indices {
            if let found = savedState(saved, index, ["momentum_buffer"], problems: &problems) { loaded[index] = found["momentum_buffer"] }
        }
        problems += unknownEntries(saved, keys: ["momentum_buffer"])
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
        velocity = loaded
    }
}
