import Engine

/// Which variance the statistics of a normalization use.
public enum VarianceConvention: String, Sendable, CaseIterable {
    /// Σ(x − μ)² / n: instance and batch normalization, StyleGAN, the study's generator.
    case biased
    /// Σ(x − μ)² / (n − 1): torch.var's default, used by the popular PyTorch AdaIN port.
    case unbiased
}

/// Per sample and per channel statistics over the spatial axes of `[N, C, H, W]`:
/// μ = mean over H×W, σ = √(var + eps). Shapes `[N, C, 1, 1]`.
public func instanceStatistics(_ x: Tensor, variance: VarianceConvention = .biased, eps: Float = 1e-5) throws
    -> (mean: Tensor, std: Tensor) {
    try requireImages(x, channels: nil, "instanceStatistics")
    let mean = try x.mean(axes: [2, 3], keepDims: true)
    let v = try x.variance(axes: [2, 3], unbiased: variance == .unbiased, keepDims: true)
    return (mean, try sqrt(v + Tensor(eps)))
}

/// (x − μ(x)) / σ(x) per sample and channel.
public func instanceNorm(_ x: Tensor, variance: VarianceConvention = .biased, eps: Float = 1e-5) throws -> Tensor {
    let (mean, std) = try instanceStatistics(x, variance: variance, eps: eps)
    return try (x - mean) / std
}

/// Formula (2) of the study, adaptive instance normalization:
///
///     AdaIN(x, y) = σ(y) · (x − μ(x)) / σ(x) + μ(y)
///
/// The content `x` takes the per-channel mean and standard deviation of the style `y`
/// (`[N, C, H, W]` each; their H and W may differ). The default, `.biased` with eps 1e-5
/// inside the root for both, matches instance normalization; `.unbiased` is the convention of
/// the popular PyTorch port (naoto0804/pytorch-AdaIN).
public func adain(_ x: Tensor, style y: Tensor, variance: VarianceConvention = .biased, eps: Float = 1e-5) throws -> Tensor {
    guard x.rank == 4, y.rank == 4, x.shape[0] == y.shape[0], x.shape[1] == y.shape[1] else {
        throw EngineError.shapeMismatch(op: "adain", shapes: [x.shape, y.shape], reason: "content and style must be [N, C, H, W] with the same N and C")
    }
    let (muX, sigmaX) = try instanceStatistics(x, variance: variance, eps: eps)
    let (muY, sigmaY) = try instanceStatistics(y, variance: variance, eps: eps)
    return try sigmaY * (x - muX) / sigmaX + muY
}

/// AdaIN inside a generator (StyleGAN's form): instance-normalise x, then scale and shift
/// each channel by γ(z) and β(z), learned affine maps of the latent code. γ's bias starts
/// at 1 and β's at 0, so a fresh layer is plain instance normalization. No running statistics.
public final class AdaptiveInstanceNorm: Module {
    public let scale: Linear   // z ↦ γ
    public let shift: Linear   // z ↦ β
    public let eps: Float

    public init(channels: Int, latentSize: Int, eps: Float = 1e-5) throws {
        scale = try Linear(latentSize, channels)
        shift = try Linear(latentSize, channels)
        try scale.bias?.assign(Tensor.ones([channels]))
        try shift.bias?.assign(Tensor.zeros([channels]))
        self.eps = eps
    }

    /// `x` is `[N, C, H, W]`, `z` is `[N, latent]`.
    public func callAsFunction(_ x: Tensor, latent z: Tensor) throws -> Tensor {
        try requireImages(x, channels: scale.weight.shape[0], "AdaptiveInstanceNorm")
        let n = x.shape[0], c = x.shape[1]
        let gamma = try scale(z).reshaped([n, c, 1, 1])
        let beta = try shift(z).reshaped([n, c, 1, 1])
        // γ · (x − μ)/σ + β, with γ/σ formed per sample and channel first (see affineNormalized).
        let mean = try x.mean(axes: [2, 3], keepDims: true)
        return try affineNormalized(x - mean, axes: [2, 3], eps: eps, gamma: gamma, beta: beta).output
    }
}

/// (x − μ)/σ · γ + β from the centred x − μ, σ = √(mean((x − μ)²) + eps) over `axes`, computed
/// as (x − μ) · (γ/σ) + β: γ/σ has one value per channel (or per sample and channel), so the
/// full-size work is one product and one sum instead of a quotient, a product and a sum, and
/// the centred values serve the variance too. The variance is returned for running estimates.
func affineNormalized(_ centred: Tensor, axes: [Int], eps: Float, gamma: Tensor, beta: Tensor) throws -> (output: Tensor, variance: Tensor) {
    let variance = try (centred * centred).mean(axes: axes, keepDims: true)
    return (try centred * (gamma / sqrt(variance + Tensor(eps))) + beta, variance)
}

/// Batch normalization over `[N, C, H, W]` (PyTorch's BatchNorm2d): in training, normalise with
/// the batch's mean and biased variance per channel and update running estimates
/// (momentum 0.1, the running variance unbiased) and the count of batches; in evaluation, use
/// the running estimates.
public final class BatchNorm2d: Layer, TrainingModeAware {
    public let weight: Parameter   // γ
    public let bias: Parameter     // β
    public let runningMean: Buffer
    public let runningVar: Buffer
    /// Training-mode calls so far (PyTorch's int64 buffer; with a fixed momentum only a record).
    public let numBatchesTracked: Buffer
    public let momentum: Float, eps: Float
    public var isTraining = true

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) throws {
        weight = Parameter(try Tensor.ones([channels]))
        bias = Parameter(try Tensor.zeros([channels]))
        runningMean = Buffer(try Tensor.zeros([channels]))
        runningVar = Buffer(try Tensor.ones([channels]))
        numBatchesTracked = Buffer(Tensor(0), dtype: .i64)
        (self.momentum, self.eps) = (momentum, eps)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try requireImages(x, channels: weight.shape[0], "BatchNorm2d")
        let c = x.shape[1]
        let gamma = try weight.value.reshaped([1, c, 1, 1]), beta = try bias.value.reshaped([1, c, 1, 1])
        guard isTraining else {
            let std = try sqrt(runningVar.value.reshaped([1, c, 1, 1]) + Tensor(eps))
            return try (x - runningMean.value.reshaped([1, c, 1, 1])) * (gamma / std) + beta
        }
        let count = x.count / Swift.max(c, 1)
        guard count > 1 else {
            throw EngineError.invalidArgument(op: "BatchNorm2d", message: "needs more than one value per channel in training (got shape \(x.shape))")
        }
        // (x − μ)/σ · γ + β with the batch's statistics, γ/σ formed per channel first.
        let mean = try x.mean(axes: [0, 2, 3], keepDims: true)
        let (output, variance) = try affineNormalized(x - mean, axes: [0, 2, 3], eps: eps, gamma: gamma, beta: beta)
        try noGrad {
            let m = Tensor(momentum)
            let unbiased = try variance.reshaped([c]) * Tensor(Float(count) / Float(count - 1))
            runningMean.value = try (1 - m) * runningMean.value + m * mean.reshaped([c])
            runningVar.value = try (1 - m) * runningVar.value + m * unbiased
            numBatchesTracked.value = try numBatchesTracked.value + 1
        }
        return output
    }
}

/// Instance normalization of `[N, C, H, W]` with an optional per-channel affine map.
public final class InstanceNorm2d: Layer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float

    public init(_ channels: Int, affine: Bool = false, eps: Float = 1e-5) throws {
        weight = affine ? Parameter(try Tensor.ones([channels])) : nil
        bias = affine ? Parameter(try Tensor.zeros([channels])) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try requireImages(x, channels: weight?.shape[0], "InstanceNorm2d")
        var y = try instanceNorm(x, eps: eps)
        if let weight, let bias {
            let c = x.shape[1]
            y = try y * weight.value.reshaped([1, c, 1, 1]) + bias.value.reshaped([1, c, 1, 1])
        }
        return y
    }
}

/// Layer normalization over the trailing axes `normalizedShape` (the critic-friendly norm
/// WGAN-GP recommends in place of BatchNorm: it never mixes samples).
public final class LayerNorm: Layer {
    public let normalizedShape: [Int]
    public let weight: Parameter
    public let bias: Parameter
    public let eps: Float

    public init(_ normalizedShape: [Int], eps: Float = 1e-5) throws {
        self.normalizedShape = normalizedShape
        weight = Parameter(try Tensor.ones(Shape(normalizedShape)))
        bias = Parameter(try Tensor.zeros(Shape(normalizedShape)))
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let k = normalizedShape.count
        guard x.rank >= k, Array(x.shape.dims.suffix(k)) == normalizedShape else {
            throw EngineError.shapeMismatch(op: "LayerNorm", shapes: [x.shape, Shape(normalizedShape)], reason: "the trailing axes must match the normalized shape")
        }
        let axes = Array((x.rank - k)..<x.rank)
        let mean = try x.mean(axes: axes, keepDims: true)
        let variance = try x.variance(axes: axes, keepDims: true)
        return try (x - mean) / sqrt(variance + Tensor(eps)) * weight.value + bias.value
    }
}
