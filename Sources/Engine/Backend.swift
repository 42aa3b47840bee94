import Ops

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

// The op descriptors are defined in Ops, below both the engine and its kernels, so that the two
// share one vocabulary; under these names they are the engine's public API.
public typealias UnaryOp = Ops.UnaryOp
public typealias BinaryOp = Ops.BinaryOp
public typealias ReduceOp = Ops.ReduceOp
public typealias ConvGeometry = Ops.ConvGeometry
public typealias ConvDims = Ops.ConvDims

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
