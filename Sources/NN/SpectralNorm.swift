import Engine

/// The order of the two half-steps of power iteration.
public enum PowerIterationOrder: String, Sendable {
    /// v = normalize(Wᵀu), then u = normalize(Wv): Miyato et al.'s Algorithm 1 and
    /// torch.nn.utils.spectral_norm.
    case classic
    /// u = normalize(Wv), then v = normalize(Wᵀu): torch.nn.utils.parametrizations.spectral_norm.
    case parametrization
}

/// normalize(x) = x / max(‖x‖, eps), as torch's F.normalize.
public func normalize(_ x: Tensor, eps: Float = 1e-12) throws -> Tensor {
    try x / maximum(x.norm(), Tensor(eps))
}

/// σ̂ = uᵀWv after `iterations` steps of power iteration on the matrix W, from `u` (classic
/// order) or `v` (parametrization order); the missing start vector is drawn at random.
/// σ̂ is a lower bound of σ(W) that converges like (σ₂/σ₁)^(2k).
public func powerIteration(_ w: Tensor, iterations: Int, u: Tensor? = nil, v: Tensor? = nil,
                           order: PowerIterationOrder = .classic, eps: Float = 1e-12) throws
    -> (sigma: Tensor, u: Tensor, v: Tensor) {
    guard w.rank == 2 else {
        throw EngineError.shapeMismatch(op: "powerIteration", shapes: [w.shape], reason: "needs a matrix; view a weight as [rows, -1] first")
    }
    guard iterations >= 0 else { throw EngineError.invalidArgument(op: "powerIteration", message: "iterations must be ≥ 0, got \(iterations)") }
    let (rows, columns) = (w.shape[0], w.shape[1])
    var u = try u ?? normalize(Tensor.randn([rows]), eps: eps)
    var v = try v ?? normalize(Tensor.randn([columns]), eps: eps)
    guard u.shape == [rows], v.shape == [columns] else {
        throw EngineError.shapeMismatch(op: "powerIteration", shapes: [w.shape, u.shape, v.shape], reason: "u needs \(rows) elements and v \(columns)")
    }
    for _ in 0..<iterations {
        try Interruption.check("powerIteration")
        switch order {
        case .classic:
            v = try normalize(matmul(u, w), eps: eps)          // Wᵀu
            u = try normalize(matmul(w, v), eps: eps)          // Wv
        case .parametrization:
            u = try normalize(matmul(w, v), eps: eps)
            v = try normalize(matmul(u, w), eps: eps)
        }
    }
    let sigma = try (u * matmul(w, v)).sum()                   // uᵀWv
    return (sigma, u, v)
}

/// A layer used as W / σ̂, whatever layer it wraps: code that reads σ̂ needs no wrapped type.
public protocol SpectrallyNormalized: WeightedLayer {
    /// σ̂ = uᵀ·mat(W)·v from the stored u, v and the current W: the σ̂ of the last call
    /// (unless W has changed since), and what the next evaluation-mode call divides by.
    var sigma: Float { get }
}

/// Formula (1) of the study: a layer whose weight is used as W_SN = W / σ̂(W).
///
/// Like the reference implementations, u persists between calls (a buffer, saved in
/// checkpoints) and each training-mode call runs `powerIterations` steps (one by default)
/// from it; evaluation runs none and reuses u and v. u and v are constants for autograd, so
/// the gradient flows through W only. `sigma` is σ̂ from the stored u and v, so it holds after a
/// checkpoint is loaded as well as after a call.
public final class SpectralNorm<Wrapped: WeightedLayer>: SpectrallyNormalized, TrainingModeAware {
    public let layer: Wrapped
    public let u: Buffer
    public let v: Buffer
    public let powerIterations: Int
    public let order: PowerIterationOrder
    public let eps: Float
    public var isTraining = true

    /// `warmup` extra iterations run once now (PyTorch's parametrization runs 15).
    public init(_ layer: Wrapped, powerIterations: Int = 1, warmup: Int = 0, order: PowerIterationOrder = .classic,
                eps: Float = 1e-12) throws {
        self.layer = layer
        self.powerIterations = powerIterations
        self.order = order
        self.eps = eps
        let w = try layer.weightMatrix(layer.weight.value).detached()
        let start = try powerIteration(w, iterations: warmup, order: order, eps: eps)
        u = Buffer(start.u)
        v = Buffer(start.v)
    }

    public var weight: Parameter { layer.weight }

    public var sigma: Float {
        (try? noGrad { try (u.value * matmul(layer.weightMatrix(layer.weight.value), v.value)).sum().item() }) ?? .nan
    }

    /// The names of torch.nn.utils.spectral_norm, which re-registers the wrapped layer's weight
    /// last: `bias`, `weight_orig`, `weight_u`, `weight_v`.
    public var stateChildren: [(name: String, value: Any)] {
        layer.stateChildren.filter { $0.name != "weight" } + [("weight_orig", layer.weight), ("weight_u", u), ("weight_v", v)]
    }

    /// W / σ̂ with σ̂ = uᵀ·mat(W)·v, after the power iteration training mode asks for.
    public func normalizedWeight() throws -> Tensor {
        let w = layer.weight.value
        let matrix = try layer.weightMatrix(w)
        if isTraining && powerIterations > 0 {
            let step = try noGrad {
                try powerIteration(matrix.detached(), iterations: powerIterations, u: u.value, v: v.value, order: order, eps: eps)
            }
            (u.value, v.value) = (step.u, step.v)
        }
        return try w / (u.value * matmul(matrix, v.value)).sum()
    }

    public func forward(_ x: Tensor, weight _: Tensor) throws -> Tensor {
        try layer.forward(x, weight: normalizedWeight())
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x, weight: layer.weight.value) }

    public func weightMatrix(_ weight: Tensor) throws -> Tensor { try layer.weightMatrix(weight) }
}

// MARK: - Exact singular values, to verify power iteration

/// The singular value decomposition W = U·diag(S)·Vᵀ by one-sided Jacobi rotations in
/// Double: columns are rotated pairwise until orthogonal; their norms are then the singular
/// values. Slow (O(n³) per sweep) and accurate, for checking power iteration, not for training.
public func svd(_ w: Tensor) throws -> (u: Tensor, s: [Double], v: Tensor) {
    guard w.rank == 2 else {
        throw EngineError.shapeMismatch(op: "svd", shapes: [w.shape], reason: "needs a matrix; view a weight as [rows, -1] first")
    }
    // Work on the taller orientation so that there are at most as many columns as rows.
    let transposed = w.shape[0] < w.shape[1]
    let a0 = transposed ? try w.transposed() : w
    let (m, n) = (a0.shape[0], a0.shape[1])
    let values = a0.scalars
    // Column j of A is a[j]; V accumulates the rotations.
    var a = (0..<n).map { j in (0..<m).map { Double(values[$0 * n + j]) } }
    var v = (0..<n).map { j in (0..<n).map { $0 == j ? 1.0 : 0.0 } }
    func dot(_ x: [Double], _ y: [Double]) -> Double { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
    for _ in 0..<60 {
        var rotated = false
        for i in 0..<n {
            for j in (i + 1)..<Swift.max(n, i + 1) {
                try Interruption.check("svd")
                let alpha = dot(a[i], a[i]), beta = dot(a[j], a[j]), gamma = dot(a[i], a[j])
                guard Swift.abs(gamma) > 1e-15 * (alpha * beta).squareRoot(), gamma != 0 else { continue }
                rotated = true
                // The rotation that zeroes the off-diagonal entry of the 2×2 Gram matrix.
                let zeta = (beta - alpha) / (2 * gamma)
                let t = (zeta >= 0 ? 1.0 : -1.0) / (Swift.abs(zeta) + (1 + zeta * zeta).squareRoot())
                let c = 1 / (1 + t * t).squareRoot(), s = c * t
                for k in 0..<m { (a[i][k], a[j][k]) = (c * a[i][k] - s * a[j][k], s * a[i][k] + c * a[j][k]) }
                for k in 0..<n { (v[i][k], v[j][k]) = (c * v[i][k] - s * v[j][k], s * v[i][k] + c * v[j][k]) }
            }
        }
        if !rotated { break }
    }
    let norms = a.map { dot($0, $0).squareRoot() }
    let order = norms.indices.sorted { norms[$0] > norms[$1] }
    let s = order.map { norms[$0] }
    // U's columns are the rotated columns of A scaled to unit length.
    let uColumns = order.map { j in a[j].map { norms[j] > 0 ? $0 / norms[j] : 0 } }
    let vColumns = order.map { v[$0] }
    let u = try Tensor(shape: [m, n], elements: (0..<m).flatMap { r in uColumns.map { Float($0[r]) } })
    let vt = try Tensor(shape: [n, n], elements: (0..<n).flatMap { r in vColumns.map { Float($0[r]) } })
    return transposed ? (vt, s, u) : (u, s, vt)
}

/// The largest singular value σ(W), exactly (to Double rounding).
public func sigmaMax(_ w: Tensor) throws -> Double { try svd(w).s.first ?? 0 }
