#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernels a backend provides. Ops check shapes and allocate; a backend only computes.
/// `ReferenceBackend` is the plain-loop oracle; a faster backend implements the same entry
/// points and is tested against it.
public protocol Backend: Sendable {
    var name: String { get }
    func unary(_ op: UnaryOp, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>)
    /// `out[i] = a[i] ∘ b[i]` over `shape`, each operand read through its (broadcast) strides.
    func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, shape: Shape, _ out: UnsafeMutableBufferPointer<Float>)
    /// `out[i] = x[i] > 0 ? g[i] : slope · g[i]`: (leaky) ReLU's backward, all three contiguous.
    func leakyReluGrad(slope: Float, _ g: UnsafeBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>)
    /// `out[i] = cond[i] != 0 ? a[i] : b[i]` over `shape`.
    func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, shape: Shape, _ out: UnsafeMutableBufferPointer<Float>)
    /// Reduces `x` (of `shape`) over `axes`; `out` has `shape` with those axes set to 1.
    func reduce(_ op: ReduceOp, _ x: UnsafeBufferPointer<Float>, shape: Shape, axes: [Int], _ out: UnsafeMutableBufferPointer<Float>)
    /// Copies `shape` elements read through `source` into `destination` (written through its strides).
    func copy(_ source: StridedView, shape: Shape, to destination: MutableStridedView)
    func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ dims: MatmulDims)
    /// With a bias, bias[o] is added to output channel o (fused: each image gets it while in cache).
    func conv2d(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>, _ dims: ConvDims)
    /// The adjoint of conv2d in its input (a transposed convolution): `dx` from `dy` and `w`,
    /// plus bias[c] on channel c when given (a transposed convolution's bias).
    func conv2dInputGrad(outputGrad dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inputGrad dx: UnsafeMutablePointer<Float>, _ dims: ConvDims)
    /// The adjoint of conv2d in its weight: `dw` from `x` and `dy`.
    func conv2dWeightGrad(input x: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>, weightGrad dw: UnsafeMutablePointer<Float>, _ dims: ConvDims)
}

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
    var isComparison: Bool { ![.add, .sub, .mul, .div].contains(self) }
}

public enum ReduceOp: String, Hashable, Sendable { case sum, max }

/// Elements read through strides (in elements; 0 repeats an element along a broadcast axis).
public struct StridedView: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public let strides: [Int]
    public init(base: UnsafePointer<Float>, strides: [Int]) { self.base = base; self.strides = strides }
}

public struct MutableStridedView: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let strides: [Int]
    public init(base: UnsafeMutablePointer<Float>, strides: [Int]) { self.base = base; self.strides = strides }
}

/// `c[b] = op(a[b]) · op(b[b])` for each batch b, with `op` an optional transpose.
/// `c` is `[batch, m, n]`; `a` is `[m, k]` (or `[k, m]` when `transposeA`), `b` is `[k, n]`
/// (or `[n, k]`); a batch stride of 0 shares one matrix across the batch.
public struct MatmulDims: Hashable, Sendable {
    public var batch, m, k, n: Int
    public var transposeA, transposeB: Bool
    public var aBatchStride, bBatchStride: Int
}

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
    func outputSize(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
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
}
