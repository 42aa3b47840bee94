import Engine

/// How a layer's weights start. Fan-in and fan-out count inputs and outputs per output
/// element (channels × kernel area for convolutions), as PyTorch does.
public enum Initializer: Sendable {
    /// PyTorch's default for Linear and Conv: weight and bias uniform in ±1/√fanIn.
    case pytorchDefault
    /// Normal with mean 0 and this standard deviation (DCGAN's 0.02); bias 0.
    case normal(std: Float)
    /// He (Kaiming) normal: std √(2/fanIn), for ReLU networks; bias 0.
    case he
    /// Xavier (Glorot) uniform: ±√(6/(fanIn + fanOut)); bias 0.
    case xavier

    func weight(_ shape: Shape, fanIn: Int, fanOut: Int) throws -> Tensor {
        switch self {
        case .pytorchDefault: return try uniform(shape, bound: 1 / Float(fanIn).squareRoot())
        case .normal(let std): return try Tensor.randn(shape) * Tensor(std)
        case .he: return try Tensor.randn(shape) * Tensor((2 / Float(fanIn)).squareRoot())
        case .xavier: return try uniform(shape, bound: (6 / Float(fanIn + fanOut)).squareRoot())
        }
    }

    func bias(_ count: Int, fanIn: Int) throws -> Tensor {
        if case .pytorchDefault = self { return try uniform([count], bound: 1 / Float(fanIn).squareRoot()) }
        return try Tensor.zeros([count])
    }

    private func uniform(_ shape: Shape, bound: Float) throws -> Tensor {
        try (Tensor.rand(shape) * 2 - 1) * Tensor(bound)
    }
}
