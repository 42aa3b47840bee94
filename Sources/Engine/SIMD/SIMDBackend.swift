import Dispatch
import SIMDKernels

/// The fast backend: packed GEMM with an FMA micro-kernel, convolution as im2col + GEMM,
/// vectorised elementwise ops, threads (`Runtime.threads`). Every kernel is tested against
/// `ReferenceBackend`.
public struct SIMDBackend: Backend {
    /// Stops with `unsupportedCPU`'s message on a CPU that cannot run this build's kernels,
    /// rather than at the first kernel's illegal instruction.
    public init() {
        if let reason = Self.unsupportedCPU { fatalError(reason) }
    }
    public var name: String { "simd" }

    public func unary(_ op: UnaryOp, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        guard let source = x.baseAddress, let target = y.baseAddress else { return }
        SIMDKernels.unary(op, source, target, count: x.count, threads: Runtime.threads)
    }

    public func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, shape: Shape, _ out: UnsafeMutableBufferPointer<Float>) {
        guard let target = out.baseAddress, !out.isEmpty else { return }
        SIMDKernels.binary(op, a.base, a.strides, b.base, b.strides, target, dims: shape.dims, threads: Runtime.threads)
    }

    public func leakyReluGrad(slope: Float, _ g: UnsafeBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>,
                              _ out: UnsafeMutableBufferPointer<Float>) {
        guard let gradient = g.baseAddress, let input = x.baseAddress, let target = out.baseAddress else { return }
        SIMDKernels.leakyReluGrad(slope: slope, gradient, input, target, count: x.count, threads: Runtime.threads)
    }

    public func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, shape: Shape, _ out: UnsafeMutableBufferPointer<Float>) {
        guard let target = out.baseAddress, !out.isEmpty else { return }
        SIMDKernels.select(cond.base, cond.strides, a.base, a.strides, b.base, b.strides, target, dims: shape.dims, threads: Runtime.threads)
    }

    public func reduce(_ op: ReduceOp, _ x: UnsafeBufferPointer<Float>, shape: Shape, axes: [Int], _ out: UnsafeMutableBufferPointer<Float>) {
        guard let source = x.baseAddress, let target = out.baseAddress else { return }
        if x.isEmpty { out.initialize(repeating: op == .sum ? 0 : -.infinity); return }
        let reduced = (0..<shape.rank).map { axes.contains($0) }
        SIMDKernels.reduce(op, source, dims: shape.dims, reduced: reduced, target, threads: Runtime.threads)
    }

    public func copy(_ source: StridedView, shape: Shape, to destination: MutableStridedView) {
        guard shape.count > 0 else { return }
        SIMDKernels.copy(source.base, source.strides, destination.base, destination.strides, dims: shape.dims, threads: Runtime.threads)
    }

    public func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ d: MatmulDims) {
        let threads = Runtime.threads
        func one(_ batch: Int, _ gemmThreads: Int) {
            SIMDKernels.sgemm(m: d.m, n: d.n, k: d.k,
                              a: MatrixView(base: a + batch * d.aBatchStride, rows: d.m, columns: d.k, transposed: d.transposeA),
                              b: MatrixView(base: b + batch * d.bBatchStride, rows: d.k, columns: d.n, transposed: d.transposeB),
                              c: c + batch * d.m * d.n, ldc: d.n, threads: gemmThreads)
        }
        // Many small products: one per thread. Few large ones: threads inside each product.
        if d.batch >= threads && threads > 1 {
            SIMDKernels.concurrentPerform(iterations: threads) { worker in
                for batch in stride(from: worker, to: d.batch, by: threads) { one(batch, 1) }
            }
        } else {
            for batch in 0..<d.batch { one(batch, threads) }
        }
    }

    public func conv2d(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        convolutionForward(x, w, y, d, bias: bias, threads: Runtime.threads)
    }

    public func conv2dInputGrad(outputGrad dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inputGrad dx: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        convolutionInputGrad(dy, w, dx, d, bias: bias, threads: Runtime.threads)
    }

    public func conv2dWeightGrad(input x: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>, weightGrad dw: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        convolutionWeightGrad(x, dy, dw, d, threads: Runtime.threads)
    }
}
