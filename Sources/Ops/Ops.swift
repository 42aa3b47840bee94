#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The vocabulary of the primitive ops that have kernels: one descriptor per op, seen by the
// engine (which checks shapes and differentiates) and by every backend's kernels (which only
// compute), so that neither translates the other's names.

public enum UnaryOp: Hashable, Sendable {
    case neg, exp, log, sqrt, tanh, sigmoid, relu, abs, sign, sin, cos
    case pow(Float)
    /// x where x > 0, slope·x elsewhere: one pass instead of a comparison, a product and a select.
    case leakyRelu(slope: Float)

    /// The scalar function, in one place for every backend.
    public var function: @Sendable (Float) -> Float {
        switch self {
        case .neg: return { -$0 }
        case .exp: return { expf($0) }
        case .log: return { logf($0) }
        case .sqrt: return { $0.squareRoot() }
        case .tanh: return { tanhf($0) }
        case .sigmoid: return { 1 / (1 + expf(-$0)) }
        case .relu: return { $0 < 0 ? 0 : $0 }   // NaN passes through, as in PyTorch
        case .leakyRelu(let slope): return { $0 > 0 ? $0 : slope * $0 }   // NaN passes through
        case .abs: return { Swift.abs($0) }
        case .sign: return { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        case .sin: return { sinf($0) }
        case .cos: return { cosf($0) }
        case .pow(let p):
            if p == 2 { return { $0 * $0 } }   // exact, and as fast as the product
            return { powf($0, p) }
        }
    }
}

public enum BinaryOp: String, Hashable, Sendable {
    case add, sub, mul, div
    case equal, notEqual, less, lessEqual, greater, greaterEqual

    public var function: @Sendable (Float, Float) -> Float {
        switch self {
        case .add: return { $0 + $1 }
        case .sub: return { $0 - $1 }
        case .mul: return { $0 * $1 }
        case .div: return { $0 / $1 }
        case .equal: return { $0 == $1 ? 1 : 0 }
        case .notEqual: return { $0 != $1 ? 1 : 0 }
        case .less: return { $0 < $1 ? 1 : 0 }
        case .lessEqual: return { $0 <= $1 ? 1 : 0 }
        case .greater: return { $0 > $1 ? 1 : 0 }
        case .greaterEqual: return { $0 >= $1 ? 1 : 0 }
        }
    }

    /// Comparisons give 0/1 masks: piecewise constant, so they carry no gradient.
    public var isComparison: Bool { ![.add, .sub, .mul, .div].contains(self) }
}

public enum ReduceOp: String, Hashable, Sendable { case sum, max }

/// Stride, zero padding and dilation of a 2-D convolution (PyTorch's meaning of each).
public struct ConvGeometry: Hashable, Sendable, CustomStringConvertible {
    public var stride: (h: Int, w: Int)
    public var padding: (h: Int, w: Int)
    public var dilation: (h: Int, w: Int)

    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.stride = (stride, stride); self.padding = (padding, padding); self.dilation = (dilation, dilation)
    }
    public init(stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int) = (1, 1)) {
        self.stride = stride; self.padding = padding; self.dilation = dilation
    }

    /// Output size along one axis: ⌊(in + 2·pad − dilation·(k − 1) − 1) / stride⌋ + 1.
    public func outputSize(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation
    }
    public func hash(into h: inout Hasher) {
        for v in [stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w] { h.combine(v) }
    }
    public var description: String {
        "stride (\(stride.h), \(stride.w)), padding (\(padding.h), \(padding.w)), dilation (\(dilation.h), \(dilation.w))"
    }
}

/// Every size of one convolution: input `[batch, inChannels, height, width]`, weight
/// `[outChannels, inChannels, kernelH, kernelW]`, output `[batch, outChannels, outH, outW]`.
public struct ConvDims: Hashable, Sendable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelH, kernelW: Int
    public var outH, outW: Int
    public var geometry: ConvGeometry

    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelH: Int, kernelW: Int,
                outH: Int, outW: Int, geometry: ConvGeometry) {
        (self.batch, self.inChannels, self.height, self.width) = (batch, inChannels, height, width)
        (self.outChannels, self.kernelH, self.kernelW, self.outH, self.outW) = (outChannels, kernelH, kernelW, outH, outW)
        self.geometry = geometry
    }

    // Read in the kernels' inner loops, hence inlinable across the module boundary.
    @inlinable public var stride: (h: Int, w: Int) { geometry.stride }
    @inlinable public var padding: (h: Int, w: Int) { geometry.padding }
    @inlinable public var dilation: (h: Int, w: Int) { geometry.dilation }
    /// One output pixel's input patch, inChannels·kernelH·kernelW: the rows of the column matrix.
    @inlinable public var patch: Int { inChannels * kernelH * kernelW }
    /// Output pixels per channel of one image: the columns of the column matrix.
    @inlinable public var pixels: Int { outH * outW }
    /// Floats in one image of the input, and of the output.
    @inlinable public var inputSize: Int { inChannels * height * width }
    @inlinable public var outputSize: Int { outChannels * outH * outW }
}
