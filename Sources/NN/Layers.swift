import Engine

/// A layer whose main weight spectral normalization can wrap.
public protocol WeightedLayer: Layer {
    var weight: Parameter { get }
    /// The layer's forward pass with `weight` in place of its own.
    func forward(_ x: Tensor, weight: Tensor) throws -> Tensor
    /// The weight viewed as the matrix whose largest singular value bounds the layer's
    /// Lipschitz constant: one row per output feature.
    func weightMatrix(_ weight: Tensor) throws -> Tensor
}

extension WeightedLayer {
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x, weight: weight.value) }
}

/// y = x Wᵀ + b, weight `[out, in]` (PyTorch's layout).
public final class Linear: WeightedLayer {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, initializer: Initializer = .pytorchDefault) throws {
        weight = Parameter(try initializer.weight([outFeatures, inFeatures], fanIn: inFeatures, fanOut: outFeatures))
        self.bias = bias ? Parameter(try initializer.bias(outFeatures, fanIn: inFeatures)) : nil
    }

    public func forward(_ x: Tensor, weight: Tensor) throws -> Tensor {
        let y = try matmul(x, weight, transposeB: true)
        return try bias.map { try y + $0.value } ?? y
    }

    public func weightMatrix(_ weight: Tensor) throws -> Tensor { weight }
}

/// 2-D convolution, weight `[out, in, k, k]`.
public final class Conv2d: WeightedLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, dilation: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault) throws {
        let fanIn = inChannels * kernelSize * kernelSize
        weight = Parameter(try initializer.weight([outChannels, inChannels, kernelSize, kernelSize],
                                                  fanIn: fanIn, fanOut: outChannels * kernelSize * kernelSize))
        self.bias = bias ? Parameter(try initializer.bias(outChannels, fanIn: fanIn)) : nil
        (self.stride, self.padding, self.dilation) = (stride, padding, dilation)
    }

    public func forward(_ x: Tensor, weight: Tensor) throws -> Tensor {
        try conv2d(x, weight, bias: bias?.value, stride: stride, padding: padding, dilation: dilation)
    }

    /// `[out, in·k·k]`
    public func weightMatrix(_ weight: Tensor) throws -> Tensor { try weight.reshaped([weight.shape[0], -1]) }
}

/// Transposed convolution (the generator's upsampling), weight `[in, out, k, k]`.
public final class ConvTranspose2d: WeightedLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, outputPadding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true, initializer: Initializer = .pytorchDefault) throws {
        // PyTorch takes the fan-in of a transposed convolution from dim 1 of its weight.
        let fanIn = outChannels * kernelSize * kernelSize
        weight = Parameter(try initializer.weight([inChannels, outChannels, kernelSize, kernelSize],
                                                  fanIn: fanIn, fanOut: inChannels * kernelSize * kernelSize))
        self.bias = bias ? Parameter(try initializer.bias(outChannels, fanIn: fanIn)) : nil
        (self.stride, self.padding, self.outputPadding) = (stride, padding, outputPadding)
    }

    public func forward(_ x: Tensor, weight: Tensor) throws -> Tensor {
        try convTranspose2d(x, weight, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding)
    }

    /// `[out, in·k·k]`: PyTorch's spectral norm uses dim 1 (the output channels) as rows.
    public func weightMatrix(_ weight: Tensor) throws -> Tensor {
        try weight.permuted([1, 0, 2, 3]).reshaped([weight.shape[1], -1])
    }
}

/// Layers applied in order.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public init(_ layers: [any Layer]) { self.layers = layers }
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layers.reduce(x) { try $1($0) }
    }
}

public final class ReLU: Layer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try relu(x) }
}

/// The negative slope of the critic's leaky ReLU: 0.2, as in DCGAN and the WGAN-GP and
/// spectral-norm papers' critics (PyTorch's F.leaky_relu defaults to 0.01). The critic, this
/// layer's default and the `leaky_relu` builtin's default all read it.
public let criticLeakySlope: Float = 0.2

public final class LeakyReLU: Layer {
    public let slope: Float
    public init(slope: Float = criticLeakySlope) { self.slope = slope }
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try leakyRelu(x, slope: slope) }
}

public final class Tanh: Layer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try tanh(x) }
}

public final class Sigmoid: Layer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try sigmoid(x) }
}

/// `[N, …] → [N, product of the rest]`
public final class Flatten: Layer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.reshaped([try batchSize(x, "Flatten"), -1]) }
}

/// `[N, …] → [N] + shape`
public final class Reshape: Layer {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.reshaped(Shape([try batchSize(x, "Reshape")] + shape)) }
}

/// The leading (batch) axis of a tensor that must have one.
func batchSize(_ x: Tensor, _ op: String) throws -> Int {
    guard x.rank >= 1 else {
        throw EngineError.invalidArgument(op: op, message: "needs a batch axis; got a scalar")
    }
    return x.shape[0]
}

/// Checks that `x` is `[N, C, H, W]` with `channels` channels.
func requireImages(_ x: Tensor, channels: Int?, _ op: String) throws {
    guard x.rank == 4, channels.map({ x.shape[1] == $0 }) ?? true else {
        throw EngineError.shapeMismatch(op: op, shapes: [x.shape], reason: "expected images [N, \(channels.map(String.init) ?? "C"), H, W]")
    }
}
